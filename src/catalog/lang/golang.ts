/**
 * Go binaries: the build information the Go linker embeds (the `.go.buildinfo` data; see the
 * debug/buildinfo format): a 32-byte header starting with "\xff Go buildinf:", pointer size and
 * flags; with flag 0x2 (Go ≥ 1.18) the Go version and module info follow as varint-prefixed
 * strings, before that the header holds two pointers to Go string headers, translated through
 * the ELF, Mach-O or PE address map. The module info (path/mod/dep/=>/build lines) sits between
 * 16-byte sentinels. Binaries are read by position: the headers and section tables, the build info
 * section and, for the pointer format, the few bytes the pointers lead to (debug/buildinfo reads
 * the same); only a binary without a usable section is searched for the magic, chunk by chunk.
 */
import type { Package, PackageMetadataGo, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bytesAt, executableLayout, forEachBinary, runOnBuffer, runOnSource, type ExecutableLayout, type ExecutableSection, type RangeSource, type Reading, ContentUnavailable } from './binary-formats.js';
import { bad, makePackage } from './common.js';
import { packageUrl } from '../../model/purl.js';

const MAX_BINARY = 256 * 1024 * 1024;
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const MAX_STRING = 16 * 1024 * 1024;
/** candidates looked at when no build info section decodes (as many as the whole-file search ever kept) */
const MAX_CANDIDATES = 64;
/** the whole-file search for the magic reads this much at a time */
const SCAN_CHUNK = 1024 * 1024;

/** The build info section's name per format (Go's debug/buildinfo; PE keeps it in .data, found by the search). */
function isBuildInfoSection(layout: ExecutableLayout, s: ExecutableSection): boolean {
  return layout.format === 'macho-le' || layout.format === 'macho-be' ? s.name === '__go_buildinfo' : s.name === '.go.buildinfo';
}

/** [value, offset after it] of the unsigned varint at `o` of `b`, undefined when it does not end inside `b`. */
function readVarint(b: Buffer, o: number): [number, number] | undefined {
  let v = 0;
  let shift = 0;
  for (let i = 0; i < 10 && o + i < b.length; i++) {
    const c = b[o + i]!;
    v += (c & 0x7f) * 2 ** shift;
    if ((c & 0x80) === 0) return [v, o + i + 1];
    shift += 7;
  }
  return undefined;
}

export interface GoBuildInfo {
  goVersion: string;
  modInfo: string;
}

/** Decodes the build info header at file offset `at`; undefined when it is not a valid one. */
function* decodeAt(at: number, size: number, layout: ExecutableLayout | undefined): Reading<GoBuildInfo | undefined> {
  if (at + 32 > size) return undefined;
  const hdr = yield* bytesAt(at, 32);
  const ptrSize = hdr[14]!;
  const flags = hdr[15]!;
  if (flags & 0x2) {
    // Go ≥ 1.18: two varint-prefixed strings right after the 32-byte header
    let o = at + 32;
    const strs: string[] = [];
    for (let k = 0; k < 2; k++) {
      const v = readVarint(yield* bytesAt(o, 10), 0);
      if (!v) return undefined;
      const [len, skip] = v;
      if (len > MAX_STRING || o + skip + len > size) return undefined;
      strs.push((yield* bytesAt(o + skip, len)).toString('utf8'));
      o += skip + len;
    }
    return { goVersion: strs[0]!, modInfo: strs[1]! };
  }
  // before: two pointers to Go string headers {data pointer, length}, in the data segment
  if (ptrSize !== 4 && ptrSize !== 8) return undefined;
  const be = (flags & 0x1) !== 0;
  const ptr = function* (o: number): Reading<bigint | undefined> {
    if (o + ptrSize > size) return undefined;
    const b = yield* bytesAt(o, ptrSize);
    if (ptrSize === 8) return be ? b.readBigUInt64BE(0) : b.readBigUInt64LE(0);
    return BigInt(be ? b.readUInt32BE(0) : b.readUInt32LE(0));
  };
  const toOffset = (addr: bigint): number | undefined => {
    for (const s of layout?.segments ?? []) {
      if (addr >= s.vaddr && addr < s.vaddr + BigInt(s.size)) return s.offset + Number(addr - s.vaddr);
    }
    return undefined;
  };
  const goString = function* (addr: bigint | undefined): Reading<string | undefined> {
    if (addr === undefined) return undefined;
    const h = toOffset(addr);
    if (h === undefined) return undefined;
    const data = yield* ptr(h);
    const len = yield* ptr(h + ptrSize);
    if (data === undefined || len === undefined || len > BigInt(MAX_STRING)) return undefined;
    if (len === 0n) return '';
    const d = toOffset(data);
    if (d === undefined || d + Number(len) > size) return undefined;
    return (yield* bytesAt(d, Number(len))).toString('utf8');
  };
  const goVersion = yield* goString(yield* ptr(at + 16));
  const modInfo = yield* goString(yield* ptr(at + 16 + ptrSize));
  if (goVersion === undefined || modInfo === undefined) return undefined;
  return { goVersion, modInfo };
}

/** Offsets of the magic in the file, in file order, after those already in `found` (at most MAX_CANDIDATES in all). */
function* searchMagic(size: number, found: number[]): Reading<void> {
  for (let pos = 0; pos < size && found.length < MAX_CANDIDATES; pos += SCAN_CHUNK) {
    // chunks overlap by the magic's length less one: a match never straddles two of them unseen
    const b = yield* bytesAt(pos, SCAN_CHUNK + MAGIC.length - 1);
    for (let i = b.indexOf(MAGIC); i >= 0 && found.length < MAX_CANDIDATES; i = b.indexOf(MAGIC, i + 1)) {
      if (!found.includes(pos + i)) found.push(pos + i);
    }
  }
}

/**
 * The build info of an executable of `size` bytes. The header is looked for in the build info
 * section first (only the tables and that section are read); when none decodes there (stripped
 * section headers, PE), the file is searched for the magic, 16-byte aligned matches first.
 */
function* findBuildInfo(size: number): Reading<GoBuildInfo | undefined> {
  let layout: ExecutableLayout | undefined;
  try {
    layout = yield* executableLayout(size);
  } catch {
    layout = undefined; // truncated headers: search the whole file
  }
  const candidates: number[] = [];
  for (const s of layout?.sections ?? []) {
    if (!isBuildInfoSection(layout!, s)) continue;
    // the first match at or after the section start, when it starts inside the section
    const limit = s.offset + Math.max(s.rawSize ?? s.size, 32);
    const w = yield* bytesAt(s.offset, Math.min(limit - s.offset, MAX_STRING) + MAGIC.length - 1);
    const i = w.indexOf(MAGIC);
    if (i >= 0) candidates.push(s.offset + i);
  }
  const decodes = (r: GoBuildInfo | undefined): r is GoBuildInfo => r !== undefined && r.goVersion.startsWith('go');
  const failed = new Set<number>();
  for (const c of candidates) {
    if (c % 16 !== 0) continue;
    const r = yield* decodeAt(c, size, layout);
    if (decodes(r)) return r;
    failed.add(c);
  }
  yield* searchMagic(size, candidates);
  // aligned first, each group in the order found (section matches, then file order)
  candidates.sort((x, y) => (x % 16 === 0 ? 0 : 1) - (y % 16 === 0 ? 0 : 1));
  for (const c of candidates) {
    if (failed.has(c)) continue;
    const r = yield* decodeAt(c, size, layout);
    if (decodes(r)) return r;
  }
  return undefined;
}

/** The Go build info of an executable held in memory, or undefined when it has none. */
export function readGoBuildInfo(b: Buffer): GoBuildInfo | undefined {
  return runOnBuffer(b, findBuildInfo(b.length));
}

/** The Go build info of an executable read by position (headers and the build info section only, in the usual case). */
export function readGoBuildInfoFrom(src: RangeSource): Promise<GoBuildInfo | undefined> {
  return runOnSource(src, findBuildInfo(src.size));
}

export interface GoModule {
  path: string;
  version: string;
  sum?: string;
  replace?: { path: string; version: string; sum?: string };
}

export interface ModInfo {
  path?: string;
  main?: GoModule;
  deps: GoModule[];
  settings: Record<string, string>;
}

/** Strips the 16-byte sentinels and parses the path/mod/dep/=>/build lines. */
export function parseModInfo(raw: string): ModInfo {
  let s = raw;
  if (s.length >= 33 && s[s.length - 17] === '\n') s = s.slice(16, s.length - 16);
  const out: ModInfo = { deps: [], settings: {} };
  let last: GoModule | undefined;
  for (const line of s.split('\n').slice(0, 100_000)) {
    const f = line.split('\t');
    switch (f[0]) {
      case 'path':
        out.path = f[1];
        break;
      case 'mod':
      case 'dep': {
        if (!f[1]) break;
        const m: GoModule = { path: f[1], version: f[2] ?? '' };
        if (f[3]) m.sum = f[3];
        if (f[0] === 'mod') out.main = m;
        else out.deps.push(m);
        last = m;
        break;
      }
      case '=>':
        if (last && f[1]) {
          last.replace = { path: f[1], version: f[2] ?? '' };
          if (f[3]) last.replace.sum = f[3];
        }
        break;
      case 'build': {
        const kv = f.slice(1).join('\t');
        const eq = kv.indexOf('=');
        if (eq > 0 && Object.keys(out.settings).length < 1000) out.settings[kv.slice(0, eq)] = kv.slice(eq + 1);
        break;
      }
    }
  }
  return out;
}

export function goPurl(path: string, version: string): string | undefined {
  const i = path.lastIndexOf('/');
  return packageUrl('golang', i > 0 ? path.slice(0, i) : undefined, i > 0 ? path.slice(i + 1) : path, version);
}

async function catalogGo(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  await forEachBinary(ctx, async (f, src) => {
    let info: GoBuildInfo | undefined;
    try {
      info = await readGoBuildInfoFrom(src);
    } catch (e) {
      if (e instanceof ContentUnavailable) throw e;
      bad(ctx, f.path, `unreadable go build info: ${(e as Error).message}`);
      return;
    }
    if (!info) return;
    const mi = parseModInfo(info.modInfo);
    const loc = () => [ctx.locate(f.path, 'binary')];
    const goVersion = info.goVersion;
    const stdVersion = goVersion.replace(/^go/, '').split(/\s/)[0]!;
    const std = makePackage({
      type: 'golang',
      name: 'stdlib',
      version: stdVersion,
      purl: packageUrl('golang', undefined, 'stdlib', stdVersion),
      locations: loc(),
      foundBy,
      metadata: { kind: 'golang', goVersion },
    });
    packages.push(std);
    const mod = (m: GoModule, main: boolean): Package => {
      const eff = m.replace ?? m;
      const version = eff.version || '(devel)';
      const meta: PackageMetadataGo = { kind: 'golang', goVersion };
      if (mi.main) meta.mainModule = mi.main.path;
      if (eff.sum ?? m.sum) meta.h1Digest = eff.sum ?? m.sum;
      if (m.replace) meta.replacedBy = m.replace.version ? { path: m.replace.path, version: m.replace.version } : { path: m.replace.path };
      if (main && Object.keys(mi.settings).length) meta.settings = mi.settings;
      return makePackage({ type: 'golang', name: eff.path, version, purl: goPurl(eff.path, version), locations: loc(), foundBy, metadata: meta });
    };
    if (!mi.main && !mi.path) {
      if (info.modInfo.length > 0) bad(ctx, f.path, 'go module info without a main module');
      return;
    }
    const main = mi.main ? mod(mi.main, true) : undefined;
    if (main) {
      packages.push(main);
      relationships.push({ from: main.id, to: std.id, type: 'depends-on' });
    }
    const seen = new Set<string>();
    for (const d of mi.deps) {
      const p = mod(d, false);
      if (seen.has(p.id)) continue;
      seen.add(p.id);
      packages.push(p);
      if (main) relationships.push({ from: main.id, to: p.id, type: 'depends-on' });
    }
  });
  return { packages, relationships };
}

export const goBinaryCataloger: Cataloger = {
  name: 'go-binary',
  version: '2',
  tags: ['language', 'binary', 'installed', 'image', 'directory'],
  // readGoBuildInfo finds nothing in a file without the build info magic: keep only files holding it
  selector: { executables: true, contentMarkers: [MAGIC.toString('latin1')], maxSize: MAX_BINARY },
  catalog: (ctx) => catalogGo(ctx, 'go-binary'),
};
