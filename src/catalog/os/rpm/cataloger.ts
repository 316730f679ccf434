/**
 * rpm: the package database in one of its three formats (SQLite rpmdb.sqlite, Berkeley DB hash
 * Packages, SUSE's ndb Packages.db), under /usr/lib/sysimage/rpm or /var/lib/rpm. The first
 * database present (in that order of formats and places) is read; a broken one is reported and
 * the next one tried.
 */
import { packageId } from '../../../model/ids.js';
import type { Package, PackageMetadataRpm, Relationship } from '../../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../../types.js';
import { distroQualifier, layerRefOf } from '../common.js';
import { DbFormatError, readBerkeleyHash, readNdb, readSqlite, type Blobs } from './databases.js';
import { HeaderError, rpmInfo, type RpmInfo } from './header.js';
import { packageUrl } from '../../../model/purl.js';

const NAME = 'rpm';
const DIRS = ['/usr/lib/sysimage/rpm', '/var/lib/rpm'];
const KINDS: { file: string; read: (b: Buffer) => Blobs; what: string }[] = [
  { file: 'rpmdb.sqlite', read: readSqlite, what: 'SQLite' },
  { file: 'Packages.db', read: readNdb, what: 'ndb' },
  { file: 'Packages', read: readBerkeleyHash, what: 'Berkeley DB' },
];
const CANDIDATES = KINDS.flatMap((k) => DIRS.map((d) => ({ ...k, path: `${d}/${k.file}` })));

/** "epoch:version-release" as rpm compares it (epoch omitted when absent) */
export function rpmVersion(i: Pick<RpmInfo, 'epoch' | 'version' | 'release'>): string {
  const vr = i.release ? `${i.version}-${i.release}` : i.version;
  return i.epoch !== undefined ? `${i.epoch}:${vr}` : vr;
}

async function catalogRpm(ctx: CatalogContext): Promise<CatalogerResult> {
  const present = new Set(ctx.files().map((f) => f.path));
  for (const c of CANDIDATES) {
    if (!present.has(c.path)) continue;
    const buf = await ctx.read(c.path);
    if (!buf) continue;
    let blobs: Blobs;
    try {
      blobs = c.read(buf);
    } catch (e) {
      const msg = e instanceof DbFormatError ? e.message : `unexpected error: ${(e as Error).message}`;
      ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${c.path}: ${c.what} rpm database unreadable: ${msg}`, path: c.path });
      continue;
    }
    for (const p of blobs.problems) ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${c.path}: ${p}`, path: c.path });
    return build(ctx, c.path, blobs.blobs);
  }
  return { packages: [] };
}

function build(ctx: CatalogContext, dbPath: string, blobs: Buffer[]): CatalogerResult {
  const ns = ctx.distro?.id ?? 'redhat';
  const loc = ctx.locate(dbPath, 'database');
  const ref = layerRefOf(ctx, loc);
  const out: { pkg: Package; info: RpmInfo }[] = [];
  let bad = 0;
  let firstError = '';
  for (const blob of blobs) {
    let info: RpmInfo;
    try {
      info = rpmInfo(blob);
    } catch (e) {
      if (!(e instanceof HeaderError) && !(e instanceof RangeError)) throw e;
      if (!bad++) firstError = e.message;
      continue;
    }
    // gpg-pubkey pseudo packages are keys, not software
    if (info.name === 'gpg-pubkey') continue;
    const meta: PackageMetadataRpm = { kind: 'rpm', release: info.release };
    if (info.epoch !== undefined) meta.epoch = info.epoch;
    if (info.arch) meta.architecture = info.arch;
    if (info.sourceRpm) meta.sourceRpm = info.sourceRpm;
    if (info.vendor) meta.vendor = info.vendor;
    if (info.modularityLabel) meta.modularityLabel = info.modularityLabel;
    if (info.files.length) meta.files = info.files;
    const version = rpmVersion(info);
    const pkg: Package = { id: '', type: 'rpm', namespace: ns, name: info.name, version, locations: [loc], foundBy: NAME, metadata: meta };
    // SPDX expressions where they parse (Fedora), else the declared string ("ASL 2.0", "GPLv2+")
    if (info.license?.trim()) pkg.licenses = [info.license.trim()];
    pkg.purl = packageUrl('rpm', ns, info.name, info.release ? `${info.version}-${info.release}` : info.version, {
      arch: info.arch,
      epoch: info.epoch !== undefined ? String(info.epoch) : undefined,
      distro: distroQualifier(ctx.distro),
    });
    pkg.id = packageId(pkg);
    if (ref) pkg.introducedBy = ref;
    out.push({ pkg, info });
  }
  if (bad) ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${dbPath}: ${bad} package headers unreadable (first: ${firstError})`, path: dbPath });

  // requires → providers (names, provides and file paths)
  const providers = new Map<string, Package>();
  for (const { pkg, info } of out) for (const p of info.provides) if (!providers.has(p)) providers.set(p, pkg);
  for (const { pkg, info } of out) for (const f of info.files) if (!providers.has(f.path)) providers.set(f.path, pkg);
  for (const { pkg } of out) providers.set(pkg.name, pkg);
  const rels = new Map<string, Relationship>();
  for (const { pkg, info } of out) {
    for (const r of info.requires) {
      if (r.startsWith('rpmlib(')) continue;
      const t = providers.get(r);
      if (!t || t === pkg) continue;
      rels.set(`${pkg.id}>${t.id}`, { from: pkg.id, to: t.id, type: 'depends-on' });
    }
  }
  return { packages: out.map((o) => o.pkg), relationships: [...rels.values()] };
}

export const rpmCataloger: Cataloger = {
  name: NAME,
  version: '1',
  tags: ['os', 'installed', 'image', 'directory'],
  selector: { paths: CANDIDATES.map((c) => c.path) },
  catalog: catalogRpm,
};
