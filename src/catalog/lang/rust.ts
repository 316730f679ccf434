/**
 * Rust: Cargo.lock files of dir: targets (lock formats v1–v4 with dependency edges) and the
 * dependency lists cargo-auditable embeds in binaries: a `.dep-v0` section (ELF, PE; Mach-O
 * `__DATA,.dep-v0`) holding zlib-compressed JSON
 * `{packages: [{name, version, source, kind, dependencies: [indices], root}]}`.
 */
import { inflateSync } from 'node:zlib';
import type { Package, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { elfHeader, elfSectionHeader, elfSectionName, readExecutable } from './binary-formats.js';
import { bad, catalogDeclaredFiles, isRecord, LIMIT, makePackage, purlOf, str } from './common.js';
import { parse as parseToml } from './toml.js';

const MAX_BINARY = 256 * 1024 * 1024;
const MAX_LOCK = 32 * 1024 * 1024;
const MAX_AUDIT_COMPRESSED = 8 * 1024 * 1024;
const MAX_AUDIT_JSON = 64 * 1024 * 1024;
const MAX_ENTRIES = 200_000;

export function cargoPurl(name: string, version: string): string | undefined {
  return purlOf('cargo', undefined, name, version);
}

/* ------------------------------------------------------------------ binary sections */

export interface Section {
  name: string;
  offset: number;
  size: number;
}

/** Named sections with file contents of an ELF, Mach-O or PE file (empty for other files or broken headers). */
export function binarySections(b: Buffer): Section[] {
  try {
    return readExecutable(b, { elf: elfSections, macho: machoSections, pe: peSections }) ?? [];
  } catch {
    return [];
  }
}

function elfSections(b: Buffer): Section[] {
  const h = elfHeader(b);
  const { is64, shoff, shentsize, shnum, shstrndx } = h;
  const out: Section[] = [];
  if (shoff <= 0 || shnum === 0 || shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > b.length || shstrndx >= shnum) return out;
  const strtab = elfSectionHeader(h, shstrndx);
  for (let i = 0; i < shnum; i++) {
    const s = elfSectionHeader(h, i);
    if (s.type === 8 /* NOBITS */ || s.type === 0) continue;
    const name = elfSectionName(b, strtab, s);
    if (name === undefined) continue;
    out.push({ name, offset: s.offset, size: s.size });
  }
  return out;
}

function machoSections(b: Buffer, le: boolean): Section[] {
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (o: number) => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const is64 = (u32(0) & 1) === 1;
  const ncmds = Math.min(u32(16), 10_000);
  let o = is64 ? 32 : 28;
  const out: Section[] = [];
  for (let i = 0; i < ncmds && o + 8 <= b.length; i++) {
    const cmd = u32(o);
    const size = u32(o + 4);
    if (size < 8) break;
    if (cmd === 0x19 || cmd === 0x1) {
      const s64 = cmd === 0x19;
      const nsects = Math.min(u32(o + (s64 ? 64 : 48)), 1000);
      let so = o + (s64 ? 72 : 56);
      const step = s64 ? 80 : 68;
      for (let j = 0; j < nsects && so + step <= b.length; j++, so += step) {
        const name = b.toString('latin1', so, so + 16).replace(/\0.*$/s, '');
        out.push({ name, offset: u32(so + (s64 ? 48 : 40)), size: s64 ? u64(so + 40) : u32(so + 36) });
      }
    }
    o += size;
  }
  return out;
}

function peSections(b: Buffer): Section[] {
  const pe = b.readUInt32LE(0x3c);
  if (pe + 24 > b.length || b.readUInt32LE(pe) !== 0x00004550) return [];
  const nsect = Math.min(b.readUInt16LE(pe + 6), 1000);
  const optSize = b.readUInt16LE(pe + 20);
  const out: Section[] = [];
  for (let i = 0; i < nsect; i++) {
    const s = pe + 24 + optSize + i * 40;
    if (s + 40 > b.length) break;
    const name = b.toString('latin1', s, s + 8).replace(/\0.*$/s, '');
    const virtualSize = b.readUInt32LE(s + 8);
    const rawSize = b.readUInt32LE(s + 16);
    // the raw size is padded to the file alignment; the virtual size is the real one when smaller
    out.push({ name, offset: b.readUInt32LE(s + 20), size: virtualSize > 0 ? Math.min(virtualSize, rawSize) : rawSize });
  }
  return out;
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

/** The compressed `.dep-v0` bytes of a binary, or undefined when it has none. */
export function findAuditSection(b: Buffer): Buffer | undefined {
  for (const s of binarySections(b)) {
    if (s.name !== '.dep-v0') continue;
    if (s.offset < 0 || s.size <= 0 || s.offset + s.size > b.length) return undefined;
    return b.subarray(s.offset, s.offset + s.size);
  }
  return undefined;
}

/** Inflates and validates the audit data; throws with a message on bad content. */
export function decodeAuditData(compressed: Buffer): AuditPackage[] {
  if (compressed.length > MAX_AUDIT_COMPRESSED) throw new Error(`audit data larger than ${MAX_AUDIT_COMPRESSED} bytes`);
  let json: Buffer;
  try {
    json = inflateSync(compressed, { maxOutputLength: MAX_AUDIT_JSON });
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
  for (const f of ctx.files()) {
    if (f.type !== 'file' || f.size < 64) continue;
    const b = await ctx.read(f.path);
    if (!b) continue;
    const sec = findAuditSection(b);
    if (!sec) continue;
    let list: AuditPackage[];
    try {
      list = decodeAuditData(sec);
    } catch (e) {
      bad(ctx, f.path, `unreadable cargo-auditable data: ${(e as Error).message}`);
      continue;
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
  }
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
  version: '1',
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
