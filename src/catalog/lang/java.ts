/**
 * Java archives (jar, war, ear, par, jpi, hpi): the zip central directory is read with the project's
 * bounded zip reader (core/zip.ts; bounded entry count, sizes and nesting), one package per META-INF/maven/** /pom.properties
 * (shaded jars have several), else one from META-INF/MANIFEST.MF and the file name; nested
 * archives (WEB-INF/lib, BOOT-INF/lib, lib/ of ears, ...) are opened recursively with a depth
 * limit and a total uncompressed-bytes budget (zip bombs), and get a virtualPath
 * "outer.war!/WEB-INF/lib/inner.jar".
 */
import { createHash } from 'node:crypto';
import { bufferSource, readZipDirectory, readZipEntry, ZipFormatError, type ZipEntry } from '../../core/zip.js';
import type { Package, PackageMetadataJava, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { isSpdxExpression } from '../../model/spdx.js';
import { bad, makePackage, posixBasename, LIMIT } from './common.js';
import { packageUrl } from '../../model/purl.js';

const MAX_ARCHIVE = 512 * 1024 * 1024;
const MAX_ENTRIES = 200_000;
const MAX_META_ENTRY = 4 * 1024 * 1024;
const MAX_NESTED = 128 * 1024 * 1024;
const MAX_DEPTH = 4;
/** uncompressed bytes inflated per top-level archive (metadata and nested archives) */
const BUDGET = 1024 * 1024 * 1024;
const ARCHIVE_EXT = /\.(jar|war|ear|par|jpi|hpi|sar|nar|kar|rar)$/i;

export type { ZipEntry } from '../../core/zip.js';

/** Central directory of a zip (zip64 aware). Throws ZipFormatError when it cannot be read. */
export function readCentralDirectory(b: Buffer, maxEntries = MAX_ENTRIES): ZipEntry[] {
  return readZipDirectory(bufferSource(b), { maxEntries });
}

/** The uncompressed bytes of one entry (stored or deflated, CRC-checked), at most `max` bytes. */
export function readEntry(b: Buffer, e: ZipEntry, max: number): Buffer {
  return readZipEntry(bufferSource(b), e, max);
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
      bad(w.ctx, w.path, `${virtualPath}: ${(err as Error).message}`, err instanceof ZipFormatError && /over the limit/.test(err.message) ? LIMIT : undefined);
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
      purl: packageUrl('maven', group ?? artifact, artifact, version),
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
