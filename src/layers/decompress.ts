/**
 * Layer decompression as Node Transforms: gzip (node zlib, concatenated members included),
 * zstd (fzstd's streaming decoder; Node 20 zlib has no zstd), or none.
 * Errors are plain; the caller wraps them as DECOMPRESS_FAILED naming the layer.
 */
import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Decompress } from 'fzstd';
import { lazyPackage } from '../core/lazy.js';
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

export function decompressStream(compression: Compression): Transform {
  switch (compression) {
    case 'gzip':
      // Gunzip continues with the next member of a concatenated stream by itself.
      return createGunzip({ chunkSize: 1024 * 1024 });
    case 'zstd':
      return new ZstdTransform();
    case 'none':
      return new PassThrough({ highWaterMark: 1 << 20 });
  }
}
