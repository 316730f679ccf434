/**
 * attest-blob and verify-blob-attestation end to end, in-process: a program holding only these two
 * commands (main.ts registers them later), real key files, real files on disk.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { attestBlobCommands } from '../../src/cli/commands/attest-blob.js';
import { generateKeyPair } from '../../src/sign/keys/index.js';
import { startSigstore, type SigstoreHarness } from '../harness/sigstore.js';

const INTEROP = '/work/shared/interop/cosign';

interface Run {
  error?: { code?: string; message: string; details?: Record<string, unknown> };
  stdout: string;
  stderr: string;
}

async function drydock(...args: string[]): Promise<Run> {
  const program = new Command('drydock').exitOverride();
  for (const c of attestBlobCommands()) program.addCommand(c.exitOverride());
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    await program.parseAsync(['node', 'drydock', ...args]);
    return { stdout, stderr };
  } catch (e) {
    return { error: e as Run['error'] & Error, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

let dir: string;
const slsa = { builder: { id: 'https://ci.example/builder' }, buildType: 'https://example.com/build/v1', invocation: {} };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-attest-blob-'));
  process.env.DRYDOCK_PASSWORD = 'pw';
  const pair = await generateKeyPair('pw');
  writeFileSync(join(dir, 'k.key'), pair.privateKeyPem);
  writeFileSync(join(dir, 'k.pub'), pair.publicKeyPem);
  writeFileSync(join(dir, 'artifact.tar'), 'pretend this is a release archive\n');
  writeFileSync(join(dir, 'slsa.json'), JSON.stringify(slsa));
  writeFileSync(join(dir, 'bom.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'library', name: 'left-pad', version: '1.3.0' }] }));
  writeFileSync(join(dir, 'policy.yaml'), '- name: trusted builder\n  expr: predicate.builder.id == "https://ci.example/builder"\n');
  writeFileSync(join(dir, 'policy.rego'), 'package x\ndefault allow := true\n');
});

afterEach(() => vi.restoreAllMocks());

describe('attest-blob → verify-blob-attestation', () => {
  it('attests a file with an SLSA predicate and verifies it with the public key, type and policy', async () => {
    const env = join(dir, 'artifact.dsse.json');
    const a = await drydock('attest-blob', join(dir, 'artifact.tar'), '--predicate', join(dir, 'slsa.json'), '--type', 'slsaprovenance', '--key', join(dir, 'k.key'), '--output-signature', env);
    expect(a.error).toBeUndefined();
    const envelope = JSON.parse(readFileSync(env, 'utf8')) as { payloadType: string; payload: string };
    expect(envelope.payloadType).toBe('application/vnd.in-toto+json');
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString()) as { subject: { name: string }[]; predicateType: string };
    expect(statement.subject[0]!.name).toBe('artifact.tar');
    expect(statement.predicateType).toBe('https://slsa.dev/provenance/v0.2');

    const v = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--signature', env, '--key', join(dir, 'k.pub'), '--type', 'slsaprovenance', '--policy', join(dir, 'policy.yaml'));
    expect(v.error).toBeUndefined();
    expect(JSON.parse(v.stdout).predicate).toEqual(slsa);
    expect(v.stderr).toMatch(/Verified OK/);

    const j = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--signature', env, '--key', join(dir, 'k.pub'), '--format', 'json');
    expect(JSON.parse(j.stdout)).toMatchObject({ verified: true, evidence: ['signature', 'statement', 'subject', 'predicate'] });

    const wrongType = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--signature', env, '--key', join(dir, 'k.pub'), '--type', 'vuln');
    expect(wrongType.error).toMatchObject({ code: 'VERIFICATION_FAILED', details: { reason: 'predicate-type-mismatch' } });

    const otherFile = await drydock('verify-blob-attestation', join(dir, 'slsa.json'), '--signature', env, '--key', join(dir, 'k.pub'));
    expect(otherFile.error).toMatchObject({ code: 'VERIFICATION_FAILED', details: { reason: 'digest-mismatch' } });

    const wrongKey = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--signature', env, '--key', join(INTEROP, 'cosign.pub'));
    expect(wrongKey.error).toMatchObject({ code: 'VERIFICATION_FAILED', details: { reason: 'signature-invalid' } });

    const rego = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--signature', env, '--key', join(dir, 'k.pub'), '--policy', join(dir, 'policy.rego'));
    expect(rego.error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/Rego.*CEL only/) });
  });

  it('writes and verifies a Sigstore bundle v0.3 holding the envelope; a bundle without one is refused', async () => {
    const bundle = join(dir, 'artifact.sigstore.json');
    const a = await drydock('attest-blob', join(dir, 'artifact.tar'), '--predicate', join(dir, 'slsa.json'), '--type', 'slsaprovenance', '--key', join(dir, 'k.key'), '--bundle', bundle);
    expect(a.error).toBeUndefined();
    const b = JSON.parse(readFileSync(bundle, 'utf8')) as { mediaType: string; verificationMaterial: { publicKey: { hint: string } }; dsseEnvelope: { payloadType: string } };
    expect(b.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(b.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(b.verificationMaterial.publicKey.hint).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const v = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--bundle', bundle, '--key', join(dir, 'k.pub'), '--type', 'slsaprovenance', '--format', 'json');
    expect(v.error).toBeUndefined();
    expect(JSON.parse(v.stdout)).toMatchObject({ verified: true });
    const other = await drydock('verify-blob-attestation', join(dir, 'slsa.json'), '--bundle', bundle, '--key', join(dir, 'k.pub'));
    expect(other.error).toMatchObject({ code: 'VERIFICATION_FAILED', details: { reason: 'digest-mismatch' } });
    writeFileSync(join(dir, 'msg.sigstore.json'), JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', verificationMaterial: {}, messageSignature: {} }));
    const msg = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--bundle', join(dir, 'msg.sigstore.json'), '--key', join(dir, 'k.pub'));
    expect(msg.error).toMatchObject({ code: 'BUNDLE_INVALID' });
    const both = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--bundle', bundle, '--signature', bundle, '--key', join(dir, 'k.pub'));
    expect(both.error).toMatchObject({ code: 'USAGE' });
  });

  it('refuses a predicate that is not the declared type, and an unknown type', async () => {
    const r = await drydock('attest-blob', join(dir, 'artifact.tar'), '--predicate', join(dir, 'bom.json'), '--type', 'spdxjson', '--key', join(dir, 'k.key'));
    expect(r.error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/does not match --type spdxjson/) });
    const u = await drydock('attest-blob', join(dir, 'artifact.tar'), '--predicate', join(dir, 'bom.json'), '--type', 'sbom', '--key', join(dir, 'k.key'));
    expect(u.error).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/unknown predicate type/) });
  });

  it('writes the envelope to stdout without --output-signature, with cosign\'s custom wrapping by default', async () => {
    const r = await drydock('attest-blob', join(dir, 'artifact.tar'), '--predicate', join(dir, 'policy.yaml'), '--key', join(dir, 'k.key'));
    expect(r.error).toBeUndefined();
    const st = JSON.parse(Buffer.from((JSON.parse(r.stdout) as { payload: string }).payload, 'base64').toString()) as { predicateType: string; predicate: { Data: string } };
    expect(st.predicateType).toBe('https://cosign.sigstore.dev/attestation/v1');
    expect(st.predicate.Data).toContain('trusted builder');
  });

  it('verifies cosign\'s own envelope, and not a tampered copy', async () => {
    const ok = await drydock('verify-blob-attestation', join(INTEROP, 'blob'), '--signature', join(INTEROP, 'blobSLSAProvenanceSignature.dsse.json'), '--key', join(INTEROP, 'cosign.pub'), '--type', 'slsaprovenance');
    expect(ok.error).toBeUndefined();
    const env = JSON.parse(readFileSync(join(INTEROP, 'blobSLSAProvenanceSignature.dsse.json'), 'utf8')) as { payload: string };
    const text = Buffer.from(env.payload, 'base64').toString().replace('"buildType":"x"', '"buildType":"y"');
    const tampered = join(dir, 'tampered.dsse.json');
    writeFileSync(tampered, JSON.stringify({ ...env, payload: Buffer.from(text).toString('base64') }));
    const bad = await drydock('verify-blob-attestation', join(INTEROP, 'blob'), '--signature', tampered, '--key', join(INTEROP, 'cosign.pub'));
    expect(bad.error).toMatchObject({ code: 'VERIFICATION_FAILED', details: { reason: 'signature-invalid' } });
  });
});

describe('keyless attest-blob → verify-blob-attestation (local Fulcio, Rekor, TSA)', () => {
  let h: SigstoreHarness;
  const ci = { sub: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main', iss: 'https://token.actions.githubusercontent.com' };
  beforeAll(async () => {
    h = await startSigstore();
    writeFileSync(join(dir, 'root.json'), JSON.stringify(h.trustedRoot));
  });
  afterAll(async () => h?.close());

  it('attests with a Fulcio certificate, logs an intoto entry, and verifies offline with the identity policy', async () => {
    const bundle = join(dir, 'keyless.sigstore.json');
    const env = join(dir, 'keyless.dsse.json');
    const a = await drydock('attest-blob', join(dir, 'artifact.tar'), '--predicate', join(dir, 'slsa.json'), '--type', 'slsaprovenance', '--keyless',
      '--identity-token', h.token(ci), '--fulcio-url', h.fulcioUrl, '--rekor-url', h.rekorUrl, '--tsa-url', h.tsaUrl, '--bundle', bundle, '--output-signature', env);
    expect(a.error).toBeUndefined();
    expect(h.requests).toContain('POST /api/v2/signingCert');
    expect(h.requests).toContain('POST /api/v1/log/entries');
    const b = JSON.parse(readFileSync(bundle, 'utf8')) as { mediaType: string; verificationMaterial: { certificate?: unknown; tlogEntries: { kindVersion: { kind: string } }[] }; dsseEnvelope: unknown };
    expect(b.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(b.verificationMaterial.certificate).toBeDefined();
    expect(b.verificationMaterial.tlogEntries.map((e) => e.kindVersion.kind)).toEqual(['intoto']);
    expect(JSON.parse(readFileSync(env, 'utf8'))).toEqual(b.dsseEnvelope);

    const policy = ['--trusted-root', join(dir, 'root.json'), '--certificate-identity-regexp', '^https://github\\.com/acme/', '--certificate-oidc-issuer', ci.iss];
    const ok = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--bundle', bundle, ...policy, '--type', 'slsaprovenance', '--policy', join(dir, 'policy.yaml'), '--format', 'json');
    expect(ok.error).toBeUndefined();
    const j = JSON.parse(ok.stdout) as { verified: boolean; evidence: string[]; identity: { subject: string; issuer: string }; statement: { predicate: unknown } };
    expect(j.verified).toBe(true);
    expect(j.evidence).toEqual(expect.arrayContaining(['signature', 'certificate-chain', 'tlog-inclusion', 'identity', 'policy']));
    expect(j.identity).toMatchObject({ subject: ci.sub, issuer: ci.iss });
    expect(j.statement.predicate).toEqual(slsa);

    // each failure with its reason: another identity, another file, another type, no trusted root for this CA
    const other = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--bundle', bundle, '--trusted-root', join(dir, 'root.json'), '--certificate-identity', 'someone@else', '--certificate-oidc-issuer', ci.iss);
    expect(other.error).toMatchObject({ code: 'VERIFICATION_FAILED', details: { reason: 'identity-mismatch' } });
    const otherFile = await drydock('verify-blob-attestation', join(dir, 'slsa.json'), '--bundle', bundle, ...policy);
    expect(otherFile.error).toMatchObject({ code: 'VERIFICATION_FAILED', details: { reason: 'digest-mismatch' } });
    const wrongType = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--bundle', bundle, ...policy, '--type', 'vuln');
    expect(wrongType.error).toMatchObject({ code: 'VERIFICATION_FAILED' });
    const publicGood = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--bundle', bundle, '--certificate-identity-regexp', '.', '--certificate-oidc-issuer-regexp', '.');
    expect(publicGood.error).toMatchObject({ code: 'VERIFICATION_FAILED' });
    // a payload byte changed in the bundle
    const tampered = structuredClone(b) as { dsseEnvelope: { payload: string } };
    const st = Buffer.from(tampered.dsseEnvelope.payload, 'base64').toString().replace('ci.example', 'ci.evil');
    tampered.dsseEnvelope.payload = Buffer.from(st).toString('base64');
    writeFileSync(join(dir, 'tampered.sigstore.json'), JSON.stringify(tampered));
    const bad = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--bundle', join(dir, 'tampered.sigstore.json'), ...policy);
    expect(bad.error).toMatchObject({ code: 'VERIFICATION_FAILED' });
  });

  it('refuses --keyless without --bundle, --key with --keyless, and keyless verification of a bare envelope', async () => {
    const noBundle = await drydock('attest-blob', join(dir, 'artifact.tar'), '--predicate', join(dir, 'slsa.json'), '--keyless', '--identity-token', h.token(ci), '--fulcio-url', h.fulcioUrl, '--rekor-url', h.rekorUrl);
    expect(noBundle.error).toMatchObject({ code: 'USAGE' });
    const both = await drydock('attest-blob', join(dir, 'artifact.tar'), '--predicate', join(dir, 'slsa.json'), '--keyless', '--key', join(dir, 'k.key'), '--bundle', join(dir, 'x.json'));
    expect(both.error).toMatchObject({ code: 'USAGE' });
    const bare = await drydock('verify-blob-attestation', join(dir, 'artifact.tar'), '--signature', join(dir, 'keyless.dsse.json'), '--certificate-identity', 'x', '--certificate-oidc-issuer', 'y');
    expect(bare.error).toMatchObject({ code: 'USAGE' });
  });
});
