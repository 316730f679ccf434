/**
 * Test harness: the real CNCF distribution registry (`/usr/bin/docker-registry`, Debian package
 * docker-registry) on a free loopback port with temporary storage, optionally behind htpasswd basic
 * auth or token auth with a small token server of our own (ES256 JWTs with an x5c header whose
 * self-signed certificate is the registry's rootcertbundle).
 *
 * Plain HTTP: clients must list `host` as insecure (`insecure: [reg.host]`).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID, sign as cryptoSign, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface NotificationEndpoint {
  name?: string;
  url: string;
  headers?: Record<string, string[]>;
}

export interface StartRegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  notifications?: NotificationEndpoint[];
  /** extra scopes the token server refuses (for AUTH_DENIED tests): repository names */
  denyRepositories?: string[];
}

export interface TestRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  /** http://127.0.0.1:PORT */
  url: string;
  username?: string;
  password?: string;
  /** for token auth: how many tokens the token server issued */
  tokensIssued?: () => number;
  stop(): Promise<void>;
}

export const REGISTRY_BINARY = process.env.DRYDOCK_REGISTRY_BINARY ?? '/usr/bin/docker-registry';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function b64url(b: Buffer | string): string {
  return Buffer.from(b).toString('base64url');
}

function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => {
      req.destroy();
      resolve(undefined);
    });
    req.end();
  });
}

interface TokenServer {
  url: string;
  server: Server;
  issued: () => number;
}

function startTokenServer(opts: {
  keyPem: string;
  certPem: string;
  service: string;
  issuer: string;
  username: string;
  password: string;
  deny: string[];
}): Promise<TokenServer> {
  const key = createPrivateKey(opts.keyPem);
  const certDer = opts.certPem
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
  let issued = 0;
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    let user: string | undefined;
    if (auth?.startsWith('Basic ')) {
      const dec = Buffer.from(auth.slice(6), 'base64').toString('utf8');
      const i = dec.indexOf(':');
      const name = dec.slice(0, i);
      const pass = dec.slice(i + 1);
      if (name !== opts.username || pass !== opts.password) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
        return;
      }
      user = name;
    }
    if (u.searchParams.get('service') !== opts.service) {
      res.writeHead(400);
      res.end('bad service');
      return;
    }
    const access: { type: string; name: string; actions: string[] }[] = [];
    for (const scope of u.searchParams.getAll('scope')) {
      for (const one of scope.split(' ')) {
        const first = one.indexOf(':');
        const last = one.lastIndexOf(':');
        if (first < 0 || last <= first) continue;
        const type = one.slice(0, first);
        const name = one.slice(first + 1, last);
        let actions = one.slice(last + 1).split(',').filter(Boolean);
        if (!user) actions = []; // anonymous users get nothing
        if (opts.deny.includes(name)) actions = [];
        access.push({ type, name, actions });
      }
    }
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'ES256', typ: 'JWT', x5c: [certDer] };
    const claims = { iss: opts.issuer, sub: user ?? '', aud: opts.service, exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = cryptoSign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${signingInput}.${b64url(sig)}`;
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ url: `http://127.0.0.1:${port}/token`, server, issued: () => issued });
    });
  });
}

/** Starts docker-registry; always call stop() (afterAll). */
export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const dir = mkdtempSync(join(tmpdir(), 'drydock-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config: Record<string, unknown> = {
    version: '0.1',
    log: { level: 'error', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
    http: { addr: host, secret: randomBytes(16).toString('hex') },
  };
  let username: string | undefined;
  let password: string | undefined;
  let token: TokenServer | undefined;
  if (auth !== 'none') {
    username = 'drydock';
    password = `pw-${randomBytes(9).toString('hex')}`;
  }
  if (auth === 'htpasswd') {
    const line = execFileSync('htpasswd', ['-Bbn', username!, password!], { encoding: 'utf8' }).trim();
    writeFileSync(join(dir, 'htpasswd'), `${line}\n`);
    config.auth = { htpasswd: { realm: 'drydock-test', path: join(dir, 'htpasswd') } };
  } else if (auth === 'token') {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'token.key'), '-out', join(dir, 'token.crt'), '-days', '2', '-subj', '/CN=drydock-test-token'],
      { stdio: 'ignore' },
    );
    token = await startTokenServer({
      keyPem: readFileSync(join(dir, 'token.key'), 'utf8'),
      certPem: readFileSync(join(dir, 'token.crt'), 'utf8'),
      service: 'drydock-test-registry',
      issuer: 'drydock-test-issuer',
      username: username!,
      password: password!,
      deny: opts.denyRepositories ?? [],
    });
    config.auth = {
      token: { realm: token.url, service: 'drydock-test-registry', issuer: 'drydock-test-issuer', rootcertbundle: join(dir, 'token.crt') },
    };
  }
  if (opts.notifications?.length) {
    config.notifications = {
      endpoints: opts.notifications.map((n, i) => ({
        name: n.name ?? `endpoint-${i}`,
        url: n.url,
        headers: n.headers ?? {},
        timeout: '2s',
        threshold: 3,
        backoff: '1s',
      })),
    };
  }
  const configPath = join(dir, 'config.yml');
  // YAML is a superset of JSON
  writeFileSync(configPath, JSON.stringify(config, null, 2));

  const output: string[] = [];
  const child: ChildProcess = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  let exited = false;
  child.on('exit', () => {
    exited = true;
  });
  const cleanup = async (): Promise<void> => {
    if (!exited) {
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => {
          if (!exited) child.kill('SIGKILL');
        }, 3000).unref();
      });
    }
    if (token) await new Promise<void>((r) => token!.server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await cleanup();
      throw new Error(`docker-registry exited early:\n${output.join('').slice(-2000)}`);
    }
    const status = await probe(`http://${host}/v2/`);
    if (status === 200 || status === 401) break;
    if (Date.now() > deadline) {
      await cleanup();
      throw new Error(`docker-registry did not become ready on ${host}:\n${output.join('').slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    url: `http://${host}`,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(token ? { tokensIssued: token.issued } : {}),
    stop: cleanup,
  };
}

// ------------------------------------------------------------------ a small test image

export interface TestBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface TestImage {
  config: TestBlob;
  layers: TestBlob[];
  manifest: { bytes: Buffer; mediaType: string; digest: string };
}

function blobOf(mediaType: string, bytes: Buffer): TestBlob {
  return { mediaType, bytes, size: bytes.length, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}

/** A one-file tar (ustar), gzip-compressed, deterministic. */
function tarGz(name: string, content: Buffer): { gz: Buffer; diffId: string } {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${content.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  const tar = Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
  return { gz: gzipSync(tar, { level: 6 }), diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}

/** config + 2 gzip layers + OCI manifest; `seed` makes distinct images. */
export function buildTestImage(seed = 'a', opts: { layerBytes?: number } = {}): TestImage {
  const l1 = tarGz('etc/hello.txt', Buffer.from(`hello ${seed}\n`));
  const big = Buffer.alloc(opts.layerBytes ?? 3000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + seed.charCodeAt(0)) % 251;
  const l2 = tarGz('usr/share/data.bin', big);
  const layers = [blobOf('application/vnd.oci.image.layer.v1.tar+gzip', l1.gz), blobOf('application/vnd.oci.image.layer.v1.tar+gzip', l2.gz)];
  const config = blobOf(
    'application/vnd.oci.image.config.v1+json',
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2024-01-01T00:00:00Z',
        config: { Env: ['PATH=/usr/bin'], Cmd: ['/bin/sh'], Labels: { seed } },
        rootfs: { type: 'layers', diff_ids: [l1.diffId, l2.diffId] },
        history: [{ created_by: 'ADD hello' }, { created_by: 'ADD data' }],
      }),
    ),
  );
  const strip = (b: TestBlob): { mediaType: string; digest: string; size: number } => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const mbytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: strip(config), layers: layers.map(strip) }),
  );
  const manifest = blobOf('application/vnd.oci.image.manifest.v1+json', mbytes);
  return { config, layers, manifest: { bytes: manifest.bytes, mediaType: manifest.mediaType, digest: manifest.digest } };
}

/** An OCI index over images (amd64, arm64, ...). */
export function buildTestIndex(images: { image: TestImage; architecture: string }[]): { bytes: Buffer; mediaType: string; digest: string } {
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: images.map(({ image, architecture }) => ({
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.bytes.length,
        platform: { os: 'linux', architecture },
      })),
    }),
  );
  return { bytes, mediaType: 'application/vnd.oci.image.index.v1+json', digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}` };
}
