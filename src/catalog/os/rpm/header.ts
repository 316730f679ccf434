/**
 * The rpm header blob as stored in rpm databases (no lead, no header magic): two big-endian
 * uint32s (index entry count `il`, data store length `dl`), `il` index entries of 16 bytes
 * (tag, type, offset, count) and a data store of `dl` bytes. Region tags (61 image,
 * 62 signatures, 63 immutable) describe the layout and are skipped. Every read is bounds-checked.
 */

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  LICENSE: 1014,
  VENDOR: 1011,
  SIZE: 1009,
  ARCH: 1022,
  FILEDIGESTS: 1035,
  SOURCERPM: 1044,
  PROVIDENAME: 1047,
  REQUIRENAME: 1049,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  FILEDIGESTALGO: 5011,
  MODULARITYLABEL: 5096,
} as const;

const REGION_TAGS = new Set([61, 62, 63]);
const TYPE_SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 1, 9: 1 };
/** rpm's own sanity limits (header.c: HEADER_TAGS_MAX, HEADER_DATA_MAX) */
const MAX_TAGS = 0xffff;
const MAX_DATA = 256 * 1024 * 1024;

export type TagValue = string | string[] | number[] | Buffer;

export class HeaderError extends Error {}

export class RpmHeader {
  readonly #tags = new Map<number, TagValue>();

  constructor(blob: Buffer) {
    if (blob.length < 8) throw new HeaderError(`header blob of ${blob.length} bytes is too short`);
    const il = blob.readUInt32BE(0);
    const dl = blob.readUInt32BE(4);
    if (il === 0 || il > MAX_TAGS) throw new HeaderError(`bad index entry count ${il}`);
    if (dl > MAX_DATA) throw new HeaderError(`bad data length ${dl}`);
    const dataStart = 8 + il * 16;
    const end = dataStart + dl;
    if (end > blob.length) throw new HeaderError(`header needs ${end} bytes, blob has ${blob.length}`);
    const data = blob.subarray(dataStart, end);
    for (let i = 0; i < il; i++) {
      const o = 8 + i * 16;
      const tag = blob.readUInt32BE(o);
      const type = blob.readUInt32BE(o + 4);
      const offset = blob.readInt32BE(o + 8);
      const count = blob.readUInt32BE(o + 12);
      if (REGION_TAGS.has(tag)) continue;
      if (!(type in TYPE_SIZE)) throw new HeaderError(`tag ${tag}: unknown type ${type}`);
      if (offset < 0 || offset > dl) throw new HeaderError(`tag ${tag}: offset ${offset} outside the data store (${dl})`);
      if (count > dl) throw new HeaderError(`tag ${tag}: count ${count} too large`);
      if (!this.#tags.has(tag)) this.#tags.set(tag, readValue(data, tag, type, offset, count));
    }
  }

  has(tag: number): boolean {
    return this.#tags.has(tag);
  }

  string(tag: number): string | undefined {
    const v = this.#tags.get(tag);
    if (typeof v === 'string') return v;
    if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
    return undefined;
  }

  strings(tag: number): string[] {
    const v = this.#tags.get(tag);
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && (v.length === 0 || typeof v[0] === 'string')) return v as string[];
    return [];
  }

  numbers(tag: number): number[] {
    const v = this.#tags.get(tag);
    return Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number') ? (v as number[]) : [];
  }

  number(tag: number): number | undefined {
    return this.numbers(tag)[0];
  }
}

function cstring(data: Buffer, at: number, tag: number): [string, number] {
  const z = data.indexOf(0, at);
  if (z < 0) throw new HeaderError(`tag ${tag}: unterminated string`);
  return [data.toString('utf8', at, z), z + 1];
}

function readValue(data: Buffer, tag: number, type: number, offset: number, count: number): TagValue {
  switch (type) {
    case 6: // STRING
      return cstring(data, offset, tag)[0];
    case 8: // STRING_ARRAY
    case 9: { // I18NSTRING
      const out: string[] = [];
      let at = offset;
      for (let i = 0; i < count; i++) {
        const [s, next] = cstring(data, at, tag);
        out.push(s);
        at = next;
      }
      return out;
    }
    case 7: // BIN
      if (offset + count > data.length) throw new HeaderError(`tag ${tag}: binary value outside the data store`);
      return Buffer.from(data.subarray(offset, offset + count));
    default: {
      const size = TYPE_SIZE[type]!;
      if (offset + size * count > data.length) throw new HeaderError(`tag ${tag}: value outside the data store`);
      const out: number[] = [];
      for (let i = 0; i < count; i++) {
        const o = offset + i * size;
        out.push(size === 1 ? data[o]! : size === 2 ? data.readUInt16BE(o) : size === 4 ? data.readUInt32BE(o) : Number(data.readBigUInt64BE(o)));
      }
      return out;
    }
  }
}

export interface RpmInfo {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  arch?: string;
  sourceRpm?: string;
  license?: string;
  vendor?: string;
  modularityLabel?: string;
  files: { path: string; digest?: string }[];
  provides: string[];
  requires: string[];
}

const DIGEST_ALGO: Record<number, string> = { 1: 'md5', 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };

/** The fields the cataloger needs; throws HeaderError when the blob is malformed or lacks name/version. */
export function rpmInfo(blob: Buffer): RpmInfo {
  const h = new RpmHeader(blob);
  const name = h.string(TAG.NAME);
  const version = h.string(TAG.VERSION);
  if (!name || version === undefined) throw new HeaderError('header has no NAME or VERSION');
  const info: RpmInfo = { name, version, release: h.string(TAG.RELEASE) ?? '', files: [], provides: h.strings(TAG.PROVIDENAME), requires: h.strings(TAG.REQUIRENAME) };
  const epoch = h.number(TAG.EPOCH);
  if (epoch !== undefined) info.epoch = epoch;
  const opt = (k: 'arch' | 'sourceRpm' | 'license' | 'vendor' | 'modularityLabel', tag: number): void => {
    const v = h.string(tag);
    if (v) info[k] = v;
  };
  opt('arch', TAG.ARCH);
  opt('sourceRpm', TAG.SOURCERPM);
  opt('license', TAG.LICENSE);
  opt('vendor', TAG.VENDOR);
  opt('modularityLabel', TAG.MODULARITYLABEL);
  const base = h.strings(TAG.BASENAMES);
  const dirs = h.strings(TAG.DIRNAMES);
  const idx = h.numbers(TAG.DIRINDEXES);
  const digests = h.strings(TAG.FILEDIGESTS);
  const algo = DIGEST_ALGO[h.number(TAG.FILEDIGESTALGO) ?? 1] ?? 'md5';
  for (let i = 0; i < base.length; i++) {
    const d = dirs[idx[i] ?? -1];
    if (d === undefined) continue;
    const f: { path: string; digest?: string } = { path: d + base[i] };
    const dg = digests[i];
    if (dg) f.digest = `${algo}:${dg}`;
    info.files.push(f);
  }
  return info;
}
