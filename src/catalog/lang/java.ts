/**
 * Java archives (jar, war, ear, par, jpi, hpi): the zip central directory is read by hand
 * (bounded entry count, sizes and nesting), one package per META-INF/maven/** /pom.properties
 * (shaded jars have several), else one from META-INF/MANIFEST.MF and the file name; nested
 * archives (WEB-INF/lib, BOOT-INF/lib, lib/ of ears, ...) are opened recursively with a depth
 * limit and a total uncompressed-bytes budget (zip bombs), and get a virtualPath
 * "outer.war!/WEB-INF/lib/inner.jar".
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'fflate';
import type { Package, PackageMetadataJava, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, isSpdxExpression, makePackage, posixBasename, purlOf, LIMIT } from './common.js';

const MAX_ARCHIVE = 512 * 1024 * 1024;
const MAX_ENTRIES = 200_000;
const MAX_META_ENTRY = 4 * 1024 * 1024;
const MAX_NESTED = 128 * 1024 * 1024;
const MAX_DEPTH = 4;
/** uncompressed bytes inflated per top-level archive (metadata and nested archives) */
const BUDGET = 1024 * 1024 * 1024;
const ARCHIVE_EXT = /\.(jar|war|ear|par|jpi|hpi|sar|nar|kar|rar)$/i;

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

export class ZipError extends Error {}

/** Central directory of a zip (zip64 aware). Throws ZipError when it cannot be read. */
export function readCentralDirectory(b: Buffer, maxEntries = MAX_ENTRIES): ZipEntry[] {
  const min = Math.max(0, b.length - 65557);
  let eocd = -1;
  for (let i = b.length - 22; i >= min; i--) {
    if (b.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('no end of central directory record');
  let count = b.readUInt16LE(eocd + 10);
  let cdSize = b.readUInt32LE(eocd + 12);
  let cdOffset = b.readUInt32LE(eocd + 16);
  if ((count === 0xffff || cdOffset === 0xffffffff || cdSize === 0xffffffff) && eocd >= 20 && b.readUInt32LE(eocd - 20) === 0x07064b50) {
    const z = Number(b.readBigUInt64LE(eocd - 20 + 8));
    if (z + 56 > b.length || b.readUInt32LE(z) !== 0x06064b50) throw new ZipError('bad zip64 end record');
    count = Number(b.readBigUInt64LE(z + 32));
    cdSize = Number(b.readBigUInt64LE(z + 40));
    cdOffset = Number(b.readBigUInt64LE(z + 48));
  }
  if (count > maxEntries) throw new ZipError(`more than ${maxEntries} entries`);
  // archives with a prefix (self-extracting, launcher scripts): offsets are relative to the zip start
  const shift = eocd - (cdOffset + cdSize) > 0 && b.readUInt32LE(cdOffset) !== 0x02014b50 ? eocd - (cdOffset + cdSize) : 0;
  let o = cdOffset + shift;
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (o + 46 > b.length || b.readUInt32LE(o) !== 0x02014b50) throw new ZipError('truncated central directory');
    const method = b.readUInt16LE(o + 10);
    let compressedSize = b.readUInt32LE(o + 20);
    let size = b.readUInt32LE(o + 24);
    const nameLen = b.readUInt16LE(o + 28);
    const extraLen = b.readUInt16LE(o + 30);
    const commentLen = b.readUInt16LE(o + 32);
    let localOffset = b.readUInt32LE(o + 42);
    const name = b.toString('utf8', o + 46, o + 46 + nameLen);
    // zip64 extended information extra field
    let e = o + 46 + nameLen;
    const eEnd = Math.min(e + extraLen, b.length);
    while (e + 4 <= eEnd) {
      const id = b.readUInt16LE(e);
      const len = b.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let p = e + 4;
        if (size === 0xffffffff && p + 8 <= eEnd) (size = Number(b.readBigUInt64LE(p))), (p += 8);
        if (compressedSize === 0xffffffff && p + 8 <= eEnd) (compressedSize = Number(b.readBigUInt64LE(p))), (p += 8);
        if (localOffset === 0xffffffff && p + 8 <= eEnd) localOffset = Number(b.readBigUInt64LE(p));
      }
      e += 4 + len;
    }
    out.push({ name, method, compressedSize, size, localOffset: localOffset + shift });
    o += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The uncompressed bytes of one entry (stored or deflated), at most `max` bytes. */
export function readEntry(b: Buffer, e: ZipEntry, max: number): Buffer {
  if (e.size > max) throw new ZipError(`${e.name}: ${e.size} bytes, over the limit of ${max}`);
  const o = e.localOffset;
  if (o + 30 > b.length || b.readUInt32LE(o) !== 0x04034b50) throw new ZipError(`${e.name}: bad local header`);
  const start = o + 30 + b.readUInt16LE(o + 26) + b.readUInt16LE(o + 28);
  const end = start + e.compressedSize;
  if (end > b.length) throw new ZipError(`${e.name}: truncated`);
  const data = b.subarray(start, end);
  if (e.method === 0) return Buffer.from(data);
  if (e.method !== 8) throw new ZipError(`${e.name}: unsupported compression method ${e.method}`);
  const out = new Uint8Array(e.size);
  let r: Uint8Array;
  try {
    r = inflateSync(data, { out });
  } catch (err) {
    throw new ZipError(`${e.name}: ${(err as Error).message}`);
  }
  if (r.length !== e.size) throw new ZipError(`${e.name}: inflated to ${r.length} bytes, the directory says ${e.size}`);
  return Buffer.from(r.buffer, r.byteOffset, r.length);
}

export function parseProperties(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/).slice(0, 10_000)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!.trim();
  }
  return out;
}

/** Main section of a MANIFEST.MF (72-byte lines continued by a leading space). */
export function parseManifest(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const line of text.split(/\r?\n/).slice(0, 100_000)) {
    if (line === '') break; // end of the main section
    if (line.startsWith(' ')) {
      if (last !== undefined && out[last]!.length < 64 * 1024) out[last] += line.slice(1);
      continue;
    }
    const c = line.indexOf(':');
    if (c <= 0) continue;
    last = line.slice(0, c).trim();
    out[last] = line.slice(c + 1).trim();
  }
  return out;
}

/** "commons-lang3-3.12.0.jar" → { name: "commons-lang3", version: "3.12.0" } */
export function nameFromFile(file: string): { name: string; version?: string } {
  const base = posixBasename(file).replace(ARCHIVE_EXT, '');
  const m = /^(.+)[-_]v?(\d[\w.+~]*)$/.exec(base) ?? /^(.+?)[-_]v?(\d[\w.+~-]*)$/.exec(base);
  return m ? { name: m[1]!, version: m[2]! } : { name: base };
}

const MANIFEST_KEEP = ['Implementation-Title', 'Implementation-Version', 'Implementation-Vendor', 'Implementation-Vendor-Id', 'Specification-Title', 'Specification-Version', 'Bundle-SymbolicName', 'Bundle-Name', 'Bundle-Version', 'Bundle-License', 'Automatic-Module-Name', 'Main-Class', 'Created-By'];

interface Walk {
  ctx: CatalogContext;
  foundBy: string;
  path: string;
  budget: number;
  packages: Package[];
  relationships: Relationship[];
}

function archivePackages(w: Walk, bytes: Buffer, virtualPath: string, depth: number): Package | undefined {
  let entries: ZipEntry[];
  try {
    entries = readCentralDirectory(bytes);
  } catch (e) {
    bad(w.ctx, w.path, `${virtualPath}: not a readable zip: ${(e as Error).message}`);
    return undefined;
  }
  const take = (e: ZipEntry, max: number): Buffer | undefined => {
    if (e.size > w.budget) {
      bad(w.ctx, w.path, `${virtualPath}: uncompressed-size budget exhausted at ${e.name}`, LIMIT);
      return undefined;
    }
    try {
      const b = readEntry(bytes, e, max);
      w.budget -= b.length;
      return b;
    } catch (err) {
      bad(w.ctx, w.path, `${virtualPath}: ${(err as Error).message}`, err instanceof ZipError && /over the limit/.test(err.message) ? LIMIT : undefined);
      return undefined;
    }
  };
  const sha1 = createHash('sha1').update(bytes).digest('hex');
  const mfEntry = entries.find((e) => e.name.toUpperCase() === 'META-INF/MANIFEST.MF');
  const mfBytes = mfEntry ? take(mfEntry, MAX_META_ENTRY) : undefined;
  const mf = mfBytes ? parseManifest(mfBytes.toString('utf8')) : {};
  const manifest: Record<string, string> = {};
  for (const k of MANIFEST_KEEP) if (mf[k]) manifest[k] = mf[k]!.slice(0, 1000);
  const bl = mf['Bundle-License'];
  const licenses = bl && isSpdxExpression(bl) ? [bl] : undefined;
  const fromFile = nameFromFile(virtualPath.split('!/').pop()!);
  const loc = () => [w.ctx.locate(w.path, 'archive')];
  const mk = (group: string | undefined, artifact: string, version: string, extra: Partial<PackageMetadataJava> = {}): Package => {
    const meta: PackageMetadataJava = { kind: 'java', artifactId: artifact, virtualPath, sha1, ...extra };
    if (group) meta.groupId = group;
    if (Object.keys(manifest).length) meta.manifest = manifest;
    return makePackage({
      type: 'maven',
      namespace: group,
      name: artifact,
      version,
      purl: purlOf('maven', group ?? artifact, artifact, version),
      licenses,
      locations: loc(),
      foundBy: w.foundBy,
      metadata: meta,
    });
  };
  const own: Package[] = [];
  for (const e of entries) {
    if (!/^META-INF\/maven\/[^/]+\/[^/]+\/pom\.properties$/.test(e.name)) continue;
    const b = take(e, MAX_META_ENTRY);
    if (!b) continue;
    const p = parseProperties(b.toString('utf8'));
    if (!p.artifactId || !p.version) {
      bad(w.ctx, w.path, `${virtualPath}: ${e.name} without artifactId or version`);
      continue;
    }
    own.push(mk(p.groupId, p.artifactId, p.version));
    if (own.length >= 1000) break;
  }
  if (own.length === 0) {
    const name = mf['Bundle-SymbolicName']?.split(';')[0]?.trim() || mf['Implementation-Title'] || mf['Automatic-Module-Name'] || fromFile.name;
    const version = mf['Bundle-Version'] || mf['Implementation-Version'] || mf['Specification-Version'] || fromFile.version;
    if (name && version) {
      const vendor = mf['Implementation-Vendor-Id'];
      // a dotted symbolic name "org.example.lib" names the group and the artifact
      const dot = name.lastIndexOf('.');
      const group = vendor ?? (dot > 0 && !mf['Implementation-Title'] ? name.slice(0, dot) : undefined);
      const artifact = vendor || dot <= 0 || mf['Implementation-Title'] ? name : name.slice(dot + 1);
      own.push(mk(group, artifact, version));
    } else bad(w.ctx, w.path, `${virtualPath}: no maven coordinates, manifest version or versioned file name`);
  }
  for (const p of own) w.packages.push(p);
  // the archive's own package: the pom.properties matching the file name, else the first
  const primary = own.find((p) => p.name === fromFile.name) ?? own[0];
  for (const p of own) if (primary && p !== primary) w.relationships.push({ from: primary.id, to: p.id, type: 'contains' });
  // nested archives
  for (const e of entries) {
    if (!ARCHIVE_EXT.test(e.name) || e.name.endsWith('/')) continue;
    if (depth + 1 > MAX_DEPTH) {
      bad(w.ctx, w.path, `${virtualPath}!/${e.name}: nested deeper than ${MAX_DEPTH} archives, skipped`, LIMIT);
      continue;
    }
    const b = take(e, MAX_NESTED);
    if (!b) continue;
    const inner = archivePackages(w, b, `${virtualPath}!/${e.name}`, depth + 1);
    if (inner && primary) w.relationships.push({ from: primary.id, to: inner.id, type: 'contains' });
  }
  return primary;
}

async function catalogJava(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  for (const f of ctx.files()) {
    if (f.type !== 'file' || !ARCHIVE_EXT.test(f.path)) continue;
    const bytes = await ctx.read(f.path);
    if (!bytes) continue;
    const w: Walk = { ctx, foundBy, path: f.path, budget: BUDGET, packages, relationships };
    try {
      archivePackages(w, bytes, posixBasename(f.path), 0);
    } catch (e) {
      bad(ctx, f.path, `unreadable archive: ${(e as Error).message}`);
    }
  }
  const seen = new Set<string>();
  return {
    packages: packages.filter((p) => (seen.has(p.id) ? false : (seen.add(p.id), true))),
    relationships,
  };
}

export const javaArchiveCataloger: Cataloger = {
  name: 'java-archive',
  version: '1',
  tags: ['language', 'installed', 'image', 'directory'],
  selector: { globs: ['**/*.jar', '**/*.war', '**/*.ear', '**/*.par', '**/*.jpi', '**/*.hpi', '**/*.sar', '**/*.nar', '**/*.kar'], maxSize: MAX_ARCHIVE },
  catalog: (ctx) => catalogJava(ctx, 'java-archive'),
};
