/**
 * Content digests (OCI image-spec descriptor.md#digests): `algorithm:encoded`.
 * sha256 and sha512 are accepted; everything else is DIGEST_INVALID.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DrydockError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(s: string): boolean {
  return DIGEST_RE.test(s);
}

export function parseDigest(s: string): { algorithm: DigestAlgorithm; hex: string } {
  if (!DIGEST_RE.test(s)) throw new DrydockError('DIGEST_INVALID', `invalid digest ${JSON.stringify(s.slice(0, 160))}`);
  const i = s.indexOf(':');
  return { algorithm: s.slice(0, i) as DigestAlgorithm, hex: s.slice(i + 1) };
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Short form for tables: sha256:0123456789ab */
export function shortDigest(d: string): string {
  const i = d.indexOf(':');
  return i < 0 ? d.slice(0, 12) : d.slice(0, i + 13);
}

/** Throws DIGEST_MISMATCH unless `data` hashes to `expected`. `what` names the object. */
export function verifyBytes(data: Uint8Array, expected: string, what: string): void {
  const { algorithm } = parseDigest(expected);
  const actual = digestOf(data, algorithm);
  if (actual !== expected) {
    throw new DrydockError('DIGEST_MISMATCH', `${what}: content hashes to ${actual}, expected ${expected}`, {
      details: { expected, actual },
    });
  }
}

/**
 * A pass-through stream that hashes what flows through it. With `expected`, the stream fails
 * with DIGEST_MISMATCH (or SIZE_MISMATCH) at its end instead of finishing, so a consumer that
 * waits for the end never accepts unverified bytes.
 */
export class DigestStream extends Transform {
  readonly #hash: Hash;
  readonly #algorithm: DigestAlgorithm;
  readonly #expected: string | undefined;
  readonly #expectedSize: number | undefined;
  readonly #what: string;
  bytes = 0;
  digest: string | undefined;

  /**
   * True when this stream checks exactly `digest` and `size`: it then fails before its end on any
   * other content, so a consumer that waits for the end (a pipeline) needs no second hash.
   */
  verifies(digest: string, size: number): boolean {
    return this.#expected === digest && this.#expectedSize === size;
  }

  constructor(opts: { expected?: string; expectedSize?: number; what: string; algorithm?: DigestAlgorithm }) {
    super();
    this.#algorithm = opts.expected ? parseDigest(opts.expected).algorithm : (opts.algorithm ?? 'sha256');
    this.#hash = createHash(this.#algorithm);
    this.#expected = opts.expected;
    this.#expectedSize = opts.expectedSize;
    this.#what = opts.what;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.#expectedSize !== undefined && this.bytes > this.#expectedSize) {
      cb(new DrydockError('SIZE_MISMATCH', `${this.#what}: more than the ${this.#expectedSize} bytes its descriptor declares`));
      return;
    }
    // Hashed in a microtask: the source has then already asked for its next chunk (a file read is
    // issued in a nextTick, an inflate step right after this chunk's callback), so reading and
    // hashing overlap. Microtasks keep the order, and _flush waits behind them the same way.
    queueMicrotask(() => this.#hash.update(chunk));
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    queueMicrotask(() => this.#finish(cb));
  }

  #finish(cb: TransformCallback): void {
    this.digest = `${this.#algorithm}:${this.#hash.digest('hex')}`;
    if (this.#expectedSize !== undefined && this.bytes !== this.#expectedSize) {
      cb(new DrydockError('SIZE_MISMATCH', `${this.#what}: ${this.bytes} bytes, its descriptor declares ${this.#expectedSize}`));
      return;
    }
    if (this.#expected !== undefined && this.digest !== this.#expected) {
      cb(new DrydockError('DIGEST_MISMATCH', `${this.#what}: content hashes to ${this.digest}, expected ${this.#expected}`, {
        details: { expected: this.#expected, actual: this.digest },
      }));
      return;
    }
    cb();
  }
}
