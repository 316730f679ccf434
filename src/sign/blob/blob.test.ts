import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Signer } from '../types.js';
import { publicGoodTrustedRoot } from '../sigstore/trusted-root.js';
import { decodeSignatureFile, signBlob, verifyBlob } from './index.js';

function keySigner() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer: Signer = {
    algorithm: 'ecdsa-p256',
    publicKeyPem: () => publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    sign: async (d) => cryptoSign('sha256', d, { key: privateKey, dsaEncoding: 'der' }),
    close: async () => {},
  };
  return { signer, publicKey };
}

describe('sign-blob / verify-blob library', () => {
  const trustedRoot = publicGoodTrustedRoot();
  const data = Buffer.from('payload bytes');

  it('signs without any service when no bundle or log entry is asked for', async () => {
    const { signer, publicKey } = keySigner();
    const r = await signBlob(data, { signer, rekorUrl: 'http://127.0.0.1:1' });
    expect(r.bundle).toBeUndefined();
    expect(r.evidence).toEqual(['signature']);
    // base64 text and raw DER both verify
    expect(verifyBlob(data, { signature: Buffer.from(r.signature), publicKey, trustedRoot })).toMatchObject({ verified: true, evidence: ['signature'] });
    expect(verifyBlob(data, { signature: Buffer.from(r.signature, 'base64'), publicKey, trustedRoot }).verified).toBe(true);
    expect(verifyBlob(Buffer.from('other'), { signature: Buffer.from(r.signature), publicKey, trustedRoot })).toMatchObject({ verified: false, reason: 'signature-invalid' });
    expect(verifyBlob(data, { signature: Buffer.from(r.signature), publicKey: keySigner().publicKey, trustedRoot }).reason).toBe('signature-invalid');
    expect(verifyBlob(data, { signature: Buffer.from(r.signature), publicKey, trustedRoot, requireTlog: true }).reason).toBe('tlog-missing');
  });

  it('a key bundle verifies with the key and not keylessly', async () => {
    const { signer, publicKey } = keySigner();
    const r = await signBlob(data, { signer, bundle: true });
    expect(r.bundle?.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(verifyBlob(data, { bundle: r.bundle, publicKey, trustedRoot }).verified).toBe(true);
    expect(verifyBlob(data, { bundle: r.bundle, policy: { subjectRegexp: '.', issuerRegexp: '.' }, trustedRoot })).toMatchObject({ verified: false, reason: 'bundle-malformed' });
  });

  it('refuses contradictory inputs', async () => {
    const { signer, publicKey } = keySigner();
    await expect(signBlob(data, {})).rejects.toMatchObject({ code: 'USAGE' });
    await expect(signBlob(data, { signer, keyless: {} })).rejects.toMatchObject({ code: 'USAGE' });
    expect(() => verifyBlob(data, { publicKey, trustedRoot })).toThrow(/exactly one of --signature and --bundle/);
    expect(() => verifyBlob(data, { signature: data, trustedRoot })).toThrow(/--key/);
    expect(() => verifyBlob(data, { bundle: {}, trustedRoot, policy: { subject: 'x' } })).toThrow(/oidc-issuer/);
  });

  it('reads signature files in base64 or DER', () => {
    const der = Buffer.from([0x30, 0x45, 0x02, 0x20, 0xff, 0x00]);
    expect(decodeSignatureFile(Buffer.from(`${der.toString('base64')}\n`)).equals(der)).toBe(true);
    expect(decodeSignatureFile(der).equals(der)).toBe(true);
  });
});
