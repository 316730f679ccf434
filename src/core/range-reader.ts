/**
 * A byte range of a file as a stream whose chunks can be handed back for reuse.
 *
 * Reading into fresh 1 MiB buffers costs more than the read itself: every new buffer is new
 * memory the kernel must fault in and zero (reading a 460 MB archive: 0.45-0.59 s into fresh
 * buffers, 0.13 s into reused ones; docs/benchmarks.md). A consumer that is done with a chunk,
 * and keeps no reference into it, calls releaseChunk(chunk) and the stream reads into that buffer
 * again. A chunk never released is simply left to the garbage collector, so a consumer that keeps
 * chunks (a pipe to a file, zlib, a hash in a later tick) needs to do nothing: it only gets fresh
 * buffers, as with fs.createReadStream.
 *
 * Like fs.createReadStream with `start` and `end`, a file shorter than the range ends the stream
 * early; callers that know the size check it (DigestStream).
 */
import { read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';

/**
 * A chunk's memory → the reader it came from, until released. Keyed by the ArrayBuffer, not the
 * chunk: the entry then holds no reference to that memory, which the GC frees with the chunk when
 * no consumer released it (an entry whose value held the buffer kept about 30 MB more alive).
 */
const borrowed = new WeakMap<ArrayBufferLike, { reader: RangeReader; length: number }>();

/** free buffers a reader keeps for reuse; more in flight than this are left to the GC */
const MAX_FREE = 8;

class RangeReader extends Readable {
  readonly #open: () => Promise<FileHandle>;
  readonly #chunk: number;
  readonly #end: number;
  #pos: number;
  #fh: FileHandle | undefined;
  readonly #free: Buffer[] = [];
  #reading = false;
  /** set by _destroy while a read is in flight: closes the file once it returns */
  #afterRead: (() => void) | undefined;

  constructor(open: () => Promise<FileHandle>, start: number, length: number, chunk: number) {
    super({ highWaterMark: chunk });
    this.#open = open;
    this.#chunk = chunk;
    this.#pos = start;
    this.#end = start + length;
  }

  override _construct(cb: (error?: Error | null) => void): void {
    this.#open().then(
      (fh) => {
        this.#fh = fh;
        cb();
      },
      (e: Error) => cb(e),
    );
  }

  override _read(): void {
    const want = Math.min(this.#chunk, this.#end - this.#pos);
    if (want <= 0) {
      this.push(null);
      return;
    }
    const buffer = this.#free.pop() ?? Buffer.allocUnsafeSlow(this.#chunk);
    // fs.read with a callback, not FileHandle.read: its completion is a callback of its own, after
    // which Node runs the stream's nextTick (that asks for the next chunk) before the consumer's
    // microtasks, so reading the next chunk overlaps with processing this one. A promise
    // completion would run the consumer's microtasks first.
    this.#reading = true;
    read(this.#fh!.fd, buffer, 0, want, this.#pos, (e, bytesRead) => {
      this.#reading = false;
      if (this.#afterRead) {
        this.#afterRead();
        return;
      }
      if (e) {
        this.destroy(e);
        return;
      }
      if (bytesRead === 0) {
        this.push(null); // the file ends before the range does
        return;
      }
      this.#pos += bytesRead;
      borrowed.set(buffer.buffer, { reader: this, length: bytesRead });
      this.push(buffer.subarray(0, bytesRead));
    });
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    this.#free.length = 0;
    const fh = this.#fh;
    this.#fh = undefined;
    if (!fh) {
      cb(err);
      return;
    }
    const close = (): void => {
      fh.close().then(
        () => cb(err),
        (e: Error) => cb(err ?? e),
      );
    };
    // the descriptor stays open until a read in flight has finished with it
    if (this.#reading) this.#afterRead = close;
    else close();
  }

  giveBack(memory: ArrayBufferLike): void {
    if (!this.destroyed && this.#free.length < MAX_FREE) this.#free.push(Buffer.from(memory, 0, this.#chunk));
  }
}

/**
 * `length` bytes of the file `open` opens, from `start`, in chunks of at most `chunk` bytes (an
 * infinite length reads to the end of the file). The stream opens the file on construction and
 * closes it when it ends or is destroyed.
 */
export function rangeStream(open: () => Promise<FileHandle>, start: number, length: number, chunk: number): Readable {
  return new RangeReader(open, start, length, chunk);
}

/**
 * Hands a chunk of a rangeStream back for reuse. Only for a consumer that holds no reference into
 * the chunk any more, behind stages that keep none either once they passed it on, or that queued
 * what they still do with it as a microtask before passing it on (pass-through stages, DigestStream).
 * Anything else, a piece of a chunk included, is ignored.
 */
export function releaseChunk(chunk: Uint8Array): void {
  const b = borrowed.get(chunk.buffer);
  // only the whole chunk as it was handed out: a piece of it says nothing about the rest
  if (!b || chunk.byteOffset !== 0 || chunk.byteLength !== b.length) return;
  borrowed.delete(chunk.buffer);
  const memory = chunk.buffer;
  // Given back in a microtask: a consumer may release a chunk in the very call that delivers it,
  // while an upstream stage's deferred work on it (DigestStream's hash, queued as a microtask
  // before it passed the chunk on) is still to run, and the stream's next read is issued in a
  // nextTick, before any microtask. Queued behind that work, the buffer is not read into before
  // it ran.
  queueMicrotask(() => b.reader.giveBack(memory));
}
