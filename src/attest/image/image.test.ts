/**
 * Image attestations in an OCI layout (oci-dir:): the cosign .att layout byte for byte where it is
 * fixed (layer media type, annotations, config), appending, bundle referrers, and each tampering
 * failing with its own reason. The registry round trip is in test/e2e/attest.test.ts.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, tempDir, writeOciLayout, buildIndex } from '../../../test/testkit/index.js';
import { memorySigner } from '../../sign/keys/index.js';
import { compilePolicy } from '../policy.js';
import { PREDICATE_TYPES } from '../predicates.js';
import { STATEMENT_V01 } from '../statement.js';
import { signEnvelope } from '../dsse.js';
import { attestImage, attestImageRecursive, listImageAttestations, requireAttestation, verifyImageAttestations } from './image.js';

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: memorySigner(privateKey, 'test key'), key: publicKey };
};
const alice = pair();
const mallory = pair();

const provenance = { predicateType: PREDICATE_TYPES.slsaprovenance, predicate: { builder: { id: 'https://ci.example/b' }, buildType: 'https://ci.example/t' } };
const openvex = { predicateType: PREDICATE_TYPES.openvex, predicate: { '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] } };

const tmp = tempDir('drydock-attest-image-');
afterAll(() => tmp.cleanup());

async function layout(name: string, seed = name): Promise<{ dir: string; target: string; digest: string }> {
  const img = await buildImage({ layers: [[{ path: '/etc/seed', content: seed }]] });
  const dir = join(tmp.dir, name);
  writeOciLayout(dir, img);
  return { dir, target: `oci-dir:${dir}`, digest: img.manifest.digest };
}

function indexJson(dir: string): { manifests: { digest: string; mediaType: string; artifactType?: string; annotations?: Record<string, string> }[] } {
  return JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
}
const blobPath = (dir: string, digest: string) => join(dir, 'blobs', 'sha256', digest.slice(7));
const readJson = (dir: string, digest: string) => JSON.parse(readFileSync(blobPath(dir, digest), 'utf8'));

describe('attestImage: the cosign .att layout', () => {
  it('stores one DSSE layer per attestation with cosign annotations, appends, and verifies', async () => {
    const { dir, target, digest } = await layout('att');
    const r1 = await attestImage(target, provenance, alice.signer);
    expect(r1.digest).toBe(digest);
    expect(r1.added).toBe(true);
    expect(r1.statement.subject).toEqual([{ name: 'localhost/att', digest: { sha256: digest.slice(7) } }]);
    const tag = `sha256-${digest.slice(7)}.att`;
    const entry = indexJson(dir).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)!;
    expect(entry.annotations?.kind).toBe('dev.cosignproject.cosign/atts');
    const m = readJson(dir, entry.digest);
    expect(m.layers).toHaveLength(1);
    expect(m.layers[0].mediaType).toBe('application/vnd.dsse.envelope.v1+json');
    expect(m.layers[0].annotations).toEqual({ 'dev.cosignproject.cosign/signature': '', predicateType: 'https://slsa.dev/provenance/v0.2' });
    // config: go-containerregistry's empty image with the layers' digests as diff_ids
    expect(readJson(dir, m.config.digest).rootfs.diff_ids).toEqual([m.layers[0].digest]);
    const env = readJson(dir, m.layers[0].digest);
    expect(Object.keys(env)).toEqual(['payloadType', 'payload', 'signatures']);
    expect(env.signatures[0].keyid).toBe('');

    // the same attestation again is not stored twice; another one appends
    const again = await attestImage(target, provenance, alice.signer);
    // ECDSA signatures are randomised: a second signing is a new envelope, appended
    expect(again.added).toBe(true);
    await attestImage(target, openvex, alice.signer);
    const m2 = readJson(dir, indexJson(dir).manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === tag)!.digest);
    expect(m2.layers).toHaveLength(3);
    expect(m2.layers[0].digest).toBe(m.layers[0].digest);

    const v = await verifyImageAttestations(target, { key: alice.key }, { type: 'slsaprovenance' });
    expect(v.digest).toBe(digest);
    expect(v.checks.map((c) => [c.source.replace(/sha256-[0-9a-f]+/, 'T'), c.verified, c.reason])).toEqual([
      ['tag T.att layer 0', true, undefined],
      ['tag T.att layer 1', true, undefined],
      ['tag T.att layer 2', false, 'predicate-type-mismatch'],
    ]);
    expect(v.checks[0]!.evidence).toEqual(['signature', 'statement', 'predicate-type', 'subject', 'predicate']);
    expect(v.checks[0]!.statement?.predicate).toEqual(provenance.predicate);
    expect(v.checks[2]!.statement).toBeUndefined();
    expect(() => requireAttestation(v, target)).not.toThrow();
  });

  it('an unchanged envelope is not appended twice (same bytes)', async () => {
    const { target } = await layout('dedupe');
    // a deterministic signer: Ed25519
    const { privateKey } = generateKeyPairSync('ed25519');
    const s = memorySigner(privateKey, 'ed25519');
    expect((await attestImage(target, provenance, s)).added).toBe(true);
    expect((await attestImage(target, provenance, s)).added).toBe(false);
  });

  it('--replace keeps one attestation of the predicate type, in both layouts', async () => {
    const { dir, target } = await layout('replace');
    await attestImage(target, provenance, alice.signer);
    await attestImage(target, provenance, alice.signer);
    await attestImage(target, openvex, alice.signer);
    const r = await attestImage(target, provenance, alice.signer, { replace: true });
    expect(r).toMatchObject({ added: true, replaced: 2 });
    const types = async () => (await listImageAttestations(target)).attestations.map((a) => a.annotatedPredicateType);
    expect(await types()).toEqual([PREDICATE_TYPES.openvex, PREDICATE_TYPES.slsaprovenance]);
    const v = await verifyImageAttestations(target, { key: alice.key }, { type: 'slsaprovenance' });
    expect(v.checks.filter((c) => c.verified).map((c) => c.statement?.predicate)).toEqual([provenance.predicate]);

    // bundle referrers: the older referrers of the type are deleted after the new one is in
    const clock = (t: string) => ({ now: () => new Date(t) });
    await attestImage(target, provenance, alice.signer, { format: 'bundle', clock: clock('2024-05-01T00:00:00Z') });
    await attestImage(target, openvex, alice.signer, { format: 'bundle', clock: clock('2024-05-02T00:00:00Z') });
    const b = await attestImage(target, provenance, alice.signer, { format: 'bundle', replace: true, clock: clock('2024-05-03T00:00:00Z') });
    expect(b.replaced).toBe(1);
    const refs = indexJson(dir).manifests.filter((m) => m.artifactType !== undefined).map((m) => m.annotations?.['dev.sigstore.bundle.predicateType']);
    expect(refs.sort()).toEqual([PREDICATE_TYPES.openvex, PREDICATE_TYPES.slsaprovenance].sort());
    // without --replace the count only grows
    expect((await attestImage(target, provenance, alice.signer)).replaced).toBeUndefined();
  });

  it('stores a Sigstore bundle referrer with --signature-format bundle and verifies it', async () => {
    const { dir, target, digest } = await layout('bundle');
    const r = await attestImage(target, openvex, alice.signer, { format: 'bundle', clock: { now: () => new Date('2024-05-01T00:00:00Z') } });
    expect(r.location).toMatch(/^referrer sha256:/);
    const ref = indexJson(dir).manifests.find((m) => m.artifactType !== undefined)!;
    expect(ref.artifactType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(ref.annotations?.['dev.sigstore.bundle.predicateType']).toBe(PREDICATE_TYPES.openvex);
    const v = await verifyImageAttestations(target, { key: alice.key }, { type: 'openvex' });
    expect(v.checks).toHaveLength(1);
    expect(v.checks[0]).toMatchObject({ kind: 'referrer', verified: true });
    expect(v.digest).toBe(digest);
    const wrong = await verifyImageAttestations(target, { key: mallory.key });
    expect(wrong.checks[0]).toMatchObject({ verified: false, reason: 'key-mismatch' });
  });
});

describe('verification failures, each with its reason', () => {
  it('wrong key, altered payload, altered signature, another image, wrong type, policy, v0.1 accepted', async () => {
    const { dir, target, digest } = await layout('tamper');
    const other = await layout('other', 'another image');
    await attestImage(target, provenance, alice.signer);
    const tag = `sha256-${digest.slice(7)}.att`;
    const mDigest = indexJson(dir).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)!.digest;
    const layerDigest = readJson(dir, mDigest).layers[0].digest as string;
    const original = readFileSync(blobPath(dir, layerDigest), 'utf8');
    const env = JSON.parse(original);

    // rewrite the envelope blob in place and re-point the manifest at it (a consistent but forged store)
    const store = async (e: unknown): Promise<void> => {
      const { digestOf } = await import('../../core/digest.js');
      const bytes = Buffer.from(JSON.stringify(e));
      const d = digestOf(bytes);
      writeFileSync(blobPath(dir, d), bytes);
      const m = readJson(dir, mDigest);
      m.layers[0].digest = d;
      m.layers[0].size = bytes.length;
      const mb = Buffer.from(JSON.stringify(m));
      const md = digestOf(mb);
      writeFileSync(blobPath(dir, md), mb);
      const idx = indexJson(dir);
      for (const x of idx.manifests) if (x.annotations?.['org.opencontainers.image.ref.name'] === tag) Object.assign(x, { digest: md, size: mb.length });
      writeFileSync(join(dir, 'index.json'), JSON.stringify(idx));
    };
    const reason = async (opts: { key?: typeof alice.key; type?: string } = {}) => {
      const v = await verifyImageAttestations(target, { key: opts.key ?? alice.key }, opts.type ? { type: opts.type } : {});
      return v.checks.map((c) => c.reason ?? 'ok');
    };

    expect(await reason()).toEqual(['ok']);
    expect(await reason({ key: mallory.key })).toEqual(['signature-invalid']);
    expect(await reason({ type: 'cyclonedx' })).toEqual(['predicate-type-mismatch']);

    // one payload byte
    const text = Buffer.from(env.payload, 'base64').toString('utf8');
    await store({ ...env, payload: Buffer.from(text.replace('ci.example/b', 'ci.example/c')).toString('base64') });
    expect(await reason()).toEqual(['signature-invalid']);
    // the signature
    const sig = Buffer.from(env.signatures[0].sig, 'base64');
    sig[sig.length - 1] = (sig[sig.length - 1] ?? 0) ^ 1;
    await store({ ...env, signatures: [{ keyid: '', sig: sig.toString('base64') }] });
    expect(await reason()).toEqual(['signature-invalid']);
    // a correctly signed statement about another image, stored under this image's tag
    const forged = await signEnvelope(
      { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'x', digest: { sha256: other.digest.slice(7) } }], ...provenance },
      alice.signer,
    );
    await store(forged);
    expect(await reason()).toEqual(['digest-mismatch']);
    // a v0.1 statement (as cosign writes) about this image verifies
    await store(await signEnvelope({ _type: STATEMENT_V01, subject: [{ name: 'x', digest: { sha256: digest.slice(7) } }], ...provenance }, alice.signer));
    expect(await reason({ type: 'slsaprovenance' })).toEqual(['ok']);
    // a blob that no longer matches its digest
    writeFileSync(blobPath(dir, readJson(dir, indexJson(dir).manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)!.digest).layers[0].digest), original);
    expect(await reason()).toEqual(['layer-digest-mismatch']);

    // a policy over the predicate
    await store(env);
    const v = await verifyImageAttestations(target, { key: alice.key }, { policy: compilePolicy("predicate.builder.id == 'https://other'", 'p.cel') });
    expect(v.checks[0]).toMatchObject({ verified: false, reason: 'policy-failed' });
    expect(() => requireAttestation(v, target)).toThrow(/no attestation verified; .*policy-failed/);
  });

  it('no attestation: SIGNATURE_NOT_FOUND', async () => {
    const { target } = await layout('none');
    const v = await verifyImageAttestations(target, { key: alice.key });
    expect(v.checks).toEqual([]);
    expect(() => requireAttestation(v, target)).toThrow(expect.objectContaining({ code: 'SIGNATURE_NOT_FOUND' }));
  });
});

describe('BuildKit attestation manifests', () => {
  it('are listed as unsigned and never verified', async () => {
    const img = await buildImage({ layers: [[{ path: '/etc/seed', content: 'bk' }]] });
    const statement = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', subject: [{ name: 'x', digest: { sha256: img.manifest.digest.slice(7) } }], ...provenance }));
    const { digestOf } = await import('../../core/digest.js');
    const cfg = Buffer.from('{}');
    const att = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf(cfg), size: cfg.length },
        layers: [{ mediaType: 'application/vnd.in-toto+json', digest: digestOf(statement), size: statement.length, annotations: { 'in-toto.io/predicate-type': provenance.predicateType } }],
      }),
    );
    const idx = buildIndex([img], {
      extra: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(att), size: att.length, platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': img.manifest.digest } }],
    });
    const dir = join(tmp.dir, 'buildkit');
    writeOciLayout(dir, idx, { extraBlobs: new Map([[digestOf(att), att], [digestOf(statement), statement], [digestOf(cfg), cfg]]) });
    const l = await listImageAttestations(`oci-dir:${dir}`);
    expect(l.attestations).toHaveLength(1);
    expect(l.attestations[0]).toMatchObject({ kind: 'buildkit', annotatedPredicateType: provenance.predicateType });
    const v = await verifyImageAttestations(`oci-dir:${dir}`, { key: alice.key });
    expect(v.checks[0]).toMatchObject({ kind: 'buildkit', verified: false, reason: 'unsigned' });
    expect(v.checks[0]!.detail).toMatch(/unsigned/);
    expect(() => requireAttestation(v, dir)).toThrow(expect.objectContaining({ code: 'SIGNATURE_NOT_FOUND' }));
  });
});

describe('attestImageRecursive: an index and every manifest below it', () => {
  it('attests the index and each platform image, each under its own .att tag, and the index verifies', async () => {
    const amd = await buildImage({ layers: [[{ path: '/etc/arch', content: 'amd64' }]], platform: { os: 'linux', architecture: 'amd64' } });
    const arm = await buildImage({ layers: [[{ path: '/etc/arch', content: 'arm64' }]], platform: { os: 'linux', architecture: 'arm64' } });
    const index = buildIndex([amd, arm]);
    const dir = join(tmp.dir, 'multi');
    writeOciLayout(dir, index);
    const results = await attestImageRecursive(`oci-dir:${dir}`, provenance, alice.signer);
    expect(results.map((r) => r.digest)).toEqual([index.digest, amd.manifest.digest, arm.manifest.digest]);
    const tags = indexJson(dir).manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).filter((n): n is string => !!n && n.endsWith('.att'));
    expect(tags.sort()).toEqual([index.digest, amd.manifest.digest, arm.manifest.digest].map((d) => `sha256-${d.slice(7)}.att`).sort());
    for (const r of results) expect(r.statement.subject[0]!.digest).toEqual({ sha256: r.digest.slice(7) });
    const v = await verifyImageAttestations(`oci-dir:${dir}`, { key: alice.key }, { type: 'slsaprovenance' });
    expect(v.checks.map((c) => c.verified)).toEqual([true]);
  });
});
