// Benchmark: incremental re-evaluation after a database update (issue 7).
// Stores N inventories (default 10,000; corpus-app-like: 40 npm packages of a pool of 400 names with
// varied versions, one of 100 rarer packages in a tenth of them, Debian 12 OS packages in half of them), evaluates them against identity v1, then
// imports v2 = v1 + 100 new npm advisories on 100 package names, and measures the time from the change
// log applied (v2 written) to the last outbox event enqueued (reevaluate() returns after the last
// applyEvaluation commit). Asserts the number of new findings equals the count of stored packages in
// the affected ranges, and that a full re-match afterwards makes no transition (incremental == full).
//
//   npm run build && node bench/server-reevaluate.mjs [sqlite|postgres|both]   (N=10000 by default)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { strToU8, zipSync } from 'fflate';
import pg from 'pg';
import { openStore } from '../dist/store/index.js';
import { importFeeds, VulnDb } from '../dist/vulndb/index.js';
import { reevaluate, reevaluationLookupKeys } from '../dist/server/reevaluate.js';

const N = Number(process.env.N ?? 10_000);
const which = process.argv[2] ?? 'both';
const PG_ADMIN = process.env.DRYDOCK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const NAMES = 400;

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function inventory(i) {
  const r = rng(1_000_003 * 7 + i);
  const digest = `sha256:${i.toString(16).padStart(64, '0')}`;
  const packages = [];
  const seen = new Set();
  while (packages.length < 40) {
    const k = Math.floor(r() * NAMES);
    if (seen.has(k)) continue;
    seen.add(k);
    const v = `1.${Math.floor(r() * 10)}.${Math.floor(r() * 5)}`;
    packages.push({ id: `npm:pkg${k}@${v}`, type: 'npm', name: `pkg${k}`, version: v, purl: `pkg:npm/pkg${k}@${v}`, locations: [{ path: `/app/node_modules/pkg${k}/package.json`, layer: 2 }], foundBy: 'npm' });
  }
  if (r() < 0.1) {
    // a rarer package: the 100 advisories of v2 name these, so about a tenth of the images are affected
    const k = NAMES + Math.floor(r() * 100);
    const v = `1.${Math.floor(r() * 10)}.0`;
    packages.push({ id: `npm:pkg${k}@${v}`, type: 'npm', name: `pkg${k}`, version: v, purl: `pkg:npm/pkg${k}@${v}`, locations: [{ path: `/app/node_modules/pkg${k}/package.json`, layer: 2 }], foundBy: 'npm' });
  }
  const inv = { source: { target: `registry.example/app${i % 50}@${digest}`, kind: 'registry', name: `registry.example/app${i % 50}`, digest, layers: [] }, packages, relationships: [], issues: [] };
  if (i % 2 === 0) {
    inv.distro = { id: 'debian', versionId: '12', idLike: [] };
    for (const [bin, src] of [['libssl3', 'openssl'], ['libc6', 'glibc'], ['zlib1g', 'zlib'], ['bash', 'bash'], ['libcurl4', 'curl']]) {
      const v = `1.${Math.floor(r() * 5)}-1`;
      packages.push({ id: `deb:${bin}@${v}`, type: 'deb', name: bin, version: v, locations: [{ path: '/var/lib/dpkg/status', layer: 0 }], foundBy: 'dpkg', metadata: { kind: 'dpkg', source: src, sourceVersion: v } });
    }
  }
  return inv;
}

const adv = (id, eco, name, fixed, type = 'SEMVER') => ({
  id, modified: '2025-01-01T00:00:00Z', aliases: [`CVE-2025-${id.replace(/\D/g, '')}`],
  severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
  affected: [{ package: { ecosystem: eco, name }, ranges: [{ type, events: [{ introduced: '0' }, { fixed }] }] }],
});
const V1 = [];
for (let k = 0; k < 300; k++) V1.push(adv(`GHSA-1${String(k).padStart(4, '0')}`, 'npm', `pkg${k}`, `1.${(k % 9) + 1}.0`));
V1.push(adv('DEBIAN-CVE-2025-0001', 'Debian:12', 'openssl', '1.3-1', 'ECOSYSTEM'));
// v2: 100 new advisories on the rarer names pkg400..pkg499, fixed in 1.5.0
const CHANGED = Array.from({ length: 100 }, (_, j) => NAMES + j);
const V2 = [...V1, ...CHANGED.map((k) => ({ ...adv(`GHSA-2${String(k).padStart(4, '0')}`, 'npm', `pkg${k}`, '1.5.0'), modified: '2025-02-01T00:00:00Z' }))];

function zip(dir, file, records) {
  const p = join(dir, file);
  writeFileSync(p, zipSync(Object.fromEntries(records.map((r) => [`${r.id}.json`, strToU8(JSON.stringify(r))]))));
  return p;
}

async function run(kind) {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-reeval-'));
  let url = `sqlite:${join(dir, 'store.sqlite')}`;
  let dropDb;
  if (kind === 'postgres') {
    const name = `drydock_bench_${process.pid}`;
    const admin = async (sql) => { const c = new pg.Client({ connectionString: PG_ADMIN }); await c.connect(); try { await c.query(sql); } finally { await c.end(); } };
    await admin(`CREATE DATABASE ${name}`);
    const u = new URL(PG_ADMIN);
    u.pathname = `/${name}`;
    url = u.toString();
    dropDb = () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  const dbPath = join(dir, 'vulndb.sqlite');
  const store = await openStore(url);
  try {
    const v1 = await importFeeds(dbPath, [{ path: zip(dir, 'v1.zip', V1), name: 'osv:Bench' }], { clock: { now: () => new Date('2025-01-02T00:00:00Z') } });
    const team = await store.createTeam('bench', 'bench');
    const ctx = { teamId: team.id, actor: 'bench' };
    let expectedNew = 0;
    let t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const inv = inventory(i);
      for (const p of inv.packages) {
        const k = Number(p.name.slice(3));
        if (p.type === 'npm' && CHANGED.includes(k) && Number(p.version.split('.')[1]) < 5) expectedNew++;
      }
      await store.recordImage(ctx, { repository: inv.source.name, digest: inv.source.digest, labels: { 'drydock.owner': `team${i % 10}` } });
      await store.putInventory(ctx, inv.source.digest, inv, { lookupKeys: reevaluationLookupKeys });
    }
    const storeS = (performance.now() - t0) / 1000;
    let db = VulnDb.open(dbPath);
    t0 = performance.now();
    const seed = await reevaluate(store, db, { full: true });
    const seedS = (performance.now() - t0) / 1000;
    db.close();
    // the change log: v2 applied
    await importFeeds(dbPath, [{ path: zip(dir, 'v2.zip', V2), name: 'osv:Bench' }], { clock: { now: () => new Date('2025-02-02T00:00:00Z') } });
    t0 = performance.now();
    db = VulnDb.open(dbPath);
    const inc = await reevaluate(store, db, { fromIdentity: v1.digest });
    const incS = (performance.now() - t0) / 1000;
    if (inc.new !== expectedNew || inc.changed !== 0 || inc.resolved !== 0) throw new Error(`incremental: ${inc.new} new (want ${expectedNew}), ${inc.changed} changed, ${inc.resolved} resolved`);
    t0 = performance.now();
    const full = await reevaluate(store, db, { full: true });
    const fullS = (performance.now() - t0) / 1000;
    db.close();
    // incremental == full: the full re-match afterwards finds nothing to change
    if (full.new || full.changed || full.resolved || full.events) throw new Error(`full re-match after incremental made transitions: ${JSON.stringify(full)}`);
    return { kind, inventories: N, storeS, seedFindings: seed.new, seedS, changes: inc.changes, packagesFound: inc.packages, images: inc.images, newFindings: inc.new, events: inc.events, incrementalS: incS, fullS };
  } finally {
    await store.close();
    await dropDb?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const kind of which === 'both' ? ['sqlite', 'postgres'] : [which]) {
  const r = await run(kind);
  console.log(JSON.stringify(r));
}
