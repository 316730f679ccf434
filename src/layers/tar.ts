/**
 * A synchronous, streaming tar reader: push chunks in, get headers and (only when asked for)
 * entry contents out, with no per-entry streams, promises or copies. Layer walks of 300k entries
 * spent most of their time in tar-stream's per-entry machinery; this parser does the same job in
 * a loop over the chunk.
 *
 * Formats (POSIX pax / ustar, GNU): ustar `prefix`; pax extended headers (`x`) and global
 * headers (`g`, merged under later `x` records): path, linkpath, size, uid, gid, mtime; GNU long
 * names (`L`, `N`) and long link names (`K`); octal numbers with leading spaces or NULs and GNU
 * base-256 numbers; old tars whose regular files end in `/` (directories). Zero blocks are
 * skipped, like tar-stream does (so a concatenated archive reads as one). Errors throw a
 * `TarFormatError`; the caller names the layer.
 */

export class TarFormatError extends Error {
  override name = 'TarFormatError';
}

export interface TarHeader {
  name: string;
  /** null when the header has none */
  linkname: string | null;
  /** the typeflag as a character ('0' for regular files, also for a NUL typeflag) */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  /** content bytes that follow the header (0 for directories) */
  size: number;
  /** seconds since the epoch; NaN when the header has none */
  mtime: number;
  /** the entry's pax records (global ones merged in), null when there are none */
  pax: Record<string, string> | null;
}

export interface TarHandler {
  /** One entry. Return true to receive its content through `data` and `end`. */
  entry(h: TarHeader): boolean;
  /** a slice of the content of the current entry (valid only during the call: copy to keep it) */
  data(chunk: Buffer): void;
  /** the content of the current entry is complete */
  end(): void;
}

/** Long (pax, GNU) headers larger than this are refused, like tar-stream does. */
export const MAX_LONG_HEADER = 4 * 1024 * 1024;

const BLOCK = 512;
const S_HEADER = 0;
const S_DATA = 1;
const S_LONG = 2;
const S_PAD = 3;
/** old GNU sparse headers: extension blocks of the sparse map follow the header */
const S_SPARSE_EXT = 4;

const LONG_PAX = 0x78; // 'x'
const LONG_PAX_GLOBAL = 0x67; // 'g'
const LONG_GNU_NAME = 0x4c; // 'L'
const LONG_GNU_NAME_OLD = 0x4e; // 'N'
const LONG_GNU_LINK = 0x4b; // 'K'

function isLongType(t: number): boolean {
  return t === LONG_PAX || t === LONG_PAX_GLOBAL || t === LONG_GNU_NAME || t === LONG_GNU_NAME_OLD || t === LONG_GNU_LINK;
}

/** A NUL-terminated string field. */
function str(b: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

/** A numeric field: octal (leading spaces/NULs allowed, ends at space or NUL) or GNU base-256. */
export function parseNumber(b: Buffer, off: number, len: number): number {
  const first = b[off]!;
  if (first & 0x80) {
    // base-256: 0x80 positive, 0xff two's complement negative; the first byte's low bits are part
    // of the number only for 0x80/0xff markers, which contribute 0 (positive) or -1 (negative)
    const negative = first === 0xff;
    if (!negative && first !== 0x80) throw new TarFormatError('invalid base-256 number in tar header');
    let sum = 0;
    for (let i = off + 1; i < off + len; i++) {
      const byte = negative ? 0xff - b[i]! : b[i]!;
      sum = sum * 256 + byte;
    }
    if (!Number.isSafeInteger(sum)) throw new TarFormatError('base-256 number in tar header is too large');
    return negative ? -(sum + 1) : sum;
  }
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let n = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) throw new TarFormatError('invalid octal number in tar header');
    n = n * 8 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? 0 : n;
}

/** Records of a pax extended header: `LEN KEY=VALUE\n`. Malformed records end the parse. */
export function parsePax(b: Buffer, into: Record<string, string> = {}): Record<string, string> {
  let off = 0;
  while (off < b.length) {
    let sp = off;
    let len = 0;
    while (sp < b.length && b[sp] !== 0x20) {
      const c = b[sp]!;
      if (c < 0x30 || c > 0x39) return into;
      len = len * 10 + (c - 0x30);
      sp++;
    }
    if (sp >= b.length || len <= sp - off + 1 || off + len > b.length) return into;
    const rec = b.toString('utf8', sp + 1, off + len - 1); // without the trailing newline
    const eq = rec.indexOf('=');
    if (eq === -1) return into;
    into[rec.slice(0, eq)] = rec.slice(eq + 1);
    off += len;
  }
  return into;
}

function checksumOk(h: Buffer): boolean | null {
  // the checksum field (148..155) counts as spaces
  let sum = 0;
  for (let i = 0; i < 148; i++) sum += h[i]!;
  for (let i = 156; i < BLOCK; i++) sum += h[i]!;
  if (sum === 0) return null; // an all-zero block
  sum += 8 * 0x20;
  const stored = parseNumber(h, 148, 8);
  if (stored === sum) return true;
  // some old tars summed signed chars
  let high = 0;
  for (let i = 0; i < BLOCK; i++) if ((i < 148 || i >= 156) && h[i]! > 127) high++;
  return stored === sum - 256 * high;
}

function paxInt(v: string | undefined): number | undefined {
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

export class TarParser {
  readonly #h: TarHandler;
  #state = S_HEADER;
  /** partial header block */
  readonly #hdr = Buffer.alloc(BLOCK);
  #hdrFill = 0;
  /** content bytes of the current entry still to come */
  #missing = 0;
  /** padding bytes still to skip */
  #pad = 0;
  #want = false;
  /** a long header being collected */
  #long: Buffer | null = null;
  #longFill = 0;
  #longType = 0;
  #gnuName: string | null = null;
  #gnuLink: string | null = null;
  #pax: Record<string, string> | null = null;
  #paxGlobal: Record<string, string> | null = null;
  /** total bytes consumed */
  offset = 0;

  constructor(handler: TarHandler) {
    this.#h = handler;
  }

  /**
   * Assembles one 512-byte block (a header, or a GNU sparse extension) from `chunk` at `p`,
   * without a copy when the whole block is there, and hands it on. Returns the new position.
   */
  #block(chunk: Buffer, p: number, sparseExt: boolean): number {
    let block: Buffer | undefined;
    if (this.#hdrFill === 0 && chunk.length - p >= BLOCK) {
      block = chunk.subarray(p, p + BLOCK);
      p += BLOCK;
    } else {
      const take = Math.min(BLOCK - this.#hdrFill, chunk.length - p);
      chunk.copy(this.#hdr, this.#hdrFill, p, p + take);
      this.#hdrFill += take;
      p += take;
      if (this.#hdrFill === BLOCK) {
        this.#hdrFill = 0;
        block = this.#hdr;
      }
    }
    if (block) {
      if (sparseExt) this.#sparseExt(block);
      else this.#header(block);
    }
    return p;
  }

  write(chunk: Buffer): void {
    let p = 0;
    const n = chunk.length;
    this.offset += n;
    while (p < n) {
      switch (this.#state) {
        case S_HEADER:
          p = this.#block(chunk, p, false);
          break;
        case S_DATA: {
          const take = Math.min(this.#missing, n - p);
          if (this.#want) this.#h.data(chunk.subarray(p, p + take));
          p += take;
          this.#missing -= take;
          if (this.#missing === 0) this.#endEntry();
          break;
        }
        case S_LONG: {
          const long = this.#long!;
          const take = Math.min(long.length - this.#longFill, n - p);
          chunk.copy(long, this.#longFill, p, p + take);
          this.#longFill += take;
          p += take;
          if (this.#longFill === long.length) this.#endLong();
          break;
        }
        case S_SPARSE_EXT:
          p = this.#block(chunk, p, true);
          break;
        case S_PAD: {
          const take = Math.min(this.#pad, n - p);
          p += take;
          this.#pad -= take;
          if (this.#pad === 0) this.#state = S_HEADER;
          break;
        }
      }
    }
  }

  /** The input is complete: throws when it stopped inside an entry or a header. */
  end(): void {
    if (this.#state !== S_HEADER || this.#hdrFill !== 0) throw new TarFormatError('unexpected end of data');
  }

  #afterContent(size: number): void {
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) {
      this.#pad = pad;
      this.#state = S_PAD;
    } else this.#state = S_HEADER;
  }

  #endEntry(): void {
    const size = this.#missingTotal;
    if (this.#want) this.#h.end();
    this.#afterContent(size);
  }

  #missingTotal = 0;

  #endLong(): void {
    const buf = this.#long!;
    this.#long = null;
    switch (this.#longType) {
      case LONG_PAX:
        this.#pax = parsePax(buf, this.#paxGlobal ? { ...this.#paxGlobal } : {});
        break;
      case LONG_PAX_GLOBAL:
        this.#paxGlobal = parsePax(buf);
        break;
      case LONG_GNU_LINK:
        this.#gnuLink = str(buf, 0, buf.length);
        break;
      default:
        this.#gnuName = str(buf, 0, buf.length);
    }
    this.#afterContent(buf.length);
  }

  #sparseExt(b: Buffer): void {
    // byte 504 of an extension block: another extension block follows
    if (b[504] === 0) this.#startContent();
  }

  #startContent(): void {
    const size = this.#missingTotal;
    if (size === 0) {
      if (this.#want) this.#h.end();
      this.#state = S_HEADER;
      return;
    }
    this.#missing = size;
    this.#state = S_DATA;
  }

  #header(b: Buffer): void {
    const ok = checksumOk(b);
    if (ok === null) return; // zero block
    if (!ok) throw new TarFormatError('invalid tar header checksum');
    const t = b[156]!;
    const size = parseNumber(b, 124, 12);
    if (!(size >= 0)) throw new TarFormatError('invalid size in tar header');
    if (isLongType(t)) {
      if (size > MAX_LONG_HEADER) throw new TarFormatError('tar extended header exceeds the maximum size');
      this.#longType = t;
      if (size === 0) {
        this.#long = Buffer.alloc(0);
        this.#endLong();
        return;
      }
      this.#long = Buffer.allocUnsafe(size);
      this.#longFill = 0;
      this.#state = S_LONG;
      return;
    }

    let name = str(b, 0, 100);
    // ustar ("ustar\0"): a prefix; GNU ("ustar  \0") keeps other fields there
    if (b[257] === 0x75 && b[258] === 0x73 && b[259] === 0x74 && b[260] === 0x61 && b[261] === 0x72 && b[262] === 0 && b[345] !== 0) {
      name = `${str(b, 345, 155)}/${name}`;
    }
    let typeflag = t === 0 ? '0' : String.fromCharCode(t);
    let linkname = b[157] === 0 ? null : str(b, 157, 100);
    let uid = parseNumber(b, 108, 8);
    let gid = parseNumber(b, 116, 8);
    let mtime = parseNumber(b, 136, 12);
    let entrySize = size;
    if (this.#gnuName !== null) {
      name = this.#gnuName;
      this.#gnuName = null;
    }
    if (this.#gnuLink !== null) {
      linkname = this.#gnuLink;
      this.#gnuLink = null;
    }
    let pax = this.#pax;
    this.#pax = null;
    if (pax === null) pax = this.#paxGlobal; // shared, read-only
    if (pax !== null) {
      if (pax.path) name = pax.path;
      if (pax.linkpath) linkname = pax.linkpath;
      const ps = paxInt(pax.size);
      if (ps !== undefined) {
        if (ps < 0) throw new TarFormatError('invalid size in pax header');
        entrySize = ps;
      }
      uid = paxInt(pax.uid) ?? uid;
      gid = paxInt(pax.gid) ?? gid;
      if (pax.mtime !== undefined && /^-?\d+(\.\d+)?$/.test(pax.mtime)) mtime = Math.floor(Number(pax.mtime));
    }
    if (typeflag === '0' && name.endsWith('/')) typeflag = '5';
    // directories carry no content, as tar-stream reads them
    if (typeflag === '5') entrySize = 0;
    const header: TarHeader = { name, linkname, typeflag, mode: parseNumber(b, 100, 8), uid, gid, size: entrySize, mtime, pax };
    this.#want = this.#h.entry(header);
    this.#missingTotal = entrySize;
    // old GNU sparse ('S') with the `isextended` flag: sparse map blocks come before the data
    if (t === 0x53 && b[482] !== 0) {
      this.#state = S_SPARSE_EXT;
      return;
    }
    this.#startContent();
  }
}
