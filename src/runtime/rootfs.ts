/**
 * The root filesystem of a running process, read through /proc/PID/root. It is another process's
 * root, so nothing is resolved through the host: the walk uses lstat only, symlinks are resolved
 * against the walked tree (never by the kernel), files are opened with O_NOFOLLOW and checked to be
 * the very inode the walk saw (st_dev and st_ino), and nothing is ever written. The walk stays on
 * the root's filesystem: /proc, /sys, /dev, every mount of the process (/proc/PID/mountinfo) and any
 * entry on another device are left out and listed. Node has no openat2(RESOLVE_IN_ROOT), so a
 * directory swapped for a symlink while we read is caught by the device and inode checks, not
 * prevented; a directory whose inode changed while it was listed is skipped with an issue.
 */
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { lstat, open, opendir, readlink, type FileHandle } from 'node:fs/promises';
import { DrydockError } from '../core/errors.js';
import type { IssueLog } from '../core/issues.js';
import { readRangeOf } from '../core/files.js';
import type { ImageFilesystem } from '../layers/filesystem.js';
import { joinPath, normaliseQueryPath } from '../layers/paths.js';
import { compileSelectors } from '../layers/selectors.js';
import type { EntryType, FileMeta, FileSelector, LayerEntry, LayerSummary } from '../layers/types.js';
import type { MountInfo } from './procfs.js';
import type { Excluded } from './types.js';
import { byString } from '../core/compare.js';

export interface RunningEntry extends FileMeta {
  dev: number;
  ino: number;
}

export interface RootWalkLimits {
  /** entries walked; default 1,000,000. Past it the walk stops (LIMIT_EXCEEDED issue) */
  maxEntries: number;
  /** wall-clock time of the walk; default 120 s. Past it the walk stops (TIMEOUT issue) */
  maxWalkMs: number;
  /** largest single content read into memory for a cataloger; default 256 MiB */
  maxReadBytes: number;
}

export const DEFAULT_ROOT_LIMITS: RootWalkLimits = { maxEntries: 1_000_000, maxWalkMs: 120_000, maxReadBytes: 256 * 1024 * 1024 };

export interface RootWalkOptions {
  /** the host path of the root: /proc/PID/root */
  root: string;
  /** st_dev of the root directory; entries on other devices are left out */
  rootDev: number;
  /** the process's mounts (mount points relative to its root) */
  mounts: MountInfo[];
  issues: IssueLog;
  limits?: Partial<RootWalkLimits>;
  signal?: AbortSignal;
}

/** Paths of the root that are virtual filesystems in every container. */
export const VIRTUAL_ROOTS = ['/dev', '/proc', '/sys'];

/** A symlink the runtime itself creates in the container (runc: /etc/mtab → /proc/mounts). */
function isRuntimeSymlink(path: string, target: string): boolean {
  return path === '/etc/mtab' && /^(\/proc\/(self\/)?mounts|\.\.\/proc\/(self\/)?mounts)$/.test(target);
}

function typeOf(st: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isFIFO(): boolean }): EntryType | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return undefined; // sockets
}

function under(path: string, prefix: string): boolean {
  return prefix === '/' || path === prefix || path.startsWith(prefix + '/');
}

/** The excluded roots: virtual filesystems and mounts, outermost only, sorted. */
export function exclusionsOf(mounts: MountInfo[]): Excluded[] {
  const all: Excluded[] = VIRTUAL_ROOTS.map((p) => ({ path: p, reason: 'virtual' as const }));
  for (const m of mounts) {
    const p = normaliseQueryPath(m.mountPoint);
    if (p === '/') continue;
    const v = all.find((x) => x.path === p);
    if (v) v.fstype ??= m.fstype;
    else all.push({ path: p, reason: 'mount', fstype: m.fstype });
  }
  all.sort((a, b) => byString(a.path, b.path));
  return all.filter((e) => !all.some((o) => o !== e && o.path !== e.path && under(e.path, o.path)));
}

export interface WalkedRoot {
  entries: Map<string, RunningEntry>;
  excluded: Excluded[];
  /** false when a limit stopped the walk: what was not walked must not count as deleted */
  complete: boolean;
}

/** Walks the running root (lstat only), leaving out virtual filesystems, mounts and other devices. */
export async function walkRoot(opts: RootWalkOptions): Promise<WalkedRoot> {
  const limits = { ...DEFAULT_ROOT_LIMITS, ...opts.limits };
  const excluded = exclusionsOf(opts.mounts);
  const excludedPaths = new Set(excluded.map((e) => e.path));
  const entries = new Map<string, RunningEntry>();
  const deadline = Date.now() + limits.maxWalkMs;
  const root = opts.root.replace(/\/+$/, '');
  const stack: { rel: string; ino: number }[] = [];
  const rootSt = await lstat(root + '/');
  stack.push({ rel: '/', ino: rootSt.ino });
  let complete = true;
  while (stack.length) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (Date.now() > deadline) {
      opts.issues.record({ code: 'TIMEOUT', message: `walk of ${root} stopped after ${limits.maxWalkMs} ms; deletions are not reported`, severity: 'error' });
      complete = false;
      break;
    }
    const { rel, ino } = stack.pop()!;
    const abs = rel === '/' ? root + '/' : root + rel;
    let dir;
    try {
      dir = await opendir(abs, { bufferSize: 128 });
    } catch (e) {
      if (rel === '/') throw new DrydockError('IO_ERROR', `cannot read the root directory ${root}`, { cause: e });
      opts.issues.record({ code: 'IO_ERROR', message: `cannot read directory ${rel}: ${(e as Error).message}`, path: rel });
      continue;
    }
    const names: string[] = [];
    for await (const d of dir) {
      const path = joinPath(rel, d.name);
      if (!excludedPaths.has(path)) names.push(d.name);
    }
    if (entries.size + names.length > limits.maxEntries) {
      opts.issues.record({ code: 'LIMIT_EXCEEDED', message: `walk of ${root} stopped at ${limits.maxEntries} entries; deletions are not reported`, severity: 'error' });
      complete = false;
      break;
    }
    // the lstat calls of one directory overlap
    const stats = await Promise.all(
      names.map(async (name) => {
        const path = joinPath(rel, name);
        try {
          const st = await lstat(root + path);
          const link = st.isSymbolicLink() ? await readlink(root + path).catch(() => '') : undefined;
          return { path, st, link };
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') opts.issues.record({ code: 'IO_ERROR', message: `cannot stat ${path}: ${(e as Error).message}`, path });
          return undefined;
        }
      }),
    );
    const children: RunningEntry[] = [];
    for (const x of stats) {
      if (!x) continue;
      const { path, st, link: linkname } = x;
      const type = typeOf(st);
      if (type === undefined) continue;
      if (st.dev !== opts.rootDev) {
        // a mount mountinfo did not show us (or a race): not part of the root filesystem
        excluded.push({ path, reason: 'other-filesystem' });
        continue;
      }
      if (linkname !== undefined && isRuntimeSymlink(path, linkname)) {
        excluded.push({ path, reason: 'runtime-file' });
        continue;
      }
      children.push({
        path,
        type,
        size: type === 'file' ? st.size : 0,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
        layer: 0,
        dev: st.dev,
        ino: st.ino,
        ...(linkname !== undefined ? { linkname } : {}),
      });
    }
    // the directory listed must still be the one the walk reached (not swapped for a link)
    const again = await lstat(abs).catch(() => undefined);
    if (!again || !again.isDirectory() || again.ino !== ino || again.dev !== opts.rootDev) {
      opts.issues.record({ code: 'PATH_UNSAFE', message: `directory ${rel} changed while it was read; its entries are left out`, path: rel, severity: 'error' });
      complete = false;
      continue;
    }
    for (const c of children) {
      entries.set(c.path, c);
      if (c.type === 'dir') stack.push({ rel: c.path, ino: c.ino });
    }
  }
  excluded.sort((a, b) => byString(a.path, b.path));
  return { entries, excluded, complete };
}

const MAX_LINK_HOPS = 40;

/**
 * Resolves a path inside the walked tree: symlinks are followed against the tree (an absolute
 * target starts again at the container's root, ".." stops at it). Undefined when it leads nowhere.
 */
export function resolveInTree(entries: Map<string, RunningEntry>, path: string): RunningEntry | undefined {
  const queue = normaliseQueryPath(path).split('/').filter(Boolean).reverse();
  const resolved: string[] = [];
  let hops = 0;
  let last: RunningEntry | undefined;
  while (queue.length) {
    const c = queue.pop()!;
    if (c === '.' || c === '') continue;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const p = '/' + [...resolved, c].join('/');
    const e = entries.get(p);
    if (!e) return undefined;
    if (e.type === 'symlink') {
      if (++hops > MAX_LINK_HOPS) return undefined;
      const t = e.linkname ?? '';
      if (t.startsWith('/')) resolved.length = 0;
      const tc = t.split('/');
      for (let k = tc.length - 1; k >= 0; k--) queue.push(tc[k]!);
      continue;
    }
    if (queue.length && e.type !== 'dir') return undefined;
    resolved.push(c);
    last = e;
  }
  return last;
}

/**
 * Opens a walked regular file for reading: O_NOFOLLOW, and refused unless it is still the inode
 * (device and number) the walk recorded.
 */
async function openWalked(root: string, e: RunningEntry): Promise<FileHandle | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(root + e.path, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return undefined;
  }
  const st = await fh.stat().catch(() => undefined);
  if (!st || !st.isFile() || st.ino !== e.ino || st.dev !== e.dev) {
    await fh.close();
    return undefined;
  }
  return fh;
}

/** sha256 of a walked file, streamed in 1 MiB reads; undefined when it cannot be opened as walked. */
export async function hashWalked(root: string, e: RunningEntry): Promise<{ sha256: string; bytes: number } | undefined> {
  const fh = await openWalked(root, e);
  if (!fh) return undefined;
  try {
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(1024 * 1024);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    return { sha256: h.digest('hex'), bytes: pos };
  } finally {
    await fh.close();
  }
}

/**
 * The walked root seen as an image filesystem of one pseudo-layer, so the catalogers run on it as
 * they run on an image. Contents are read from the running root when asked for, as walked.
 */
export class RunningFilesystem implements ImageFilesystem {
  readonly layers: LayerSummary[];
  readonly #sorted: RunningEntry[];
  readonly #selectors;
  readonly #selected = new Map<string, FileMeta[]>();

  constructor(
    readonly root: string,
    readonly entries: Map<string, RunningEntry>,
    selectors: FileSelector[],
    readonly issues: IssueLog,
    readonly maxReadBytes = DEFAULT_ROOT_LIMITS.maxReadBytes,
  ) {
    this.#sorted = [...entries.values()].sort((a, b) => byString(a.path, b.path));
    this.#selectors = compileSelectors(selectors);
    this.layers = [{ index: 0, digest: '', diffId: '', size: 0, mediaType: '', compression: 'none', verified: false, cached: false, entries: entries.size }];
    const ids = this.#selectors.list.map((s) => s.id);
    for (const id of ids) this.#selected.set(id, []);
    for (const e of this.#sorted) {
      const name = e.path.slice(e.path.lastIndexOf('/') + 1);
      const m = this.#selectors.match(e.path, name, e.type === 'file' ? e.mode : undefined);
      if (m) for (const i of m) this.#selected.get(ids[i]!)!.push(meta(e));
    }
  }

  squashed(): FileMeta[] {
    return this.#sorted.map(meta);
  }
  *squashedEntries(): Iterable<FileMeta> {
    for (const e of this.#sorted) yield meta(e);
  }
  allLayers(): LayerEntry[] {
    return this.#sorted.map((e) => ({ ...meta(e), status: 'present' as const }));
  }
  stat(path: string): FileMeta | undefined {
    const e = this.entries.get(normaliseQueryPath(path));
    return e ? meta(e) : undefined;
  }
  selected(selectorId: string): FileMeta[] {
    return this.#selected.get(selectorId) ?? [];
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const e = resolveInTree(this.entries, path);
    if (!e || e.type !== 'file') return undefined;
    if (e.size > this.maxReadBytes) {
      this.issues.record({ code: 'LIMIT_EXCEEDED', message: `${e.path} is ${e.size} bytes, over the read limit of ${this.maxReadBytes}; content not read`, path: e.path });
      return undefined;
    }
    return this.#range(e, 0, e.size);
  }

  async readRange(path: string, offset: number, length: number): Promise<Buffer | undefined> {
    const e = resolveInTree(this.entries, path);
    if (!e || e.type !== 'file') return undefined;
    return this.#range(e, offset, Math.min(length, this.maxReadBytes));
  }

  async #range(e: RunningEntry, offset: number, length: number): Promise<Buffer | undefined> {
    const fh = await openWalked(this.root, e);
    if (!fh) {
      this.issues.record({ code: 'IO_ERROR', message: `cannot read ${e.path} as it was walked (gone or replaced)`, path: e.path });
      return undefined;
    }
    try {
      return await readRangeOf(fh, offset, length, e.size);
    } finally {
      await fh.close();
    }
  }

  async close(): Promise<void> {}
}

function meta(e: RunningEntry): FileMeta {
  const { dev: _d, ino: _i, ...m } = e;
  return m;
}
