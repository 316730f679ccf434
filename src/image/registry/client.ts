/**
 * OCI distribution client (distribution-spec v1.1): manifests, blobs (streamed, verified),
 * uploads (monolithic and chunked), cross-repository mounts, tags, catalog and referrers
 * (API with the referrers-tag fallback).
 *
 * Transport rules:
 * - HTTPS by default; hosts listed in `insecure` (host or host:port, as in the reference) use plain
 *   HTTP. Loopback registries (localhost, 127.0.0.1) are NOT insecure unless listed.
 * - `caFile` adds a CA to the system roots.
 * - HTTPS_PROXY / HTTP_PROXY / NO_PROXY are honoured (from `env`); loopback hosts never go
 *   through a proxy.
 * - 429, 502, 503, 504 and connection resets are retried with exponential backoff and jitter,
 *   honouring Retry-After; `timeoutMs` bounds the wait for headers and every idle gap of a body.
 * - Auth: anonymous first; on a 401 the WWW-Authenticate challenge picks Basic or the Bearer token
 *   flow. Tokens are cached per scope until they expire. Credentials never appear in messages.
 */
import { Readable } from 'node:stream';
import { DigestStream, digestOf, isDigest, parseDigest, verifyBytes } from '../../core/digest.js';
import { DrydockError, type ErrorCode } from '../../core/errors.js';
import { noopSink, type EventSink } from '../../core/events.js';
import { registryApiHost } from '../reference.js';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType, type Descriptor, type RawManifest, type RegistryOptions } from '../types.js';
import { lookupCredentials, type Credentials } from './credentials.js';
import { caBundle, dump, headerValue, HttpTransport, MAX_REDIRECTS, REDIRECT_STATUSES } from '../../core/http.js';
import { createLimiter, type Limiter } from './limit.js';

export type RegistryClientOptions = RegistryOptions & {
  events?: EventSink;
  userAgent?: string;
  env?: NodeJS.ProcessEnv;
  /** upper bound on manifest sizes; default 4 MiB */
  maxManifestBytes?: number;
  /** first backoff delay (ms) of the retry schedule; default 500 (tests lower it) */
  retryBaseMs?: number;
  /** streamed uploads above this size go in chunks; default 32 MiB */
  chunkThreshold?: number;
};

/** The repository part of a Reference. */
export interface RepoRef {
  registry: string;
  repository: string;
}

export const DEFAULT_MANIFEST_ACCEPT: readonly string[] = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
];

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 4;
const DEFAULT_MAX_MANIFEST = 4 * 1024 * 1024;
const DEFAULT_CHUNK = 16 * 1024 * 1024;
const DEFAULT_CHUNK_THRESHOLD = 32 * 1024 * 1024;
const MAX_RETRY_AFTER_MS = 60_000;
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
const RETRY_ERRNOS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const TIMEOUT_ERRNOS = new Set(['ETIMEDOUT']);

type Method = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

interface SendRequest {
  registry: string;
  method: Method;
  url: URL;
  headers?: Record<string, string>;
  body?: Buffer;
  /** token scopes (repository:NAME:pull, ...) */
  scopes: string[];
  /** names the object in error messages */
  what: string;
  signal?: AbortSignal | undefined;
  followRedirects?: boolean;
}

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
  url: URL;
}

interface Challenge {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
  scope?: string;
}

interface CachedToken {
  token: string;
  expires: number;
}

function header(res: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  return headerValue(res.headers, name);
}

/** A URL fit for messages: no user info, no query (presigned URLs carry signatures). */
export function safeUrl(u: URL | string): string {
  try {
    const url = new URL(String(u));
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '<url>';
  }
}

function errCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const c = (cur as { code?: unknown }).code;
    if (typeof c === 'string' && c !== '') return c;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

function isAbort(e: unknown): boolean {
  return !!e && typeof e === 'object' && ((e as { name?: string }).name === 'AbortError' || errCode(e) === 'ABORT_ERR' || errCode(e) === 'UND_ERR_ABORTED');
}

/** Maps a network-level failure into TIMEOUT / NETWORK_ERROR naming the URL. */
export function networkError(e: unknown, url: URL | string, what: string, timeoutMs: number): Error {
  if (e instanceof DrydockError) return e;
  if (isAbort(e)) return e as Error;
  const code = errCode(e);
  if (code && TIMEOUT_ERRNOS.has(code)) {
    return new DrydockError('TIMEOUT', `${what}: no answer from ${safeUrl(url)} within ${timeoutMs} ms`, { cause: e, details: { url: safeUrl(url) } });
  }
  return new DrydockError('NETWORK_ERROR', `${what}: request to ${safeUrl(url)} failed${code ? ` (${code})` : ''}`, { cause: e, details: { url: safeUrl(url) } });
}

function parseChallenge(h: string | undefined): Challenge | undefined {
  if (!h) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(h);
  if (!m) return undefined;
  const scheme = (m[1] ?? '').toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2] ?? '')) !== null) {
    params[(p[1] ?? '').toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  const c: Challenge = { scheme };
  if (params.realm) c.realm = params.realm;
  if (params.service) c.service = params.service;
  if (params.scope) c.scope = params.scope;
  return c;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason instanceof Error ? signal.reason : new DOMException('aborted', 'AbortError'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After: delta seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(v: string | undefined, now = Date.now()): number | undefined {
  if (!v) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const d = Date.parse(t);
  if (Number.isNaN(d)) return undefined;
  return Math.max(0, d - now);
}

async function readBody(body: Readable, cap: number, onOver: () => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of body) {
    const b = c as Buffer;
    n += b.length;
    if (n > cap) {
      body.destroy();
      throw onOver();
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function mediaTypeOf(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const t = contentType.split(';')[0]?.trim().toLowerCase();
  return t || undefined;
}

/** The fallback tag of the referrers tag schema: sha256-<hex>. */
export function referrersTag(subjectDigest: string): string {
  const { algorithm, hex } = parseDigest(subjectDigest);
  return `${algorithm.slice(0, 32)}-${hex.slice(0, 64)}`;
}

/** artifactType of a manifest as the referrers API reports it. */
function artifactTypeOf(doc: { artifactType?: unknown; config?: { mediaType?: unknown } }): string | undefined {
  if (typeof doc.artifactType === 'string') return doc.artifactType;
  if (doc.config && typeof doc.config.mediaType === 'string') return doc.config.mediaType;
  return undefined;
}

function parseLinkNext(link: string | undefined, base: URL): URL | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;\s*(.*)$/.exec(part.trim());
    if (m && /rel\s*=\s*"?next"?/i.test(m[2] ?? '')) return new URL(m[1] ?? '', base);
  }
  return undefined;
}

export class RegistryClient {
  readonly #opts: RegistryClientOptions;
  readonly #events: EventSink;
  readonly #env: NodeJS.ProcessEnv;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #transport: HttpTransport;
  #insecureTransport: HttpTransport | undefined;
  readonly #schemes = new Map<string, Promise<'http' | 'https'>>();
  readonly #insecure: Set<string>;
  readonly #creds = new Map<string, Promise<Credentials | undefined>>();
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, CachedToken>();
  /** limits parallel blob transfers: `client.limit(() => client.putBlob(...))` */
  readonly limit: Limiter;

  constructor(opts: RegistryClientOptions) {
    this.#opts = opts;
    this.#events = opts.events ?? noopSink;
    this.#env = opts.env ?? process.env;
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retries = opts.retries ?? DEFAULT_RETRIES;
    this.#insecure = new Set((opts.insecure ?? []).map((h) => h.toLowerCase()));
    this.limit = createLimiter(opts.concurrency ?? 4);

    this.#transport = new HttpTransport({ ...(opts.caFile ? { ca: caBundle(opts.caFile) } : {}), env: this.#env });
    for (const h of [...this.#insecure]) this.#insecure.add(registryApiHost(h).toLowerCase());
  }

  /** TLS without verification, only for hosts listed as insecure. */
  #unverified(): HttpTransport {
    this.#insecureTransport ??= new HttpTransport({ rejectUnauthorized: false, env: this.#env });
    return this.#insecureTransport;
  }

  /**
   * An insecure host is tried over HTTPS without certificate checks first (like skopeo); when TLS
   * cannot be established it is used over plain HTTP. The answer is cached per host.
   */
  #scheme(registry: string): Promise<'http' | 'https'> {
    const host = registryApiHost(registry);
    let p = this.#schemes.get(host);
    if (!p) {
      p = (async () => {
        try {
          const res = await this.#unverified().request(new URL(`https://${host}/v2/`), {
            method: 'GET',
            headers: { 'user-agent': this.#opts.userAgent ?? 'drydock' },
            timeoutMs: Math.min(this.#timeoutMs, 5000),
          });
          await dump(res.body);
          return 'https' as const;
        } catch {
          return 'http' as const;
        }
      })();
      this.#schemes.set(host, p);
    }
    return p;
  }

  /** Closes pooled connections. */
  async close(): Promise<void> {
    this.#transport.close();
    this.#insecureTransport?.close();
  }

  // ---------------------------------------------------------------- plumbing

  #isInsecure(registry: string): boolean {
    const host = registryApiHost(registry).toLowerCase();
    return this.#insecure.has(registry.toLowerCase()) || this.#insecure.has(host);
  }

  /** https://API-HOST/path; #send switches insecure hosts to the scheme that works. */
  #url(registry: string, path: string): URL {
    return new URL(`https://${registryApiHost(registry)}${path}`);
  }

  #repoUrl(repo: RepoRef, rest: string): URL {
    return this.#url(repo.registry, `/v2/${repo.repository}/${rest}`);
  }

  #credentials(registry: string): Promise<Credentials | undefined> {
    let p = this.#creds.get(registry);
    if (!p) {
      p = lookupCredentials(registry, {
        ...(this.#opts.username !== undefined ? { username: this.#opts.username } : {}),
        ...(this.#opts.password !== undefined ? { password: this.#opts.password } : {}),
        ...(this.#opts.dockerConfig !== undefined ? { dockerConfig: this.#opts.dockerConfig } : {}),
        env: this.#env,
      });
      this.#creds.set(registry, p);
    }
    return p;
  }

  /** One HTTP exchange with retries on 429/502/503/504 and connection resets; no auth logic. */
  async #fetch(req: { method: Method; url: URL; headers: Record<string, string>; body?: Buffer; what: string; signal?: AbortSignal | undefined }): Promise<Response> {
    const base = this.#opts.retryBaseMs ?? 500;
    for (let attempt = 0; ; attempt++) {
      let res: Awaited<ReturnType<HttpTransport['request']>>;
      try {
        const transport = req.url.protocol === 'https:' && this.#insecure.has(req.url.host.toLowerCase()) ? this.#unverified() : this.#transport;
        res = await transport.request(req.url, {
          method: req.method,
          headers: { 'user-agent': this.#opts.userAgent ?? 'drydock', ...req.headers },
          ...(req.body !== undefined ? { body: req.body } : {}),
          timeoutMs: this.#timeoutMs,
          ...(req.signal ? { signal: req.signal } : {}),
        });
      } catch (e) {
        const code = errCode(e);
        if (!isAbort(e) && code && RETRY_ERRNOS.has(code) && attempt < this.#retries) {
          const delayMs = Math.round(base * 2 ** attempt * (0.5 + Math.random()));
          this.#events({ type: 'retry', url: safeUrl(req.url), attempt: attempt + 1, delayMs });
          await sleep(delayMs, req.signal);
          continue;
        }
        throw networkError(e, req.url, req.what, this.#timeoutMs);
      }
      if (RETRY_STATUSES.has(res.statusCode) && attempt < this.#retries) {
        await dump(res.body);
        const ra = parseRetryAfter(header(res, 'retry-after'));
        const backoff = Math.round(base * 2 ** attempt * (0.5 + Math.random()));
        const delayMs = Math.min(MAX_RETRY_AFTER_MS, ra ?? backoff);
        this.#events({ type: 'retry', url: safeUrl(req.url), status: res.statusCode, attempt: attempt + 1, delayMs });
        await sleep(delayMs, req.signal);
        continue;
      }
      return { status: res.statusCode, headers: res.headers, body: res.body, url: req.url };
    }
  }

  async #token(registry: string, ch: Challenge, scopes: string[], force: boolean, what: string, signal?: AbortSignal): Promise<string> {
    const wanted = scopes.length ? scopes : ch.scope ? [ch.scope] : [];
    const key = `${registry}\n${ch.realm}\n${ch.service ?? ''}\n${[...wanted].sort().join(' ')}`;
    const cached = this.#tokens.get(key);
    if (!force && cached && cached.expires > Date.now()) return cached.token;
    if (!ch.realm) throw new DrydockError('AUTH_REQUIRED', `${what}: registry ${registry} asks for a bearer token without a realm`);
    let realm: URL;
    try {
      realm = new URL(ch.realm);
    } catch {
      throw new DrydockError('REGISTRY_ERROR', `${what}: registry ${registry} named an invalid token realm`);
    }
    const creds = await this.#credentials(registry);
    let res: Response;
    if (creds?.identityToken) {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'drydock' });
      if (ch.service) form.set('service', ch.service);
      if (wanted.length) form.set('scope', wanted.join(' '));
      res = await this.#fetch({
        method: 'POST',
        url: realm,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
        what,
        signal,
      });
    } else {
      const url = new URL(realm);
      if (ch.service) url.searchParams.set('service', ch.service);
      for (const s of wanted) url.searchParams.append('scope', s);
      const headers: Record<string, string> = {};
      if (creds && (creds.username || creds.password)) {
        headers.authorization = `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
      }
      res = await this.#fetch({ method: 'GET', url, headers, what, signal });
    }
    const text = await readBody(res.body, 1024 * 1024, () => new DrydockError('REGISTRY_ERROR', `${what}: token answer from ${safeUrl(realm)} too large`)).catch((e: unknown) => {
      throw networkError(e, realm, what, this.#timeoutMs);
    });
    const who = creds?.username ? ` as ${JSON.stringify(creds.username)}` : creds ? '' : ' anonymously';
    if (res.status === 401) throw new DrydockError('AUTH_REQUIRED', `${what}: the token server of ${registry} refused the credentials${who} (401)`, { details: { status: 401, scopes: wanted } });
    if (res.status === 403) throw new DrydockError('AUTH_DENIED', `${what}: the token server of ${registry} denied ${wanted.join(' ') || 'access'}${who} (403)`, { details: { status: 403, scopes: wanted } });
    if (res.status !== 200) throw new DrydockError('REGISTRY_ERROR', `${what}: the token server of ${registry} answered ${res.status}`, { details: { status: res.status } });
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      parsed = JSON.parse(text.toString('utf8')) as typeof parsed;
    } catch {
      throw new DrydockError('REGISTRY_ERROR', `${what}: the token server of ${registry} sent invalid JSON`);
    }
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : typeof parsed.access_token === 'string' ? parsed.access_token : '';
    if (!token) throw new DrydockError('REGISTRY_ERROR', `${what}: the token server of ${registry} sent no token`);
    const expiresIn = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    let issued = Date.now();
    if (typeof parsed.issued_at === 'string') {
      const t = Date.parse(parsed.issued_at);
      if (!Number.isNaN(t) && t <= Date.now()) issued = t;
    }
    // renew a little early
    this.#tokens.set(key, { token, expires: issued + Math.max(1, expiresIn - 10) * 1000 });
    return token;
  }

  async #authorization(registry: string, ch: Challenge | undefined, scopes: string[], force: boolean, what: string, signal?: AbortSignal): Promise<string | undefined> {
    if (!ch) return undefined;
    if (ch.scheme === 'basic') {
      const creds = await this.#credentials(registry);
      if (!creds || (!creds.username && !creds.password)) return undefined;
      return `Basic ${Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64')}`;
    }
    return `Bearer ${await this.#token(registry, ch, scopes, force, what, signal)}`;
  }

  /** A registry request: auth challenge handling, retries, redirects (no credentials to other hosts). */
  async #send(req: SendRequest): Promise<Response> {
    const base = this.#url(req.registry, '/');
    let url = req.url;
    if (this.#isInsecure(req.registry)) {
      const scheme = await this.#scheme(req.registry);
      base.protocol = `${scheme}:`;
      if (url.host === base.host && url.protocol !== base.protocol) {
        url = new URL(url);
        url.protocol = base.protocol;
      }
    }
    const origin = base.origin;
    let method = req.method;
    let body = req.body;
    for (let hop = 0; ; hop++) {
      const sameOrigin = url.origin === origin;
      let authorised = false;
      let res: Response | undefined;
      for (let authTry = 0; authTry < 3; authTry++) {
        const headers: Record<string, string> = { ...(req.headers ?? {}) };
        if (sameOrigin) {
          const auth = await this.#authorization(req.registry, this.#challenges.get(req.registry), req.scopes, authTry > 0, req.what, req.signal);
          if (auth) {
            headers.authorization = auth;
            authorised = true;
          }
        }
        res = await this.#fetch({ method, url, headers, ...(body !== undefined ? { body } : {}), what: req.what, signal: req.signal });
        if (res.status !== 401 || !sameOrigin) break;
        // remembered for #statusError: a 401 despite credentials
        if (authorised) {
          const creds = await this.#credentials(req.registry);
          if (creds && (creds.username || creds.password || creds.identityToken)) res.headers['x-drydock-authorised'] = '1';
        }
        const ch = parseChallenge(header(res, 'www-authenticate'));
        const prev = this.#challenges.get(req.registry);
        const retry =
          ch !== undefined &&
          (!authorised || (ch.scheme === 'bearer' && authTry === 0) || prev?.scheme !== ch.scheme || prev.realm !== ch.realm);
        if (!retry) break;
        if (ch.scheme === 'basic') {
          const creds = await this.#credentials(req.registry);
          if (!creds || (!creds.username && !creds.password)) break;
        }
        await dump(res.body);
        this.#challenges.set(req.registry, ch);
      }
      if (!res) throw new DrydockError('INTERNAL', `${req.what}: no response`);
      if (req.followRedirects && REDIRECT_STATUSES.has(res.status)) {
        const loc = header(res, 'location');
        await dump(res.body);
        if (!loc) throw new DrydockError('REGISTRY_ERROR', `${req.what}: redirect ${res.status} without a Location from ${safeUrl(url)}`);
        if (hop >= MAX_REDIRECTS) throw new DrydockError('REGISTRY_ERROR', `${req.what}: more than ${MAX_REDIRECTS} redirects from ${safeUrl(req.url)}`);
        url = new URL(loc, url);
        if (res.status === 303) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      return res;
    }
  }

  /** Turns an unexpected status into a DrydockError, reading the registry's JSON error body. */
  async #statusError(res: Response, what: string, kind: 'manifest' | 'blob' | 'other'): Promise<DrydockError> {
    let detail = '';
    let registryCode: string | undefined;
    try {
      const text = (await readBody(res.body, 64 * 1024, () => new Error('large'))).toString('utf8');
      const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      const e0 = j.errors?.[0];
      if (e0) {
        registryCode = e0.code;
        detail = `: ${[e0.code, e0.message].filter(Boolean).join(' ')}`.slice(0, 300);
      }
    } catch {
      res.body.destroy();
    }
    const details = { status: res.status, ...(registryCode ? { registryCode } : {}) };
    let code: ErrorCode = 'REGISTRY_ERROR';
    let msg = `${what}: registry answered ${res.status}${detail}`;
    if (res.status === 401 && /error="?insufficient_scope/i.test(header(res, 'www-authenticate') ?? '') && res.headers['x-drydock-authorised'] === '1') {
      code = 'AUTH_DENIED';
      msg = `${what}: access denied, the credentials do not grant the scope (401 insufficient_scope)${detail}`;
    } else if (res.status === 401) {
      code = 'AUTH_REQUIRED';
      msg = `${what}: authentication required (401)${detail}`;
    } else if (res.status === 403) {
      code = 'AUTH_DENIED';
      msg = `${what}: access denied (403)${detail}`;
    } else if (res.status === 404 && kind === 'manifest') {
      code = 'IMAGE_NOT_FOUND';
      msg = `${what}: not found${detail}`;
    } else if (res.status === 404 && kind === 'blob') {
      code = 'BLOB_NOT_FOUND';
      msg = `${what}: blob not found${detail}`;
    } else if (res.status === 429) {
      code = 'RATE_LIMITED';
      msg = `${what}: rate limited (429) after ${this.#retries} retries${detail}`;
    }
    return new DrydockError(code, msg, { details });
  }

  #pull(repo: RepoRef): string[] {
    return [`repository:${repo.repository}:pull`];
  }

  #push(repo: RepoRef): string[] {
    return [`repository:${repo.repository}:pull,push`];
  }

  #name(repo: RepoRef): string {
    return `${repo.registry}/${repo.repository}`;
  }

  #manifestWhat(repo: RepoRef, reference: string): string {
    return `manifest ${this.#name(repo)}${isDigest(reference) ? '@' : ':'}${reference}`;
  }

  // ---------------------------------------------------------------- manifests

  /** GET or HEAD of a manifest by tag or digest, accepting the given (or default) media types. */
  #requestManifest(method: 'GET' | 'HEAD', repo: RepoRef, reference: string, what: string, opts: { accept?: string[]; signal?: AbortSignal }) {
    return this.#send({
      registry: repo.registry,
      method,
      url: this.#repoUrl(repo, `manifests/${reference}`),
      headers: { accept: (opts.accept ?? DEFAULT_MANIFEST_ACCEPT).join(', ') },
      scopes: this.#pull(repo),
      what,
      signal: opts.signal,
      followRedirects: true,
    });
  }

  /** Fetches a manifest or index by tag or digest and verifies it (see RawManifest). */
  async getManifest(repo: RepoRef, reference: string, opts: { accept?: string[]; signal?: AbortSignal } = {}): Promise<RawManifest> {
    const what = this.#manifestWhat(repo, reference);
    const res = await this.#requestManifest('GET', repo, reference, what, opts);
    if (res.status !== 200) throw await this.#statusError(res, what, 'manifest');
    const cap = this.#opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST;
    const tooLarge = (): DrydockError => new DrydockError('MANIFEST_INVALID', `${what}: larger than the ${cap}-byte limit`);
    const len = Number(header(res, 'content-length'));
    if (Number.isFinite(len) && len > cap) {
      res.body.destroy();
      throw tooLarge();
    }
    const bytes = await readBody(res.body, cap, tooLarge).catch((e: unknown) => {
      throw networkError(e, res.url, what, this.#timeoutMs);
    });
    return this.#checkManifest(bytes, mediaTypeOf(header(res, 'content-type')), reference, header(res, 'docker-content-digest'), what);
  }

  #checkManifest(bytes: Buffer, contentType: string | undefined, reference: string, headerDigest: string | undefined, what: string): RawManifest {
    let doc: { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown; fsLayers?: unknown };
    try {
      doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
    } catch {
      throw new DrydockError('MANIFEST_INVALID', `${what}: not valid JSON`);
    }
    if (typeof doc !== 'object' || doc === null) throw new DrydockError('MANIFEST_INVALID', `${what}: not a JSON object`);
    if (
      doc.schemaVersion === 1 ||
      contentType === MediaType.dockerSchema1 ||
      contentType === MediaType.dockerSchema1Signed ||
      doc.mediaType === MediaType.dockerSchema1 ||
      doc.mediaType === MediaType.dockerSchema1Signed
    ) {
      throw new DrydockError(
        'MANIFEST_UNSUPPORTED',
        `${what}: docker image manifest schema 1 is deprecated and not supported; push the image again with a current docker or buildah (schema 2 or OCI)`,
      );
    }
    let digest: string;
    if (isDigest(reference)) {
      verifyBytes(bytes, reference, what);
      digest = reference;
    } else {
      digest = digestOf(bytes);
      if (headerDigest && isDigest(headerDigest)) {
        verifyBytes(bytes, headerDigest, what);
        digest = headerDigest;
      }
    }
    let mediaType = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
    if (!mediaType && contentType && contentType !== 'application/json' && contentType !== 'text/plain') mediaType = contentType;
    if (!mediaType) {
      if (Array.isArray(doc.manifests)) mediaType = MediaType.ociIndex;
      else if (doc.config !== undefined && Array.isArray(doc.layers)) mediaType = MediaType.ociManifest;
      else throw new DrydockError('MANIFEST_UNSUPPORTED', `${what}: unknown manifest format (no media type)`);
    }
    return { bytes, mediaType, digest };
  }

  /** HEAD of a manifest: digest, media type and size, or undefined when it does not exist. */
  async headManifest(repo: RepoRef, reference: string, opts: { accept?: string[]; signal?: AbortSignal } = {}): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
    const what = this.#manifestWhat(repo, reference);
    const res = await this.#requestManifest('HEAD', repo, reference, what, opts);
    await dump(res.body);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.#statusError(res, what, 'manifest');
    const digest = header(res, 'docker-content-digest');
    const mediaType = mediaTypeOf(header(res, 'content-type'));
    const size = Number(header(res, 'content-length'));
    if (!digest || !isDigest(digest) || !mediaType || !Number.isFinite(size)) {
      // not every registry sends the digest on HEAD: fall back to GET
      const m = await this.getManifest(repo, reference, opts);
      return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
    }
    if (isDigest(reference) && digest !== reference) {
      throw new DrydockError('DIGEST_MISMATCH', `${what}: registry reports digest ${digest}`, { details: { expected: reference, actual: digest } });
    }
    return { digest, mediaType, size };
  }

  async #putManifest(repo: RepoRef, reference: string, manifest: RawManifest): Promise<{ digest: string; subject?: string }> {
    const what = this.#manifestWhat(repo, reference);
    verifyBytes(manifest.bytes, manifest.digest, what);
    if (isDigest(reference) && reference !== manifest.digest) {
      throw new DrydockError('DIGEST_MISMATCH', `${what}: pushing content with digest ${manifest.digest} under ${reference}`);
    }
    const res = await this.#send({
      registry: repo.registry,
      method: 'PUT',
      url: this.#repoUrl(repo, `manifests/${reference}`),
      headers: { 'content-type': manifest.mediaType },
      body: manifest.bytes,
      scopes: this.#push(repo),
      what,
    });
    if (res.status !== 201 && res.status !== 200 && res.status !== 202) throw await this.#statusError(res, what, 'other');
    await dump(res.body);
    const got = header(res, 'docker-content-digest');
    if (got && isDigest(got) && parseDigest(got).algorithm === parseDigest(manifest.digest).algorithm && got !== manifest.digest) {
      throw new DrydockError('DIGEST_MISMATCH', `${what}: registry stored digest ${got}, pushed ${manifest.digest}`, { details: { expected: manifest.digest, actual: got } });
    }
    const subject = header(res, 'oci-subject');
    return { digest: manifest.digest, ...(subject ? { subject } : {}) };
  }

  /** Pushes a manifest or index under a tag or its digest; returns its digest. */
  async putManifest(repo: RepoRef, reference: string, manifest: RawManifest): Promise<string> {
    return (await this.#putManifest(repo, reference, manifest)).digest;
  }

  /** Deletes a manifest by digest (the registry may refuse: REGISTRY_ERROR 405). */
  async deleteManifest(repo: RepoRef, digest: string): Promise<void> {
    const what = this.#manifestWhat(repo, digest);
    const res = await this.#send({ registry: repo.registry, method: 'DELETE', url: this.#repoUrl(repo, `manifests/${digest}`), scopes: [`repository:${repo.repository}:delete`, ...this.#push(repo)], what });
    if (res.status !== 202 && res.status !== 200) throw await this.#statusError(res, what, 'manifest');
    await dump(res.body);
  }

  // ---------------------------------------------------------------- blobs

  /** Streams a blob; the stream errors at its end (DIGEST_MISMATCH / SIZE_MISMATCH) on bad content. */
  async getBlob(repo: RepoRef, desc: Descriptor, opts: { signal?: AbortSignal } = {}): Promise<Readable> {
    const what = `blob ${this.#name(repo)}@${desc.digest}`;
    parseDigest(desc.digest);
    const res = await this.#send({
      registry: repo.registry,
      method: 'GET',
      url: this.#repoUrl(repo, `blobs/${desc.digest}`),
      scopes: this.#pull(repo),
      what,
      signal: opts.signal,
      followRedirects: true,
    });
    if (res.status !== 200) throw await this.#statusError(res, what, 'blob');
    const len = Number(header(res, 'content-length'));
    if (header(res, 'content-length') !== undefined && Number.isFinite(len) && len !== desc.size) {
      res.body.destroy();
      throw new DrydockError('SIZE_MISMATCH', `${what}: registry sends ${len} bytes, the descriptor declares ${desc.size}`);
    }
    const ds = new DigestStream({ expected: desc.digest, expectedSize: desc.size, what });
    const body = res.body;
    const url = res.url;
    body.on('error', (e) => ds.destroy(networkError(e, url, what, this.#timeoutMs)));
    ds.on('close', () => {
      if (!body.destroyed && !body.readableEnded) body.destroy();
    });
    body.pipe(ds);
    return ds;
  }

  /** Blob bytes in memory (configs), verified. */
  async getBlobBytes(repo: RepoRef, desc: Descriptor, opts: { signal?: AbortSignal; maxBytes?: number } = {}): Promise<Buffer> {
    const cap = opts.maxBytes ?? this.#opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST;
    if (desc.size > cap) throw new DrydockError('MANIFEST_INVALID', `blob ${this.#name(repo)}@${desc.digest}: ${desc.size} bytes is more than the ${cap}-byte limit`);
    const s = await this.getBlob(repo, desc, opts);
    return readBody(s, cap, () => new DrydockError('SIZE_MISMATCH', `blob ${this.#name(repo)}@${desc.digest}: too large`));
  }

  async hasBlob(repo: RepoRef, desc: Pick<Descriptor, 'digest'>): Promise<boolean> {
    const what = `blob ${this.#name(repo)}@${desc.digest}`;
    const res = await this.#send({
      registry: repo.registry,
      method: 'HEAD',
      url: this.#repoUrl(repo, `blobs/${desc.digest}`),
      scopes: this.#pull(repo),
      what,
      followRedirects: true,
    });
    await dump(res.body);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.#statusError(res, what, 'blob');
  }

  async #startUpload(repo: RepoRef, what: string, query = '', scopes = this.#push(repo)): Promise<Response> {
    return this.#send({
      registry: repo.registry,
      method: 'POST',
      url: this.#repoUrl(repo, `blobs/uploads/${query}`),
      headers: { 'content-length': '0' },
      scopes,
      what,
    });
  }

  #location(res: Response, what: string): URL {
    const loc = header(res, 'location');
    if (!loc) throw new DrydockError('REGISTRY_ERROR', `${what}: upload answer ${res.status} without a Location`);
    return new URL(loc, res.url);
  }

  async #cancelUpload(repo: RepoRef, location: URL, what: string): Promise<void> {
    try {
      const res = await this.#send({ registry: repo.registry, method: 'DELETE', url: location, scopes: this.#push(repo), what });
      await dump(res.body);
    } catch {
      // best effort
    }
  }

  /**
   * Uploads a blob. Buffers and small streams go in one PUT (POST + PUT); with `chunkSize`, or
   * for streams larger than the chunk threshold, the upload goes in PATCH chunks. The content is
   * checked against desc (digest and size) before the upload is completed.
   */
  async putBlob(repo: RepoRef, desc: Descriptor, data: Readable | Buffer, opts: { chunkSize?: number } = {}): Promise<void> {
    const what = `blob ${this.#name(repo)}@${desc.digest}`;
    parseDigest(desc.digest);
    const threshold = this.#opts.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD;
    let buf: Buffer | undefined;
    if (Buffer.isBuffer(data)) {
      if (data.length !== desc.size) throw new DrydockError('SIZE_MISMATCH', `${what}: ${data.length} bytes, the descriptor declares ${desc.size}`);
      verifyBytes(data, desc.digest, what);
      buf = data;
    } else if (!opts.chunkSize && desc.size <= threshold) {
      const ds = new DigestStream({ expected: desc.digest, expectedSize: desc.size, what });
      data.on('error', (e) => ds.destroy(e));
      buf = await readBody(data.pipe(ds), desc.size + 1, () => new DrydockError('SIZE_MISMATCH', `${what}: more than ${desc.size} bytes`));
    }

    const start = await this.#startUpload(repo, what);
    if (start.status !== 202 && start.status !== 201) throw await this.#statusError(start, what, 'other');
    await dump(start.body);
    let location = this.#location(start, what);

    const finish = async (body: Buffer): Promise<void> => {
      const url = new URL(location);
      url.searchParams.set('digest', desc.digest);
      const res = await this.#send({
        registry: repo.registry,
        method: 'PUT',
        url,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(body.length) },
        body,
        scopes: this.#push(repo),
        what,
      });
      if (res.status !== 201 && res.status !== 204 && res.status !== 200) throw await this.#statusError(res, what, 'other');
      await dump(res.body);
    };

    if (buf !== undefined && (!opts.chunkSize || buf.length <= opts.chunkSize)) {
      await finish(buf);
      return;
    }

    const minChunk = Number(header(start, 'oci-chunk-min-length')) || 0;
    const chunkSize = Math.max(opts.chunkSize ?? DEFAULT_CHUNK, minChunk, 1);
    let offset = 0;
    const patch = async (chunk: Buffer): Promise<void> => {
      const res = await this.#send({
        registry: repo.registry,
        method: 'PATCH',
        url: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(chunk.length),
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: chunk,
        scopes: this.#push(repo),
        what,
      });
      if (res.status !== 202 && res.status !== 204) throw await this.#statusError(res, what, 'other');
      await dump(res.body);
      location = this.#location(res, what);
      offset += chunk.length;
    };

    try {
      if (buf !== undefined) {
        let i = 0;
        for (; i + chunkSize < buf.length; i += chunkSize) await patch(buf.subarray(i, i + chunkSize));
        await finish(buf.subarray(i));
        return;
      }
      const stream = data as Readable;
      const ds = new DigestStream({ expected: desc.digest, expectedSize: desc.size, what });
      stream.on('error', (e) => ds.destroy(e));
      const pending: Buffer[] = [];
      let pendingBytes = 0;
      for await (const c of stream.pipe(ds)) {
        const b = c as Buffer;
        pending.push(b);
        pendingBytes += b.length;
        while (pendingBytes > chunkSize) {
          const all = Buffer.concat(pending);
          pending.length = 0;
          await patch(all.subarray(0, chunkSize));
          pending.push(all.subarray(chunkSize));
          pendingBytes = all.length - chunkSize;
        }
      }
      // the DigestStream has verified digest and size here
      await finish(Buffer.concat(pending));
    } catch (e) {
      await this.#cancelUpload(repo, location, what);
      throw e;
    }
  }

  /** Cross-repository mount; false when the registry cannot mount (it then starts an upload we cancel). */
  async mountBlob(repo: RepoRef, desc: Pick<Descriptor, 'digest'>, fromRepository: string): Promise<boolean> {
    const what = `blob ${this.#name(repo)}@${desc.digest} (mount from ${fromRepository})`;
    parseDigest(desc.digest);
    const q = `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepository)}`;
    const res = await this.#startUpload(repo, what, q, [...this.#push(repo), `repository:${fromRepository}:pull`]);
    if (res.status === 201) {
      await dump(res.body);
      return true;
    }
    if (res.status === 202) {
      await dump(res.body);
      const loc = header(res, 'location');
      if (loc) await this.#cancelUpload(repo, new URL(loc, res.url), what);
      return false;
    }
    throw await this.#statusError(res, what, 'other');
  }

  // ---------------------------------------------------------------- listings

  async #paged(registry: string, first: URL, scopes: string[], what: string, field: 'tags' | 'repositories'): Promise<string[]> {
    const out: string[] = [];
    let url: URL | undefined = first;
    for (let page = 0; url && page < 10_000; page++) {
      const res = await this.#send({ registry, method: 'GET', url, scopes, what, headers: { accept: 'application/json' }, followRedirects: true });
      if (res.status !== 200) throw await this.#statusError(res, what, field === 'tags' ? 'manifest' : 'other');
      const text = await readBody(res.body, 16 * 1024 * 1024, () => new DrydockError('REGISTRY_ERROR', `${what}: listing too large`));
      let j: Record<string, unknown>;
      try {
        j = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new DrydockError('REGISTRY_ERROR', `${what}: invalid JSON listing`);
      }
      const list = j[field];
      if (Array.isArray(list)) for (const t of list) if (typeof t === 'string') out.push(t);
      url = parseLinkNext(header(res, 'link'), res.url);
    }
    return out;
  }

  /** All tags of a repository (follows Link pagination). IMAGE_NOT_FOUND when the repository does not exist. */
  async listTags(repo: RepoRef): Promise<string[]> {
    return this.#paged(repo.registry, this.#repoUrl(repo, 'tags/list'), this.#pull(repo), `tags of ${this.#name(repo)}`, 'tags');
  }

  /** Repositories of a registry (/v2/_catalog, paginated). */
  async catalog(registry: string): Promise<string[]> {
    return this.#paged(registry, this.#url(registry, '/v2/_catalog'), ['registry:catalog:*'], `catalog of ${registry}`, 'repositories');
  }

  // ---------------------------------------------------------------- referrers

  /**
   * Manifests whose `subject` is subjectDigest: the OCI 1.1 referrers API, or, when the registry
   * answers 404 there, the referrers tag schema (tag sha256-<hex> holding an index).
   */
  async referrers(repo: RepoRef, subjectDigest: string, opts: { artifactType?: string } = {}): Promise<Descriptor[]> {
    parseDigest(subjectDigest);
    const what = `referrers of ${this.#name(repo)}@${subjectDigest}`;
    let url: URL | undefined = this.#repoUrl(repo, `referrers/${subjectDigest}`);
    if (opts.artifactType) url.searchParams.set('artifactType', opts.artifactType);
    const out: Descriptor[] = [];
    let filtered = true;
    for (let page = 0; url && page < 1000; page++) {
      const res: Response = await this.#send({
        registry: repo.registry,
        method: 'GET',
        url,
        headers: { accept: MediaType.ociIndex },
        scopes: this.#pull(repo),
        what,
        followRedirects: true,
      });
      if (page === 0 && (res.status === 404 || res.status === 405)) {
        await dump(res.body);
        return this.#referrersByTag(repo, subjectDigest, opts.artifactType);
      }
      if (res.status !== 200) throw await this.#statusError(res, what, 'other');
      const applied = (header(res, 'oci-filters-applied') ?? '').split(',').map((s) => s.trim());
      if (!applied.includes('artifactType')) filtered = false;
      const bytes = await readBody(res.body, this.#opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST, () => new DrydockError('MANIFEST_INVALID', `${what}: referrers index too large`));
      out.push(...this.#indexEntries(bytes, what));
      url = parseLinkNext(header(res, 'link'), res.url);
    }
    return opts.artifactType && !filtered ? out.filter((d) => d.artifactType === opts.artifactType) : out;
  }

  #indexEntries(bytes: Buffer, what: string): Descriptor[] {
    let j: { manifests?: unknown };
    try {
      j = JSON.parse(bytes.toString('utf8')) as { manifests?: unknown };
    } catch {
      throw new DrydockError('MANIFEST_INVALID', `${what}: invalid JSON`);
    }
    if (!Array.isArray(j.manifests)) return [];
    return (j.manifests as Descriptor[]).filter((d) => d && typeof d.digest === 'string' && typeof d.mediaType === 'string' && typeof d.size === 'number');
  }

  async #referrersByTag(repo: RepoRef, subjectDigest: string, artifactType?: string): Promise<Descriptor[]> {
    const tag = referrersTag(subjectDigest);
    let m: RawManifest;
    try {
      m = await this.getManifest(repo, tag, { accept: [MediaType.ociIndex] });
    } catch (e) {
      if (e instanceof DrydockError && e.code === 'IMAGE_NOT_FOUND') return [];
      throw e;
    }
    if (!INDEX_MEDIA_TYPES.includes(m.mediaType)) return [];
    const all = this.#indexEntries(m.bytes, `referrers tag ${this.#name(repo)}:${tag}`);
    return artifactType ? all.filter((d) => d.artifactType === artifactType) : all;
  }

  /**
   * Pushes a manifest that has a `subject`. When the registry does not confirm with OCI-Subject,
   * the referrers tag index is updated (read-modify-write; concurrent writers can race).
   * Returns the manifest digest.
   */
  async pushReferrer(repo: RepoRef, manifest: RawManifest): Promise<string> {
    const what = this.#manifestWhat(repo, manifest.digest);
    let doc: { subject?: { digest?: unknown }; artifactType?: unknown; config?: { mediaType?: unknown }; annotations?: unknown };
    try {
      doc = JSON.parse(manifest.bytes.toString('utf8')) as typeof doc;
    } catch {
      throw new DrydockError('MANIFEST_INVALID', `${what}: not valid JSON`);
    }
    const subject = doc.subject?.digest;
    if (typeof subject !== 'string' || !isDigest(subject)) throw new DrydockError('MANIFEST_INVALID', `${what}: a referrer needs a subject with a valid digest`);
    const pushed = await this.#putManifest(repo, manifest.digest, manifest);
    if (pushed.subject) return pushed.digest;

    const tag = referrersTag(subject);
    let entries: Descriptor[] = [];
    try {
      const existing = await this.getManifest(repo, tag, { accept: [MediaType.ociIndex] });
      if (INDEX_MEDIA_TYPES.includes(existing.mediaType)) entries = this.#indexEntries(existing.bytes, `referrers tag ${this.#name(repo)}:${tag}`);
    } catch (e) {
      if (!(e instanceof DrydockError && e.code === 'IMAGE_NOT_FOUND')) throw e;
    }
    if (entries.some((d) => d.digest === manifest.digest)) return manifest.digest;
    const entry: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    const at = artifactTypeOf(doc);
    if (at) entry.artifactType = at;
    if (doc.annotations && typeof doc.annotations === 'object') entry.annotations = doc.annotations as Record<string, string>;
    entries.push(entry);
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries }));
    await this.#putManifest(repo, tag, { bytes, mediaType: MediaType.ociIndex, digest: digestOf(bytes) });
    return manifest.digest;
  }
}

/** true for media types the reader treats as manifests or indexes */
export function isManifestMediaType(mt: string): boolean {
  return MANIFEST_MEDIA_TYPES.includes(mt) || INDEX_MEDIA_TYPES.includes(mt);
}
