/**
 * The HTTP/1.1 transport of the registry client and of the feed downloads, on node:http and
 * node:https: pooled keep-alive connections, a CA bundle or unverified TLS (insecure hosts only),
 * HTTP(S)_PROXY and NO_PROXY (absolute-URI requests for http://, CONNECT tunnels for https://), a
 * timeout for the answer and for every idle gap of a body, and abort signals. Redirects, retries
 * and auth belong to the callers.
 *
 * Node's own modules rather than an HTTP library: they load in a few milliseconds, and short
 * commands such as `drydock verify` are mostly process start-up (docs/benchmarks.md, issue 5).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type AgentOptions as HttpsAgentOptions, type RequestOptions } from 'node:https';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type ConnectionOptions } from 'node:tls';
import type { Duplex, Readable } from 'node:stream';
import { DrydockError } from './errors.js';

/** Statuses whose Location a caller that follows redirects goes to, and how many hops it follows. */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
export const MAX_REDIRECTS = 5;

/** Node's root certificates plus those of a PEM file (--ca-file): CONFIG_INVALID when it cannot be read. */
export function caBundle(file: string): string[] {
  try {
    return [...rootCertificates, readFileSync(file, 'utf8')];
  } catch (e) {
    throw new DrydockError('CONFIG_INVALID', `cannot read the CA file ${file}`, { cause: e });
  }
}

/** A response header (lower-case name); the first value when it was sent more than once. */
export function headerValue(headers: TransportResponse['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export interface TransportOptions {
  /** CA certificates (PEM); default: Node's roots */
  ca?: string[];
  /** false only for hosts the user listed as insecure */
  rejectUnauthorized?: boolean;
  /** HTTP(S)_PROXY / NO_PROXY come from here */
  env: NodeJS.ProcessEnv;
}

export interface TransportRequest {
  method: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** no answer, or no body bytes, for this long: the request fails with code ETIMEDOUT */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface TransportResponse {
  statusCode: number;
  /** lower-case names; a header sent more than once is an array */
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

/** Reads and discards a small rest of a body so the connection can be reused; closes it when large. */
export async function dump(body: Readable, limit = 256 * 1024): Promise<void> {
  if (body.destroyed || body.readableEnded) return;
  await new Promise<void>((resolve) => {
    let n = 0;
    const done = (): void => {
      body.off('data', onData);
      resolve();
    };
    const onData = (c: Buffer): void => {
      n += c.length;
      if (n > limit) {
        body.destroy();
        done();
      }
    };
    body.on('data', onData);
    body.once('end', done);
    body.once('close', done);
    body.once('error', done);
  });
}

function timeoutError(url: URL, ms: number): Error {
  return Object.assign(new Error(`no data from ${url.host} within ${ms} ms`), { code: 'ETIMEDOUT' });
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** NO_PROXY: comma-separated host names, domain suffixes (.example.com, *.example.com), host:port, or '*'. */
function bypassesProxy(url: URL, noProxy: string): boolean {
  const host = url.hostname.toLowerCase();
  if (LOOPBACK.has(host)) return true;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (let entry of noProxy.split(/[,\s]+/)) {
    entry = entry.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.endsWith(']')) {
      entry = m[1]!;
      entryPort = m[2];
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, '');
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

function proxyAuthorization(proxy: URL): Record<string, string> {
  if (!proxy.username && !proxy.password) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'proxy-authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

/** An HTTPS agent whose connections are TLS inside a CONNECT tunnel through `proxy`. */
class TunnelAgent extends HttpsAgent {
  readonly #proxy: URL;

  constructor(proxy: URL, opts: HttpsAgentOptions) {
    super(opts);
    this.#proxy = proxy;
  }

  // node:http calls createConnection(options, callback) and waits for the callback when it returns nothing
  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const cb = callback!;
    const target = `${options.host}:${options.port}`;
    const p = this.#proxy;
    const req = (p.protocol === 'https:' ? httpsRequest : httpRequest)({
      host: p.hostname,
      port: p.port || (p.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers: { host: target, ...proxyAuthorization(p) },
      agent: false,
      ...(options.timeout ? { timeout: options.timeout } : {}),
    });
    req.once('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        cb(Object.assign(new Error(`proxy ${p.host} refused the tunnel to ${target} (${res.statusCode})`), { code: 'ECONNREFUSED' }), socket);
        return;
      }
      const o = options as ConnectionOptions & { host?: string };
      const tls = tlsConnect({ ...o, socket, servername: o.servername ?? o.host ?? undefined });
      cb(null, tls);
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error(`proxy ${p.host}: no answer to CONNECT`), { code: 'ETIMEDOUT' })));
    req.once('error', (e) => cb(e, req.socket as Socket));
    req.end();
    return undefined;
  }
}

export class HttpTransport {
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;
  readonly #proxyHttp: { url: URL; agent: HttpAgent } | undefined;
  readonly #proxyHttps: TunnelAgent | undefined;
  readonly #noProxy: string;

  constructor(opts: TransportOptions) {
    const tls = { ...(opts.ca ? { ca: opts.ca } : {}), ...(opts.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}) };
    this.#http = new HttpAgent({ keepAlive: true });
    this.#https = new HttpsAgent({ keepAlive: true, ...tls });
    const env = opts.env;
    const httpProxy = env.HTTP_PROXY ?? env.http_proxy;
    // as before: an https:// request without HTTPS_PROXY tunnels through HTTP_PROXY
    const httpsProxy = env.HTTPS_PROXY ?? env.https_proxy ?? httpProxy;
    this.#noProxy = env.NO_PROXY ?? env.no_proxy ?? '';
    if (httpProxy) this.#proxyHttp = { url: new URL(httpProxy), agent: new HttpAgent({ keepAlive: true }) };
    if (httpsProxy) this.#proxyHttps = new TunnelAgent(new URL(httpsProxy), { keepAlive: true, ...tls });
  }

  request(url: URL, r: TransportRequest): Promise<TransportResponse> {
    const headers: OutgoingHttpHeaders = { ...r.headers };
    if (r.body) headers['content-length'] = String(r.body.length);
    else if (r.method !== 'GET' && r.method !== 'HEAD' && r.method !== 'DELETE') headers['content-length'] = '0';
    const https = url.protocol === 'https:';
    const direct = bypassesProxy(url, this.#noProxy);
    let send;
    if (https) {
      const agent: HttpsAgent = !direct && this.#proxyHttps ? this.#proxyHttps : this.#https;
      send = httpsRequest(url, { method: r.method, headers, agent, ...(r.signal ? { signal: r.signal } : {}) });
    } else if (!direct && this.#proxyHttp) {
      // a plain-HTTP registry through a proxy: the absolute URI goes to the proxy
      const p = this.#proxyHttp;
      send = httpRequest({
        host: p.url.hostname,
        port: p.url.port || 80,
        path: url.href,
        method: r.method,
        headers: { ...headers, host: url.host, ...proxyAuthorization(p.url) },
        agent: p.agent,
        ...(r.signal ? { signal: r.signal } : {}),
      });
    } else {
      send = httpRequest(url, { method: r.method, headers, agent: this.#http, ...(r.signal ? { signal: r.signal } : {}) });
    }
    const req = send;
    return new Promise<TransportResponse>((resolve, reject) => {
      // the socket's idle timer covers connecting, waiting for the answer and every gap of the body
      req.setTimeout(r.timeoutMs, () => req.destroy(timeoutError(url, r.timeoutMs)));
      req.once('error', reject);
      req.once('response', (res: IncomingMessage) => {
        req.off('error', reject);
        // an error after the answer (reset, timeout, abort) fails the body stream
        req.on('error', (e) => res.destroy(e));
        res.once('aborted', () => res.destroy(Object.assign(new Error('the connection closed before the body ended'), { code: 'ECONNRESET' })));
        const h: Record<string, string | string[] | undefined> = {};
        for (const [k, v] of Object.entries(res.headersDistinct)) if (v) h[k] = v.length === 1 ? v[0] : v;
        resolve({ statusCode: res.statusCode ?? 0, headers: h, body: res });
      });
      req.end(r.body);
    });
  }

  close(): void {
    this.#http.destroy();
    this.#https.destroy();
    this.#proxyHttp?.agent.destroy();
    this.#proxyHttps?.destroy();
  }
}
