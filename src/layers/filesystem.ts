/**
 * The layer-aware filesystem of one image: layers are read (in parallel, each in one streaming
 * pass) and then applied in order into a squashed index, a tree of Maps whose leaves are packed
 * numbers (entry index × layer multiplier + layer), so 300k entries cost a few tens of MB.
 *
 * OCI whiteout semantics (image-spec layer.md): `.wh.NAME` deletes NAME from lower layers,
 * `.wh..wh..opq` hides every lower-layer child of its directory; markers of layer i apply to
 * layers < i only, so they are applied before layer i's own entries. A non-directory replacing a
 * directory hides its children. Hard links point at their target.
 */
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { DrydockError } from '../core/errors.js';
import { readRangeOf } from '../core/files.js';
import { noopSink, type EventSink } from '../core/events.js';
import { IssueLog } from '../core/issues.js';
import type { LayerInfo, ResolvedImage } from '../image/types.js';
import type { LayerCache } from './cache.js';
import { walkDirectory } from './dirwalk.js';
import { components, normaliseQueryPath } from './paths.js';
import { compileSelectors, type CompiledSelectors } from './selectors.js';
import { SpillStore } from './spill.js';
import { type ContentRef, LayerTable, TYPE_DIR, TYPE_FILE, TYPE_HARDLINK, TYPE_SYMLINK } from './table.js';
import type { FileMeta, FileSelector, LayerEntry, LayerSummary, Limits } from './types.js';
import { createLimitCounter, walkLayer, type LimitCounter } from './walk.js';
import { byString } from '../core/compare.js';

export interface BuildOptions {
  selectors?: FileSelector[];
  cache?: LayerCache | null;
  limits?: Partial<Limits>;
  issues?: IssueLog;
  events?: EventSink;
  tempDir?: string;
  /** layers read in parallel, default 2 */
  concurrency?: number;
  /** both views are always available; recorded for callers and future memory trimming */
  scope?: 'squashed' | 'all-layers';
  signal?: AbortSignal;
}

export interface ImageFilesystem {
  layers: LayerSummary[];
  /** every present path of the squashed view, sorted by path */
  squashed(): FileMeta[];
  /**
   * The same entries as `squashed()`, produced one at a time in the same order: for 300k files
   * this keeps tens of MB of objects and path strings from being alive at once.
   */
  squashedEntries(): Iterable<FileMeta>;
  /** every entry of every layer with its status, sorted by path then layer */
  allLayers(): LayerEntry[];
  /** the squashed view's entry at `path`, symlinks not followed */
  stat(path: string): FileMeta | undefined;
  /**
   * Selected contents only. Without `layer`: the squashed view, symlinks resolved inside the
   * image root (loop limit → issue, undefined). With `layer`: that layer's own entry.
   */
  readFile(path: string, layer?: number): Promise<Buffer | undefined>;
  /**
   * Bytes [offset, offset + length) of a selected content, resolved as readFile() resolves it,
   * without loading the rest: fewer bytes at the end of the content, none past it; undefined when
   * the content is not kept. The content's size is that of its entry (`stat(path).size`).
   */
  readRange(path: string, offset: number, length: number, layer?: number): Promise<Buffer | undefined>;
  /** present (squashed) entries a selector matched, sorted by path */
  selected(selectorId: string): FileMeta[];
  close(): Promise<void>;
}

const STATUS_PRESENT = 0;
const STATUS_DELETED = 1;
const STATUS_REPLACED = 2;
const MAX_SYMLINK_HOPS = 40;

interface DirNode {
  /** packed ref of the directory entry, -1 when only implied by its children */
  ref: number;
  children: Map<string, Node>;
  /** for implied directories: the layer whose entries first needed it */
  impliedBy?: number;
}

/** A directory no layer wrote but that holds entries (what unpacking creates for them). */
function impliedDirMeta(path: string, layer: number): FileMeta {
  return { path, type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer, implied: true };
}
type Node = number | DirNode;

interface LoadedLayer {
  table: LayerTable;
  cached: boolean;
  uncompressedSize?: number;
}

/** The squashed index plus per-entry statuses. */
class Squash {
  readonly root: DirNode = { ref: -1, children: new Map() };
  readonly mul: number;
  readonly status: Uint8Array[] = [];
  readonly by: Int32Array[] = [];
  readonly #comps: (string[] | undefined)[][] = [];

  constructor(readonly tables: LayerTable[]) {
    let m = 1;
    while (m < tables.length) m *= 2;
    this.mul = m;
    for (const t of tables) {
      this.status.push(new Uint8Array(t.count));
      this.by.push(new Int32Array(t.count).fill(-1));
      this.#comps.push([]);
    }
    tables.forEach((t, i) => this.#apply(i, t));
  }

  layerOf(ref: number): number {
    return ref % this.mul;
  }
  indexOf(ref: number): number {
    return (ref - (ref % this.mul)) / this.mul;
  }
  typeOf(ref: number): number {
    return this.tables[this.layerOf(ref)]!.types[this.indexOf(ref)]!;
  }

  #mark(ref: number, status: number, by: number): void {
    if (ref < 0) return;
    const l = ref % this.mul;
    const i = (ref - l) / this.mul;
    this.status[l]![i] = status;
    this.by[l]![i] = by;
  }

  #markSubtree(node: Node, status: number, by: number): void {
    if (typeof node === 'number') {
      this.#mark(node, status, by);
      return;
    }
    this.#mark(node.ref, status, by);
    for (const c of node.children.values()) this.#markSubtree(c, STATUS_DELETED, by);
  }

  #markChildren(node: DirNode, by: number): void {
    for (const c of node.children.values()) this.#markSubtree(c, STATUS_DELETED, by);
    node.children.clear();
  }

  /** the node at an absolute path, without following symlinks */
  lookup(path: string): Node | undefined {
    let node: Node = this.root;
    for (const c of components(path)) {
      if (typeof node === 'number') return undefined;
      const next: Node | undefined = node.children.get(c);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  #parentFor(table: LayerTable, layer: number, dirId: number): DirNode {
    const cache = this.#comps[layer]!;
    let comps = cache[dirId];
    if (!comps) cache[dirId] = comps = components(table.dirs[dirId]!);
    let node = this.root;
    for (const c of comps) {
      const next = node.children.get(c);
      if (next === undefined) {
        const d: DirNode = { ref: -1, children: new Map(), impliedBy: layer };
        node.children.set(c, d);
        node = d;
      } else if (typeof next === 'number') {
        // a non-directory where this layer has children: the directory replaces it
        this.#mark(next, STATUS_REPLACED, layer);
        const d: DirNode = { ref: -1, children: new Map(), impliedBy: layer };
        node.children.set(c, d);
        node = d;
      } else node = next;
    }
    return node;
  }

  #apply(layer: number, t: LayerTable): void {
    for (const w of t.whiteouts) {
      const comps = components(w);
      const name = comps.pop();
      if (name === undefined) continue;
      const parent = this.lookup('/' + comps.join('/'));
      if (parent === undefined || typeof parent === 'number') continue;
      const victim = parent.children.get(name);
      if (victim === undefined) continue;
      this.#markSubtree(victim, STATUS_DELETED, layer);
      parent.children.delete(name);
    }
    for (const o of t.opaques) {
      const d = this.lookup(o);
      if (d !== undefined && typeof d !== 'number') this.#markChildren(d, layer);
    }
    const mul = this.mul;
    for (let i = 0; i < t.count; i++) {
      const parent = this.#parentFor(t, layer, t.dirOf[i]!);
      const name = t.names[i]!;
      const ref = i * mul + layer;
      const existing = parent.children.get(name);
      if (t.types[i] === TYPE_DIR) {
        if (existing === undefined) parent.children.set(name, { ref, children: new Map() });
        else if (typeof existing === 'number') {
          this.#mark(existing, STATUS_REPLACED, layer);
          parent.children.set(name, { ref, children: new Map() });
        } else {
          this.#mark(existing.ref, STATUS_REPLACED, layer);
          existing.ref = ref;
        }
      } else {
        if (existing !== undefined) {
          if (typeof existing === 'number') this.#mark(existing, STATUS_REPLACED, layer);
          else {
            this.#mark(existing.ref, STATUS_REPLACED, layer);
            this.#markChildren(existing, layer);
          }
        }
        parent.children.set(name, ref);
      }
    }
  }

  meta(ref: number): FileMeta {
    const l = this.layerOf(ref);
    return this.tables[l]!.meta(this.indexOf(ref), l);
  }

  /**
   * Refs of every present entry in the order of their paths (JavaScript string order), without
   * building the list of paths. Within a directory P, the entry P/n sorts by the key "n" and all
   * of its descendants (the contiguous range of paths starting with "P/n/") by the key "n/", so a
   * walk that sorts these keys per directory yields exactly the order of a sort of full paths.
   */
  *presentSorted(): Generator<number | FileMeta> {
    const frames: { dir: string; keys: string[]; items: Map<string, Node>; i: number }[] = [];
    const open = (dir: DirNode, path: string): void => {
      const items = new Map<string, Node>();
      for (const [name, child] of dir.children) {
        if (typeof child === 'number') items.set(name, child);
        else {
          // a directory no layer wrote exists all the same (unpacking creates it for its entries)
          items.set(name, child.ref >= 0 ? child.ref : child);
          if (child.children.size) items.set(name + '/', child);
        }
      }
      const keys = [...items.keys()].sort(byString);
      frames.push({ dir: path, keys, items, i: 0 });
    };
    open(this.root, '');
    while (frames.length) {
      const f = frames[frames.length - 1]!;
      if (f.i === f.keys.length) {
        frames.pop();
        continue;
      }
      const key = f.keys[f.i++]!;
      const item = f.items.get(key)!;
      if (typeof item === 'number') yield item;
      else if (!key.endsWith('/')) {
        yield impliedDirMeta(`${f.dir}/${key}`, item.impliedBy ?? 0);
      } else open(item, `${f.dir}/${key.slice(0, -1)}`);
    }
  }

}

function readContent(ref: ContentRef, issues: IssueLog, path: string, layerDigest: string): Promise<Buffer | undefined> {
  if (ref.kind === 'mem') return Promise.resolve(ref.data);
  if (ref.kind === 'file') {
    return readFile(ref.path).then(
      (data) => {
        if (ref.spilled ? data.length === ref.size : createHash('sha256').update(data).digest('hex') === ref.sha256) return data;
        issues.record({ code: 'CACHE_ERROR', message: `stored content of ${path} does not match its digest; ignored`, path, layer: layerDigest });
        return undefined;
      },
      (e: Error) => {
        issues.record({ code: 'CACHE_ERROR', message: `stored content of ${path} cannot be read: ${e.message}`, path, layer: layerDigest });
        return undefined;
      },
    );
  }
  return readDiskFile(ref.path).catch((e: Error) => {
    issues.record({ code: 'IO_ERROR', message: `cannot read ${ref.path}: ${e.message}`, path });
    return undefined;
  });
}

async function readDiskFile(path: string): Promise<Buffer | undefined> {
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) return undefined;
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** A content found for a path: where it lives, and the path and layer it was found at. */
interface Located {
  ref: ContentRef;
  path: string;
  layer: number;
}

/**
 * Positional reads of kept contents. A stored file is checked as readContent() checks a whole
 * read: its size on every read; a cache blob's sha256 once, before its first range is served
 * (hashed as a stream, never held whole). A refused file stays refused, with one issue.
 */
class RangeReader {
  readonly #checked = new Map<string, boolean>();

  constructor(readonly issues: IssueLog) {}

  async read(ref: ContentRef, offset: number, length: number, path: string, layerDigest: string): Promise<Buffer | undefined> {
    if (ref.kind === 'mem') return ref.data.subarray(Math.min(offset, ref.data.length), Math.min(offset + length, ref.data.length));
    let fh: FileHandle;
    try {
      fh = await open(ref.path, ref.kind === 'disk' ? fsc.O_RDONLY | fsc.O_NOFOLLOW : fsc.O_RDONLY);
    } catch (e) {
      this.#failed(ref, path, layerDigest, e as Error);
      return undefined;
    }
    try {
      const st = await fh.stat();
      if (ref.kind === 'disk' && !st.isFile()) return undefined;
      if (ref.kind === 'file' && !(await this.#check(ref, fh, st.size, path, layerDigest))) return undefined;
      return await readRangeOf(fh, offset, length, st.size);
    } catch (e) {
      this.#failed(ref, path, layerDigest, e as Error);
      return undefined;
    } finally {
      await fh.close();
    }
  }

  async #check(ref: Extract<ContentRef, { kind: 'file' }>, fh: FileHandle, size: number, path: string, layerDigest: string): Promise<boolean> {
    // the size on every read (the stat is made anyway), the digest of a cache blob once
    let ok = size === ref.size && this.#checked.get(ref.path) !== false;
    if (ok && !ref.spilled && !this.#checked.has(ref.path)) {
      const h = createHash('sha256');
      for await (const chunk of fh.createReadStream({ start: 0, autoClose: false })) h.update(chunk as Buffer);
      ok = h.digest('hex') === ref.sha256;
    }
    if (ok) this.#checked.set(ref.path, true);
    else if (this.#checked.get(ref.path) !== false) {
      this.#checked.set(ref.path, false);
      this.issues.record({ code: 'CACHE_ERROR', message: `stored content of ${path} does not match its digest; ignored`, path, layer: layerDigest });
    }
    return ok;
  }

  #failed(ref: ContentRef, path: string, layerDigest: string, e: Error): void {
    if (ref.kind === 'disk') this.issues.record({ code: 'IO_ERROR', message: `cannot read ${ref.path}: ${e.message}`, path });
    else this.issues.record({ code: 'CACHE_ERROR', message: `stored content of ${path} cannot be read: ${e.message}`, path, layer: layerDigest });
  }
}

class Filesystem implements ImageFilesystem {
  readonly layers: LayerSummary[];
  readonly #sq: Squash;
  readonly #selectors: CompiledSelectors;
  readonly #issues: IssueLog;
  readonly #spill: SpillStore | undefined;
  readonly #byPath: (Map<string, number> | undefined)[] = [];
  readonly #ranges: RangeReader;

  constructor(layers: LayerSummary[], tables: LayerTable[], selectors: CompiledSelectors, issues: IssueLog, spill: SpillStore | undefined) {
    this.layers = layers;
    this.#sq = new Squash(tables);
    this.#selectors = selectors;
    this.#issues = issues;
    this.#spill = spill;
    this.#ranges = new RangeReader(issues);
  }

  squashed(): FileMeta[] {
    return [...this.squashedEntries()];
  }

  squashedEntries(): Iterable<FileMeta> {
    const sq = this.#sq;
    return {
      *[Symbol.iterator]() {
        for (const ref of sq.presentSorted()) yield typeof ref === 'number' ? sq.meta(ref) : ref;
      },
    };
  }

  allLayers(): LayerEntry[] {
    const sq = this.#sq;
    const keyed: [string, number, number][] = [];
    sq.tables.forEach((t, l) => {
      for (let i = 0; i < t.count; i++) keyed.push([t.pathOf(i), l, i]);
    });
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1] || a[2] - b[2]));
    return keyed.map(([, l, i]) => {
      const e = sq.tables[l]!.meta(i, l) as LayerEntry;
      const s = sq.status[l]![i]!;
      e.status = s === STATUS_PRESENT ? 'present' : s === STATUS_DELETED ? 'deleted' : 'replaced';
      if (s !== STATUS_PRESENT) e.by = sq.by[l]![i]!;
      return e;
    });
  }

  stat(path: string): FileMeta | undefined {
    const n = this.#sq.lookup(normaliseQueryPath(path));
    if (n === undefined) return undefined;
    const ref = typeof n === 'number' ? n : n.ref;
    if (ref >= 0) return this.#sq.meta(ref);
    if (typeof n !== 'number' && n !== this.#sq.root) return impliedDirMeta(normaliseQueryPath(path), n.impliedBy ?? 0);
    return undefined;
  }

  selected(selectorId: string): FileMeta[] {
    const si = this.#selectors.indexOf(selectorId);
    if (si < 0) return [];
    const out: FileMeta[] = [];
    this.#sq.tables.forEach((t, l) => {
      const status = this.#sq.status[l]!;
      for (const [i, sels] of t.selectedBy) if (status[i] === STATUS_PRESENT && sels.includes(si)) out.push(t.meta(i, l));
    });
    return out.sort((a, b) => byString(a.path, b.path));
  }

  /** path → index of the selected entries and hard links of one layer (the only ones with content) */
  #selectedIndex(l: number): Map<string, number> {
    let m = this.#byPath[l];
    if (!m) {
      m = new Map();
      const t = this.#sq.tables[l]!;
      for (const i of t.selectedBy.keys()) m.set(t.pathOf(i), i);
      for (const i of t.contents.keys()) m.set(t.pathOf(i), i);
      for (const [i] of t.links) if (t.types[i] === TYPE_HARDLINK) m.set(t.pathOf(i), i);
      // later entries win, as in the tar
      const idx = [...m.entries()].sort((a, b) => a[1] - b[1]);
      m = new Map(idx);
      this.#byPath[l] = m;
    }
    return m;
  }

  /** The content behind entry i of layer l (hard links followed), with the path it was found at. */
  async #contentOf(l: number, i: number, path: string, hops: number): Promise<Located | undefined> {
    const t = this.#sq.tables[l]!;
    const type = t.types[i]!;
    if (type === TYPE_FILE) {
      const ref = t.contents.get(i);
      return ref ? { ref, path, layer: l } : undefined;
    }
    if (type === TYPE_HARDLINK) {
      const target = t.links.get(i)!;
      // a hard link points at an earlier entry of its own layer; otherwise at the image's file
      const j = this.#selectedIndex(l).get(target);
      if (j !== undefined && j < i) return this.#contentOf(l, j, target, hops + 1);
      if (hops > MAX_SYMLINK_HOPS) return this.#loop(path);
      return this.#locateSquashed(target, hops + 1);
    }
    return undefined;
  }

  #loop(path: string): undefined {
    this.#issues.record({ code: 'PATH_UNSAFE', message: `${path}: too many levels of symbolic or hard links`, path });
    return undefined;
  }

  async #locateSquashed(path: string, hops: number): Promise<Located | undefined> {
    const sq = this.#sq;
    const queue = components(normaliseQueryPath(path)).reverse(); // a stack: next component last
    const resolved: string[] = [];
    const nodes: DirNode[] = [sq.root];
    let node: Node = sq.root;
    while (queue.length) {
      const c = queue.pop()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        // never above the root
        if (resolved.length) {
          resolved.pop();
          nodes.pop();
        }
        node = nodes[nodes.length - 1]!;
        continue;
      }
      if (typeof node === 'number') return undefined;
      const child: Node | undefined = node.children.get(c);
      if (child === undefined) return undefined;
      const ref = typeof child === 'number' ? child : child.ref;
      if (typeof child === 'number' && sq.typeOf(ref) === TYPE_SYMLINK) {
        if (++hops > MAX_SYMLINK_HOPS) return this.#loop(path);
        const l = sq.layerOf(ref);
        const target = sq.tables[l]!.links.get(sq.indexOf(ref)) ?? '';
        if (target.startsWith('/')) {
          resolved.length = 0;
          nodes.length = 1;
          node = sq.root;
        }
        const tc = target.split('/');
        for (let k = tc.length - 1; k >= 0; k--) queue.push(tc[k]!);
        continue;
      }
      resolved.push(c);
      node = child;
      if (typeof child !== 'number') nodes.push(child);
    }
    if (typeof node !== 'number') return undefined;
    return this.#contentOf(sq.layerOf(node), sq.indexOf(node), '/' + resolved.join('/'), hops);
  }

  async #locate(path: string, layer: number | undefined): Promise<Located | undefined> {
    if (layer === undefined) return this.#locateSquashed(path, 0);
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.#sq.tables.length) return undefined;
    const p = normaliseQueryPath(path);
    const i = this.#selectedIndex(layer).get(p);
    return i === undefined ? undefined : this.#contentOf(layer, i, p, 0);
  }

  async readFile(path: string, layer?: number): Promise<Buffer | undefined> {
    const c = await this.#locate(path, layer);
    if (!c) return undefined;
    return readContent(c.ref, this.#issues, c.path, this.layers[c.layer]?.digest ?? '');
  }

  async readRange(path: string, offset: number, length: number, layer?: number): Promise<Buffer | undefined> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new DrydockError('INTERNAL', `invalid range ${offset}+${length} of ${path}`);
    }
    const c = await this.#locate(path, layer);
    if (!c) return undefined;
    return this.#ranges.read(c.ref, offset, length, c.path, this.layers[c.layer]?.digest ?? '');
  }

  async close(): Promise<void> {
    await this.#spill?.close();
  }
}

/** Runs `fn(i)` for i in [0, n) with at most `limit` in flight; the first failure aborts the rest. */
async function pool(n: number, limit: number, signal: AbortController, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (next < n && firstError === undefined) {
      const i = next++;
      try {
        await fn(i);
      } catch (e) {
        if (firstError === undefined) {
          firstError = e;
          signal.abort(e);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, n)) }, worker));
  if (firstError !== undefined) throw firstError;
}

function checkCounter(counter: LimitCounter, what: string): void {
  if (counter.bytes > counter.limits.maxUncompressedBytes) {
    throw new DrydockError('LIMIT_EXCEEDED', `${what}: image exceeds the limit of ${counter.limits.maxUncompressedBytes} uncompressed bytes`);
  }
  if (counter.entries > counter.limits.maxEntries) {
    throw new DrydockError('LIMIT_EXCEEDED', `${what}: image exceeds the limit of ${counter.limits.maxEntries} archive entries`);
  }
}

export async function buildImageFilesystem(image: ResolvedImage, opts: BuildOptions = {}): Promise<ImageFilesystem> {
  const selectors = compileSelectors(opts.selectors);
  const counter = createLimitCounter(opts.limits);
  const issues = opts.issues ?? new IssueLog();
  const events = opts.events ?? noopSink;
  const cache = opts.cache ?? null;

  if (image.rootDir !== undefined) {
    const info: LayerInfo = { index: 0, digest: '', diffId: '', size: 0, mediaType: '', compression: 'none' };
    events({ type: 'layer-start', index: 0, digest: '' });
    const table = await walkDirectory(image.rootDir, { selectors, counter, issues });
    events({ type: 'layer-done', index: 0, digest: '', entries: table.count, cached: false });
    const summary: LayerSummary = { ...info, verified: false, cached: false, entries: table.count, uncompressedSize: counter.bytes };
    return new Filesystem([summary], [table], selectors, issues, undefined);
  }

  const spill = await SpillStore.create(opts.tempDir);
  const n = image.layers.length;
  const loaded: LoadedLayer[] = new Array<LoadedLayer>(n);
  const ac = new AbortController();
  const onOuterAbort = (): void => ac.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const load = async (i: number): Promise<void> => {
    const info = image.layers[i]!;
    const what = `layer ${info.digest}`;
    events({ type: 'layer-start', index: i, digest: info.digest, size: info.size });
    let binding: string | undefined;
    if (cache) {
      binding = await image.verificationBinding(i);
      if (await cache.isVerified(binding, info.digest, info.diffId)) {
        const hit = await cache.getAnalysis(info.diffId, selectors.key);
        if (hit) {
          counter.bytes += hit.uncompressedSize;
          counter.entries += hit.tarEntries;
          checkCounter(counter, what);
          loaded[i] = { table: hit.table, cached: true, uncompressedSize: hit.uncompressedSize };
          events({ type: 'layer-done', index: i, digest: info.digest, entries: hit.table.count, cached: true });
          return;
        }
      }
    }
    if (ac.signal.aborted) throw ac.signal.reason;
    const stream = await image.openLayer(i, { signal: ac.signal });
    const r = await walkLayer(stream, {
      layerDigest: info.digest,
      compression: info.compression,
      expectedDiffId: info.diffId || undefined,
      // an uncompressed layer's digest is its diffID: the verified blob stream has hashed it
      sourceVerifiesDiffId: info.compression === 'none' && !!info.diffId && info.digest === info.diffId,
      selectors,
      spill,
      issues,
      counter,
      signal: ac.signal,
    });
    if (cache) {
      if (binding !== undefined && info.diffId) await cache.putVerification(binding, info.digest, r.diffId);
      await cache.putAnalysis(r.diffId, selectors.key, r);
    }
    loaded[i] = { table: r.table, cached: false, uncompressedSize: r.uncompressedSize };
    events({ type: 'layer-done', index: i, digest: info.digest, entries: r.table.count, cached: false });
  };

  try {
    await pool(n, opts.concurrency ?? 2, ac, load);
  } catch (e) {
    await spill.close().catch(() => {});
    throw e;
  } finally {
    opts.signal?.removeEventListener('abort', onOuterAbort);
  }
  const summaries: LayerSummary[] = image.layers.map((info, i) => ({
    ...info,
    verified: true,
    cached: loaded[i]!.cached,
    entries: loaded[i]!.table.count,
    uncompressedSize: loaded[i]!.uncompressedSize,
  }));
  return new Filesystem(
    summaries,
    loaded.map((l) => l.table),
    selectors,
    issues,
    spill,
  );
}

