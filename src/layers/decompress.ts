/**
 * Layer decompression as Node Transforms: gzip (node zlib, concatenated members included),
 * zstd (fzstd's streaming decoder; Node 20 zlib has no zstd), or none.
 * Errors are plain; the caller wraps them as DECOMPRESS_FAILED naming the layer.
 */
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import type { Gunzip } from 'node:zlib';
import type { Decompress } from 'fzstd';
import { lazyPackage, zlib } from '../core/lazy.js';
import { lend, type Lender } from '../core/lend.js';
import type { Compression } from '../image/types.js';

/** fzstd loads on the first zstd layer */
const fzstd = lazyPackage<typeof import('fzstd')>('fzstd');

const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

/** Guesses the compression from the first bytes of a blob. */
export function sniffCompression(firstBytes: Buffer): Compression {
  if (firstBytes.length >= 2 && firstBytes[0] === GZIP_MAGIC[0] && firstBytes[1] === GZIP_MAGIC[1]) return 'gzip';
  if (firstBytes.length >= 4 && ZSTD_MAGIC.every((b, i) => firstBytes[i] === b)) return 'zstd';
  return 'none';
}

class ZstdTransform extends Transform {
  readonly #d: Decompress;
  #out: Buffer[] = [];

  constructor() {
    super({ readableHighWaterMark: 1 << 20 });
    this.#d = new (fzstd().Decompress)((chunk) => {
      if (chunk.length) this.#out.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    });
  }

  #emit(): void {
    const out = this.#out;
    this.#out = [];
    for (const b of out) this.push(b);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.#d.push(chunk);
    } catch (e) {
      cb(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    // Transform calls _transform again only once the readable side has been read
    // below its high-water mark, so this respects backpressure.
    this.#emit();
    cb();
  }

  override _flush(cb: TransformCallback): void {
    try {
      this.#d.push(new Uint8Array(0), true);
    } catch (e) {
      cb(e instanceof Error ? e : new Error(`zstd stream truncated or corrupt: ${String(e)}`));
      return;
    }
    this.#emit();
    cb();
  }
}

/** zlib's output chunk: larger ones made no difference, smaller ones inflate slower (docs/benchmarks.md) */
const GUNZIP_CHUNK = 1 << 20;
/** free output buffers a gunzip keeps for reuse */
const GUNZIP_FREE = 4;

type Lent = { pieces: Map<number, number>; retired: boolean };

/**
 * Lends a Gunzip's output buffers (core/lend.ts) and has zlib inflate into released ones again.
 *
 * Node's zlib stream inflates into `_outBuffer` and pushes pieces of it; once that buffer is full it
 * assigns a new `Buffer.allocUnsafe(chunkSize)`, and writing into new memory is what costs (inflating
 * a 6 MB layer in a fresh process, most of the time goes to faulting in its 16 MB of output). An
 * accessor on `_outBuffer` swaps the new buffer, untouched and so never faulted in, for one whose
 * pieces have all come back. Node does not document `_outBuffer`: if its zlib stops going through
 * it, the accessor is never called and inflating allocates as before. Either way the output is
 * checked against the layer's diff_id.
 */
class GunzipRecycler implements Lender {
  readonly #free: Buffer[] = [];
  /** each lent buffer's pieces out (offset → length), and whether zlib has moved past it */
  readonly #lent = new WeakMap<ArrayBufferLike, Lent>();
  #current: Buffer;

  constructor(gunzip: Gunzip) {
    const z = gunzip as unknown as { _outBuffer?: unknown };
    this.#current = z._outBuffer as Buffer;
    if (!Buffer.isBuffer(this.#current) || this.#current.length !== GUNZIP_CHUNK) return;
    this.#track(this.#current);
    Object.defineProperty(z, '_outBuffer', {
      configurable: true,
      enumerable: true,
      get: () => this.#current,
      set: (fresh: Buffer) => {
        this.#retire(this.#current);
        this.#current = this.#free.pop() ?? fresh;
        this.#track(this.#current);
      },
    });
    // every piece zlib pushes is lent (a 'data' listener here would start the stream flowing)
    const push = gunzip.push.bind(gunzip);
    gunzip.push = (piece: Buffer | null, encoding?: BufferEncoding): boolean => {
      const lent = piece && this.#lent.get(piece.buffer);
      if (lent) {
        lent.pieces.set(piece.byteOffset, piece.byteLength);
        lend(piece.buffer, this);
      }
      return push(piece, encoding);
    };
    gunzip.once('close', () => {
      this.#free.length = 0;
    });
  }

  #track(buffer: Buffer): void {
    // whole buffers only (allocUnsafe of 1 MiB never comes from the shared pool)
    if (buffer.byteOffset === 0 && buffer.buffer.byteLength === GUNZIP_CHUNK) this.#lent.set(buffer.buffer, { pieces: new Map(), retired: false });
  }

  #retire(buffer: Buffer): void {
    const lent = this.#lent.get(buffer.buffer);
    if (!lent) return;
    lent.retired = true;
    this.#reuse(buffer.buffer, lent);
  }

  release(piece: Uint8Array): void {
    const lent = this.#lent.get(piece.buffer);
    if (!lent || lent.pieces.get(piece.byteOffset) !== piece.byteLength) return;
    lent.pieces.delete(piece.byteOffset);
    this.#reuse(piece.buffer, lent);
  }

  #reuse(memory: ArrayBufferLike, lent: Lent): void {
    if (!lent.retired || lent.pieces.size > 0) return;
    this.#lent.delete(memory);
    if (this.#free.length < GUNZIP_FREE) this.#free.push(Buffer.from(memory, 0, GUNZIP_CHUNK));
  }
}

export function decompressStream(compression: Compression): Transform {
  switch (compression) {
    case 'gzip': {
      // Gunzip continues with the next member of a concatenated stream by itself.
      const gunzip = zlib().createGunzip({ chunkSize: GUNZIP_CHUNK });
      new GunzipRecycler(gunzip);
      return gunzip;
    }
    case 'zstd':
      return new ZstdTransform();
    case 'none':
      return new PassThrough({ highWaterMark: 1 << 20 });
  }
}
