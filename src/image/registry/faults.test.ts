/**
 * Fault injection against an in-process fake registry: retries, timeouts, truncated and wrong
 * blobs, redirects to other hosts, the referrers API, bearer tokens, proxies, credentials.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../core/digest.js';
import { DrydockError } from '../../core/errors.js';
import type { DrydockEvent } from '../../core/events.js';
import { RegistryClient, parseRetryAfter, referrersTag } from './client.js';
import { lookupCredentials } from './credentials.js';
import { createLimiter } from './limit.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;

interface Fake {
  server: Server;
  host: string;
  handler: Handler;
  log: { method: string; url: string; auth?: string; body: Buffer; headers: IncomingMessage['headers'] }[];
}

async function startFake(): Promise<Fake> {
  const fake: Fake = { server: createServer(), host: '', handler: (_q, r) => r.end(), log: [] };
  fake.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      fake.log.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), body, headers: req.headers });
      fake.handler(req, res, body);
    });
  });
  // as a proxy, refuse CONNECT tunnels (the HTTPS probe of insecure hosts then falls back to HTTP)
  fake.server.on('connect', (_req, socket: import('node:net').Socket) => {
    socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((r) => fake.server.listen(0, '127.0.0.1', () => r()));
  fake.host = `127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  return fake;
}

async function stopFake(f: Fake | undefined): Promise<void> {
  if (!f) return;
  f.server.closeAllConnections();
  await new Promise<void>((r) => f.server.close(() => r()));
}

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function caught(p: Promise<unknown>): Promise<DrydockError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DrydockError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

const env = { HOME: '/nonexistent-drydock-home' } as NodeJS.ProcessEnv;
const manifestBytes = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf('{}'), size: 2 },
    layers: [],
  }),
);
const manifestDigest = digestOf(manifestBytes);
const blob = Buffer.from('the blob content, 100% genuine');
const blobDesc = { mediaType: 'application/octet-stream', digest: digestOf(blob), size: blob.length };

function sendManifest(res: ServerResponse, bytes = manifestBytes, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json', 'docker-content-digest': digestOf(bytes), 'content-length': String(bytes.length), ...headers });
  res.end(bytes);
}

describe('fake registry faults', () => {
  let fake: Fake;
  let other: Fake;
  let events: DrydockEvent[];
  let client: RegistryClient;
  const repo = (): { registry: string; repository: string } => ({ registry: fake.host, repository: 'a/b' });

  beforeAll(async () => {
    fake = await startFake();
    other = await startFake();
  });
  afterAll(async () => {
    await client?.close();
    await stopFake(fake);
    await stopFake(other);
  });
  beforeEach(() => {
    fake.log.length = 0;
    other.log.length = 0;
    events = [];
    client = new RegistryClient({ insecure: [fake.host], env, retryBaseMs: 5, retries: 3, timeoutMs: 2000, events: (e) => events.push(e) });
  });

  it('honours Retry-After on 429 and then succeeds', async () => {
    let n = 0;
    fake.handler = (_q, res) => {
      if (n++ === 0) {
        res.writeHead(429, { 'retry-after': '1' });
        res.end();
        return;
      }
      sendManifest(res);
    };
    const t0 = Date.now();
    const m = await client.getManifest(repo(), 'latest');
    expect(m.digest).toBe(manifestDigest);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    expect(events).toEqual([{ type: 'retry', url: `http://${fake.host}/v2/a/b/manifests/latest`, status: 429, attempt: 1, delayMs: 1000 }]);
  });

  it('retries 503 with backoff, then gives up with REGISTRY_ERROR / RATE_LIMITED', async () => {
    let n = 0;
    fake.handler = (_q, res) => {
      if (n++ < 2) {
        res.writeHead(503);
        res.end();
        return;
      }
      sendManifest(res);
    };
    await client.getManifest(repo(), 'latest');
    expect(events.filter((e) => e.type === 'retry').length).toBe(2);

    fake.handler = (_q, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'down for maintenance' }] }));
    };
    const e = await caught(client.getManifest(repo(), 'latest'));
    expect(e.code).toBe('REGISTRY_ERROR');
    expect(e.message).toContain('UNAVAILABLE down for maintenance');
    expect(e.message).toContain(`${fake.host}/a/b:latest`);
    fake.handler = (_q, res) => {
      res.writeHead(429);
      res.end();
    };
    expect((await caught(client.getManifest(repo(), 'latest'))).code).toBe('RATE_LIMITED');
  });

  it('retries after a connection reset', async () => {
    let n = 0;
    fake.handler = (req, res) => {
      if (n++ === 0) {
        req.socket.destroy();
        return;
      }
      sendManifest(res);
    };
    expect((await client.getManifest(repo(), 'latest')).digest).toBe(manifestDigest);
    expect(events.some((e) => e.type === 'retry')).toBe(true);
  });

  it('times out on a hanging server, naming the URL without credentials', async () => {
    fake.handler = () => {};
    const c = new RegistryClient({ insecure: [fake.host], env, timeoutMs: 300, username: 'u', password: 'hunter2' });
    const e = await caught(c.getManifest(repo(), 'latest'));
    expect(e.code).toBe('TIMEOUT');
    expect(e.message).toContain(`http://${fake.host}/v2/a/b/manifests/latest`);
    expect(e.message).not.toContain('hunter2');
    // a body that stalls half-way
    fake.handler = (_q, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.write(blob.subarray(0, 5));
    };
    const s = await c.getBlob(repo(), blobDesc);
    const e2 = await caught(readAll(s));
    expect(e2.code).toBe('TIMEOUT');
    await c.close();
  });

  it('fails on a truncated blob body', async () => {
    fake.handler = (req, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.write(blob.subarray(0, 10), () => req.socket.destroy());
    };
    const s = await client.getBlob(repo(), blobDesc);
    const e = await caught(readAll(s));
    expect(['NETWORK_ERROR', 'SIZE_MISMATCH']).toContain(e.code);
    expect(e.message).toContain(blobDesc.digest);
    // without content-length, a short body ends cleanly: SIZE_MISMATCH at the end
    fake.handler = (_q, res) => {
      res.writeHead(200);
      res.end(blob.subarray(0, 10));
    };
    expect((await caught(readAll(await client.getBlob(repo(), blobDesc)))).code).toBe('SIZE_MISMATCH');
  });

  it('fails with DIGEST_MISMATCH on wrong blob content', async () => {
    const wrong = Buffer.from(blob);
    wrong[3] = 0x41;
    fake.handler = (_q, res) => {
      res.writeHead(200, { 'content-length': String(wrong.length) });
      res.end(wrong);
    };
    const e = await caught(readAll(await client.getBlob(repo(), blobDesc)));
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(e.message).toContain(blobDesc.digest);
  });

  it('verifies manifests: header digest, schema 1, size cap', async () => {
    fake.handler = (_q, res) => sendManifest(res, manifestBytes, { 'docker-content-digest': digestOf('other') });
    expect((await caught(client.getManifest(repo(), 'latest'))).code).toBe('DIGEST_MISMATCH');
    fake.handler = (_q, res) => sendManifest(res, manifestBytes, { 'docker-content-digest': '' });
    expect((await caught(client.getManifest(repo(), digestOf('x')))).code).toBe('DIGEST_MISMATCH');
    const s1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'a/b', tag: 'latest', fsLayers: [] }));
    fake.handler = (_q, res) => sendManifest(res, s1, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
    const e = await caught(client.getManifest(repo(), 'latest'));
    expect(e.code).toBe('MANIFEST_UNSUPPORTED');
    expect(e.message).toMatch(/schema 1/);
    const big = Buffer.alloc(5 * 1024 * 1024, 0x20);
    fake.handler = (_q, res) => sendManifest(res, big);
    expect((await caught(client.getManifest(repo(), 'latest'))).code).toBe('MANIFEST_INVALID');
    fake.handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end(big);
    };
    expect((await caught(client.getManifest(repo(), 'latest'))).code).toBe('MANIFEST_INVALID');
  });

  it('follows blob redirects to another host without sending registry credentials', async () => {
    fake.handler = (req, res) => {
      if (!req.headers.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"' });
        res.end();
        return;
      }
      res.writeHead(307, { location: `http://${other.host}/storage/blob?X-Amz-Signature=secret-sig` });
      res.end();
    };
    other.handler = (_q, res) => {
      res.writeHead(200, { 'content-length': String(blob.length) });
      res.end(blob);
    };
    const c = new RegistryClient({ insecure: [fake.host], env, username: 'user', password: 'pw' });
    const got = await readAll(await c.getBlob(repo(), blobDesc));
    expect(got.equals(blob)).toBe(true);
    expect(other.log.length).toBe(1);
    expect(other.log[0]!.auth).toBeUndefined();
    expect(fake.log.at(-1)!.auth).toBe(`Basic ${Buffer.from('user:pw').toString('base64')}`);
    // an error on the other host does not leak the presigned query
    other.handler = (_q, res) => {
      res.writeHead(403);
      res.end();
    };
    const e = await caught(c.getBlob(repo(), blobDesc));
    expect(e.code).toBe('AUTH_DENIED');
    expect(e.message).not.toContain('secret-sig');
    await c.close();
  });

  it('runs the bearer token flow with access_token and caches the token', async () => {
    let tokens = 0;
    other.handler = (req, res) => {
      const u = new URL(req.url ?? '', 'http://x');
      expect(u.searchParams.get('service')).toBe('fake-svc');
      expect(u.searchParams.getAll('scope')).toEqual(['repository:a/b:pull']);
      expect(req.headers.authorization).toBe(`Basic ${Buffer.from('me:pw').toString('base64')}`);
      tokens++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'tok-123', expires_in: 300 }));
    };
    fake.handler = (req, res) => {
      if (req.headers.authorization !== 'Bearer tok-123') {
        res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${other.host}/token",service="fake-svc",scope="repository:a/b:pull"` });
        res.end();
        return;
      }
      sendManifest(res);
    };
    const c = new RegistryClient({ insecure: [fake.host], env, username: 'me', password: 'pw' });
    await c.getManifest(repo(), 'latest');
    await c.getManifest(repo(), 'latest');
    expect(tokens).toBe(1);
    await c.close();
  });

  it('uses the referrers API when the registry has it', async () => {
    const subject = digestOf('subject');
    const ref1 = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf('r1'), size: 10, artifactType: 'application/spdx+json' };
    const ref2 = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf('r2'), size: 11, artifactType: 'application/vnd.example' };
    fake.handler = (req, res) => {
      const u = new URL(req.url ?? '', 'http://x');
      if (req.method === 'GET' && u.pathname === `/v2/a/b/referrers/${subject}`) {
        const at = u.searchParams.get('artifactType');
        const list = u.searchParams.get('page') === '2' ? [ref2] : [ref1];
        const headers: Record<string, string> = { 'content-type': 'application/vnd.oci.image.index.v1+json' };
        if (!u.searchParams.get('page') && !at) headers.link = `</v2/a/b/referrers/${subject}?page=2>; rel="next"`;
        if (at) headers['oci-filters-applied'] = 'artifactType';
        res.writeHead(200, headers);
        res.end(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: at ? [ref1, ref2].filter((r) => r.artifactType === at) : list }));
        return;
      }
      if (req.method === 'PUT' && u.pathname.startsWith('/v2/a/b/manifests/')) {
        res.writeHead(201, { 'oci-subject': subject, 'docker-content-digest': u.pathname.split('/').pop()! });
        res.end();
        return;
      }
      res.writeHead(404);
      res.end();
    };
    expect(await client.referrers(repo(), subject)).toEqual([ref1, ref2]);
    expect(await client.referrers(repo(), subject, { artifactType: 'application/vnd.example' })).toEqual([ref2]);
    const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: 'x/y', config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf('{}'), size: 2 }, layers: [], subject: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: subject, size: 7 } }));
    fake.log.length = 0;
    expect(await client.pushReferrer(repo(), { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(bytes) })).toBe(digestOf(bytes));
    expect(fake.log.map((l) => `${l.method} ${l.url}`)).toEqual([`PUT /v2/a/b/manifests/${digestOf(bytes)}`]);
    expect(referrersTag(subject)).toBe(`sha256-${subject.slice(7)}`);
  });

  it('follows Link pagination for tags', async () => {
    fake.handler = (req, res) => {
      const u = new URL(req.url ?? '', 'http://x');
      res.writeHead(200, { 'content-type': 'application/json', ...(u.searchParams.get('last') ? {} : { link: '</v2/a/b/tags/list?last=b&n=2>; rel="next"' }) });
      res.end(JSON.stringify({ name: 'a/b', tags: u.searchParams.get('last') ? ['c'] : ['a', 'b'] }));
    };
    expect(await client.listTags(repo())).toEqual(['a', 'b', 'c']);
  });

  it('goes through HTTP_PROXY for remote hosts, never for loopback', { timeout: 10_000 }, async () => {
    const proxied: string[] = [];
    other.handler = (req, res) => {
      proxied.push(req.url ?? '');
      sendManifest(res);
    };
    fake.handler = (_q, res) => sendManifest(res);
    const c = new RegistryClient({ insecure: ['registry.example.invalid', fake.host], env: { ...env, HTTP_PROXY: `http://${other.host}` } });
    await c.getManifest({ registry: 'registry.example.invalid', repository: 'x/y' }, 'v1');
    expect(proxied).toEqual(['http://registry.example.invalid/v2/x/y/manifests/v1']);
    await c.getManifest(repo(), 'v1');
    expect(proxied.length).toBe(1);
    expect(fake.log.length).toBe(1);
    await c.close();
  });

  it('uploads monolithically and in chunks with Content-Range', async () => {
    const data = Buffer.alloc(1000, 7);
    const d = { mediaType: 'application/octet-stream', digest: digestOf(data), size: data.length };
    let received = Buffer.alloc(0);
    fake.handler = (req, res, body) => {
      const u = new URL(req.url ?? '', 'http://x');
      if (req.method === 'POST') {
        received = Buffer.alloc(0);
        res.writeHead(202, { location: '/v2/a/b/blobs/uploads/u1?state=s0' });
        return res.end();
      }
      if (req.method === 'PATCH') {
        received = Buffer.concat([received, body]);
        res.writeHead(202, { location: `/v2/a/b/blobs/uploads/u1?state=s${received.length}`, range: `0-${received.length - 1}` });
        return res.end();
      }
      if (req.method === 'PUT') {
        received = Buffer.concat([received, body]);
        expect(u.searchParams.get('digest')).toBe(d.digest);
        expect(digestOf(received)).toBe(d.digest);
        res.writeHead(201);
        return res.end();
      }
      res.writeHead(404);
      res.end();
    };
    await client.putBlob(repo(), d, data);
    expect(fake.log.map((l) => l.method)).toEqual(['POST', 'PUT']);
    fake.log.length = 0;
    await client.putBlob(repo(), d, data, { chunkSize: 300 });
    expect(fake.log.map((l) => l.method)).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH', 'PUT']);
    expect(fake.log.filter((l) => l.method === 'PATCH').map((l) => l.headers['content-range'])).toEqual(['0-299', '300-599', '600-899']);
    expect(fake.log[4]!.url).toContain('state=s900');
  });
});

describe('TLS', () => {
  it('uses unverified HTTPS for insecure hosts, the CA file otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const server = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_q, res) => sendManifest(res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const strict = new RegistryClient({ env, retries: 0 });
      expect((await caught(strict.getManifest({ registry: host, repository: 'a/b' }, 'v1'))).code).toBe('NETWORK_ERROR');
      await strict.close();
      const insecure = new RegistryClient({ env, insecure: [host] });
      expect((await insecure.getManifest({ registry: host, repository: 'a/b' }, 'v1')).digest).toBe(manifestDigest);
      await insecure.close();
      const withCa = new RegistryClient({ env, caFile: join(dir, 'c.pem') });
      expect((await withCa.getManifest({ registry: host, repository: 'a/b' }, 'v1')).digest).toBe(manifestDigest);
      await withCa.close();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('credentials', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drydock-creds-'));
    writeFileSync(
      join(dir, 'docker-credential-fake'),
      `#!/bin/sh\nread host\nif [ "$host" = "helped.example" ]; then echo '{"ServerURL":"helped.example","Username":"hu","Secret":"hs"}'; exit 0; fi\nif [ "$host" = "https://index.docker.io/v1/" ]; then echo '{"Username":"<token>","Secret":"idtok"}'; exit 0; fi\necho "credentials not found in native keychain"; exit 1\n`,
    );
    chmodSync(join(dir, 'docker-credential-fake'), 0o755);
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: { 'https://plain.example/v1/': { auth: Buffer.from('pu:pp').toString('base64') }, 'split.example': { username: 'su', password: 'sp' }, 'store.example': {} },
        credHelpers: { 'helped.example': 'fake' },
        credsStore: 'fake',
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('looks up options, environment, helpers, auths and the store in order', async () => {
    const e = { PATH: `${dir}:${process.env.PATH ?? ''}`, DOCKER_CONFIG: dir };
    expect(await lookupCredentials('x.example', { username: 'o', password: 'p', env: e })).toMatchObject({ username: 'o', password: 'p' });
    expect(await lookupCredentials('x.example', { env: { ...e, DRYDOCK_REGISTRY_USERNAME: 'eu', DRYDOCK_REGISTRY_PASSWORD: 'ep' } })).toMatchObject({ username: 'eu', password: 'ep' });
    expect(await lookupCredentials('helped.example', { env: e })).toMatchObject({ username: 'hu', password: 'hs' });
    expect(await lookupCredentials('plain.example', { env: e })).toMatchObject({ username: 'pu', password: 'pp' });
    expect(await lookupCredentials('split.example', { env: e })).toMatchObject({ username: 'su', password: 'sp' });
    expect(await lookupCredentials('docker.io', { env: e })).toMatchObject({ identityToken: 'idtok' });
    expect(await lookupCredentials('store.example', { env: e })).toBeUndefined();
    expect(await lookupCredentials('x.example', { env: { PATH: '/usr/bin', DOCKER_CONFIG: '/nonexistent' } })).toBeUndefined();
  });
});

describe('helpers', () => {
  it('parses Retry-After', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
  it('limits concurrency', async () => {
    const limit = createLimiter(2);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        limit(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          active--;
        }),
      ),
    );
    expect(peak).toBe(2);
  });
});
