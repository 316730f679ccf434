/**
 * `inspect --verify`: stream every layer blob through decompression and a hash, check the
 * diffID and record a verification record. No tar parsing, never a whole layer in memory.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DrydockError } from '../core/errors.js';
import { parseDigest } from '../core/digest.js';
import { releaseChunk } from '../core/lend.js';
import { noopSink, type EventSink } from '../core/events.js';
import type { ResolvedImage } from '../image/types.js';
import type { LayerCache } from './cache.js';
import { decompressStream } from './decompress.js';
import type { LayerSummary, Limits } from './types.js';
import { createLimitCounter } from './walk.js';

export interface VerifyOptions {
  cache?: LayerCache | null;
  /** read every layer even when a verification record matches */
  force?: boolean;
  events?: EventSink;
  concurrency?: number;
  limits?: Partial<Limits>;
  signal?: AbortSignal;
}

export async function verifyLayers(image: ResolvedImage, opts: VerifyOptions = {}): Promise<LayerSummary[]> {
  const cache = opts.cache ?? null;
  const events = opts.events ?? noopSink;
  const counter = createLimitCounter(opts.limits);
  const out: LayerSummary[] = new Array<LayerSummary>(image.layers.length);
  const ac = new AbortController();
  const onOuter = (): void => ac.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onOuter, { once: true });

  const one = async (i: number): Promise<void> => {
    const info = image.layers[i]!;
    const what = `layer ${info.digest}`;
    events({ type: 'layer-start', index: i, digest: info.digest, size: info.size });
    const binding = cache ? await image.verificationBinding(i) : undefined;
    if (cache && !opts.force && (await cache.isVerified(binding, info.digest, info.diffId))) {
      out[i] = { ...info, verified: true, cached: true, entries: 0 };
      events({ type: 'layer-done', index: i, digest: info.digest, entries: 0, cached: true });
      return;
    }
    const algorithm = info.diffId ? parseDigest(info.diffId).algorithm : 'sha256';
    const hash = createHash(algorithm);
    // an uncompressed layer whose digest is its diffID: openLayer's stream fails before its end
    // unless the bytes hash to that digest, so it computes the diffID; hashing again is waste
    const sameHash = info.compression === 'none' && !!info.diffId && info.digest === info.diffId;
    let bytes = 0;
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        counter.bytes += chunk.length;
        if (counter.bytes > counter.limits.maxUncompressedBytes) {
          cb(new DrydockError('LIMIT_EXCEEDED', `${what}: image exceeds the limit of ${counter.limits.maxUncompressedBytes} uncompressed bytes`));
          return;
        }
        if (!sameHash) hash.update(chunk);
        // nothing keeps the chunk: a file range's buffer can be read into again
        releaseChunk(chunk);
        cb();
      },
    });
    const source = await image.openLayer(i, { signal: ac.signal });
    const decomp = decompressStream(info.compression);
    let decompError: unknown;
    decomp.once('error', (e) => (decompError = e));
    try {
      await pipeline(source, decomp, sink, { signal: ac.signal });
    } catch (e) {
      if (e instanceof DrydockError) throw e;
      if (decompError !== undefined && e === decompError) {
        throw new DrydockError('DECOMPRESS_FAILED', `${what}: ${info.compression} stream is corrupt or truncated: ${(e as Error).message}`, { cause: e });
      }
      throw new DrydockError('IO_ERROR', `${what}: cannot read the blob: ${(e as Error).message}`, { cause: e });
    }
    const diffId = sameHash ? info.diffId : `${algorithm}:${hash.digest('hex')}`;
    if (info.diffId && diffId !== info.diffId) {
      throw new DrydockError('DIFFID_MISMATCH', `${what}: uncompressed content hashes to ${diffId}, the image config says ${info.diffId}`, {
        details: { layer: info.digest, expected: info.diffId, actual: diffId },
      });
    }
    if (cache && binding !== undefined && info.diffId) await cache.putVerification(binding, info.digest, diffId);
    out[i] = { ...info, verified: true, cached: false, entries: 0, uncompressedSize: bytes };
    events({ type: 'layer-done', index: i, digest: info.digest, entries: 0, cached: false });
  };

  let next = 0;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (next < image.layers.length && firstError === undefined) {
      const i = next++;
      try {
        await one(i);
      } catch (e) {
        if (firstError === undefined) {
          firstError = e;
          ac.abort(e);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency ?? 2, image.layers.length)) }, worker));
  } finally {
    opts.signal?.removeEventListener('abort', onOuter);
  }
  if (firstError !== undefined) throw firstError;
  return out;
}

/** Reads nothing: `verified` comes from verification records only (plain `inspect`). */
export async function layerVerificationStatus(image: ResolvedImage, cache: LayerCache | null): Promise<boolean[]> {
  if (!cache) return image.layers.map(() => false);
  return Promise.all(
    image.layers.map(async (info, i) => cache.isVerified(await image.verificationBinding(i), info.digest, info.diffId)),
  );
}
