/**
 * A byte range of a file as a stream whose chunks can be handed back for reuse (core/lend.ts).
 *
 * Reading into fresh 1 MiB buffers costs more than the read itself: every new buffer is new
 * memory the kernel must fault in and zero (reading a 460 MB archive: 0.45-0.59 s into fresh
 * buffers, 0.13 s into reused ones; docs/benchmarks.md). A consumer that is done with a chunk
 * calls releaseChunk(chunk) and the stream reads into that buffer again; one that keeps chunks
 * gets fresh buffers, as with fs.createReadStream.
 *
 * Like fs.createReadStream with `start` and `end`, a file shorter than the range ends the stream
 * early; callers that know the size check it (DigestStream).
 */
import { read } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { DigestStream } from './digest.js';
import { DrydockError } from './errors.js';
import { lend, type Lender } from './lend.js';

/** free buffers a reader keeps for reuse; more in flight than this are left to the GC */
const MAX_FREE = 8;

class RangeReader extends Readable implements Lender {
  readonly #open: () => Promise<FileHandle>;
  readonly #chunk: number;
  readonly #end: number;
  #pos: number;
  #fh: FileHandle | undefined;
  readonly #free: Buffer[] = [];
  /** length of each chunk lent and not yet handed back, by its memory */
  readonly #lent = new WeakMap<ArrayBufferLike, number>();
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
      this.#lent.set(buffer.buffer, bytesRead);
      lend(buffer.buffer, this);
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

  release(chunk: Uint8Array): void {
    // only the whole chunk as it was lent: a piece of it says nothing about the rest
    if (chunk.byteOffset !== 0 || chunk.byteLength !== this.#lent.get(chunk.buffer)) return;
    this.#lent.delete(chunk.buffer);
    if (!this.destroyed && this.#free.length < MAX_FREE) this.#free.push(Buffer.from(chunk.buffer, 0, this.#chunk));
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
 * rangeStream checked against a descriptor's digest and size: the stream fails with DIGEST_MISMATCH
 * or SIZE_MISMATCH (naming `what`) at its end instead of ending, and read errors are IO_ERROR naming
 * `file`. It reads at most one byte more than `size`, which is enough to refuse a longer blob.
 */
export function verifiedRangeStream(
  open: () => Promise<FileHandle>,
  start: number,
  length: number,
  chunk: number,
  check: { digest: string; size: number; what: string; file: string },
): DigestStream {
  const src = rangeStream(open, start, Math.min(length, check.size + 1), chunk);
  const ds = new DigestStream({ expected: check.digest, expectedSize: check.size, what: check.what });
  src.on('error', (e: Error) => ds.destroy(new DrydockError('IO_ERROR', `${check.file}: ${e.message}`, { cause: e })));
  ds.on('close', () => src.destroy());
  return src.pipe(ds);
}
