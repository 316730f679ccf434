/**
 * Chunks lent by a producer that wants their memory back: a consumer that is done with a chunk,
 * and keeps no reference into it, calls releaseChunk(chunk) and the producer can fill that memory
 * again instead of allocating more. Fresh memory costs more than the work done in it on the
 * machines we measured (the kernel faults in and zeroes every new page: docs/benchmarks.md).
 * A chunk never released is left to the garbage collector, so a consumer that keeps chunks (a pipe
 * to a file, a hash in a later tick) needs to do nothing.
 */

/** A producer of lent chunks: it decides whether a released chunk is one it lent, and when to reuse it. */
export interface Lender {
  release(chunk: Uint8Array): void;
}

/**
 * A chunk's memory → the producer it came from. Keyed by the ArrayBuffer, not the chunk: the entry
 * then holds no reference to that memory, which the GC frees with the chunk when no consumer
 * released it (an entry whose value held the buffer kept about 30 MB more alive).
 */
const lenders = new WeakMap<ArrayBufferLike, Lender>();

/** Records that `memory` belongs to `lender` until it is handed back. */
export function lend(memory: ArrayBufferLike, lender: Lender): void {
  lenders.set(memory, lender);
}

/**
 * Hands a chunk back to the producer that lent it. Only for a consumer that holds no reference into
 * the chunk any more, behind stages that keep none either once they passed it on, or that queued
 * what they still do with it as a microtask before passing it on (pass-through stages, DigestStream).
 * Anything not lent, a piece of a lent chunk included, is ignored.
 *
 * The producer hears of it in a microtask: a consumer may release a chunk in the very call that
 * delivers it, while an upstream stage's deferred work on it (DigestStream's hash, queued as a
 * microtask before it passed the chunk on) is still to run, and a stream's next read is issued in a
 * nextTick, before any microtask. Queued behind that work, the memory is not filled again before it ran.
 */
export function releaseChunk(chunk: Uint8Array): void {
  const lender = lenders.get(chunk.buffer);
  if (lender) queueMicrotask(() => lender.release(chunk));
}
