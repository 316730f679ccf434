/**
 * Header decoding shared by the binary catalogers (Go build info, cargo-auditable): which
 * executable format a file is, and the ELF file header and section header table. What each
 * cataloger collects from the Mach-O load commands and PE section table stays with it.
 */

export type ExecutableFormat = 'elf' | 'macho-le' | 'macho-be' | 'pe';

/** ELF, Mach-O (either byte order) or PE by the magic bytes; undefined for other files. May throw on odd buffers: callers catch. */
export function executableFormat(b: Buffer): ExecutableFormat | undefined {
  if (b.length >= 64 && b.readUInt32BE(0) === 0x7f454c46) return 'elf';
  if (b.length >= 32) {
    const m = b.readUInt32LE(0);
    if (m === 0xfeedface || m === 0xfeedfacf) return 'macho-le';
    const mb = b.readUInt32BE(0);
    if (mb === 0xfeedface || mb === 0xfeedfacf) return 'macho-be';
  }
  if (b.length >= 64 && b[0] === 0x4d && b[1] === 0x5a) return 'pe';
  return undefined;
}

/** What a cataloger reads from each format. */
export interface ExecutableReaders<T> {
  elf(b: Buffer): T;
  macho(b: Buffer, le: boolean): T;
  pe(b: Buffer): T;
}

/** Runs the reader for `b`'s format; undefined for other files. Errors of truncated headers propagate: callers catch. */
export function readExecutable<T>(b: Buffer, readers: ExecutableReaders<T>): T | undefined {
  switch (executableFormat(b)) {
    case 'elf':
      return readers.elf(b);
    case 'macho-le':
      return readers.macho(b, true);
    case 'macho-be':
      return readers.macho(b, false);
    case 'pe':
      return readers.pe(b);
    default:
      return undefined;
  }
}

export interface ElfHeader {
  is64: boolean;
  le: boolean;
  u16(o: number): number;
  u32(o: number): number;
  /** an address-sized field (64 bits in ELF64, 32 in ELF32) */
  uN(o: number): bigint;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  shstrndx: number;
}

export interface ElfSectionHeader {
  /** offset of the name in the section name string table */
  name: number;
  type: number;
  offset: number;
  size: number;
}

/** The ELF file header (class, byte order, program and section header tables); `b` is at least 64 bytes. */
export function elfHeader(b: Buffer): ElfHeader {
  const is64 = b[4] === 2;
  const le = b[5] !== 2;
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const uN = (o: number): bigint => (is64 ? (le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : BigInt(u32(o)));
  return {
    is64,
    le,
    u16,
    u32,
    uN,
    phoff: Number(uN(is64 ? 0x20 : 0x1c)),
    phentsize: u16(is64 ? 0x36 : 0x2a),
    phnum: Math.min(u16(is64 ? 0x38 : 0x2c), 4096),
    shoff: Number(uN(is64 ? 0x28 : 0x20)),
    shentsize: u16(is64 ? 0x3a : 0x2e),
    shnum: Math.min(u16(is64 ? 0x3c : 0x30), 65535),
    shstrndx: u16(is64 ? 0x3e : 0x32),
  };
}

/** Section header `i`; the caller has checked that the table lies inside the file. */
export function elfSectionHeader(h: ElfHeader, i: number): ElfSectionHeader {
  const o = h.shoff + i * h.shentsize;
  return h.is64
    ? { name: h.u32(o), type: h.u32(o + 4), offset: Number(h.uN(o + 24)), size: Number(h.uN(o + 32)) }
    : { name: h.u32(o), type: h.u32(o + 4), offset: h.u32(o + 16), size: h.u32(o + 20) };
}

/** The name of section `s` from the string table `strtab`, at most 256 characters; undefined when it starts past the end of the file. */
export function elfSectionName(b: Buffer, strtab: ElfSectionHeader, s: ElfSectionHeader): string | undefined {
  const nameAt = strtab.offset + s.name;
  if (nameAt >= b.length) return undefined;
  const end = b.indexOf(0, nameAt);
  return b.toString('latin1', nameAt, end < 0 || end - nameAt > 256 ? Math.min(b.length, nameAt + 256) : end);
}
