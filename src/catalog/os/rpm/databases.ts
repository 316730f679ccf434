/**
 * rpm database back ends, read from bytes: each returns the header blobs it holds plus the
 * problems it met (a bad page or slot is skipped, the rest is still read). A file that is not
 * a database of the kind at all throws DbFormatError.
 */
import type Database from 'better-sqlite3';
import { lazyPackage } from '../../../core/lazy.js';

/** better-sqlite3 (a native module) loads on the first SQLite rpmdb, not with every command */
const loadSqlite = lazyPackage<typeof Database>('better-sqlite3');

export class DbFormatError extends Error {}

export interface Blobs {
  blobs: Buffer[];
  problems: string[];
}

/** SQLite rpmdb (rpm ≥ 4.16): table Packages(hnum, blob). */
export function readSqlite(buf: Buffer): Blobs {
  if (buf.length < 100 || buf.toString('latin1', 0, 16) !== 'SQLite format 3\u0000') throw new DbFormatError('not an SQLite database');
  // rpm keeps its database in WAL mode (header bytes 18/19 = 2), which an in-memory copy cannot
  // open: mark the copy as a rollback-journal database (1/1); the content is the same.
  const copy = Buffer.from(buf);
  if (copy[18] === 2) copy[18] = 1;
  if (copy[19] === 2) copy[19] = 1;
  let db: Database.Database;
  try {
    const Sqlite = loadSqlite();
    db = new Sqlite(copy, { readonly: true });
  } catch (e) {
    throw new DbFormatError(`cannot open the SQLite database: ${(e as Error).message}`);
  }
  try {
    const rows = db.prepare('SELECT hnum, blob FROM Packages ORDER BY hnum').all() as { hnum: number; blob: Buffer | null }[];
    return { blobs: rows.filter((r) => Buffer.isBuffer(r.blob)).map((r) => r.blob as Buffer), problems: [] };
  } catch (e) {
    throw new DbFormatError(`cannot read table Packages: ${(e as Error).message}`);
  } finally {
    db.close();
  }
}

// ---- Berkeley DB, hash access method ---------------------------------------------------------

const HASH_MAGIC = 0x061561;
const P_HASH_UNSORTED = 2;
const P_OVERFLOW = 7;
const P_HASHMETA = 8;
const P_HASH = 13;
const H_KEYDATA = 1;
const H_OFFPAGE = 3;
const PAGE_HEADER = 26;

/**
 * Berkeley DB hash file (rpm's Packages before 4.16): metadata page 0 (magic 0x061561 at 12,
 * page size at 20, last page at 32, in the creating host's byte order), then pages whose
 * 26-byte header has the item count at 20, the free-space offset at 22 (for overflow pages:
 * the bytes used) and the type at 25, followed by the item offsets. Hash pages hold key/data
 * pairs; an item is H_KEYDATA (type byte + bytes up to the previous item) or H_OFFPAGE
 * (type, 3 unused, first overflow page, total length), whose bytes follow the next_pgno chain.
 */
export function readBerkeleyHash(buf: Buffer): Blobs {
  if (buf.length < 512) throw new DbFormatError('too short for a Berkeley DB file');
  let le: boolean;
  if (buf.readUInt32LE(12) === HASH_MAGIC) le = true;
  else if (buf.readUInt32BE(12) === HASH_MAGIC) le = false;
  else throw new DbFormatError('not a Berkeley DB hash file (bad magic)');
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const pageSize = u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new DbFormatError(`bad page size ${pageSize}`);
  if (buf[25] !== P_HASHMETA) throw new DbFormatError(`page 0 is not a hash metadata page (type ${buf[25]})`);
  if (buf[24] !== 0) throw new DbFormatError('encrypted Berkeley DB files are not supported');
  const pages = Math.floor(buf.length / pageSize);
  const problems: string[] = [];
  if (buf.length % pageSize) problems.push(`file size ${buf.length} is not a multiple of the page size ${pageSize} (truncated?)`);
  const lastPgno = Math.min(u32(32), pages - 1);

  const overflow = (first: number, total: number): Buffer | undefined => {
    const parts: Buffer[] = [];
    let got = 0;
    let pg = first;
    const seen = new Set<number>();
    while (got < total) {
      if (pg <= 0 || pg >= pages || seen.has(pg)) return undefined;
      seen.add(pg);
      const p = pg * pageSize;
      if (buf[p + 25] !== P_OVERFLOW) return undefined;
      const len = u16(p + 22);
      if (len > pageSize - PAGE_HEADER) return undefined;
      parts.push(buf.subarray(p + PAGE_HEADER, p + PAGE_HEADER + len));
      got += len;
      pg = u32(p + 16);
    }
    return got === total ? Buffer.concat(parts) : undefined;
  };

  const blobs: Buffer[] = [];
  let badItems = 0;
  for (let pg = 1; pg <= lastPgno; pg++) {
    const p = pg * pageSize;
    const type = buf[p + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const n = u16(p + 20);
    if (PAGE_HEADER + n * 2 > pageSize) {
      problems.push(`page ${pg}: ${n} items do not fit`);
      continue;
    }
    const offs: number[] = [];
    for (let i = 0; i < n; i++) offs.push(u16(p + PAGE_HEADER + i * 2));
    // data items are the odd ones (key, data, key, data...)
    for (let i = 1; i < n; i += 2) {
      const off = offs[i]!;
      const end = offs[i - 1]!; // items grow downward: the previous item starts where this one ends
      if (off < PAGE_HEADER + n * 2 || off >= pageSize || end > pageSize || end <= off) {
        badItems++;
        continue;
      }
      // rpm < 4.16 keeps the next package number under key 0: not a header
      const ko = offs[i - 1]!;
      if (buf[p + ko] === H_KEYDATA && (i < 2 ? pageSize : offs[i - 2]!) - ko === 5 && buf.readUInt32LE(p + ko + 1) === 0) continue;
      const it = p + off;
      const t = buf[it];
      if (t === H_KEYDATA) {
        blobs.push(Buffer.from(buf.subarray(it + 1, p + end)));
      } else if (t === H_OFFPAGE) {
        if (off + 12 > pageSize) {
          badItems++;
          continue;
        }
        const v = overflow(u32(it + 4), u32(it + 8));
        if (v) blobs.push(v);
        else badItems++;
      } // duplicates are not used by rpm's Packages
    }
  }
  if (badItems) problems.push(`${badItems} unreadable items`);
  return { blobs, problems };
}

// ---- NDB (SUSE) ----------------------------------------------------------------------------

const NDB_MAGIC = 0x506d7052; // "RpmP" little-endian
const SLOT_MAGIC = 0x746f6c53; // "Slot"
const BLOB_MAGIC = 0x53626c42; // "BlbS"
const NDB_PAGE = 4096;
const SLOT_SIZE = 16;
const BLK_SIZE = 16;
const BLOB_HEAD = 16;

/**
 * rpm's ndb Packages.db (little-endian): a 32-byte header (magic "RpmP", version 0, generation,
 * slot page count, next package index), slots of 16 bytes (magic "Slot", package index, block
 * offset, block count; index 0 = free) filling the slot pages after the header, and blobs at
 * blockoffset × 16: a 16-byte head (magic "BlbS", package index, generation, length), the header
 * blob, a tail.
 */
export function readNdb(buf: Buffer): Blobs {
  if (buf.length < 32 || buf.readUInt32LE(0) !== NDB_MAGIC) throw new DbFormatError('not an ndb Packages.db (bad magic)');
  const version = buf.readUInt32LE(4);
  if (version !== 0) throw new DbFormatError(`unsupported ndb version ${version}`);
  const slotPages = buf.readUInt32LE(12);
  if (slotPages === 0 || slotPages * NDB_PAGE > buf.length) throw new DbFormatError(`bad slot page count ${slotPages}`);
  const problems: string[] = [];
  const blobs: Buffer[] = [];
  let bad = 0;
  for (let o = 32; o + SLOT_SIZE <= slotPages * NDB_PAGE; o += SLOT_SIZE) {
    const magic = buf.readUInt32LE(o);
    if (magic !== SLOT_MAGIC) {
      if (magic !== 0) bad++;
      continue;
    }
    const pkgIdx = buf.readUInt32LE(o + 4);
    const blkOff = buf.readUInt32LE(o + 8);
    const blkCnt = buf.readUInt32LE(o + 12);
    if (pkgIdx === 0) continue;
    const start = blkOff * BLK_SIZE;
    if (start + BLOB_HEAD > buf.length || start + blkCnt * BLK_SIZE > buf.length) {
      bad++;
      continue;
    }
    if (buf.readUInt32LE(start) !== BLOB_MAGIC || buf.readUInt32LE(start + 4) !== pkgIdx) {
      bad++;
      continue;
    }
    const len = buf.readUInt32LE(start + 12);
    if (start + BLOB_HEAD + len > buf.length || BLOB_HEAD + len > blkCnt * BLK_SIZE) {
      bad++;
      continue;
    }
    blobs.push(Buffer.from(buf.subarray(start + BLOB_HEAD, start + BLOB_HEAD + len)));
  }
  if (bad) problems.push(`${bad} unreadable slots or blobs`);
  return { blobs, problems };
}
