import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSigstore, type SigstoreHarness } from '../../../test/harness/sigstore.js';
import { DrydockError } from '../../core/errors.js';
import type { Signer } from '../types.js';
import { imageKeylessSigner, keylessSigner, resolveIdentityToken, signKeylessToBundle, signToBundle } from './sign.js';
import { fetchTrustedRootOnline, publicGoodTrustedRoot, trustedRootFromJson, type LoadedTrustedRoot } from './trusted-root.js';
import { verifyBundle, verifyCertificateSignature, type IdentityPolicy } from './verify.js';

const here = join(import.meta.dirname, 'testdata');
const A_TXT = readFileSync(join(here, 'a.txt'));
const A_BUNDLE = JSON.parse(readFileSync(join(here, 'a.txt.sigstore.json'), 'utf8')) as Record<string, any>;
const NPM_BUNDLE = JSON.parse(readFileSync(join(here, 'sigstore-3.1.0.provenance.sigstore.json'), 'utf8')) as Record<string, any>;
const A_ID = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const GHA = 'https://token.actions.githubusercontent.com';

const clone = <T>(o: T): T => structuredClone(o);
/** flips one base64 character in the middle of a field */
function flipB64(s: string): string {
  const i = Math.floor(s.length / 2);
  return s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
}

function nodeSigner(): Signer & { publicKey: import('node:crypto').KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    algorithm: 'ecdsa-p256',
    publicKey,
    publicKeyPem: () => publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    sign: async (d) => cryptoSign('sha256', d, { key: privateKey, dsaEncoding: 'der' }),
    close: async () => {},
  };
}

describe('public-good bundles, offline', () => {
  const root = publicGoodTrustedRoot();
  const policy = { subject: A_ID, issuer: GHA };

  it('verifies the conformance v0.1 message-signature bundle with the seeded trusted root', () => {
    const r = verifyBundle(A_BUNDLE, A_TXT, { trustedRoot: root, policy, source: 'a.txt.sigstore.json' });
    expect(r).toMatchObject({ verified: true, identity: { subject: A_ID, issuer: GHA } });
    expect(r.evidence).toEqual(expect.arrayContaining(['signature', 'certificate-chain', 'sct', 'tlog-set', 'identity']));
  });

  it('verifies the npm provenance v0.2 DSSE bundle (inclusion proof and checkpoint) with regexp policy', () => {
    const r = verifyBundle(NPM_BUNDLE, undefined, {
      trustedRoot: root,
      policy: { subjectRegexp: '^https://github\\.com/sigstore/sigstore-js/', issuerRegexp: 'githubusercontent' },
    });
    expect(r.verified).toBe(true);
    expect(r.evidence).toEqual(expect.arrayContaining(['tlog-inclusion', 'tlog-set']));
  });

  it('checks the DSSE statement subject against an artifact when one is given', () => {
    const r = verifyBundle(NPM_BUNDLE, Buffer.from('not the tarball'), { trustedRoot: root, policy: { subjectRegexp: '.', issuerRegexp: '.' } });
    expect(r).toMatchObject({ verified: false, reason: 'digest-mismatch' });
  });

  it('fails each tampered copy with its own reason', () => {
    const cases: [string, () => ReturnType<typeof verifyBundle>, string][] = [];
    const run = (b: unknown, art: Buffer | null = A_TXT, p: IdentityPolicy = policy) => verifyBundle(b, art ?? undefined, { trustedRoot: root, policy: p });
    // artifact byte
    const art = Buffer.from(A_TXT);
    art[5] = art[5]! ^ 1;
    cases.push(['artifact byte', () => run(A_BUNDLE, art), 'signature-invalid']);
    // signature byte: the log entry no longer matches the bundle
    const sig = clone(A_BUNDLE);
    sig.messageSignature.signature = flipB64(sig.messageSignature.signature);
    cases.push(['signature byte', () => run(sig), 'tlog-invalid']);
    // signed entry timestamp
    const set = clone(A_BUNDLE);
    set.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp = flipB64(set.verificationMaterial.tlogEntries[0].inclusionPromise.signedEntryTimestamp);
    cases.push(['SET', () => run(set), 'tlog-invalid']);
    // integrated time moved outside the certificate's ten minutes (the SET then fails too: checked first)
    const time = clone(A_BUNDLE);
    time.verificationMaterial.tlogEntries[0].integratedTime = String(Number(time.verificationMaterial.tlogEntries[0].integratedTime) + 3600);
    cases.push(['integrated time', () => run(time), 'certificate-expired']);
    // checkpoint signature in the DSSE bundle
    const cp = clone(NPM_BUNDLE);
    const env = cp.verificationMaterial.tlogEntries[0].inclusionProof.checkpoint;
    env.envelope = env.envelope.replace('UwYvBhbfZgoyJ', 'UwYvBhbfZgozJ');
    cases.push(['checkpoint', () => run(cp, null, { subjectRegexp: '.', issuerRegexp: '.' }), 'tlog-invalid']);
    // DSSE payload
    const pl = clone(NPM_BUNDLE);
    pl.dsseEnvelope.payload = flipB64(pl.dsseEnvelope.payload);
    cases.push(['dsse payload', () => run(pl, null, { subjectRegexp: '.', issuerRegexp: '.' }), 'tlog-invalid']);
    cases.push(['identity', () => run(A_BUNDLE, A_TXT, { subject: 'someone@example.com', issuer: GHA }), 'identity-mismatch']);
    cases.push(['issuer', () => run(A_BUNDLE, A_TXT, { subject: A_ID, issuer: 'https://accounts.google.com' }), 'issuer-mismatch']);
    cases.push(['identity regexp', () => run(A_BUNDLE, A_TXT, { subjectRegexp: '^https://github\\.com/other/', issuer: GHA }), 'identity-mismatch']);
    cases.push(['not a bundle', () => run({ mediaType: 'application/json' }), 'bundle-malformed']);
    cases.push(['truncated', () => run(JSON.stringify(A_BUNDLE).slice(0, 500)), 'bundle-malformed']);
    const noTlog = clone(A_BUNDLE);
    noTlog.mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
    noTlog.verificationMaterial = { certificate: noTlog.verificationMaterial.x509CertificateChain.certificates[0], tlogEntries: [] };
    cases.push(['no log entry, no timestamp', () => run(noTlog), 'tlog-missing']);
    for (const [name, fn, reason] of cases) {
      const r = fn();
      expect({ name, verified: r.verified, reason: r.reason }).toEqual({ name, verified: false, reason });
      expect(r.detail, name).toBeTruthy();
    }
  });

  it('does not verify a public-good bundle against another trusted root', async () => {
    const h = await startSigstore();
    try {
      const r = verifyBundle(A_BUNDLE, A_TXT, { trustedRoot: trustedRootFromJson(h.trustedRoot), policy });
      expect(r.verified).toBe(false);
      expect(['certificate-untrusted', 'tlog-invalid']).toContain(r.reason);
    } finally {
      await h.close();
    }
  });
});

describe('keyless against local Fulcio and Rekor', () => {
  let h: SigstoreHarness;
  let root: LoadedTrustedRoot;
  beforeAll(async () => {
    h = await startSigstore();
    root = trustedRootFromJson(h.trustedRoot, 'mock');
  });
  afterAll(async () => h?.close());

  it('signs with a certificate and a Rekor entry, and verifies through the offline path', async () => {
    const data = Buffer.from('hello keyless\n');
    const out = await signKeylessToBundle(data, { identityToken: h.token({ sub: 'https://ci.example/workflow@refs/heads/main', iss: 'https://issuer.example' }), fulcioUrl: h.fulcioUrl, rekorUrl: h.rekorUrl, env: {} });
    expect(out.bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(h.requests).toEqual(expect.arrayContaining(['POST /api/v2/signingCert', 'POST /api/v1/log/entries']));
    const policy = { subject: 'https://ci.example/workflow@refs/heads/main', issuer: 'https://issuer.example' };
    const r = verifyBundle(out.bundle, data, { trustedRoot: root, policy, requireTlog: true });
    expect(r).toMatchObject({ verified: true, identity: { subject: policy.subject, issuer: policy.issuer } });
    expect(r.evidence).toEqual(expect.arrayContaining(['certificate-chain', 'sct', 'tlog-inclusion', 'tlog-set', 'identity']));
    expect(verifyBundle(out.bundle, Buffer.from('other'), { trustedRoot: root, policy }).reason).toBe('signature-invalid');
    expect(verifyBundle(out.bundle, data, { trustedRoot: root, policy: { ...policy, issuer: 'https://x' } }).reason).toBe('issuer-mismatch');
    // the same bundle is not trusted under the public-good root
    expect(verifyBundle(out.bundle, data, { trustedRoot: publicGoodTrustedRoot(), policy }).verified).toBe(false);
  });

  it('adds an RFC 3161 timestamp when a TSA is configured', async () => {
    const data = Buffer.from('stamped');
    const out = await signKeylessToBundle(data, { identityToken: h.token(), fulcioUrl: h.fulcioUrl, rekorUrl: h.rekorUrl, tsaUrl: h.tsaUrl, env: {} });
    const r = verifyBundle(out.bundle, data, { trustedRoot: root, policy: { subject: 'signer@example.test', issuer: 'https://oidc.test.example' } });
    expect(r.verified).toBe(true);
    expect(r.evidence).toContain('timestamp');
    // a timestamp alone (no log entry) is enough evidence for keyless
    const b = clone(out.bundle) as Record<string, any>;
    b.verificationMaterial.tlogEntries = [];
    const r2 = verifyBundle(b, data, { trustedRoot: root, policy: { subjectRegexp: '.', issuerRegexp: '.' } });
    expect(r2).toMatchObject({ verified: true });
    expect(r2.evidence).not.toContain('tlog-set');
    expect(verifyBundle(b, data, { trustedRoot: root, policy: { subjectRegexp: '.', issuerRegexp: '.' }, requireTlog: true }).reason).toBe('tlog-missing');
  });

  it('refuses a certificate that expired before the log entry was made', async () => {
    const old = await startSigstore({ caClock: new Date(Date.now() - 3_600_000) });
    try {
      const data = Buffer.from('late');
      const out = await signKeylessToBundle(data, { identityToken: old.token(), fulcioUrl: old.fulcioUrl, rekorUrl: old.rekorUrl, env: {} });
      const r = verifyBundle(out.bundle, data, { trustedRoot: trustedRootFromJson(old.trustedRoot), policy: { subjectRegexp: '.', issuerRegexp: '.' } });
      expect(r).toMatchObject({ verified: false, reason: 'certificate-expired' });
    } finally {
      await old.close();
    }
  });

  it('keylessSigner serves cosign-style image signatures: certificate, chain, Rekor bundle', async () => {
    const ks = await keylessSigner({ identityToken: h.token({ sub: 'img@example.test' }), fulcioUrl: h.fulcioUrl, rekorUrl: h.rekorUrl, env: {} });
    expect(ks.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(ks.chainPem.length).toBeGreaterThan(0);
    const payload = Buffer.from('{"critical":{"type":"cosign container image signature"}}');
    const signature = await ks.signer.sign(payload);
    const up = await ks.uploadToRekor(payload, signature);
    expect(up.cosignBundle?.Payload.logID).toMatch(/^[0-9a-f]{64}$/);
    const base = { payload, signature, certChainPem: [ks.certificatePem, ...ks.chainPem], trustedRoot: root, policy: { subject: 'img@example.test', issuer: 'https://oidc.test.example' } };
    const ok = verifyCertificateSignature({ ...base, rekorBundle: up.cosignBundle! });
    expect(ok).toMatchObject({ verified: true });
    expect(ok.evidence).toEqual(expect.arrayContaining(['tlog-set', 'certificate-chain', 'identity']));
    expect(verifyCertificateSignature(base)).toMatchObject({ verified: false, reason: 'tlog-missing' });
    expect(verifyCertificateSignature({ ...base, payload: Buffer.from('{}'), rekorBundle: up.cosignBundle! }).verified).toBe(false);
    const otherSig = await ks.signer.sign(Buffer.from('x'));
    expect(verifyCertificateSignature({ ...base, signature: otherSig, rekorBundle: up.cosignBundle! })).toMatchObject({ verified: false, reason: 'tlog-invalid' });
  });

  it('imageKeylessSigner gives bundle material for DSSE (intoto entry) and plain payloads (hashedrekord)', async () => {
    const s = await imageKeylessSigner({ identityToken: h.token({ sub: 'img@example.test' }), fulcioUrl: h.fulcioUrl, rekorUrl: h.rekorUrl, env: {} });
    expect((await s.certificateChain()).length).toBeGreaterThanOrEqual(2);
    const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'img', digest: { sha256: 'ab'.repeat(32) } }] }));
    const type = 'application/vnd.in-toto+json';
    const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} ${type} ${statement.length} `), statement]);
    const sig = await s.sign(pae);
    const material = await s.bundleMaterial(pae, sig);
    expect((material.tlogEntries as { kindVersion: { kind: string } }[])[0]!.kindVersion.kind).toBe('intoto');
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: material,
      dsseEnvelope: { payload: statement.toString('base64'), payloadType: type, signatures: [{ sig: sig.toString('base64'), keyid: '' }] },
    };
    const policy = { subject: 'img@example.test', issuer: 'https://oidc.test.example' };
    const vr = verifyBundle(bundle, undefined, { trustedRoot: root, policy, requireTlog: true });
    expect(vr, JSON.stringify(vr)).toMatchObject({ verified: true });
    const rb = await s.rekorBundle(Buffer.from('payload'), await s.sign(Buffer.from('payload')));
    expect(JSON.parse(rb!)).toHaveProperty('SignedEntryTimestamp');
  });

  it('key-based bundles: no log entry unless asked; --require-tlog; wrong key', async () => {
    const s = nodeSigner();
    const data = Buffer.from('blob');
    const plain = await signToBundle(data, { signer: s });
    expect(plain.bundle.verificationMaterial.tlogEntries).toEqual([]);
    expect(h.requests.filter((r) => r.includes('log/entries')).length).toBeGreaterThan(0);
    const before = h.requests.length;
    const r = verifyBundle(plain.bundle, data, { trustedRoot: root, publicKey: s.publicKey });
    expect(r).toEqual({ source: 'bundle', verified: true, evidence: ['signature'] });
    expect(verifyBundle(plain.bundle, data, { trustedRoot: root, publicKey: s.publicKey, requireTlog: true }).reason).toBe('tlog-missing');
    expect(verifyBundle(plain.bundle, data, { trustedRoot: root, publicKey: nodeSigner().publicKey }).reason).toBe('signature-invalid');
    expect(h.requests.length).toBe(before);
    const logged = await signToBundle(data, { signer: s, tlogUpload: true, rekorUrl: h.rekorUrl });
    const r2 = verifyBundle(logged.bundle, data, { trustedRoot: root, publicKey: s.publicKey, requireTlog: true });
    expect(r2.verified).toBe(true);
    expect(r2.evidence).toEqual(expect.arrayContaining(['signature', 'tlog-inclusion', 'tlog-set']));
    // a log the trusted root does not know
    expect(verifyBundle(logged.bundle, data, { trustedRoot: publicGoodTrustedRoot(), publicKey: s.publicKey }).reason).toBe('tlog-invalid');
    // the detached signature is the bundle's
    expect(logged.signature.toString('base64')).toBe((logged.bundle as any).messageSignature.signature);
    expect((logged.bundle as any).messageSignature.messageDigest.digest).toBe(createHash('sha256').update(data).digest('base64'));
  });
});

describe('tokens and services', () => {
  it('takes the token from the flag, SIGSTORE_ID_TOKEN, then GitHub Actions', async () => {
    expect(await resolveIdentityToken({ identityToken: 'a.b.c', env: { SIGSTORE_ID_TOKEN: 'x' } })).toBe('a.b.c');
    expect(await resolveIdentityToken({ env: { SIGSTORE_ID_TOKEN: 'x.y.z' } })).toBe('x.y.z');
    const seen: string[] = [];
    const srv = createHttpServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization}`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ value: 'gha.token.value' }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as { port: number }).port;
    try {
      const t = await resolveIdentityToken({ env: { ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?api-version=2.0`, ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-secret' } });
      expect(t).toBe('gha.token.value');
      expect(seen[0]).toBe('/token?api-version=2.0&audience=sigstore Bearer req-secret');
    } finally {
      srv.close();
    }
    await expect(resolveIdentityToken({ env: {} })).rejects.toMatchObject({ code: 'IDENTITY_TOKEN_MISSING' });
  });

  it('reports unreachable Fulcio and TUF as SIGSTORE_ERROR', async () => {
    const port = await closedPort();
    await expect(keylessSigner({ identityToken: 'e30.eyJzdWIiOiJ4In0.', fulcioUrl: `http://127.0.0.1:${port}`, env: {} })).rejects.toMatchObject({ code: 'SIGSTORE_ERROR' });
    const dir = mkdtempSync(join(tmpdir(), 'drydock-tuf-'));
    try {
      const seeds = JSON.parse(readFileSync(join(import.meta.dirname, '../../../node_modules/@sigstore/tuf/seeds.json'), 'utf8')) as Record<string, { 'root.json': unknown }>;
      writeFileSync(join(dir, 'root.json'), JSON.stringify(seeds['https://tuf-repo-cdn.sigstore.dev']!['root.json']));
      const err = await fetchTrustedRootOnline({ mirrorUrl: `http://127.0.0.1:${port}`, cacheDir: join(dir, 'cache'), rootPath: join(dir, 'root.json'), timeoutMs: 2000 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DrydockError);
      expect(err).toMatchObject({ code: 'SIGSTORE_ERROR' });
      expect((err as Error).message).toMatch(/--trusted-root/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
