/**
 * Test fixture of the server tests: a vulnerability database with two identities (a change log with
 * added, modified, withdrawn and removed advisories) and generated inventories (npm, PyPI and Debian
 * packages whose source and binary names differ), stored in any Store.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import type { Inventory, Package } from '../../model/package.js';
import type { OsvRecord } from '../../model/vuln.js';
import type { Store, TeamContext } from '../../store/index.js';
import { importFeeds } from '../../vulndb/index.js';
import { reevaluationLookupKeys } from '../reevaluate.js';

const CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
const MEDIUM = 'CVSS:3.1/AV:N/AC:H/PR:L/UI:R/S:U/C:L/I:L/A:N';

function npm(id: string, name: string, fixed: string, extra: Partial<OsvRecord> = {}): OsvRecord {
  return {
    id, modified: '2025-01-01T00:00:00Z', aliases: [`CVE-2025-${id.replace(/\D/g, '').padStart(4, '0')}`],
    severity: [{ type: 'CVSS_V3', score: Number(id.replace(/\D/g, '')) % 2 ? CRITICAL : MEDIUM }],
    affected: [{ package: { ecosystem: 'npm', name }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed }] }] }],
    ...extra,
  };
}

function pypi(id: string, name: string, fixed: string): OsvRecord {
  return { id, modified: '2025-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'PyPI', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }] };
}

function debian(id: string, source: string, fixed: string, modified = '2025-01-01T00:00:00Z'): OsvRecord {
  return { id, modified, upstream: [id.replace(/^DEBIAN-/, '')], affected: [{ package: { ecosystem: 'Debian:12', name: source }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }] };
}

/** Advisories of the first identity. */
export function recordsV1(): OsvRecord[] {
  const out: OsvRecord[] = [];
  for (let i = 0; i < 10; i++) out.push(npm(`GHSA-${i + 1}`, `lib${i}`, `1.${(i % 5) + 3}.0`));
  out.push(pypi('PYSEC-1', 'Flask_Login', '0.6.0'));
  out.push(debian('DEBIAN-CVE-2025-9001', 'openssl', '3.0.12-1'));
  out.push(debian('DEBIAN-CVE-2025-9002', 'glibc', '2.36-9'));
  return out;
}

/**
 * The second identity: GHSA-2 modified (fixed later), GHSA-3 withdrawn, GHSA-5 removed, GHSA-11 (lib1)
 * and PYSEC-2 added, DEBIAN-CVE-2025-9001 modified (fixed later), DEBIAN-CVE-2025-9003 added.
 */
export function recordsV2(): OsvRecord[] {
  const out = recordsV1().filter((r) => r.id !== 'GHSA-5');
  const at = (id: string) => out.findIndex((r) => r.id === id);
  out[at('GHSA-2')] = npm('GHSA-2', 'lib1', '1.8.0', { modified: '2025-02-01T00:00:00Z' });
  out[at('GHSA-3')] = npm('GHSA-3', 'lib2', '1.5.0', { modified: '2025-02-01T00:00:00Z', withdrawn: '2025-02-01T00:00:00Z' });
  out[at('DEBIAN-CVE-2025-9001')] = debian('DEBIAN-CVE-2025-9001', 'openssl', '3.0.15-1', '2025-02-01T00:00:00Z');
  out.push(npm('GHSA-11', 'lib1', '1.2.0', { modified: '2025-02-01T00:00:00Z' }));
  out.push(pypi('PYSEC-2', 'flask-login', '0.7.0'));
  out.push(debian('DEBIAN-CVE-2025-9003', 'zlib', '1:1.2.13.dfsg-2', '2025-02-01T00:00:00Z'));
  return out;
}

function zip(dir: string, file: string, records: OsvRecord[]): string {
  const p = join(dir, file);
  writeFileSync(p, zipSync(Object.fromEntries(records.map((r) => [`${r.id}.json`, strToU8(JSON.stringify(r))]))));
  return p;
}

const tick = (iso: string) => ({ now: () => new Date(iso) });

/** Imports v1 then (optionally) v2 into a database at `path`; returns both identities. */
export async function buildDb(dir: string, path: string, records: { v1?: OsvRecord[]; v2?: OsvRecord[] } = {}): Promise<{ v1: string; v2: string }> {
  const a = await importFeeds(path, [{ path: zip(dir, 'v1.zip', records.v1 ?? recordsV1()), name: 'osv:Test' }], { clock: tick('2025-01-02T00:00:00Z') });
  const b = await importFeeds(path, [{ path: zip(dir, 'v2.zip', records.v2 ?? recordsV2()), name: 'osv:Test' }], { clock: tick('2025-02-02T00:00:00Z') });
  return { v1: a.digest, v2: b.digest };
}

/** Imports only the first identity (the second comes later with importV2). */
export async function buildDbV1(dir: string, path: string): Promise<string> {
  return (await importFeeds(path, [{ path: zip(dir, 'v1.zip', recordsV1()), name: 'osv:Test' }], { clock: tick('2025-01-02T00:00:00Z') })).digest;
}

export async function importV2(dir: string, path: string): Promise<string> {
  return (await importFeeds(path, [{ path: zip(dir, 'v2.zip', recordsV2()), name: 'osv:Test' }], { clock: tick('2025-02-02T00:00:00Z') })).digest;
}

/** A small deterministic generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEBS: [string, string, string[]][] = [
  // binary, source, versions
  ['libssl3', 'openssl', ['3.0.11-1', '3.0.13-1', '3.0.15-1']],
  ['libc6', 'glibc', ['2.36-8', '2.36-9']],
  ['zlib1g', 'zlib', ['1:1.2.13.dfsg-1', '1:1.2.13.dfsg-3']],
  ['bash', 'bash', ['5.2.15-2']],
];

/** Inventory number i: a Debian 12 image for even i, plus npm and PyPI packages with varied versions. */
export function inventory(i: number, seed = 7): Inventory {
  const r = rng(seed * 100_003 + i);
  const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
  const packages: Package[] = [];
  const loc = [{ path: '/app/package-lock.json', layer: 0 }];
  for (let k = 0; k < 12; k++) {
    if (r() < 0.4) continue;
    const v = `1.${Math.floor(r() * 10)}.${Math.floor(r() * 3)}`;
    packages.push({ id: `npm:lib${k}@${v}`, type: 'npm', name: `lib${k}`, version: v, purl: `pkg:npm/lib${k}@${v}`, locations: loc, foundBy: 'test' });
  }
  if (r() < 0.5) {
    const v = ['0.5.0', '0.6.1', '0.7.0'][Math.floor(r() * 3)]!;
    packages.push({ id: `pypi:Flask-Login@${v}`, type: 'pypi', name: 'Flask-Login', version: v, locations: loc, foundBy: 'test' });
  }
  const inv: Inventory = { source: { target: `example.com/app${i % 7}@${digest}`, kind: 'registry', name: `example.com/app${i % 7}`, digest, layers: [] }, packages, relationships: [], issues: [] };
  if (i % 2 === 0) {
    inv.distro = { id: 'debian', versionId: '12', idLike: [], name: 'Debian GNU/Linux' };
    for (const [bin, src, versions] of DEBS) {
      const v = versions[Math.floor(r() * versions.length)]!;
      packages.push({ id: `deb:${bin}@${v}`, type: 'deb', name: bin, version: v, locations: [{ path: '/var/lib/dpkg/status', layer: 0 }], foundBy: 'test', metadata: { kind: 'dpkg', source: src, sourceVersion: v } });
    }
  }
  return inv;
}

export interface Populated {
  teams: TeamContext[];
  images: { ctx: TeamContext; repository: string; digest: string }[];
}

/** Two teams, `n` inventories alternating between them, each recorded under a repository with owner labels. */
export async function populate(store: Store, n: number, seed = 7): Promise<Populated> {
  const teams: TeamContext[] = [];
  for (const name of ['alpha', 'beta']) {
    const t = await store.createTeam(name, 'test');
    teams.push({ teamId: t.id, actor: 'test' });
  }
  const images: Populated['images'] = [];
  for (let i = 0; i < n; i++) {
    const ctx = teams[i % 2]!;
    const inv = inventory(i, seed);
    const repository = inv.source.name;
    await store.recordImage(ctx, { repository, digest: inv.source.digest!, tags: ['latest'], labels: { 'org.opencontainers.image.authors': `dev${i % 3}@example.com`, 'drydock.owner': 'team-app' } });
    await store.putInventory(ctx, inv.source.digest!, inv, { lookupKeys: reevaluationLookupKeys });
    images.push({ ctx, repository, digest: inv.source.digest! });
  }
  return { teams, images };
}
