/**
 * Downloads a feed to a file with undici (conditional GET with If-None-Match / If-Modified-Since,
 * RFC 9110 13.1), streaming to disk. HTTP errors, connection failures, timeouts and bodies shorter
 * than their Content-Length are FEED_UNAVAILABLE; the partial file is removed.
 */
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, fetch, ProxyAgent, type Dispatcher } from 'undici';
import { DrydockError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';

export interface FetchOptions {
  /** an undici dispatcher (Agent, ProxyAgent, MockAgent) for every request */
  dispatcher?: Dispatcher;
  /** proxy URL; ignored when a dispatcher is given */
  proxy?: string;
  /** time limit of one download, headers and body (default 10 minutes) */
  timeoutMs?: number;
  userAgent?: string;
  /** PEM file of extra CA certificates to trust (ignored when a dispatcher is given) */
  caFile?: string;
  /** retries of a download after a connection error, a 5xx or a 429 (default 0) */
  retries?: number;
  /** receives 'retry' events */
  events?: EventSink;
}

function dispatcherOf(opts: FetchOptions): Dispatcher | undefined {
  if (opts.dispatcher) return opts.dispatcher;
  const ca = opts.caFile ? readFileSync(opts.caFile) : undefined;
  if (opts.proxy) return new ProxyAgent(ca ? { uri: opts.proxy, requestTls: { ca } } : opts.proxy);
  return ca ? new Agent({ connect: { ca } }) : undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** downloadFeed with retries of transient failures (connection errors, 5xx, 429). */
export async function downloadFeed(
  url: string,
  dest: string,
  opts: FetchOptions & { etag?: string; lastModified?: string; onBytes?: (n: number) => void } = {},
): Promise<DownloadResult> {
  const retries = Math.max(0, opts.retries ?? 0);
  for (let attempt = 0; ; attempt++) {
    try {
      return await downloadOnce(url, dest, opts);
    } catch (e) {
      const status = e instanceof DrydockError ? (e.details?.status as number | undefined) : undefined;
      const transient = status === undefined || status >= 500 || status === 429;
      if (attempt >= retries || !transient) throw e;
      const delayMs = Math.min(250 * 2 ** attempt, 8000);
      opts.events?.({ type: 'retry', url, attempt: attempt + 1, delayMs, ...(status ? { status } : {}) });
      await sleep(delayMs);
    }
  }
}

export type DownloadResult =
  | { status: 'not-modified' }
  | { status: 'downloaded'; bytes: number; etag?: string; lastModified?: string };

async function downloadOnce(
  url: string,
  dest: string,
  opts: FetchOptions & { etag?: string; lastModified?: string; onBytes?: (n: number) => void },
): Promise<DownloadResult> {
  const headers: Record<string, string> = { 'user-agent': opts.userAgent ?? 'drydock-vulndb' };
  if (opts.etag) headers['if-none-match'] = opts.etag;
  if (opts.lastModified) headers['if-modified-since'] = opts.lastModified;
  const dispatcher = dispatcherOf(opts);
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 600_000);
  let res;
  try {
    res = await fetch(url, { headers, signal, redirect: 'follow', ...(dispatcher ? { dispatcher } : {}) });
  } catch (cause) {
    throw new DrydockError('FEED_UNAVAILABLE', `feed ${url} could not be fetched`, { cause });
  }
  if (res.status === 304) {
    await res.body?.cancel().catch(() => undefined);
    return { status: 'not-modified' };
  }
  if (res.status < 200 || res.status > 299 || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new DrydockError('FEED_UNAVAILABLE', `feed ${url} answered http ${res.status}`, { details: { status: res.status } });
  }
  const length = res.headers.get('content-length');
  const expected = length !== null && /^\d+$/.test(length) && !res.headers.get('content-encoding') ? Number(length) : undefined;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      opts.onBytes?.(bytes);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), counter, createWriteStream(dest));
  } catch (cause) {
    rmSync(dest, { force: true });
    throw new DrydockError('FEED_UNAVAILABLE', `feed ${url}: download broke off after ${bytes} bytes`, { cause });
  }
  if (expected !== undefined && bytes !== expected) {
    rmSync(dest, { force: true });
    throw new DrydockError('FEED_UNAVAILABLE', `feed ${url}: got ${bytes} of ${expected} bytes (truncated)`);
  }
  const out: DownloadResult = { status: 'downloaded', bytes };
  const etag = res.headers.get('etag');
  const lm = res.headers.get('last-modified');
  if (etag) out.etag = etag;
  if (lm) out.lastModified = lm;
  return out;
}
