/**
 * Large contents read back from disk (spilled files, cache blobs) are handed to catalogers as whole
 * Buffers. V8 collects such external memory only once it has grown by tens of MB since the last
 * collection, so a 57 MB Go binary read after an 8 MB one, then followed by a few more executables,
 * kept all of them alive at once (83 MB of array buffers at the peak on the app image). The reader
 * counts the bytes it handed out and asks for a full collection before the next large read once that
 * count passes a threshold: at most one collection per large read, a few ms each.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Reads of at least this many bytes count, and may be preceded by a collection. */
export const LARGE_READ = 1024 * 1024;
/** A collection runs before a large read once this many bytes of large reads were handed out. */
export const RECLAIM_AFTER = 4 * 1024 * 1024;

let gcFn: (() => void) | null | undefined;

/** node's gc(), exposed on demand; null where the runtime refuses. */
function gc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === 'function') return (gcFn = own);
  try {
    setFlagsFromString('--expose-gc');
    // a fresh context is created with the flag set and carries a gc() bound to this isolate
    const fn = runInNewContext('gc') as unknown;
    gcFn = typeof fn === 'function' ? (fn as () => void) : null;
  } catch {
    gcFn = null;
  } finally {
    try {
      setFlagsFromString('--no-expose-gc');
    } catch {
      // the flag stays set: harmless
    }
  }
  return gcFn;
}

/** Tracks large reads of one filesystem; call before() with the size about to be read. */
export class LargeReadReclaimer {
  #pending = 0;
  /** collections run so far (for tests) */
  collections = 0;

  constructor(readonly threshold: number = RECLAIM_AFTER) {}

  before(size: number): void {
    if (size < LARGE_READ) return;
    if (this.#pending >= this.threshold) {
      const fn = gc();
      if (fn) {
        fn();
        this.collections++;
      }
      this.#pending = 0;
    }
    this.#pending += size;
  }
}
