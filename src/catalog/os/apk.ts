/**
 * apk: /lib/apk/db/installed. Records are separated by blank lines; each line is "X:value" with a
 * one-letter key (P name, V version, A arch, o origin, L license, m maintainer, D depends,
 * p provides, F directory, R file in that directory, Z checksum of the preceding R).
 */
import { packageId } from '../../model/ids.js';
import type { Package, PackageMetadataApk, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { isSpdxExpression } from '../../model/spdx.js';
import { distroQualifier, layerRefOf } from './common.js';
import { packageUrl } from '../../model/purl.js';

const INSTALLED = '/lib/apk/db/installed';
const NAME = 'apk';

export interface ApkRecord {
  fields: Map<string, string>;
  files: { path: string; digest?: string }[];
  line: number;
}

export function parseApkInstalled(text: string): { records: ApkRecord[]; problems: string[] } {
  const records: ApkRecord[] = [];
  const problems: string[] = [];
  let cur: ApkRecord | undefined;
  let dir = '';
  let bad = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') {
      if (cur) records.push(cur);
      cur = undefined;
      dir = '';
      continue;
    }
    if (line.length < 2 || line[1] !== ':') {
      if (bad++ < 5) problems.push(`line ${i + 1}: not a "X:value" line`);
      continue;
    }
    cur ??= { fields: new Map(), files: [], line: i + 1 };
    const k = line[0]!;
    const v = line.slice(2);
    if (k === 'F') dir = v;
    else if (k === 'R') cur.files.push({ path: `/${dir ? dir + '/' : ''}${v}` });
    else if (k === 'Z' && cur.files.length) {
      const last = cur.files[cur.files.length - 1]!;
      if (!last.digest) last.digest = apkDigest(v);
    } else if (!cur.fields.has(k)) cur.fields.set(k, v);
  }
  if (cur) records.push(cur);
  if (bad > 5) problems.push(`${bad - 5} more malformed lines`);
  return { records, problems };
}

/** "Q1<base64 sha1>" → "sha1:<hex>"; other forms kept as they are */
function apkDigest(v: string): string {
  if (v.startsWith('Q1')) {
    const b = Buffer.from(v.slice(2), 'base64');
    if (b.length === 20) return `sha1:${b.toString('hex')}`;
  }
  if (v.startsWith('Q2')) {
    const b = Buffer.from(v.slice(2), 'base64');
    if (b.length === 32) return `sha256:${b.toString('hex')}`;
  }
  return v;
}

/** "so:libc.musl-x86_64.so.1=1" / "name>=1.2" / "!conflict" → the bare name (undefined for conflicts) */
function depName(d: string): string | undefined {
  if (d.startsWith('!')) return undefined;
  return d.split(/[<>=~]/)[0] || undefined;
}

function licensesOf(l: string | undefined): string[] | undefined {
  const v = l?.trim();
  if (!v) return undefined;
  if (isSpdxExpression(v)) return [v];
  const parts = v.split(/\s+/).filter(Boolean);
  if (parts.length > 1 && parts.every(isSpdxExpression)) return [parts.join(' AND ')];
  return [v];
}

async function catalogApk(ctx: CatalogContext): Promise<CatalogerResult> {
  const f = ctx.files().find((x) => x.path === INSTALLED);
  if (!f) return { packages: [] };
  const buf = await ctx.read(INSTALLED);
  if (!buf) return { packages: [] };
  if (buf.subarray(0, 8192).includes(0)) {
    ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${INSTALLED}: not an apk database (binary content)`, path: INSTALLED });
    return { packages: [] };
  }
  const text = buf.toString('utf8');
  const { records, problems } = parseApkInstalled(text);
  for (const p of problems) ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${INSTALLED}: ${p}`, path: INSTALLED });
  const truncated = text.length > 0 && !text.endsWith('\n');
  const ns = ctx.distro?.id ?? 'alpine';
  const loc = ctx.locate(INSTALLED, 'database');
  const out: { pkg: Package; deps: string[]; provides: string[] }[] = [];
  records.forEach((r, idx) => {
    const name = r.fields.get('P');
    const version = r.fields.get('V');
    if (!name || !version) {
      ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${INSTALLED}: ${truncated && idx === records.length - 1 ? 'truncated' : 'incomplete'} record at line ${r.line} (needs P and V)`, path: INSTALLED });
      return;
    }
    if (truncated && idx === records.length - 1) {
      ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${INSTALLED}: file ends without a newline (truncated?); last record (${name}) kept`, path: INSTALLED });
    }
    const arch = r.fields.get('A');
    const origin = r.fields.get('o');
    const meta: PackageMetadataApk = { kind: 'apk' };
    if (origin) meta.origin = origin;
    if (arch) meta.architecture = arch;
    const m = r.fields.get('m');
    if (m) meta.maintainer = m;
    const deps = (r.fields.get('D') ?? '').split(/\s+/).filter(Boolean);
    const provides = (r.fields.get('p') ?? '').split(/\s+/).filter(Boolean);
    if (deps.length) meta.depends = deps;
    if (provides.length) meta.provides = provides;
    if (r.files.length) meta.files = r.files;
    const pkg: Package = { id: '', type: 'apk', namespace: ns, name, version, locations: [loc], foundBy: NAME, metadata: meta };
    const lic = licensesOf(r.fields.get('L'));
    if (lic) pkg.licenses = lic;
    pkg.purl = packageUrl('apk', ns, name, version, { arch, distro: distroQualifier(ctx.distro), upstream: origin && origin !== name ? origin : undefined });
    pkg.id = packageId(pkg);
    const ref = layerRefOf(ctx, loc);
    if (ref) pkg.introducedBy = ref;
    out.push({ pkg, deps, provides });
  });

  const byName = new Map<string, Package>();
  for (const o of out) {
    byName.set(o.pkg.name, o.pkg);
    for (const p of o.provides) {
      const n = depName(p);
      if (n && !byName.has(n)) byName.set(n, o.pkg);
    }
  }
  for (const o of out) byName.set(o.pkg.name, o.pkg); // real names win over provides
  const rels = new Map<string, Relationship>();
  for (const o of out) {
    for (const d of o.deps) {
      const n = depName(d);
      const t = n ? byName.get(n) : undefined;
      if (!t || t === o.pkg) continue;
      rels.set(`${o.pkg.id}>${t.id}`, { from: o.pkg.id, to: t.id, type: 'depends-on' });
    }
  }
  return { packages: out.map((o) => o.pkg), relationships: [...rels.values()] };
}

export const apkCataloger: Cataloger = {
  name: NAME,
  version: '1',
  tags: ['os', 'installed', 'image', 'directory'],
  selector: { paths: [INSTALLED] },
  catalog: catalogApk,
};
