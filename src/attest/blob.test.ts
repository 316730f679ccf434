import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySigner, publicKeyFromPem } from '../sign/keys/index.js';
import { attestBlob, verifyBlobAttestation } from './blob.js';
import type { Envelope } from './dsse.js';
import { compilePolicy } from './policy.js';
import { STATEMENT_V01 } from './statement.js';

const INTEROP = '/work/shared/interop/cosign';
const blob = readFileSync(join(INTEROP, 'blob'));
const envelope = JSON.parse(readFileSync(join(INTEROP, 'blobSLSAProvenanceSignature.dsse.json'), 'utf8')) as Envelope;
const noPassword = async () => '';
const cosignPub = await publicKeyFromPem(readFileSync(join(INTEROP, 'cosign.pub'), 'utf8'), 'cosign.pub', noPassword);

function withPayload(edit: (text: string) => string): Envelope {
  const text = Buffer.from(envelope.payload, 'base64').toString('utf8');
  return { ...envelope, payload: Buffer.from(edit(text), 'utf8').toString('base64') };
}

describe('cosign attest-blob envelope (../shared/interop/cosign)', () => {
  it('verifies against cosign.pub and the blob, as an SLSA provenance v0.2 statement v0.1', () => {
    const r = verifyBlobAttestation(blob, envelope, [cosignPub], { type: 'slsaprovenance' });
    expect(r.reason).toBeUndefined();
    expect(r.verified).toBe(true);
    expect(r.statement?._type).toBe(STATEMENT_V01);
    expect(r.statement?.predicateType).toBe('https://slsa.dev/provenance/v0.2');
    expect(r.blobDigest).toBe('sha256:658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24');
    expect(r.evidence).toEqual(['signature', 'statement', 'predicate-type', 'subject', 'predicate']);
    // --type as a URI, and no --type at all
    expect(verifyBlobAttestation(blob, envelope, [cosignPub], { type: 'https://slsa.dev/provenance/v0.2' }).verified).toBe(true);
    expect(verifyBlobAttestation(blob, envelope, [cosignPub]).verified).toBe(true);
  });

  // each tampered copy fails, and says why
  const cases: [string, () => ReturnType<typeof verifyBlobAttestation>, string][] = [
    ['a payload byte (builder id)', () => verifyBlobAttestation(blob, withPayload((t) => t.replace('"id":"2"', '"id":"3"')), [cosignPub]), 'signature-invalid'],
    ['the subject digest inside the payload', () => verifyBlobAttestation(blob, withPayload((t) => t.replace('658781', '658782')), [cosignPub]), 'signature-invalid'],
    [
      'a signature byte',
      () => {
        const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
        sig[sig.length - 5]! ^= 0x01;
        return verifyBlobAttestation(blob, { ...envelope, signatures: [{ keyid: '', sig: sig.toString('base64') }] }, [cosignPub]);
      },
      'signature-invalid',
    ],
    ['the payload type', () => verifyBlobAttestation(blob, { ...envelope, payloadType: 'application/vnd.in-toto+jsom' }, [cosignPub]), 'payload-type-unsupported'],
    ['the file (another subject)', () => verifyBlobAttestation(Buffer.concat([blob, Buffer.from('\n')]), envelope, [cosignPub]), 'digest-mismatch'],
    ['the key (a key that did not sign)', () => verifyBlobAttestation(blob, envelope, [generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey]), 'signature-invalid'],
    ['--type cyclonedx', () => verifyBlobAttestation(blob, envelope, [cosignPub], { type: 'cyclonedx' }), 'predicate-type-mismatch'],
    ['--type slsaprovenance1', () => verifyBlobAttestation(blob, envelope, [cosignPub], { type: 'slsaprovenance1' }), 'predicate-type-mismatch'],
    ['the envelope JSON shape', () => verifyBlobAttestation(blob, { ...envelope, signatures: 'x' }, [cosignPub]), 'bundle-malformed'],
  ];
  for (const [what, run, reason] of cases) {
    it(`fails when ${what} changes: ${reason}`, () => {
      const r = run();
      expect(r.verified).toBe(false);
      expect(r.reason).toBe(reason);
      expect(r.detail).toBeTruthy();
      // nothing unverified is handed out as a statement
      if (r.reason === 'signature-invalid' || r.reason === 'payload-type-unsupported') expect(r.statement).toBeUndefined();
    });
  }

  it('a policy over the predicate passes or fails the verification', () => {
    const ok = verifyBlobAttestation(blob, envelope, [cosignPub], { policy: compilePolicy('predicate.builder.id == "2" && predicate.buildType == "x"') });
    expect(ok.verified).toBe(true);
    expect(ok.evidence).toContain('policy');
    const bad = verifyBlobAttestation(blob, envelope, [cosignPub], { policy: compilePolicy('- name: trusted builder\n  expr: predicate.builder.id == "https://ci.example/builder"\n') });
    expect(bad.verified).toBe(false);
    expect(bad.reason).toBe('policy-failed');
    expect(bad.detail).toContain('trusted builder');
  });
});

describe('attestBlob', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = memorySigner(pair.privateKey, 'test key');
  const slsa = { builder: { id: 'https://ci.example/b' }, buildType: 'https://example.com/t' };

  it('writes a v1 statement about the file that verifies, and the wrong file or key fails', async () => {
    const { statement, envelope: env } = await attestBlob({ blob, name: 'blob', predicateType: 'https://slsa.dev/provenance/v0.2', predicate: slsa, signer });
    expect(statement).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'blob', digest: { sha256: '658781cd4ed9bca60dacd09f7bb914bb51502e8b5d619f57f39a1d652596cc24' } }],
      predicateType: 'https://slsa.dev/provenance/v0.2',
      predicate: slsa,
    });
    expect(env.payloadType).toBe('application/vnd.in-toto+json');
    expect(verifyBlobAttestation(blob, env, [pair.publicKey], { type: 'slsaprovenance' }).verified).toBe(true);
    expect(verifyBlobAttestation(Buffer.from('other'), env, [pair.publicKey]).reason).toBe('digest-mismatch');
    expect(verifyBlobAttestation(blob, env, [cosignPub]).reason).toBe('signature-invalid');
  });
});
