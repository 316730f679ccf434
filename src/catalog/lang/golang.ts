/**
 * Go binaries: the build information the Go linker embeds (the `.go.buildinfo` data; see the
 * debug/buildinfo format): a 32-byte header starting with "\xff Go buildinf:", pointer size and
 * flags; with flag 0x2 (Go ≥ 1.18) the Go version and module info follow as varint-prefixed
 * strings, before that the header holds two pointers to Go string headers, translated through
 * the ELF, Mach-O or PE address map. The module info (path/mod/dep/=>/build lines) sits between
 * 16-byte sentinels.
 */
import type { Package, PackageMetadataGo, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { elfHeader, elfSectionHeader, elfSectionName, readExecutable } from './binary-formats.js';
import { bad, makePackage, purlOf } from './common.js';

const MAX_BINARY = 256 * 1024 * 1024;
const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const MAX_STRING = 16 * 1024 * 1024;

interface Segment {
  vaddr: bigint;
  offset: number;
  size: number;
}

interface BinaryInfo {
  /** file offset where the build info search should start (section data) */
  sections: { offset: number; size: number }[];
  segments: Segment[];
}

/** Section and load-segment maps of ELF, Mach-O and PE files; undefined for other files. */
export function binaryLayout(b: Buffer): BinaryInfo | undefined {
  try {
    return readExecutable(b, { elf: elfLayout, macho: machoLayout, pe: peLayout });
  } catch {
    return undefined; // truncated headers: the caller scans the whole file
  }
}

function elfLayout(b: Buffer): BinaryInfo {
  const h = elfHeader(b);
  const { is64, u32, uN, phoff, phentsize, phnum, shoff, shentsize, shnum, shstrndx } = h;
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (o + phentsize > b.length) break;
    if (u32(o) !== 1) continue; // PT_LOAD
    if (is64) segments.push({ offset: Number(uN(o + 8)), vaddr: uN(o + 16), size: Number(uN(o + 32)) });
    else segments.push({ offset: u32(o + 4), vaddr: BigInt(u32(o + 8)), size: u32(o + 16) });
  }
  const sections: { offset: number; size: number }[] = [];
  if (shoff > 0 && shnum > 0 && shoff + shnum * shentsize <= b.length && shstrndx < shnum) {
    const strtab = elfSectionHeader(h, shstrndx);
    for (let i = 0; i < shnum; i++) {
      const s = elfSectionHeader(h, i);
      if (elfSectionName(b, strtab, s) === '.go.buildinfo' && s.type !== 8 /* NOBITS */) sections.push({ offset: s.offset, size: s.size });
    }
  }
  return { sections, segments };
}

function machoLayout(b: Buffer, le: boolean): BinaryInfo {
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (o: number) => (le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const is64 = (u32(0) & 1) === 1;
  const ncmds = Math.min(u32(16), 10_000);
  let o = is64 ? 32 : 28;
  const segments: Segment[] = [];
  const sections: { offset: number; size: number }[] = [];
  for (let i = 0; i < ncmds && o + 8 <= b.length; i++) {
    const cmd = u32(o);
    const size = u32(o + 4);
    if (size < 8) break;
    if (cmd === 0x19 || cmd === 0x1) {
      const s64 = cmd === 0x19;
      const vaddr = s64 ? u64(o + 24) : BigInt(u32(o + 24));
      const fileoff = s64 ? Number(u64(o + 40)) : u32(o + 32);
      const filesize = s64 ? Number(u64(o + 48)) : u32(o + 36);
      segments.push({ vaddr, offset: fileoff, size: filesize });
      const nsects = Math.min(u32(o + (s64 ? 64 : 48)), 1000);
      let so = o + (s64 ? 72 : 56);
      for (let j = 0; j < nsects && so + (s64 ? 80 : 68) <= b.length; j++, so += s64 ? 80 : 68) {
        const name = b.toString('latin1', so, so + 16).replace(/\0.*$/, '');
        if (name === '__go_buildinfo') {
          sections.push({ offset: u32(so + (s64 ? 48 : 40)), size: s64 ? Number(u64(so + 40)) : u32(so + 36) });
        }
      }
    }
    o += size;
  }
  return { sections, segments };
}

function peLayout(b: Buffer): BinaryInfo {
  const pe = b.readUInt32LE(0x3c);
  if (pe + 24 > b.length || b.readUInt32LE(pe) !== 0x00004550) return { sections: [], segments: [] };
  const nsect = Math.min(b.readUInt16LE(pe + 6), 1000);
  const optSize = b.readUInt16LE(pe + 20);
  const opt = pe + 24;
  const magic = b.readUInt16LE(opt);
  const imageBase = magic === 0x20b ? b.readBigUInt64LE(opt + 24) : BigInt(b.readUInt32LE(opt + 28));
  const segments: Segment[] = [];
  const sections: { offset: number; size: number }[] = [];
  for (let i = 0; i < nsect; i++) {
    const s = opt + optSize + i * 40;
    if (s + 40 > b.length) break;
    const name = b.toString('latin1', s, s + 8).replace(/\0.*$/, '');
    const va = b.readUInt32LE(s + 12);
    const rawSize = b.readUInt32LE(s + 16);
    const rawPtr = b.readUInt32LE(s + 20);
    segments.push({ vaddr: imageBase + BigInt(va), offset: rawPtr, size: rawSize });
    if (name === '.go.buildinfo') sections.push({ offset: rawPtr, size: rawSize });
  }
  return { sections, segments };
}

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

/** Decodes the build info header at `at`; undefined when it is not a valid one. */
function decodeAt(b: Buffer, at: number, layout: BinaryInfo | undefined): GoBuildInfo | undefined {
  if (at + 32 > b.length) return undefined;
  const ptrSize = b[at + 14]!;
  const flags = b[at + 15]!;
  if (flags & 0x2) {
    let o = at + 32;
    const strs: string[] = [];
    for (let k = 0; k < 2; k++) {
      const v = readVarint(b, o);
      if (!v || v[0] > MAX_STRING || v[1] + v[0] > b.length) return undefined;
      strs.push(b.toString('utf8', v[1], v[1] + v[0]));
      o = v[1] + v[0];
    }
    return { goVersion: strs[0]!, modInfo: strs[1]! };
  }
  if (ptrSize !== 4 && ptrSize !== 8) return undefined;
  const be = (flags & 0x1) !== 0;
  const ptr = (o: number): bigint | undefined => {
    if (o + ptrSize > b.length) return undefined;
    if (ptrSize === 8) return be ? b.readBigUInt64BE(o) : b.readBigUInt64LE(o);
    return BigInt(be ? b.readUInt32BE(o) : b.readUInt32LE(o));
  };
  const toOffset = (addr: bigint): number | undefined => {
    for (const s of layout?.segments ?? []) {
      if (addr >= s.vaddr && addr < s.vaddr + BigInt(s.size)) return s.offset + Number(addr - s.vaddr);
    }
    return undefined;
  };
  const goString = (addr: bigint | undefined): string | undefined => {
    if (addr === undefined) return undefined;
    const h = toOffset(addr);
    if (h === undefined) return undefined;
    const data = ptr(h);
    const len = ptr(h + ptrSize);
    if (data === undefined || len === undefined || len > BigInt(MAX_STRING)) return undefined;
    if (len === 0n) return '';
    const d = toOffset(data);
    if (d === undefined || d + Number(len) > b.length) return undefined;
    return b.toString('utf8', d, d + Number(len));
  };
  const goVersion = goString(ptr(at + 16));
  const modInfo = goString(ptr(at + 16 + ptrSize));
  if (goVersion === undefined || modInfo === undefined) return undefined;
  return { goVersion, modInfo };
}

/** The Go build info of an executable, or undefined when it has none. */
export function readGoBuildInfo(b: Buffer): GoBuildInfo | undefined {
  const layout = binaryLayout(b);
  const candidates: number[] = [];
  for (const s of layout?.sections ?? []) {
    const i = b.indexOf(MAGIC, s.offset);
    if (i >= 0 && i < s.offset + Math.max(s.size, 32)) candidates.push(i);
  }
  // no section (stripped section headers, PE .data): scan; the header is 16-byte aligned
  for (let i = b.indexOf(MAGIC); i >= 0 && candidates.length < 64; i = b.indexOf(MAGIC, i + 1)) if (!candidates.includes(i)) candidates.push(i);
  candidates.sort((x, y) => (x % 16 === 0 ? 0 : 1) - (y % 16 === 0 ? 0 : 1));
  for (const c of candidates) {
    const r = decodeAt(b, c, layout);
    if (r && r.goVersion.startsWith('go')) return r;
  }
  return undefined;
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
  return purlOf('golang', i > 0 ? path.slice(0, i) : undefined, i > 0 ? path.slice(i + 1) : path, version);
}

async function catalogGo(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  for (const f of ctx.files()) {
    if (f.type !== 'file' || f.size < 64) continue;
    const b = await ctx.read(f.path);
    if (!b) continue;
    let info: GoBuildInfo | undefined;
    try {
      info = readGoBuildInfo(b);
    } catch (e) {
      bad(ctx, f.path, `unreadable go build info: ${(e as Error).message}`);
      continue;
    }
    if (!info) continue;
    const mi = parseModInfo(info.modInfo);
    const loc = () => [ctx.locate(f.path, 'binary')];
    const goVersion = info.goVersion;
    const stdVersion = goVersion.replace(/^go/, '').split(/\s/)[0]!;
    const std = makePackage({
      type: 'golang',
      name: 'stdlib',
      version: stdVersion,
      purl: purlOf('golang', undefined, 'stdlib', stdVersion),
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
      continue;
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
  }
  return { packages, relationships };
}

export const goBinaryCataloger: Cataloger = {
  name: 'go-binary',
  version: '1',
  tags: ['language', 'binary', 'installed', 'image', 'directory'],
  // readGoBuildInfo finds nothing in a file without the build info magic: keep only files holding it
  selector: { executables: true, contentMarkers: [MAGIC.toString('latin1')], maxSize: MAX_BINARY },
  catalog: (ctx) => catalogGo(ctx, 'go-binary'),
};
