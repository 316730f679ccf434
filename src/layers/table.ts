/**
 * Compact per-layer entry metadata: parallel typed arrays plus interned directory strings.
 * One entry costs ~31 bytes of columns plus its basename string (short basenames are shared
 * with the squashed index keys), instead of one object per entry.
 */
import type { EntryType, FileMeta } from './types.js';
import { joinPath } from './paths.js';

export const TYPE_CODES: readonly EntryType[] = ['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo'];
export const TYPE_FILE = 0;
export const TYPE_DIR = 1;
export const TYPE_SYMLINK = 2;
export const TYPE_HARDLINK = 3;

/** Where a selected entry's content lives. */
export type ContentRef =
  | { kind: 'mem'; data: Buffer; sha256?: string }
  /** a file named by its sha256 in the spill store or in the layer cache */
  | {
      kind: 'file';
      path: string;
      sha256: string;
      size: number;
      /** written this run to the private spill store (mode 0700) and hashed as it was written: not hashed again when read */
      spilled?: boolean;
    }
  /** a file of a `dir:` image, read from disk when asked for */
  | { kind: 'disk'; path: string; size: number };

/** distinct basenames remembered per table for sharing (about 40 bytes each while walking) */
const NAME_INDEX_MAX = 65536;

export class LayerTable {
  count = 0;
  #cap: number;
  readonly dirs: string[] = ['/'];
  readonly #dirIndex = new Map<string, number>([['/', 0]]);
  dirOf: Uint32Array;
  names: string[] = [];
  types: Uint8Array;
  modes: Uint16Array;
  uids: Uint32Array;
  gids: Uint32Array;
  sizes: Float64Array;
  mtimes: Float64Array;
  /** symlink targets as written; hard link targets as absolute normalised paths */
  readonly links = new Map<number, string>();
  readonly contents = new Map<number, ContentRef>();
  /** entry index → indices (in the sorted selector list) of the selectors that matched it */
  readonly selectedBy = new Map<number, number[]>();
  /** absolute paths deleted by `.wh.NAME` markers */
  readonly whiteouts: string[] = [];
  /** absolute directory paths made opaque by `.wh..wh..opq` */
  readonly opaques: string[] = [];

  constructor(capacity = 256) {
    this.#cap = capacity;
    this.dirOf = new Uint32Array(capacity);
    this.types = new Uint8Array(capacity);
    this.modes = new Uint16Array(capacity);
    this.uids = new Uint32Array(capacity);
    this.gids = new Uint32Array(capacity);
    this.sizes = new Float64Array(capacity);
    this.mtimes = new Float64Array(capacity);
  }

  #grow(): void {
    // doubling while small; past 64k entries by a quarter, so a grow's transient copy (old and
    // new columns both live) and the slack left at the end stay small on 300k-entry layers
    const cap = this.#cap < 65536 ? this.#cap * 2 : Math.ceil((this.#cap * 1.25) / 1024) * 1024;
    const g = <T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(cap);
      b.set(a);
      return b;
    };
    this.dirOf = g(this.dirOf, Uint32Array);
    this.types = g(this.types, Uint8Array);
    this.modes = g(this.modes, Uint16Array);
    this.uids = g(this.uids, Uint32Array);
    this.gids = g(this.gids, Uint32Array);
    this.sizes = g(this.sizes, Float64Array);
    this.mtimes = g(this.mtimes, Float64Array);
    this.#cap = cap;
  }

  internDir(dir: string): number {
    let id = this.#dirIndex.get(dir);
    if (id === undefined) {
      id = this.dirs.length;
      this.dirs.push(dir);
      this.#dirIndex.set(dir, id);
    }
    return id;
  }

  /**
   * Basenames seen in this table, so a name that recurs (`index.js`, `__init__.py`, `f0001.txt` in
   * every directory) is one string, not one per entry. Bounded; dropped by `seal()`.
   */
  #nameIndex: Map<string, string> | null = new Map();

  add(dirId: number, name: string, type: number, mode: number, uid: number, gid: number, size: number, mtime: number): number {
    if (this.count === this.#cap) this.#grow();
    const i = this.count++;
    this.dirOf[i] = dirId;
    const ni = this.#nameIndex;
    if (ni !== null) {
      const shared = ni.get(name);
      if (shared !== undefined) name = shared;
      else if (ni.size < NAME_INDEX_MAX) ni.set(name, name);
    }
    this.names.push(name);
    this.types[i] = type;
    this.modes[i] = mode & 0o7777;
    this.uids[i] = uid >>> 0;
    this.gids[i] = gid >>> 0;
    this.sizes[i] = size;
    this.mtimes[i] = mtime;
    return i;
  }

  pathOf(i: number): string {
    return joinPath(this.dirs[this.dirOf[i]!]!, this.names[i]!);
  }

  meta(i: number, layer: number): FileMeta {
    const m: FileMeta = {
      path: this.pathOf(i),
      type: TYPE_CODES[this.types[i]!]!,
      size: this.sizes[i]!,
      mode: this.modes[i]!,
      uid: this.uids[i]!,
      gid: this.gids[i]!,
      layer,
    };
    const mt = this.mtimes[i]!;
    if (!Number.isNaN(mt)) m.mtime = mt;
    const l = this.links.get(i);
    if (l !== undefined) m.linkname = l;
    return m;
  }

  /**
   * Trims the columns to their used length (after a walk). Views, not copies, when the slack is
   * under a quarter of the capacity: a copy would hold old and new columns at the same time.
   */
  seal(): void {
    this.#nameIndex = null;
    const n = this.count;
    if (n === this.#cap) return;
    if (n >= this.#cap * 0.75) {
      this.dirOf = this.dirOf.subarray(0, n);
      this.types = this.types.subarray(0, n);
      this.modes = this.modes.subarray(0, n);
      this.uids = this.uids.subarray(0, n);
      this.gids = this.gids.subarray(0, n);
      this.sizes = this.sizes.subarray(0, n);
      this.mtimes = this.mtimes.subarray(0, n);
      this.#cap = n;
      return;
    }
    this.dirOf = this.dirOf.slice(0, n);
    this.types = this.types.slice(0, n);
    this.modes = this.modes.slice(0, n);
    this.uids = this.uids.slice(0, n);
    this.gids = this.gids.slice(0, n);
    this.sizes = this.sizes.slice(0, n);
    this.mtimes = this.mtimes.slice(0, n);
    this.#cap = n;
  }

  // ---- serialisation for the layer cache (the numeric columns as raw bytes, COLUMNS order) ----

  toRecord(contentHashes: Map<number, string>): TableRecord {
    this.seal();
    const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    return {
      count: this.count,
      dirs: this.dirs,
      names: this.names,
      columns: [bytes(this.dirOf), bytes(this.types), bytes(this.modes), bytes(this.uids), bytes(this.gids), bytes(this.sizes), bytes(this.mtimes)],
      links: [...this.links],
      contents: [...contentHashes],
      selectedBy: [...this.selectedBy],
      whiteouts: this.whiteouts,
      opaques: this.opaques,
    };
  }

  /** Throws on any inconsistency (the cache treats that as a miss). */
  static fromRecord(r: TableRecord, contentPath: (sha256: string) => string): LayerTable {
    const n = r.count;
    if (!Number.isInteger(n) || n < 0 || !Array.isArray(r.names) || r.names.length !== n || !Array.isArray(r.dirs)) {
      throw new Error('bad table record');
    }
    const t = new LayerTable(Math.max(n, 1));
    if (!Array.isArray(r.columns) || r.columns.length !== COLUMNS.length) throw new Error('bad columns');
    // copied into memory of their own: the record's bytes are views into a whole cache file
    const col = <T>(k: number, C: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T => {
      const bytes = r.columns[k]!;
      if (!(bytes instanceof Uint8Array) || bytes.length !== n * C.BYTES_PER_ELEMENT) throw new Error('bad column');
      const ab = new ArrayBuffer(bytes.length);
      new Uint8Array(ab).set(bytes);
      return new C(ab, 0, n);
    };
    t.dirOf = col(0, Uint32Array);
    t.types = col(1, Uint8Array);
    t.modes = col(2, Uint16Array);
    t.uids = col(3, Uint32Array);
    t.gids = col(4, Uint32Array);
    t.sizes = col(5, Float64Array);
    t.mtimes = col(6, Float64Array);
    t.count = n;
    t.#cap = n;
    t.names = r.names;
    t.#nameIndex = null;
    t.dirs.length = 0;
    t.#dirIndex.clear();
    for (const d of r.dirs) {
      if (typeof d !== 'string' || t.#dirIndex.has(d)) throw new Error('bad dir table');
      t.internDir(d);
    }
    for (let i = 0; i < n; i++) {
      if (t.dirOf[i]! >= t.dirs.length || t.types[i]! >= TYPE_CODES.length) throw new Error('bad entry');
    }
    for (const [i, l] of r.links) t.links.set(i, l);
    for (const [i, s] of r.selectedBy) t.selectedBy.set(i, s);
    for (const [i, h] of r.contents) t.contents.set(i, { kind: 'file', path: contentPath(h), sha256: h, size: t.sizes[i]! });
    t.whiteouts.push(...r.whiteouts);
    t.opaques.push(...r.opaques);
    return t;
  }
}

/** the numeric columns of a TableRecord, in order */
export const COLUMNS = ['dirOf', 'types', 'modes', 'uids', 'gids', 'sizes', 'mtimes'] as const;

export interface TableRecord {
  count: number;
  dirs: string[];
  names: string[];
  /** the bytes of each of COLUMNS (platform byte order: the cache is local to the machine) */
  columns: Uint8Array[];
  links: [number, string][];
  contents: [number, string][];
  selectedBy: [number, number[]][];
  whiteouts: string[];
  opaques: string[];
}
