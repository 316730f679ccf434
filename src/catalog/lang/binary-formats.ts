/**
 * What the binary catalogers (Go build info, cargo-auditable) share: the executable's layout
 * (ELF, Mach-O or PE section and load-segment tables) and one loop over the selected files.
 *
 * Parsing is written as generators that ask for the bytes they need (`yield* bytesAt(...)`), so
 * the same code runs over a whole Buffer (tests, the classifiers) and over positional reads of a
 * spilled or cached content, where only the headers and one small section are ever read.
 */
import type { FileMeta } from '../../layers/types.js';
import type { CatalogContext } from '../types.js';

/* ------------------------------------------------------------------ reads on demand */

/** A request for the bytes [offset, offset + length); the answer is shorter at the end of the file. */
export interface ReadRequest {
  offset: number;
  length: number;
}

/** A parse that asks for file bytes as it goes; run it with runOnBuffer or runOnSource. */
export type Reading<T> = Generator<ReadRequest, T, Buffer>;

export function* bytesAt(offset: number, length: number): Reading<Buffer> {
  return yield { offset, length };
}

function slice(b: Buffer, q: ReadRequest): Buffer {
  const start = Math.min(Math.max(0, q.offset), b.length);
  return b.subarray(start, Math.min(b.length, start + Math.max(0, q.length)));
}

/** Runs a parse over a whole file held in memory (no copies: answers are views of `b`). */
export function runOnBuffer<T>(b: Buffer, r: Reading<T>): T {
  let step = r.next();
  while (!step.done) step = r.next(slice(b, step.value));
  return step.value;
}

/** A file read by position. */
export interface RangeSource {
  size: number;
  /** bytes [offset, offset + length), fewer at the end; throws ContentUnavailable when the content is gone */
  read(offset: number, length: number): Promise<Buffer>;
}

/** The content of a selected file could not be read (the filesystem has recorded why): skip the file. */
export class ContentUnavailable extends Error {}

export function bufferSource(b: Buffer): RangeSource {
  return { size: b.length, read: (offset, length) => Promise.resolve(slice(b, { offset, length })) };
}

/** Small reads are widened to this many bytes: headers, tables and build info usually sit close together. */
const READ_AHEAD = 16 * 1024;
/** Reads up to this size are remembered for the following requests of the same parse. */
const KEEP_MAX = 64 * 1024;

/** Runs a parse over positional reads; a few recent small answers serve later requests inside them. */
export async function runOnSource<T>(src: RangeSource, r: Reading<T>): Promise<T> {
  const kept: { offset: number; data: Buffer }[] = [];
  let step = r.next();
  while (!step.done) {
    const q = step.value;
    const start = Math.min(Math.max(0, q.offset), src.size);
    const end = Math.min(src.size, start + Math.max(0, q.length));
    let answer: Buffer | undefined;
    if (end === start) answer = Buffer.alloc(0);
    for (const k of kept) {
      if (answer) break;
      if (start >= k.offset && end <= k.offset + k.data.length) answer = k.data.subarray(start - k.offset, end - k.offset);
    }
    if (!answer) {
      const want = end - start < READ_AHEAD ? Math.min(src.size - start, READ_AHEAD) : end - start;
      const data = await src.read(start, want);
      if (data.length <= KEEP_MAX) {
        kept.unshift({ offset: start, data });
        if (kept.length > 4) kept.pop();
      }
      answer = data.subarray(0, end - start);
    }
    step = r.next(answer);
  }
  return step.value;
}

/** A positional reader of the content ctx.read(f.path) returns, when the context can give one. */
function rangeReaderOf(ctx: CatalogContext, f: FileMeta): ((offset: number, length: number) => Promise<Buffer | undefined>) | undefined {
  if (ctx.readRange) {
    const readRange = ctx.readRange.bind(ctx);
    return (offset, length) => readRange(f.path, offset, length);
  }
  // a listed file is its layer's own entry at that path: the squashed view's, or for a context
  // over one layer's hidden files that layer's copy, which is what read() returns in both cases
  if (typeof ctx.fs?.readRange === 'function') return (offset, length) => ctx.fs.readRange(f.path, offset, length, f.layer);
  return undefined;
}

/**
 * Visits the selected regular files of at least 64 bytes (smaller ones hold no executable header)
 * with a positional reader over their content, or over the whole content from read() where the
 * context cannot read by position. Files whose content is not kept are skipped.
 */
export async function forEachBinary(ctx: CatalogContext, visit: (f: FileMeta, src: RangeSource) => Promise<void>): Promise<void> {
  for (const f of ctx.files()) {
    if (f.type !== 'file' || f.size < 64) continue;
    let src: RangeSource;
    const readRange = rangeReaderOf(ctx, f);
    if (readRange) {
      src = {
        size: f.size,
        read: async (offset, length) => {
          const b = await readRange(offset, length);
          if (!b) throw new ContentUnavailable(f.path);
          return b;
        },
      };
    } else {
      const b = await ctx.read(f.path);
      if (!b) continue;
      src = bufferSource(b);
    }
    try {
      await visit(f, src);
    } catch (e) {
      if (!(e instanceof ContentUnavailable)) throw e;
    }
  }
}

/* ------------------------------------------------------------------ formats */

export type ExecutableFormat = 'elf' | 'macho-le' | 'macho-be' | 'pe';

/** ELF, Mach-O (either byte order) or PE by the first bytes of a file of `size` bytes; undefined for other files. */
export function executableFormat(head: Buffer, size: number = head.length): ExecutableFormat | undefined {
  if (size >= 64 && head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) return 'elf';
  if (size >= 32 && head.length >= 4) {
    const m = head.readUInt32LE(0);
    if (m === 0xfeedface || m === 0xfeedfacf) return 'macho-le';
    const mb = head.readUInt32BE(0);
    if (mb === 0xfeedface || mb === 0xfeedfacf) return 'macho-be';
  }
  if (size >= 64 && head[0] === 0x4d && head[1] === 0x5a) return 'pe';
  return undefined;
}

/** A named section with contents in the file. */
export interface ExecutableSection {
  name: string;
  offset: number;
  /** bytes of content (PE: the virtual size when smaller than the raw size, which is padded) */
  size: number;
  /** PE: the raw size, padded to the file alignment */
  rawSize?: number;
}

/** A range of the file mapped at a virtual address (ELF PT_LOAD, Mach-O segment, PE section). */
export interface LoadSegment {
  vaddr: bigint;
  offset: number;
  size: number;
}

export interface ExecutableLayout {
  format: ExecutableFormat;
  /** in table order; ELF: without NULL and NOBITS sections */
  sections: ExecutableSection[];
  segments: LoadSegment[];
}

/** Upper bounds on what a layout read asks for, against hostile headers. */
const MAX_TABLE = 16 * 1024 * 1024;
const MAX_NAME = 256;

/**
 * The section and load-segment tables of an executable of `size` bytes; undefined for other
 * files. Reads only the headers, the tables and the ELF section name table. Throws on truncated
 * or inconsistent headers: callers catch.
 */
export function* executableLayout(size: number): Reading<ExecutableLayout | undefined> {
  const head = yield* bytesAt(0, 64);
  const format = executableFormat(head, size);
  switch (format) {
    case 'elf':
      return yield* elfLayout(head, size);
    case 'macho-le':
    case 'macho-be':
      return yield* machoLayout(head, format === 'macho-le');
    case 'pe':
      return yield* peLayout(head);
    default:
      return undefined;
  }
}

/** Fixed-width integer readers of one byte order. */
interface Ints {
  u16(b: Buffer, o: number): number;
  u32(b: Buffer, o: number): number;
  u64(b: Buffer, o: number): bigint;
}
const LE: Ints = { u16: (b, o) => b.readUInt16LE(o), u32: (b, o) => b.readUInt32LE(o), u64: (b, o) => b.readBigUInt64LE(o) };
const BE: Ints = { u16: (b, o) => b.readUInt16BE(o), u32: (b, o) => b.readUInt32BE(o), u64: (b, o) => b.readBigUInt64BE(o) };

// ELF: System V gABI, "ELF Header", "Program Header", "Section Header"
function* elfLayout(head: Buffer, size: number): Reading<ExecutableLayout> {
  const is64 = head[4] === 2;
  const n = head[5] === 2 ? BE : LE;
  const addr = (b: Buffer, o: number): bigint => (is64 ? n.u64(b, o) : BigInt(n.u32(b, o)));
  const phoff = Number(addr(head, is64 ? 0x20 : 0x1c));
  const phentsize = n.u16(head, is64 ? 0x36 : 0x2a);
  const phnum = Math.min(n.u16(head, is64 ? 0x38 : 0x2c), 4096);
  const shoff = Number(addr(head, is64 ? 0x28 : 0x20));
  const shentsize = n.u16(head, is64 ? 0x3a : 0x2e);
  const shnum = n.u16(head, is64 ? 0x3c : 0x30);
  const shstrndx = n.u16(head, is64 ? 0x3e : 0x32);

  const segments: LoadSegment[] = [];
  if (phnum > 0 && phentsize >= (is64 ? 56 : 32)) {
    const ph = yield* bytesAt(phoff, Math.min(phnum * phentsize, MAX_TABLE));
    for (let i = 0; i < phnum; i++) {
      const o = i * phentsize;
      if (o + phentsize > ph.length) break;
      if (n.u32(ph, o) !== 1) continue; // PT_LOAD
      if (is64) segments.push({ offset: Number(n.u64(ph, o + 8)), vaddr: n.u64(ph, o + 16), size: Number(n.u64(ph, o + 32)) });
      else segments.push({ offset: n.u32(ph, o + 4), vaddr: BigInt(n.u32(ph, o + 8)), size: n.u32(ph, o + 16) });
    }
  }

  const sections: ExecutableSection[] = [];
  if (shoff <= 0 || shnum === 0 || shentsize < (is64 ? 64 : 40) || shoff + shnum * shentsize > size || shstrndx >= shnum) {
    return { format: 'elf', sections, segments };
  }
  const sh = yield* bytesAt(shoff, shnum * shentsize);
  const header = (i: number) => {
    const o = i * shentsize;
    return is64
      ? { name: n.u32(sh, o), type: n.u32(sh, o + 4), offset: Number(n.u64(sh, o + 24)), size: Number(n.u64(sh, o + 32)) }
      : { name: n.u32(sh, o), type: n.u32(sh, o + 4), offset: n.u32(sh, o + 16), size: n.u32(sh, o + 20) };
  };
  const strtab = header(shstrndx);
  const names = yield* bytesAt(strtab.offset, Math.min(strtab.size, MAX_TABLE));
  for (let i = 0; i < shnum; i++) {
    const s = header(i);
    if (s.type === 8 /* SHT_NOBITS */ || s.type === 0 /* SHT_NULL */) continue;
    if (s.name >= names.length) continue;
    const end = names.indexOf(0, s.name);
    const name = names.toString('latin1', s.name, end < 0 || end - s.name > MAX_NAME ? Math.min(names.length, s.name + MAX_NAME) : end);
    sections.push({ name, offset: s.offset, size: s.size });
  }
  return { format: 'elf', sections, segments };
}

// Mach-O: <mach-o/loader.h> mach_header(_64), segment_command(_64), section(_64)
function* machoLayout(head: Buffer, le: boolean): Reading<ExecutableLayout> {
  const n = le ? LE : BE;
  const is64 = (n.u32(head, 0) & 1) === 1;
  const ncmds = Math.min(n.u32(head, 16), 10_000);
  const sizeofcmds = n.u32(head, 20);
  const first = is64 ? 32 : 28;
  const b = yield* bytesAt(0, Math.min(first + sizeofcmds, MAX_TABLE));
  const segments: LoadSegment[] = [];
  const sections: ExecutableSection[] = [];
  let o = first;
  for (let i = 0; i < ncmds && o + 8 <= b.length; i++) {
    const cmd = n.u32(b, o);
    const cmdsize = n.u32(b, o + 4);
    if (cmdsize < 8) break;
    if (cmd === 0x19 /* LC_SEGMENT_64 */ || cmd === 0x1 /* LC_SEGMENT */) {
      const s64 = cmd === 0x19;
      const vaddr = s64 ? n.u64(b, o + 24) : BigInt(n.u32(b, o + 24));
      const fileoff = s64 ? Number(n.u64(b, o + 40)) : n.u32(b, o + 32);
      const filesize = s64 ? Number(n.u64(b, o + 48)) : n.u32(b, o + 36);
      segments.push({ vaddr, offset: fileoff, size: filesize });
      const nsects = Math.min(n.u32(b, o + (s64 ? 64 : 48)), 1000);
      const step = s64 ? 80 : 68;
      let so = o + (s64 ? 72 : 56);
      for (let j = 0; j < nsects && so + step <= b.length; j++, so += step) {
        const name = b.toString('latin1', so, so + 16).replace(/\0.*$/s, '');
        sections.push({ name, offset: n.u32(b, so + (s64 ? 48 : 40)), size: s64 ? Number(n.u64(b, so + 40)) : n.u32(b, so + 36) });
      }
    }
    o += cmdsize;
  }
  return { format: le ? 'macho-le' : 'macho-be', sections, segments };
}

// PE: Microsoft PE format, "COFF File Header", "Optional Header", "Section Table"
function* peLayout(head: Buffer): Reading<ExecutableLayout> {
  const out: ExecutableLayout = { format: 'pe', sections: [], segments: [] };
  const pe = head.readUInt32LE(0x3c);
  const coff = yield* bytesAt(pe, 24);
  if (coff.length < 24 || coff.readUInt32LE(0) !== 0x00004550) return out;
  const nsect = Math.min(coff.readUInt16LE(6), 1000);
  const optSize = coff.readUInt16LE(20);
  const opt = yield* bytesAt(pe + 24, 32);
  const imageBase = opt.readUInt16LE(0) === 0x20b ? opt.readBigUInt64LE(24) : BigInt(opt.readUInt32LE(28));
  const table = yield* bytesAt(pe + 24 + optSize, nsect * 40);
  for (let i = 0; i < nsect && (i + 1) * 40 <= table.length; i++) {
    const s = i * 40;
    const name = table.toString('latin1', s, s + 8).replace(/\0.*$/s, '');
    const virtualSize = table.readUInt32LE(s + 8);
    const va = table.readUInt32LE(s + 12);
    const rawSize = table.readUInt32LE(s + 16);
    const rawPtr = table.readUInt32LE(s + 20);
    out.segments.push({ vaddr: imageBase + BigInt(va), offset: rawPtr, size: rawSize });
    out.sections.push({ name, offset: rawPtr, size: virtualSize > 0 ? Math.min(virtualSize, rawSize) : rawSize, rawSize });
  }
  return out;
}
