/**
 * Rust: Cargo.lock files of dir: targets (lock formats v1–v4 with dependency edges) and the
 * dependency lists cargo-auditable embeds in binaries: a `.dep-v0` section (ELF, PE; Mach-O
 * `__DATA,.dep-v0`) holding zlib-compressed JSON
 * `{packages: [{name, version, source, kind, dependencies: [indices], root}]}`. Binaries are read
 * by position: the headers, the section table and the `.dep-v0` section only.
 */
import { zlib } from '../../core/lazy.js';
import type { Package, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bytesAt, ContentUnavailable, executableLayout, forEachBinary, runOnBuffer, runOnSource, type ExecutableSection, type RangeSource, type Reading } from './binary-formats.js';
import { bad, catalogDeclaredFiles, isRecord, LIMIT, makePackage, str } from './common.js';
import { parse as parseToml } from './toml.js';
import { packageUrl } from '../../model/purl.js';

const MAX_BINARY = 256 * 1024 * 1024;
const MAX_LOCK = 32 * 1024 * 1024;
const MAX_AUDIT_COMPRESSED = 8 * 1024 * 1024;
const MAX_AUDIT_JSON = 64 * 1024 * 1024;
const MAX_ENTRIES = 200_000;

export function cargoPurl(name: string, version: string): string | undefined {
  return packageUrl('cargo', undefined, name, version);
}

/* ------------------------------------------------------------------ binary sections */

export interface Section {
  name: string;
  offset: number;
  size: number;
}

/** Named sections with file contents of an ELF, Mach-O or PE file (empty for other files or broken headers). */
export function binarySections(b: Buffer): Section[] {
  return runOnBuffer(b, sectionsOf(b.length)).map(({ name, offset, size }) => ({ name, offset, size }));
}

function* sectionsOf(size: number): Reading<ExecutableSection[]> {
  try {
    return (yield* executableLayout(size))?.sections ?? [];
  } catch {
    return [];
  }
}

/* ------------------------------------------------------------------ cargo-auditable */

export interface AuditPackage {
  name: string;
  version: string;
  source?: string;
  kind?: string;
  dependencies: number[];
  root?: boolean;
}

/** The compressed `.dep-v0` bytes of a file of `size` bytes (read after the section table), or undefined when it has none. */
function* auditSection(size: number): Reading<Buffer | undefined> {
  for (const s of yield* sectionsOf(size)) {
    if (s.name !== '.dep-v0') continue;
    if (s.offset < 0 || s.size <= 0 || s.offset + s.size > size) return undefined;
    // the same limit decodeAuditData applies, checked before the bytes are read
    if (s.size > MAX_AUDIT_COMPRESSED) throw new Error(`audit data larger than ${MAX_AUDIT_COMPRESSED} bytes`);
    return yield* bytesAt(s.offset, s.size);
  }
  return undefined;
}

/** The compressed `.dep-v0` bytes of a binary, or undefined when it has none. */
export function findAuditSection(b: Buffer): Buffer | undefined {
  return runOnBuffer(b, auditSection(b.length));
}

/** The same, read by position; throws when the section is larger than the audit data may be. */
export function findAuditSectionFrom(src: RangeSource): Promise<Buffer | undefined> {
  return runOnSource(src, auditSection(src.size));
}

/** Inflates and validates the audit data; throws with a message on bad content. */
export function decodeAuditData(compressed: Buffer): AuditPackage[] {
  if (compressed.length > MAX_AUDIT_COMPRESSED) throw new Error(`audit data larger than ${MAX_AUDIT_COMPRESSED} bytes`);
  let json: Buffer;
  try {
    json = zlib().inflateSync(compressed, { maxOutputLength: MAX_AUDIT_JSON });
  } catch (e) {
    throw new Error(`audit data does not inflate: ${(e as Error).message}`);
  }
  const doc = JSON.parse(json.toString('utf8')) as unknown;
  if (!isRecord(doc) || !Array.isArray(doc.packages)) throw new Error('audit data has no packages array');
  if (doc.packages.length > MAX_ENTRIES) throw new Error(`audit data lists more than ${MAX_ENTRIES} packages`);
  const all = doc.packages as unknown[];
  const out: AuditPackage[] = [];
  for (const p of all) {
    if (!isRecord(p) || typeof p.name !== 'string' || typeof p.version !== 'string') throw new Error('audit data package without name or version');
    const deps = Array.isArray(p.dependencies) ? p.dependencies.filter((d): d is number => Number.isInteger(d) && (d as number) >= 0 && (d as number) < all.length) : [];
    const a: AuditPackage = { name: p.name, version: p.version, dependencies: deps };
    if (typeof p.source === 'string') a.source = p.source;
    if (typeof p.kind === 'string') a.kind = p.kind;
    if (p.root === true) a.root = true;
    out.push(a);
  }
  return out;
}

async function catalogAuditable(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  await forEachBinary(ctx, async (f, src) => {
    let list: AuditPackage[];
    try {
      const sec = await findAuditSectionFrom(src);
      if (!sec) return;
      list = decodeAuditData(sec);
    } catch (e) {
      if (e instanceof ContentUnavailable) throw e;
      bad(ctx, f.path, `unreadable cargo-auditable data: ${(e as Error).message}`);
      return;
    }
    const pkgs = list.map((a) => {
      const meta: Record<string, unknown> = { ecosystem: 'cargo', dependencyKind: a.kind ?? 'runtime' };
      if (a.source) meta.source = a.source;
      if (a.root) meta.root = true;
      return makePackage({
        type: 'cargo',
        name: a.name,
        version: a.version,
        purl: cargoPurl(a.name, a.version),
        locations: [ctx.locate(f.path, 'binary')],
        foundBy,
        metadata: { kind: 'generic', ...meta },
      });
    });
    const seen = new Set<string>();
    pkgs.forEach((p) => {
      if (!seen.has(p.id)) packages.push(p);
      seen.add(p.id);
    });
    const edges = new Set<string>();
    list.forEach((a, i) => {
      for (const d of a.dependencies) {
        const from = pkgs[i]!.id;
        const to = pkgs[d]!.id;
        if (from === to || edges.has(`${from}>${to}`)) continue;
        edges.add(`${from}>${to}`);
        relationships.push({ from, to, type: 'depends-on' });
      }
    });
  });
  return { packages, relationships };
}

/* ------------------------------------------------------------------ Cargo.lock */

interface LockPkg {
  name: string;
  version: string;
  source?: string;
  checksum?: string;
  deps: string[];
}

/**
 * Cargo.lock, all formats: v1 writes dependencies as "name version (source)" and checksums in
 * [metadata]; v2+ write "name" when the name is unique in the lock, else "name version"
 * (plus " (source)" when still ambiguous), and a checksum per package.
 */
export function parseCargoLock(ctx: CatalogContext, path: string, text: string, foundBy: string): CatalogerResult {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    bad(ctx, path, `invalid toml: ${(e as Error).message}`);
    return { packages: [] };
  }
  const raw = Array.isArray(doc.package) ? doc.package : [];
  if (raw.length > MAX_ENTRIES) bad(ctx, path, `more than ${MAX_ENTRIES} packages, truncated`, LIMIT);
  const v1sums = isRecord(doc.metadata) ? doc.metadata : {};
  const list: LockPkg[] = [];
  for (const p of raw.slice(0, MAX_ENTRIES)) {
    if (!isRecord(p) || typeof p.name !== 'string' || typeof p.version !== 'string') {
      bad(ctx, path, 'package entry without name or version');
      continue;
    }
    const e: LockPkg = { name: p.name, version: p.version, deps: Array.isArray(p.dependencies) ? p.dependencies.filter((d): d is string => typeof d === 'string').slice(0, 10_000) : [] };
    if (typeof p.source === 'string') e.source = p.source;
    const sum = str(p.checksum) ?? str(v1sums[`checksum ${p.name} ${p.version} (${e.source ?? ''})`]);
    if (sum) e.checksum = sum;
    list.push(e);
  }
  const packages: Package[] = [];
  const byName = new Map<string, { e: LockPkg; pkg: Package }[]>();
  const byId = new Map<string, Package>();
  const entries: { e: LockPkg; pkg: Package }[] = [];
  for (const e of list) {
    const meta: Record<string, unknown> = { ecosystem: 'cargo' };
    if (e.source) meta.source = e.source;
    if (e.checksum) meta.checksum = e.checksum;
    const pkg = makePackage({ type: 'cargo', name: e.name, version: e.version, purl: cargoPurl(e.name, e.version), locations: [ctx.locate(path, 'lockfile')], foundBy, metadata: { kind: 'generic', ...meta } });
    // the same name and version from two sources share an id: one package
    const use = byId.get(pkg.id) ?? pkg;
    if (use === pkg) {
      byId.set(pkg.id, pkg);
      packages.push(pkg);
    }
    const item = { e, pkg: use };
    entries.push(item);
    const arr = byName.get(e.name) ?? [];
    arr.push(item);
    byName.set(e.name, arr);
  }
  const relationships: Relationship[] = [];
  const edges = new Set<string>();
  for (const { e, pkg } of entries) {
    for (const d of e.deps) {
      const m = /^(\S+)(?: (\S+))?(?: \((.+)\))?$/.exec(d.trim());
      if (!m) continue;
      const cands = (byName.get(m[1]!) ?? []).filter((c) => (m[2] === undefined || c.e.version === m[2]) && (m[3] === undefined || c.e.source === m[3]));
      const to = cands[0]?.pkg;
      if (!to || to.id === pkg.id || edges.has(`${pkg.id}>${to.id}`)) continue;
      edges.add(`${pkg.id}>${to.id}`);
      relationships.push({ from: pkg.id, to: to.id, type: 'depends-on' });
    }
  }
  return { packages, relationships };
}

function catalogLocks(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  return catalogDeclaredFiles(ctx, MAX_LOCK, (path, text) => parseCargoLock(ctx, path, text, foundBy));
}

export const rustAuditBinaryCataloger: Cataloger = {
  name: 'rust-audit-binary',
  version: '2',
  tags: ['language', 'binary', 'installed', 'image', 'directory'],
  // findAuditSection needs a section named ".dep-v0" (ELF string table, Mach-O or PE section header): keep only files holding the name
  selector: { executables: true, contentMarkers: ['.dep-v0'], maxSize: MAX_BINARY },
  catalog: (ctx) => catalogAuditable(ctx, 'rust-audit-binary'),
};

export const rustLockCataloger: Cataloger = {
  name: 'rust-cargo-lock',
  version: '1',
  tags: ['language', 'declared', 'directory'],
  selector: { basenames: ['Cargo.lock'], maxSize: MAX_LOCK },
  catalog: (ctx) => catalogLocks(ctx, 'rust-cargo-lock'),
};
