/**
 * A bounded-memory zip reader for feed archives (osv.dev bulk exports). It reads the central
 * directory (APPNOTE.TXT 4.3.12-4.3.16, with Zip64) from the end of the file and then one entry at a
 * time, so memory follows the largest entry, not the archive. A missing end record (truncated file),
 * an entry that runs past the end, an unknown method or a CRC mismatch is FEED_INVALID.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { DrydockError } from '../core/errors.js';

export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  flags: number;
}

/** Largest single entry accepted (uncompressed); OSV records are a few kB, the biggest a few MB. */
const MAX_ENTRY_BYTES = 256 * 1024 * 1024;

function invalid(file: string, what: string, cause?: unknown): DrydockError {
  return new DrydockError('FEED_INVALID', `zip ${file}: ${what}`, cause === undefined ? {} : { cause });
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? buf : buf.subarray(0, got);
}

export class ZipReader {
  readonly #fd: number;
  readonly #file: string;
  readonly #size: number;
  readonly entries: ZipEntry[];

  constructor(file: string) {
    this.#file = file;
    this.#fd = openSync(file, 'r');
    try {
      this.#size = fstatSync(this.#fd).size;
      this.entries = this.#readDirectory();
    } catch (e) {
      closeSync(this.#fd);
      throw e;
    }
  }

  close(): void {
    closeSync(this.#fd);
  }

  #readDirectory(): ZipEntry[] {
    const size = this.#size;
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = readAt(this.#fd, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50 && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw invalid(this.#file, 'no end of central directory record (truncated or not a zip)');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const eocdPos = size - tailLen + eocd;
    // Zip64 end of central directory locator sits right before the classic record.
    if (eocd >= 20 && tail.readUInt32LE(eocd - 20) === 0x07064b50) {
      const z64pos = Number(tail.readBigUInt64LE(eocd - 20 + 8));
      const z = readAt(this.#fd, z64pos, 56);
      if (z.length < 56 || z.readUInt32LE(0) !== 0x06064b50) throw invalid(this.#file, 'bad zip64 end record');
      count = Number(z.readBigUInt64LE(32));
      cdSize = Number(z.readBigUInt64LE(40));
      cdOffset = Number(z.readBigUInt64LE(48));
    }
    if (cdOffset + cdSize > eocdPos) throw invalid(this.#file, 'central directory runs past its end record');
    const cd = readAt(this.#fd, cdOffset, cdSize);
    if (cd.length !== cdSize) throw invalid(this.#file, 'central directory is truncated');
    const entries: ZipEntry[] = [];
    let p = 0;
    for (let n = 0; n < count; n++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw invalid(this.#file, `central directory entry ${n} is malformed`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let usize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // Zip64 extended information extra field (header id 0x0001).
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (usize === 0xffffffff) { usize = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = Number(cd.readBigUInt64LE(q)); q += 8; }
          if (localOffset === 0xffffffff) { localOffset = Number(cd.readBigUInt64LE(q)); }
        }
        e += 4 + len;
      }
      if (localOffset + compressedSize > cdOffset) throw invalid(this.#file, `entry ${name} runs past the file data`);
      entries.push({ name, method, crc, compressedSize, size: usize, localOffset, flags });
      p = eEnd + commentLen;
    }
    return entries;
  }

  /** The uncompressed bytes of one entry, checked against its CRC-32. */
  read(entry: ZipEntry): Buffer {
    const what = `${this.#file}!${entry.name}`;
    if (entry.flags & 1) throw new DrydockError('FEED_INVALID', `zip entry ${what} is encrypted`);
    if (entry.size > MAX_ENTRY_BYTES) throw new DrydockError('FEED_INVALID', `zip entry ${what} is larger than ${MAX_ENTRY_BYTES} bytes`);
    const lh = readAt(this.#fd, entry.localOffset, 30);
    if (lh.length < 30 || lh.readUInt32LE(0) !== 0x04034b50) throw new DrydockError('FEED_INVALID', `zip entry ${what} has no local header`);
    const start = entry.localOffset + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
    const raw = readAt(this.#fd, start, entry.compressedSize);
    if (raw.length !== entry.compressedSize) throw new DrydockError('FEED_INVALID', `zip entry ${what} is truncated`);
    let data: Buffer;
    if (entry.method === 0) data = raw;
    else if (entry.method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
      } catch (cause) {
        throw new DrydockError('FEED_INVALID', `zip entry ${what} does not inflate`, { cause });
      }
    } else throw new DrydockError('FEED_INVALID', `zip entry ${what} uses unsupported method ${entry.method}`);
    if (data.length !== entry.size || crc32(data) >>> 0 !== entry.crc >>> 0) {
      throw new DrydockError('FEED_INVALID', `zip entry ${what} fails its size or crc-32 check`);
    }
    return data;
  }
}
