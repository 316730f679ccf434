import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySigner } from '../sign/keys/index.js';
import { decodeBase64, pae, parseEnvelope, signEnvelope, signPayload, verifyEnvelope, type Envelope } from './dsse.js';
import { makeStatement } from './statement.js';

const TESTDATA = join(import.meta.dirname, 'testdata');

/** a P-256 public key from the decimal coordinates protocol.md prints */
function p256FromDecimal(x: string, y: string, d?: string): KeyObject {
  const b64u = (n: string) => Buffer.from(BigInt(n).toString(16).padStart(64, '0'), 'hex').toString('base64url');
  const jwk = { kty: 'EC', crv: 'P-256', x: b64u(x), y: b64u(y), ...(d ? { d: b64u(d) } : {}) };
  return d ? createPrivateKey({ key: jwk, format: 'jwk' }) : createPublicKey({ key: jwk, format: 'jwk' });
}

// DSSE protocol.md, "Test Vectors": ECDSA P-256 / SHA-256, deterministic RFC 6979, raw r||s signature
const SPEC = {
  x: '46950820868899156662930047687818585632848591499744589407958293238635476079160',
  y: '5640078356564379163099075877009565129882514886557779369047442380624545832820',
  d: '97358161215184420915383655311931858321456579547487070936769975997791359926199',
  envelope: {
    payload: 'aGVsbG8gd29ybGQ=',
    payloadType: 'http://example.com/HelloWorld',
    signatures: [{ sig: 'A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==' }],
  } as Envelope,
};

describe('PAE', () => {
  it('matches the protocol example byte for byte', () => {
    expect(pae('http://example.com/HelloWorld', 'hello world').toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });
  it('counts bytes, not characters, and keeps an empty body', () => {
    expect(pae('application/vnd.exämple+json', '').toString('hex')).toBe(Buffer.from('DSSEv1 29 application/vnd.exämple+json 0 ').toString('hex'));
  });
});

describe('base64', () => {
  it('accepts both alphabets and refuses stray characters', () => {
    expect(decodeBase64('-_-_Pj8=')).toEqual(Buffer.from([0xfb, 0xff, 0xbf, 0x3e, 0x3f]));
    expect(decodeBase64('+/+/Pj8=')).toEqual(Buffer.from([0xfb, 0xff, 0xbf, 0x3e, 0x3f]));
    expect(decodeBase64('aGVsbG8gd29ybGQ')).toEqual(Buffer.from('hello world'));
    expect(decodeBase64('aGVs*bG8=')).toBeUndefined();
    expect(decodeBase64('aGVsb')).toBeUndefined();
  });
});

describe('the DSSE protocol ECDSA P-256 vector (P1363 signature)', () => {
  const key = p256FromDecimal(SPEC.x, SPEC.y);
  const opts = { payloadTypes: [SPEC.envelope.payloadType], statement: false } as const;

  it('verifies', () => {
    const r = verifyEnvelope(SPEC.envelope, [key], opts);
    expect(r.reason).toBeUndefined();
    expect(r.verified).toBe(true);
    expect(r.payload?.toString()).toBe('hello world');
  });

  it('fails once the payload or the signature changes, or with another key', () => {
    const otherPayload = { ...SPEC.envelope, payload: Buffer.from('hello World').toString('base64') };
    expect(verifyEnvelope(otherPayload, [key], opts).reason).toBe('signature-invalid');
    const sig = Buffer.from(SPEC.envelope.signatures[0]!.sig, 'base64');
    sig[10]! ^= 1;
    expect(verifyEnvelope({ ...SPEC.envelope, signatures: [{ sig: sig.toString('base64') }] }, [key], opts).reason).toBe('signature-invalid');
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(verifyEnvelope(SPEC.envelope, [other], opts).verified).toBe(false);
  });

  it('the same key signs in DER through a Signer, and that verifies too', async () => {
    const signer = memorySigner(p256FromDecimal(SPEC.x, SPEC.y, SPEC.d), 'spec key');
    const env = await signPayload(SPEC.envelope.payloadType, Buffer.from('hello world'), signer);
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    expect(sig[0]).toBe(0x30); // DER SEQUENCE, as cosign writes
    expect(env.signatures[0]!.keyid).toBe('');
    expect(verifyEnvelope(env, [key], opts).verified).toBe(true);
  });
});

describe('the DSSE repository test vectors (Ed25519, thresholds, alphabets)', () => {
  const doc = JSON.parse(readFileSync(join(TESTDATA, 'dsse-vectors.json'), 'utf8')) as {
    keys: Record<string, { seed: string }>;
    vectors: { id: string; envelope: Envelope; trustedKeys: string[]; threshold: number; supportedPayloadTypes: string[]; pae: string; expect: 'accept' | 'reject' }[];
  };
  // PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410)
  const ed = (seed: string) => createPublicKey(createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]), format: 'der', type: 'pkcs8' }));
  const keys = Object.fromEntries(Object.entries(doc.keys).map(([k, v]) => [k, ed(v.seed)]));

  it('has vectors of both verdicts', () => {
    expect(doc.vectors.filter((v) => v.expect === 'accept').length).toBeGreaterThan(2);
    expect(doc.vectors.filter((v) => v.expect === 'reject').length).toBeGreaterThan(2);
  });

  for (const v of doc.vectors) {
    it(`${v.id}: ${v.expect}`, () => {
      // `pae` is what the signature covers: the envelope's own PAE for every accepted vector
      if (v.expect === 'accept') expect(pae(v.envelope.payloadType, decodeBase64(v.envelope.payload)!).toString('hex')).toBe(v.pae);
      const r = verifyEnvelope(v.envelope, v.trustedKeys.map((k) => keys[k]!), { payloadTypes: v.supportedPayloadTypes, threshold: v.threshold, statement: false });
      expect(r.verified ? 'accept' : 'reject').toBe(v.expect);
    });
  }
});

describe('statements in envelopes', () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = memorySigner(pair.privateKey, 'test key');
  const digest = `sha256:${'ab'.repeat(32)}`;
  const bom = { bomFormat: 'CycloneDX', specVersion: '1.6', components: [] };

  it('round-trips and checks type, subject and predicate', async () => {
    const env = await signEnvelope(makeStatement({ name: 'x', digest }, 'https://cyclonedx.org/bom', bom), signer);
    const ok = verifyEnvelope(env, [pair.publicKey], { predicateType: 'cyclonedx', subject: digest });
    expect(ok.verified).toBe(true);
    expect(ok.evidence).toEqual(['signature', 'statement', 'predicate-type', 'subject', 'predicate']);
    expect(ok.statement?.predicateType).toBe('https://cyclonedx.org/bom');
    expect(verifyEnvelope(env, [pair.publicKey], { predicateType: 'spdxjson' }).reason).toBe('predicate-type-mismatch');
    expect(verifyEnvelope(env, [pair.publicKey], { subject: `sha256:${'cd'.repeat(32)}` }).reason).toBe('digest-mismatch');
  });

  it('rejects a signed payload that is not a statement, or a predicate that is not its type', async () => {
    const notJson = await signPayload('application/vnd.in-toto+json', Buffer.from('not json'), signer);
    expect(verifyEnvelope(notJson, [pair.publicKey]).reason).toBe('payload-malformed');
    const noSubject = await signPayload('application/vnd.in-toto+json', Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [], predicateType: 'https://x.example/y' })), signer);
    const r = verifyEnvelope(noSubject, [pair.publicKey]);
    expect(r.reason).toBe('statement-invalid');
    expect(r.statement).toBeUndefined();
    const lying = await signEnvelope(makeStatement({ digest }, 'https://cyclonedx.org/bom', { spdxVersion: 'SPDX-2.3' }), signer);
    expect(verifyEnvelope(lying, [pair.publicKey]).reason).toBe('predicate-invalid');
  });

  it('rejects malformed envelopes and unsupported payload types with their own reasons', async () => {
    expect(verifyEnvelope({ payload: 'e30=' }, [pair.publicKey]).reason).toBe('bundle-malformed');
    expect(verifyEnvelope({ payloadType: 'application/vnd.in-toto+json', payload: 'e30=', signatures: [] }, [pair.publicKey]).reason).toBe('bundle-malformed');
    const env = await signEnvelope(makeStatement({ digest }, 'https://example.com/p', {}), signer);
    expect(verifyEnvelope({ ...env, payloadType: 'application/json' }, [pair.publicKey]).reason).toBe('payload-type-unsupported');
    expect(verifyEnvelope({ ...env, payload: `${env.payload.slice(0, 5)}!${env.payload.slice(6)}` }, [pair.publicKey]).reason).toBe('bundle-malformed');
    expect(() => parseEnvelope('{"payloadType":1}', 'x.json')).toThrow(/x\.json: the envelope has no payloadType/);
  });

  it('accepts a P1363 form of the same ECDSA signature', async () => {
    const env = await signEnvelope(makeStatement({ digest }, 'https://example.com/p', {}), signer);
    const der = Buffer.from(env.signatures[0]!.sig, 'base64');
    const p1363 = cryptoSign('sha256', pae(env.payloadType, Buffer.from(env.payload, 'base64')), { key: pair.privateKey, dsaEncoding: 'ieee-p1363' });
    expect(der.length).not.toBe(64);
    expect(p1363.length).toBe(64);
    expect(verifyEnvelope({ ...env, signatures: [{ sig: p1363.toString('base64') }] }, [pair.publicKey]).verified).toBe(true);
  });
});
