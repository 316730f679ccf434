/**
 * One bounded zip reader for the whole project (jars in catalog/, OSV exports in vulndb/): the central
 * directory is read from the end (APPNOTE.TXT 4.3.12-4.3.16, Zip64 included, archives with a prefix such
 * as launcher scripts too), then one entry at a time, stored or deflated, checked against its size and
 * CRC-32. Callers turn ZipFormatError into their own coded error or issue.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { zlib } from './lazy.js';

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** offset of the local header in the source (prefix shift applied) */
  localOffset: number;
  flags: number;
}

/** The zip is malformed, truncated, over a limit, or uses what this reader does not support. */
export class ZipFormatError extends Error {}

/** Random access to the bytes of a zip. */
export interface ZipSource {
  size: number;
  /** up to `len` bytes at `pos` (fewer at the end) */
  read(pos: number, len: number): Buffer;
}

export function bufferSource(b: Buffer): ZipSource {
  return { size: b.length, read: (pos, len) => b.subarray(Math.max(0, pos), Math.max(0, Math.min(b.length, pos + len))) };
}

/** A file opened for random access; close() when done. */
export function fileSource(path: string): ZipSource & { close(): void } {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return {
    size,
    read(pos, len) {
      const buf = Buffer.allocUnsafe(Math.max(0, Math.min(len, size - pos)));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, pos + got);
        if (n === 0) break;
        got += n;
      }
      return got === buf.length ? buf : buf.subarray(0, got);
    },
    close: () => closeSync(fd),
  };
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** The entries of the central directory. */
export function readZipDirectory(src: ZipSource, opts: { maxEntries?: number } = {}): ZipEntry[] {
  const tailLen = Math.min(src.size, 22 + 0xffff);
  const tailPos = src.size - tailLen;
  const tail = src.read(tailPos, tailLen);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError('no end of central directory record (truncated, or not a zip)');
  let count = tail.readUInt16LE(eocd + 10);
  let cdSize = tail.readUInt32LE(eocd + 12);
  let cdOffset = tail.readUInt32LE(eocd + 16);
  const eocdPos = tailPos + eocd;
  // the Zip64 end-of-central-directory locator sits right before the classic record
  if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === EOCD64_LOCATOR) {
    const z = src.read(Number(tail.readBigUInt64LE(eocd - 20 + 8)), 56);
    if (z.length < 56 || z.readUInt32LE(0) !== EOCD64) throw new ZipFormatError('bad zip64 end of central directory record');
    count = Number(z.readBigUInt64LE(32));
    cdSize = Number(z.readBigUInt64LE(40));
    cdOffset = Number(z.readBigUInt64LE(48));
  }
  if (opts.maxEntries !== undefined && count > opts.maxEntries) throw new ZipFormatError(`more than ${opts.maxEntries} entries`);
  if (cdOffset + cdSize > eocdPos) throw new ZipFormatError('central directory runs past its end record');
  // an archive with a prefix (self-extracting, launcher script): offsets count from the zip's own start
  const gap = eocdPos - (cdOffset + cdSize);
  const shift = gap > 0 && src.read(cdOffset, 4).readUInt32LE(0) !== CENTRAL ? gap : 0;
  const cd = src.read(cdOffset + shift, cdSize);
  if (cd.length !== cdSize) throw new ZipFormatError('central directory is truncated');
  const out: ZipEntry[] = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL) throw new ZipFormatError(`central directory entry ${n} is malformed`);
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let size = cd.readUInt32LE(p + 24);
    const nameLen = cd.readUInt16LE(p + 28);
    const extraLen = cd.readUInt16LE(p + 30);
    const commentLen = cd.readUInt16LE(p + 32);
    let localOffset = cd.readUInt32LE(p + 42);
    if (p + 46 + nameLen > cd.length) throw new ZipFormatError(`central directory entry ${n} is truncated`);
    const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
    // Zip64 extended information extra field (header id 0x0001)
    let e = p + 46 + nameLen;
    const eEnd = Math.min(e + extraLen, cd.length);
    while (e + 4 <= eEnd) {
      const id = cd.readUInt16LE(e);
      const len = cd.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff && q + 8 <= eEnd) (size = Number(cd.readBigUInt64LE(q))), (q += 8);
        if (compressedSize === 0xffffffff && q + 8 <= eEnd) (compressedSize = Number(cd.readBigUInt64LE(q))), (q += 8);
        if (localOffset === 0xffffffff && q + 8 <= eEnd) localOffset = Number(cd.readBigUInt64LE(q));
      }
      e += 4 + len;
    }
    if (localOffset + compressedSize > cdOffset) throw new ZipFormatError(`entry ${name} runs past the file data`);
    out.push({ name, method, crc, compressedSize, size, localOffset: localOffset + shift, flags });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return out;
}

/** The uncompressed bytes of one entry, at most `maxBytes`, checked against its size and CRC-32. */
export function readZipEntry(src: ZipSource, entry: ZipEntry, maxBytes: number): Buffer {
  if (entry.flags & 1) throw new ZipFormatError(`${entry.name}: encrypted`);
  if (entry.size > maxBytes) throw new ZipFormatError(`${entry.name}: ${entry.size} bytes, over the limit of ${maxBytes}`);
  const lh = src.read(entry.localOffset, 30);
  if (lh.length < 30 || lh.readUInt32LE(0) !== LOCAL) throw new ZipFormatError(`${entry.name}: bad local header`);
  const start = entry.localOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
  const raw = src.read(start, entry.compressedSize);
  if (raw.length !== entry.compressedSize) throw new ZipFormatError(`${entry.name}: truncated`);
  let data: Buffer;
  if (entry.method === 0) data = Buffer.from(raw);
  else if (entry.method === 8) {
    try {
      data = zlib().inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
    } catch (err) {
      throw new ZipFormatError(`${entry.name}: does not inflate (${(err as Error).message})`);
    }
  } else throw new ZipFormatError(`${entry.name}: unsupported compression method ${entry.method}`);
  if (data.length !== entry.size) throw new ZipFormatError(`${entry.name}: inflated to ${data.length} bytes, the directory says ${entry.size}`);
  if (zlib().crc32(data) >>> 0 !== entry.crc >>> 0) throw new ZipFormatError(`${entry.name}: fails its crc-32 check`);
  return data;
}
