/**
 * Downloads a feed to a file (conditional GET with If-None-Match / If-Modified-Since, RFC 9110
 * 13.1), streaming to disk, on the same HTTP transport as the registry client (HTTP(S)_PROXY,
 * NO_PROXY, CA files). HTTP errors, connection failures, timeouts and bodies shorter than their
 * Content-Length are FEED_UNAVAILABLE; the partial file is removed.
 */
import { createWriteStream, rmSync } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DrydockError } from '../core/errors.js';
import type { EventSink } from '../core/events.js';
import { caBundle, dump, headerValue, HttpTransport, MAX_REDIRECTS, REDIRECT_STATUSES, type TransportResponse } from '../core/http.js';

export interface FetchOptions {
  /** proxy URL for every download (default: HTTP_PROXY / HTTPS_PROXY / NO_PROXY from the environment) */
  proxy?: string;
  /** time limit of one download, headers and body (default 10 minutes) */
  timeoutMs?: number;
  userAgent?: string;
  /** PEM file of extra CA certificates to trust */
  caFile?: string;
  /** retries of a download after a connection error, a 5xx or a 429 (default 0) */
  retries?: number;
  /** receives 'retry' events */
  events?: EventSink;
}

/** no byte for this long fails a download (within the overall timeoutMs) */
const IDLE_MS = 60_000;

function transportOf(opts: FetchOptions): HttpTransport {
  const env = opts.proxy ? { ...process.env, HTTP_PROXY: opts.proxy, HTTPS_PROXY: opts.proxy } : process.env;
  return new HttpTransport({ ...(opts.caFile ? { ca: caBundle(opts.caFile) } : {}), env });
}

/** the body as sent, decoded when the server chose a content coding anyway (none is asked for) */
function decoded(res: TransportResponse, url: string): Readable {
  const enc = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (enc === 'identity' || enc === '') return res.body;
  if (enc === 'gzip' || enc === 'x-gzip') return res.body.pipe(createGunzip());
  if (enc === 'deflate') return res.body.pipe(createInflate());
  if (enc === 'br') return res.body.pipe(createBrotliDecompress());
  res.body.destroy();
  throw new DrydockError('FEED_UNAVAILABLE', `feed ${url}: unsupported content encoding ${JSON.stringify(enc)}`);
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
  const transport = transportOf(opts);
  try {
    return await fetchTo(transport, url, dest, headers, opts);
  } finally {
    transport.close();
  }
}

async function fetchTo(
  transport: HttpTransport,
  url: string,
  dest: string,
  headers: Record<string, string>,
  opts: FetchOptions & { onBytes?: (n: number) => void },
): Promise<DownloadResult> {
  const timeoutMs = opts.timeoutMs ?? 600_000;
  const signal = AbortSignal.timeout(timeoutMs);
  let res: TransportResponse;
  let at: URL;
  try {
    at = new URL(url);
  } catch (cause) {
    throw new DrydockError('FEED_UNAVAILABLE', `feed ${url}: not a URL`, { cause });
  }
  for (let hop = 0; ; hop++) {
    try {
      res = await transport.request(at, { method: 'GET', headers, timeoutMs: Math.min(timeoutMs, IDLE_MS), signal });
    } catch (cause) {
      throw new DrydockError('FEED_UNAVAILABLE', `feed ${url} could not be fetched`, { cause });
    }
    const loc = res.headers.location;
    if (!REDIRECT_STATUSES.has(res.statusCode) || typeof loc !== 'string') break;
    await dump(res.body);
    if (hop >= MAX_REDIRECTS) throw new DrydockError('FEED_UNAVAILABLE', `feed ${url}: more than ${MAX_REDIRECTS} redirects`);
    at = new URL(loc, at);
    if (at.protocol !== 'https:' && at.protocol !== 'http:') throw new DrydockError('FEED_UNAVAILABLE', `feed ${url}: redirect to a ${at.protocol} URL`);
  }
  if (res.statusCode === 304) {
    await dump(res.body);
    return { status: 'not-modified' };
  }
  if (res.statusCode < 200 || res.statusCode > 299) {
    await dump(res.body);
    throw new DrydockError('FEED_UNAVAILABLE', `feed ${url} answered http ${res.statusCode}`, { details: { status: res.statusCode } });
  }
  const header = (name: string): string | undefined => headerValue(res.headers, name);
  const length = header('content-length');
  const expected = length !== undefined && /^\d+$/.test(length) && !header('content-encoding') ? Number(length) : undefined;
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      opts.onBytes?.(bytes);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(decoded(res, url), counter, createWriteStream(dest));
  } catch (cause) {
    rmSync(dest, { force: true });
    throw new DrydockError('FEED_UNAVAILABLE', `feed ${url}: download broke off after ${bytes} bytes`, { cause });
  }
  if (expected !== undefined && bytes !== expected) {
    rmSync(dest, { force: true });
    throw new DrydockError('FEED_UNAVAILABLE', `feed ${url}: got ${bytes} of ${expected} bytes (truncated)`);
  }
  const out: DownloadResult = { status: 'downloaded', bytes };
  const etag = header('etag');
  const lm = header('last-modified');
  if (etag) out.etag = etag;
  if (lm) out.lastModified = lm;
  return out;
}
