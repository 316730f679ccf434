/**
 * Against the real distribution registry (docker-registry 2.8 from Debian) and skopeo.
 */
import { execFile } from 'node:child_process';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../core/digest.js';
import { DrydockError, isDrydockError } from '../../core/errors.js';
import { buildTestImage, buildTestIndex, startRegistry, type TestImage, type TestRegistry } from '../../../test/harness/registry.js';
import { RegistryClient, referrersTag } from './client.js';
import { openRegistryReader, openRegistryWriter } from './transport.js';

const run = promisify(execFile);

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

async function pushImage(client: RegistryClient, repo: { registry: string; repository: string }, img: TestImage, tag: string, chunkSize?: number): Promise<void> {
  await client.putBlob(repo, img.config, img.config.bytes);
  // one layer as a stream, one as a buffer (chunked when asked)
  const [l1, l2] = img.layers;
  await client.putBlob(repo, l1!, Readable.from([l1!.bytes.subarray(0, 10), l1!.bytes.subarray(10)]));
  await client.putBlob(repo, l2!, l2!.bytes, chunkSize ? { chunkSize } : {});
  await client.putManifest(repo, tag, img.manifest);
}

const env = { HOME: '/nonexistent-drydock-home' } as NodeJS.ProcessEnv;

describe('anonymous registry', () => {
  let reg: TestRegistry;
  let client: RegistryClient;
  const img = buildTestImage('a', { layerBytes: 200_000 });
  const img2 = buildTestImage('b');
  beforeAll(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ insecure: [reg.host], env, retryBaseMs: 20 });
  });
  afterAll(async () => {
    await client?.close();
    await reg?.stop();
  });

  it('pushes and pulls an image, byte-identical to what skopeo sees', async () => {
    const repo = { registry: reg.host, repository: 'test/app' };
    await pushImage(client, repo, img, 'v1');
    const reader = await openRegistryReader(`${reg.host}/test/app:v1`, { registry: { insecure: [reg.host] } });
    try {
      expect(reader.name).toBe(`${reg.host}/test/app:v1`);
      expect(reader.derived).toBe(false);
      const root = await reader.root();
      expect(root.digest).toBe(img.manifest.digest);
      expect(root.mediaType).toBe(img.manifest.mediaType);
      expect(root.bytes.equals(img.manifest.bytes)).toBe(true);
      for (const b of [img.config, ...img.layers]) {
        const got = await readAll(await reader.blob(b));
        expect(got.equals(b.bytes)).toBe(true);
        expect(await reader.blobBinding(b)).toBe(`registry:${reg.host}/test/app@${img.manifest.digest}`);
      }
      expect(await reader.blobBinding({ mediaType: 'x', digest: digestOf('other'), size: 5 })).toBeUndefined();
    } finally {
      await reader.close();
    }

    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', `docker://${reg.host}/test/app:v1`]);
    expect((JSON.parse(stdout) as { Digest: string }).Digest).toBe(img.manifest.digest);
    const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/test/app:v1`], { encoding: 'buffer' });
    expect(Buffer.from(raw.stdout).equals(img.manifest.bytes)).toBe(true);
  });

  it('pushes an index through the writer and reads it by digest', async () => {
    const writer = await openRegistryWriter(`${reg.host}/test/multi`, { registry: { insecure: [reg.host] } });
    for (const im of [img, img2]) {
      for (const b of [im.config, ...im.layers]) {
        if (!(await writer.hasBlob(b))) await writer.putBlob(b, Readable.from([b.bytes]));
      }
      await writer.putManifest(im.manifest);
    }
    const index = buildTestIndex([
      { image: img, architecture: 'amd64' },
      { image: img2, architecture: 'arm64' },
    ]);
    await writer.putManifest(index, 'multi');
    await writer.commit();

    const reader = await openRegistryReader(`${reg.host}/test/multi@${index.digest}`, { registry: { insecure: [reg.host] } });
    const root = await reader.root();
    expect(root.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(root.digest).toBe(index.digest);
    const m2 = await reader.manifest(img2.manifest.digest);
    expect(m2.bytes.equals(img2.manifest.bytes)).toBe(true);
    expect(await reader.blobBinding(img2.layers[0]!)).toBe(`registry:${reg.host}/test/multi@${index.digest}`);
    await reader.close();

    const head = await client.headManifest({ registry: reg.host, repository: 'test/multi' }, 'multi');
    expect(head).toEqual({ digest: index.digest, mediaType: index.mediaType, size: index.bytes.length });
    expect(await client.headManifest({ registry: reg.host, repository: 'test/multi' }, 'nope')).toBeUndefined();
    const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${reg.host}/test/multi:multi`], { encoding: 'buffer' });
    expect(Buffer.from(raw.stdout).equals(index.bytes)).toBe(true);
  });

  it('uploads in chunks', async () => {
    const big = buildTestImage('c', { layerBytes: 300_000 });
    const repo = { registry: reg.host, repository: 'test/chunked' };
    await pushImage(client, repo, big, 'v1', 16 * 1024);
    // a streamed chunked upload too
    const other = buildTestImage('d', { layerBytes: 100_000 });
    const l = other.layers[1]!;
    const pieces: Buffer[] = [];
    for (let i = 0; i < l.bytes.length; i += 1000) pieces.push(l.bytes.subarray(i, i + 1000));
    await client.putBlob(repo, l, Readable.from(pieces), { chunkSize: 7000 });
    expect(await client.hasBlob(repo, l)).toBe(true);
    const got = await readAll(await client.getBlob(repo, big.layers[1]!));
    expect(got.equals(big.layers[1]!.bytes)).toBe(true);
  });

  it('refuses to upload content that does not match its descriptor', async () => {
    const repo = { registry: reg.host, repository: 'test/bad' };
    const b = img.layers[0]!;
    const e = await caught(client.putBlob(repo, { ...b, digest: digestOf('x') }, Readable.from([b.bytes])));
    expect(e.code).toMatch(/DIGEST_MISMATCH|SIZE_MISMATCH/);
    const e2 = await caught(client.putBlob(repo, { ...b, digest: digestOf('x') }, Readable.from([b.bytes]), { chunkSize: 100 }));
    expect(e2.code).toBe('DIGEST_MISMATCH');
    expect(await client.hasBlob(repo, { digest: digestOf('x') })).toBe(false);
  });

  it('mounts blobs across repositories and lists tags', async () => {
    const from = { registry: reg.host, repository: 'test/app' };
    const to = { registry: reg.host, repository: 'other/app' };
    expect(await client.hasBlob(to, img.config)).toBe(false);
    expect(await client.mountBlob(to, img.config, from.repository)).toBe(true);
    expect(await client.hasBlob(to, img.config)).toBe(true);
    expect(await client.mountBlob(to, { digest: digestOf('absent') }, from.repository)).toBe(false);

    for (const t of ['v2', 'v3', 'a-tag']) await client.putManifest(from, t, img.manifest);
    expect((await client.listTags(from)).sort()).toEqual(['a-tag', 'v1', 'v2', 'v3']);
    const cat = await client.catalog(reg.host);
    expect(cat).toEqual(expect.arrayContaining(['test/app', 'other/app']));
    const e = await caught(client.listTags({ registry: reg.host, repository: 'no/such' }));
    expect(e.code).toBe('IMAGE_NOT_FOUND');
  });

  it('reports missing manifests and blobs with their names', async () => {
    const repo = { registry: reg.host, repository: 'test/app' };
    const e = await caught(client.getManifest(repo, 'missing'));
    expect(e.code).toBe('IMAGE_NOT_FOUND');
    expect(e.message).toContain(`${reg.host}/test/app:missing`);
    const d = digestOf('nothing');
    const e2 = await caught(client.getBlob(repo, { mediaType: 'x', digest: d, size: 7 }));
    expect(e2.code).toBe('BLOB_NOT_FOUND');
    expect(e2.message).toContain(d);
  });

  it('keeps referrers in the fallback tag on a registry without the referrers API', async () => {
    const repo = { registry: reg.host, repository: 'test/app' };
    const emptyCfg = Buffer.from('{}');
    await client.putBlob(repo, { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(emptyCfg), size: 2 }, emptyCfg);
    const mk = (artifactType: string, n: string): { bytes: Buffer; mediaType: string; digest: string } => {
      const bytes = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          artifactType,
          config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(emptyCfg), size: 2 },
          layers: [{ mediaType: 'application/vnd.oci.empty.v1+json', digest: digestOf(emptyCfg), size: 2 }],
          subject: { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length },
          annotations: { n },
        }),
      );
      return { bytes, mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(bytes) };
    };
    expect(await client.referrers(repo, img.manifest.digest)).toEqual([]);
    const sig = mk('application/vnd.dev.sigstore.bundle+json', '1');
    const sbom = mk('application/spdx+json', '2');
    expect(await client.pushReferrer(repo, sig)).toBe(sig.digest);
    await client.pushReferrer(repo, sbom);
    await client.pushReferrer(repo, sbom); // idempotent
    const all = await client.referrers(repo, img.manifest.digest);
    expect(all.map((d) => d.digest).sort()).toEqual([sig.digest, sbom.digest].sort());
    const only = await client.referrers(repo, img.manifest.digest, { artifactType: 'application/spdx+json' });
    expect(only).toEqual([{ mediaType: sbom.mediaType, digest: sbom.digest, size: sbom.bytes.length, artifactType: 'application/spdx+json', annotations: { n: '2' } }]);
    expect(await client.listTags(repo)).toContain(referrersTag(img.manifest.digest));
  });
});

describe('htpasswd registry', () => {
  let reg: TestRegistry;
  const img = buildTestImage('h');
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('works with good credentials', async () => {
    const client = new RegistryClient({ insecure: [reg.host], username: reg.username!, password: reg.password!, env });
    const repo = { registry: reg.host, repository: 'auth/app' };
    await pushImage(client, repo, img, 'v1');
    const m = await client.getManifest(repo, 'v1');
    expect(m.digest).toBe(img.manifest.digest);
    await client.close();
  });

  it('takes credentials from a docker config file', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'drydock-dockercfg-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${reg.username}:${reg.password}`).toString('base64') } } }));
    const client = new RegistryClient({ insecure: [reg.host], env: { DOCKER_CONFIG: dir } });
    expect((await client.getManifest({ registry: reg.host, repository: 'auth/app' }, 'v1')).digest).toBe(img.manifest.digest);
    await client.close();
    rmSync(dir, { recursive: true });
  });

  it('fails with AUTH_REQUIRED and never shows the password', async () => {
    const bad = 'S3cret-Wrong-Pass';
    const client = new RegistryClient({ insecure: [reg.host], username: 'drydock', password: bad, env });
    const e = await caught(client.getManifest({ registry: reg.host, repository: 'auth/app' }, 'v1'));
    expect(['AUTH_REQUIRED', 'AUTH_DENIED']).toContain(e.code);
    expect(e.message).toContain(`${reg.host}/auth/app`);
    expect(JSON.stringify(e.toJSON())).not.toContain(bad);
    expect(e.message).not.toContain(Buffer.from(`drydock:${bad}`).toString('base64'));
    const anon = new RegistryClient({ insecure: [reg.host], env });
    expect((await caught(anon.getManifest({ registry: reg.host, repository: 'auth/app' }, 'v1'))).code).toBe('AUTH_REQUIRED');
    await client.close();
    await anon.close();
  });
});

describe('token-auth registry', () => {
  let reg: TestRegistry;
  const img = buildTestImage('t');
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token', denyRepositories: ['tok/denied'] });
  });
  afterAll(async () => {
    await reg?.stop();
  });

  it('gets and caches bearer tokens per scope', async () => {
    const client = new RegistryClient({ insecure: [reg.host], username: reg.username!, password: reg.password!, env });
    const repo = { registry: reg.host, repository: 'tok/app' };
    await pushImage(client, repo, img, 'v1');
    const afterPush = reg.tokensIssued!();
    expect(afterPush).toBeGreaterThanOrEqual(1);
    expect(afterPush).toBeLessThanOrEqual(3);
    const reader = await openRegistryReader(`${reg.host}/tok/app:v1`, { registry: { insecure: [reg.host], username: reg.username!, password: reg.password! } });
    expect((await reader.root()).digest).toBe(img.manifest.digest);
    expect((await readAll(await reader.blob(img.layers[0]!))).equals(img.layers[0]!.bytes)).toBe(true);
    await reader.close();
    const n = reg.tokensIssued!();
    await client.getManifest(repo, 'v1');
    await client.getManifest(repo, 'v1');
    expect(reg.tokensIssued!()).toBe(n + 1); // one pull token, then cached
    expect(await client.mountBlob({ registry: reg.host, repository: 'tok/other' }, img.config, 'tok/app')).toBe(true);
    await client.close();
  });

  it('fails cleanly with bad credentials and anonymously', async () => {
    const bad = 'Tok3n-Wrong-Pass';
    const client = new RegistryClient({ insecure: [reg.host], username: 'drydock', password: bad, env });
    const e = await caught(client.getManifest({ registry: reg.host, repository: 'tok/app' }, 'v1'));
    expect(e.code).toBe('AUTH_REQUIRED');
    expect(JSON.stringify(e.toJSON()) + e.message).not.toContain(bad);
    const anon = new RegistryClient({ insecure: [reg.host], env });
    const e2 = await caught(anon.getManifest({ registry: reg.host, repository: 'tok/app' }, 'v1'));
    expect(isDrydockError(e2) && ['AUTH_REQUIRED', 'AUTH_DENIED'].includes(e2.code)).toBe(true);
    const good = new RegistryClient({ insecure: [reg.host], username: reg.username!, password: reg.password!, env });
    const e3 = await caught(good.getManifest({ registry: reg.host, repository: 'tok/denied' }, 'v1'));
    expect(e3.code).toBe('AUTH_DENIED');
    expect(e3.message).toContain(`${reg.host}/tok/denied:v1`);
    await good.close();
    await client.close();
    await anon.close();
  });
});

describe('registry notifications', () => {
  it('the harness configures notification endpoints', async () => {
    const { createServer } = await import('node:http');
    const got: string[] = [];
    const sink = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        got.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200);
        res.end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
    const port = (sink.address() as import('node:net').AddressInfo).port;
    const reg = await startRegistry({ notifications: [{ url: `http://127.0.0.1:${port}/events` }] });
    try {
      const client = new RegistryClient({ insecure: [reg.host], env });
      const img = buildTestImage('n');
      await pushImage(client, { registry: reg.host, repository: 'notify/app' }, img, 'v1');
      await client.close();
      const deadline = Date.now() + 5000;
      while (!got.some((b) => b.includes(img.manifest.digest)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(got.some((b) => /"action":\s*"push"/.test(b) && b.includes(img.manifest.digest))).toBe(true);
    } finally {
      await reg.stop();
      sink.closeAllConnections();
      await new Promise<void>((r) => sink.close(() => r()));
    }
  });
});
