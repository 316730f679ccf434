/**
 * Image signatures against the real distribution registry (test/harness/registry.ts) and OCI layouts:
 * sign → verify, appending, bundles as referrers, --recursive, tree/clean, and the tamper matrix with
 * one reason per tampering.
 */
import { createHash, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../core/digest.js';
import { DrydockError } from '../../core/errors.js';
import { RegistryClient } from '../../image/registry/client.js';
import { MediaType, type RawManifest } from '../../image/types.js';
import { buildTestImage, buildTestIndex, startRegistry, type TestImage, type TestRegistry } from '../../../test/harness/registry.js';
import type { Signer, VerifyReason } from '../types.js';
import { attachedTag, cleanAttached, listAttached, requireVerified, signImage, simpleSigningPayload, verifyImage } from './index.js';
import { buildSignatureManifest, parseSignatureManifest } from './sig-manifest.js';
import { SIGNATURE_ANNOTATION } from './payload.js';

/** A Signer over an in-memory P-256 key (the key providers of src/sign/keys are tested on their own). */
function testSigner(): Signer & { publicKey: KeyObject; privateKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    algorithm: 'ecdsa-p256',
    publicKey,
    privateKey,
    publicKeyPem: () => publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: async (data) => cryptoSign('sha256', data, privateKey),
    close: async () => {},
  };
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

async function pushImage(client: RegistryClient, repo: { registry: string; repository: string }, img: TestImage, tag: string): Promise<void> {
  await client.putBlob(repo, img.config, img.config.bytes);
  for (const l of img.layers) await client.putBlob(repo, l, l.bytes);
  await client.putManifest(repo, tag, img.manifest);
}

/** A proxy in front of the registry that can rewrite response bodies (faults on purpose). */
interface FaultProxy {
  host: string;
  mutate: ((path: string, body: Buffer) => Buffer | undefined) | undefined;
  /** METHOD path of every request that went through */
  log: string[];
  close(): Promise<void>;
}

async function startProxy(upstream: string): Promise<FaultProxy> {
  const proxy: FaultProxy = { host: '', mutate: undefined, log: [], close: async () => {} };
  const server: Server = createServer((req, res) => {
    proxy.log.push(`${req.method} ${req.url}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const [h, p] = upstream.split(':');
      const up = httpRequest({ host: h, port: Number(p), method: req.method, path: req.url, headers: { ...req.headers, host: upstream } }, (ur) => {
        const body: Buffer[] = [];
        ur.on('data', (c: Buffer) => body.push(c));
        ur.on('end', () => {
          let out: Buffer = Buffer.concat(body);
          const changed = req.method === 'GET' ? proxy.mutate?.(req.url ?? '', out) : undefined;
          const headers = { ...ur.headers };
          if (changed) {
            out = changed;
            headers['content-length'] = String(out.length);
          }
          res.writeHead(ur.statusCode ?? 502, headers);
          res.end(out);
        });
      });
      up.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () => new Promise<void>((r) => server.close(() => r()));
  return proxy;
}

function reasons(checks: { verified: boolean; reason?: VerifyReason }[]): (VerifyReason | 'ok')[] {
  return checks.map((c) => (c.verified ? 'ok' : (c.reason as VerifyReason)));
}

describe('image signatures in a registry', () => {
  let reg: TestRegistry;
  let proxy: FaultProxy;
  let client: RegistryClient;
  const imgA = buildTestImage('a');
  const imgB = buildTestImage('b');
  const signer = testSigner();
  const stranger = testSigner();
  let registry: { insecure: string[]; retries: number };
  let app: string;

  beforeAll(async () => {
    reg = await startRegistry();
    proxy = await startProxy(reg.host);
    registry = { insecure: [reg.host, proxy.host], retries: 0 };
    client = new RegistryClient({ insecure: [reg.host], retries: 0 });
    await pushImage(client, { registry: reg.host, repository: 'app' }, imgA, 'v1');
    await pushImage(client, { registry: reg.host, repository: 'app' }, imgB, 'v2');
    app = `${reg.host}/app`;
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await proxy?.close();
    await reg?.stop();
  });

  const repo = (): { registry: string; repository: string } => ({ registry: reg.host, repository: 'app' });
  const sigTag = (img: TestImage): string => attachedTag(img.manifest.digest, 'signature');

  /** Replaces the .sig manifest of `img` by one built from `edit` of its layers (blobs uploaded as needed). */
  async function rewriteSig(img: TestImage, edit: (layers: ReturnType<typeof parseSignatureManifest>['layers'], payloads: Buffer[]) => Promise<Buffer[]> | Buffer[], into = img): Promise<void> {
    const m = await client.getManifest(repo(), sigTag(img));
    const layers = parseSignatureManifest(m, 'sig').layers;
    const payloads = await Promise.all(layers.map((l) => client.getBlobBytes(repo(), l)));
    const newPayloads = await edit(layers, payloads);
    for (const [i, l] of layers.entries()) {
      const p = newPayloads[i] as Buffer;
      l.digest = digestOf(p);
      l.size = p.length;
      await client.putBlob(repo(), l, p);
    }
    const built = buildSignatureManifest(layers);
    await client.putBlob(repo(), built.config.descriptor, built.config.bytes);
    await client.putManifest(repo(), sigTag(into), built.manifest);
  }

  it('signs a tag and verifies it; the stored objects are cosign\'s', async () => {
    const r = await signImage(`${app}:v1`, signer, { registry, annotations: { env: 'prod' } });
    expect(r.digest).toBe(imgA.manifest.digest);
    const m = await client.getManifest(repo(), sigTag(imgA));
    const layers = parseSignatureManifest(m, 'sig').layers;
    expect(layers).toHaveLength(1);
    expect(layers[0]?.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    const payload = await client.getBlobBytes(repo(), layers[0]!);
    expect(payload.equals(simpleSigningPayload(app, imgA.manifest.digest, { env: 'prod' }))).toBe(true);
    const v = await verifyImage(`${app}:v1`, { key: signer.publicKey }, { registry, annotations: { env: 'prod' } });
    expect(v.checks).toEqual([{ source: `tag ${sigTag(imgA)} layer 0`, verified: true, evidence: ['signature'] }]);
    expect(() => requireVerified(v, app)).not.toThrow();
    // by digest too
    const byDigest = await verifyImage(`${app}@${imgA.manifest.digest}`, { key: signer.publicKey }, { registry });
    expect(reasons(byDigest.checks)).toEqual(['ok']);
  });

  it('appends a second signature as a second layer', async () => {
    await signImage(`${app}:v1`, signer, { registry, annotations: { env: 'prod' } });
    const m = await client.getManifest(repo(), sigTag(imgA));
    const parsed = parseSignatureManifest(m, 'sig');
    expect(parsed.layers).toHaveLength(2);
    const cfg = JSON.parse((await client.getBlobBytes(repo(), (JSON.parse(m.bytes.toString()) as { config: { mediaType: string; digest: string; size: number } }).config)).toString());
    expect(cfg.rootfs.diff_ids).toEqual(parsed.layers.map((l) => l.digest));
    const v = await verifyImage(`${app}:v1`, { key: signer.publicKey }, { registry });
    expect(reasons(v.checks)).toEqual(['ok', 'ok']);
  });

  it('reads a payload that several signatures share once', async () => {
    // signed twice with the same payload and once with another: three layers, two blobs
    const shared = { registry: reg.host, repository: 'shared' };
    await pushImage(client, shared, imgA, 'v1');
    for (const annotations of [{}, {}, { env: 'prod' }] as Record<string, string>[]) await signImage(`${reg.host}/shared:v1`, signer, { registry, annotations });
    const layers = parseSignatureManifest(await client.getManifest(shared, sigTag(imgA)), 'sig').layers;
    expect(layers).toHaveLength(3);
    expect(new Set(layers.map((l) => l.digest)).size).toBe(2);
    proxy.log.length = 0;
    const v = await verifyImage(`${proxy.host}/shared:v1`, { key: signer.publicKey }, { registry });
    expect(reasons(v.checks)).toEqual(['ok', 'ok', 'ok']);
    const blobGets = proxy.log.filter((l) => l.startsWith('GET /v2/shared/blobs/'));
    expect(blobGets.sort()).toEqual([...new Set(layers.map((l) => `GET /v2/shared/blobs/${l.digest}`))].sort());
  });

  it('reports SIGNATURE_NOT_FOUND for an unsigned image and fails closed with the wrong key', async () => {
    const none = await verifyImage(`${app}:v2`, { key: signer.publicKey }, { registry });
    expect(none.checks).toEqual([]);
    expect((await caught(Promise.resolve().then(() => requireVerified(none, app)))).code).toBe('SIGNATURE_NOT_FOUND');
    const wrong = await verifyImage(`${app}:v1`, { key: stranger.publicKey }, { registry });
    expect(reasons(wrong.checks)).toEqual(['signature-invalid', 'signature-invalid']);
    const e = await caught(Promise.resolve().then(() => requireVerified(wrong, app)));
    expect(e.code).toBe('VERIFICATION_FAILED');
    expect(e.message).toMatch(/signature-invalid/);
  });

  it('tamper matrix: each change fails with its own reason', async () => {
    const key = { key: signer.publicKey };
    const fresh = async (): Promise<void> => {
      const old = await client.getManifest(repo(), sigTag(imgA)).catch(() => undefined);
      if (old) await client.deleteManifest(repo(), old.digest);
      await signImage(`${app}:v1`, signer, { registry, annotations: { env: 'prod' } });
    };
    const verifyA = async (annotations: Record<string, string> = {}): Promise<(VerifyReason | 'ok')[]> =>
      reasons((await verifyImage(`${app}:v1`, key, { registry, annotations })).checks);

    // payload byte changed in transit (the blob no longer hashes to its descriptor)
    await fresh();
    const layer0 = parseSignatureManifest(await client.getManifest(repo(), sigTag(imgA)), 'sig').layers[0]!;
    proxy.mutate = (path, body) => (path.endsWith(`/blobs/${layer0.digest}`) ? Buffer.from(body.toString().replace('prod', 'prud')) : undefined);
    try {
      expect(reasons((await verifyImage(`${proxy.host}/app:v1`, key, { registry })).checks)).toEqual(['layer-digest-mismatch']);
    } finally {
      proxy.mutate = undefined;
    }

    // payload byte changed and stored under its new digest
    await rewriteSig(imgA, (_l, p) => p.map((b) => Buffer.from(b.toString().replace('"critical"', '"critical" '))));
    expect(await verifyA()).toEqual(['signature-invalid']);

    // signature byte changed
    await fresh();
    await rewriteSig(imgA, (l, p) => {
      const s = Buffer.from(l[0]!.annotations![SIGNATURE_ANNOTATION]!, 'base64');
      s.writeUInt8(s.readUInt8(s.length - 3) ^ 0x01, s.length - 3);
      l[0]!.annotations![SIGNATURE_ANNOTATION] = s.toString('base64');
      return p;
    });
    expect(await verifyA()).toEqual(['signature-invalid']);

    // annotation changed in the payload (not re-signed)
    await fresh();
    await rewriteSig(imgA, (_l, p) => p.map((b) => Buffer.from(b.toString().replace('"env":"prod"', '"env":"dev"'))));
    expect(await verifyA()).toEqual(['signature-invalid']);

    // required annotation different / missing (signature intact)
    await fresh();
    expect(await verifyA({ env: 'dev' })).toEqual(['annotation-mismatch']);
    expect(await verifyA({ team: 'core' })).toEqual(['annotation-mismatch']);
    expect(await verifyA({ env: 'prod' })).toEqual(['ok']);

    // digest in the payload changed and re-signed with the trusted key
    await rewriteSig(imgA, async (l, p) => {
      const changed = p.map((b) => Buffer.from(b.toString().replace(imgA.manifest.digest, imgB.manifest.digest)));
      l[0]!.annotations![SIGNATURE_ANNOTATION] = (await signer.sign(changed[0]!)).toString('base64');
      return changed;
    });
    expect(await verifyA()).toEqual(['digest-mismatch']);

    // the signature manifest of A copied to B's tag
    await fresh();
    await rewriteSig(imgA, (_l, p) => p, imgB);
    expect(reasons((await verifyImage(`${app}:v2`, key, { registry })).checks)).toEqual(['digest-mismatch']);
    await client.deleteManifest(repo(), (await client.getManifest(repo(), sigTag(imgB))).digest);
  });

  it('refuses a registry that serves another manifest than the digest asked for', async () => {
    proxy.mutate = (path) => (path.endsWith(`/manifests/${imgA.manifest.digest}`) ? imgB.manifest.bytes : undefined);
    try {
      const e = await caught(verifyImage(`${proxy.host}/app@${imgA.manifest.digest}`, { key: signer.publicKey }, { registry }));
      expect(e.code).toBe('DIGEST_MISMATCH');
    } finally {
      proxy.mutate = undefined;
    }
  });

  it('stores Sigstore bundles as referrers and verifies them', async () => {
    await pushImage(client, { registry: reg.host, repository: 'bundled' }, imgA, 'v1');
    const target = `${reg.host}/bundled:v1`;
    const r = await signImage(target, signer, { registry, format: 'bundle', annotations: { env: 'prod' }, clock: { now: () => new Date('2024-05-01T00:00:00Z') } });
    expect(r.signed[0]?.location).toMatch(/^referrer sha256:/);
    const refs = await client.referrers({ registry: reg.host, repository: 'bundled' }, imgA.manifest.digest);
    expect(refs.map((d) => d.artifactType)).toEqual(['application/vnd.dev.sigstore.bundle.v0.3+json']);
    const ok = await verifyImage(target, { key: signer.publicKey }, { registry, annotations: { env: 'prod' } });
    expect(reasons(ok.checks)).toEqual(['ok']);
    expect(ok.checks[0]?.source).toMatch(/^referrer sha256:/);
    // the key hint names the signing key: another key is a key mismatch
    expect(reasons((await verifyImage(target, { key: stranger.publicKey }, { registry })).checks)).toEqual(['key-mismatch']);
    expect(reasons((await verifyImage(target, { key: signer.publicKey }, { registry, annotations: { env: 'dev' } })).checks)).toEqual(['annotation-mismatch']);
    // both layouts at once
    await signImage(target, signer, { registry });
    expect(reasons((await verifyImage(target, { key: signer.publicKey }, { registry })).checks).sort()).toEqual(['ok', 'ok']);
  });

  it('signs every manifest of an index with --recursive', async () => {
    const index = buildTestIndex([
      { image: imgA, architecture: 'amd64' },
      { image: imgB, architecture: 'arm64' },
    ]);
    await pushImage(client, { registry: reg.host, repository: 'multi' }, imgA, 'a');
    await pushImage(client, { registry: reg.host, repository: 'multi' }, imgB, 'b');
    await client.putManifest({ registry: reg.host, repository: 'multi' }, 'v1', index as RawManifest);
    const r = await signImage(`${reg.host}/multi:v1`, signer, { registry, recursive: true });
    expect(r.signed.map((s) => s.digest)).toEqual([index.digest, imgA.manifest.digest, imgB.manifest.digest]);
    for (const d of [index.digest, imgA.manifest.digest, imgB.manifest.digest]) {
      expect(reasons((await verifyImage(`${reg.host}/multi@${d}`, { key: signer.publicKey }, { registry })).checks)).toEqual(['ok']);
    }
  });

  it('lists and cleans what is attached', async () => {
    await pushImage(client, { registry: reg.host, repository: 'tree' }, imgA, 'v1');
    const target = `${reg.host}/tree:v1`;
    await signImage(target, signer, { registry });
    await signImage(target, signer, { registry, format: 'bundle' });
    const l = await listAttached(target, { registry });
    expect(l.tags.map((t) => [t.kind, t.tag, t.layers.length])).toEqual([['signature', sigTag(imgA), 1]]);
    expect(l.referrers.map((r) => r.kind)).toEqual(['signature']);
    const removed = await cleanAttached(target, ['signature'], { registry });
    expect(removed.tags).toHaveLength(1);
    expect(removed.referrers).toHaveLength(1);
    const after = await listAttached(target, { registry });
    expect(after.tags).toEqual([]);
    expect(after.referrers).toEqual([]);
    expect((await verifyImage(target, { key: signer.publicKey }, { registry })).checks).toEqual([]);
  });
});

describe('image signatures in an oci-dir layout', () => {
  let dir: string;
  const img = buildTestImage('c');
  const signer = testSigner();

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'drydock-sign-layout-'));
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    for (const b of [img.config, ...img.layers, { digest: img.manifest.digest, bytes: img.manifest.bytes }]) {
      writeFileSync(join(dir, 'blobs', 'sha256', b.digest.slice(7)), b.bytes);
    }
    writeFileSync(
      join(dir, 'index.json'),
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }] }),
    );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('signs into the layout, verifies, and keeps the layout readable without a tag', async () => {
    await signImage(`oci-dir:${dir}:v1`, signer, { annotations: { env: 'prod' } });
    await signImage(`oci-dir:${dir}`, signer);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === attachedTag(img.manifest.digest, 'signature'));
    expect(entry?.annotations?.kind).toBe('dev.cosignproject.cosign/sigs');
    const m = readFileSync(join(dir, 'blobs', 'sha256', entry!.digest.slice(7)));
    expect(parseSignatureManifest({ bytes: m, mediaType: MediaType.ociManifest, digest: entry!.digest }, 'sig').layers).toHaveLength(2);
    const v = await verifyImage(`oci-dir:${dir}`, { key: signer.publicKey });
    expect(reasons(v.checks)).toEqual(['ok', 'ok']);
    const payload = readFileSync(join(dir, 'blobs', 'sha256', digestOf(simpleSigningPayload(`localhost/${dir.split('/').pop()!.toLowerCase()}`, img.manifest.digest, { env: 'prod' })).slice(7)));
    expect(JSON.parse(payload.toString()).critical.image['docker-manifest-digest']).toBe(img.manifest.digest);
  });

  it('keeps bundles as referrer entries, detects a changed blob, and cleans', async () => {
    await signImage(`oci-dir:${dir}:v1`, signer, { format: 'bundle' });
    const v = await verifyImage(`oci-dir:${dir}:v1`, { key: signer.publicKey });
    expect(reasons(v.checks)).toEqual(['ok', 'ok', 'ok']);
    // change one byte of a stored payload
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const sig = index.manifests.find((m) => m.annotations?.kind === 'dev.cosignproject.cosign/sigs')!;
    const layers = parseSignatureManifest({ bytes: readFileSync(join(dir, 'blobs', 'sha256', sig.digest.slice(7))), mediaType: MediaType.ociManifest, digest: sig.digest }, 'sig').layers;
    const p = join(dir, 'blobs', 'sha256', layers[0]!.digest.slice(7));
    const bytes = readFileSync(p);
    bytes.writeUInt8(bytes.readUInt8(5) ^ 1, 5);
    writeFileSync(p, bytes);
    const after = await verifyImage(`oci-dir:${dir}:v1`, { key: signer.publicKey });
    expect(reasons(after.checks)).toEqual(['ok', 'layer-digest-mismatch', 'ok']);
    const removed = await cleanAttached(`oci-dir:${dir}:v1`, ['all']);
    expect(removed.tags.length + removed.referrers.length).toBe(2);
    expect((await verifyImage(`oci-dir:${dir}:v1`, { key: signer.publicKey })).checks).toEqual([]);
    expect(createHash('sha256').update(readFileSync(join(dir, 'blobs', 'sha256', img.manifest.digest.slice(7)))).digest('hex')).toBe(img.manifest.digest.slice(7));
  });
});
