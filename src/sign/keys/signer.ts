/**
 * In-memory signers over Node KeyObjects and the one verification primitive, `verifyWithKey`.
 * ECDSA: SHA-256 (P-256), SHA-384 (P-384), SHA-512 (P-521), DER signatures; RSA: PKCS#1 v1.5 with
 * SHA-256; Ed25519: over the message itself.
 */
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { DrydockError } from '../../core/errors.js';
import type { KeyAlgorithm, Signer } from '../types.js';

const CURVES: Record<string, KeyAlgorithm> = {
  prime256v1: 'ecdsa-p256',
  secp384r1: 'ecdsa-p384',
  secp521r1: 'ecdsa-p521',
};

/** The algorithm of a key; KEY_INVALID for key types Drydock does not sign with. */
export function keyAlgorithm(key: KeyObject, what: string): KeyAlgorithm {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') return 'rsa';
  if (type === 'ed25519') return 'ed25519';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    const alg = CURVES[curve];
    if (alg) return alg;
    throw new DrydockError('KEY_INVALID', `${what}: elliptic curve ${curve || 'unknown'} is not supported (use P-256, P-384 or P-521)`);
  }
  throw new DrydockError('KEY_INVALID', `${what}: key type ${type ?? 'unknown'} is not supported (use ECDSA, RSA or Ed25519)`);
}

/** The digest a signature of this algorithm is made over (null: Ed25519 signs the message). */
export function hashOf(alg: KeyAlgorithm): string | null {
  switch (alg) {
    case 'ecdsa-p256':
    case 'rsa':
      return 'sha256';
    case 'ecdsa-p384':
      return 'sha384';
    case 'ecdsa-p521':
      return 'sha512';
    case 'ed25519':
      return null;
  }
}

/** RSA keys below 2048 bits are refused, above 4096 too (as sigstore's key validation does). */
export function checkKeyStrength(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048 || bits > 4096) throw new DrydockError('KEY_INVALID', `${what}: RSA key of ${bits} bits; use 2048 to 4096 bits`);
  }
}

export function spkiPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** A signer over a private KeyObject held in memory. */
export function memorySigner(privateKey: KeyObject, what: string): Signer {
  if (privateKey.type !== 'private') throw new DrydockError('KEY_INVALID', `${what} is not a private key`);
  const algorithm = keyAlgorithm(privateKey, what);
  const pem = spkiPem(privateKey);
  const hash = hashOf(algorithm);
  return {
    algorithm,
    publicKeyPem: () => pem,
    sign: async (data: Buffer) => cryptoSign(hash, data, privateKey),
    close: async () => {},
  };
}

/**
 * Verifies `signature` over `data` with a public key (or a private key's public half).
 * ECDSA signatures are accepted in DER and in IEEE P1363 (r||s) form; for P-384 and P-521 a signature
 * over SHA-256 is accepted too, since cosign signs with SHA-256 whatever the curve.
 * Returns false for a signature that does not verify or cannot be parsed; never throws for bad input.
 */
export function verifyWithKey(key: KeyObject, data: Buffer | Uint8Array, signature: Buffer | Uint8Array): boolean {
  let alg: KeyAlgorithm;
  try {
    alg = keyAlgorithm(key, 'verification key');
  } catch {
    return false;
  }
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const attempt = (hash: string | null, dsaEncoding?: 'der' | 'ieee-p1363'): boolean => {
    try {
      return cryptoVerify(hash, data, dsaEncoding ? { key: pub, dsaEncoding } : pub, signature);
    } catch {
      return false;
    }
  };
  if (alg === 'rsa' || alg === 'ed25519') return attempt(hashOf(alg));
  const hashes = alg === 'ecdsa-p256' ? ['sha256'] : [hashOf(alg) as string, 'sha256'];
  // a DER signature starts with a SEQUENCE tag; P1363 is exactly twice the coordinate size
  const coord = { 'ecdsa-p256': 32, 'ecdsa-p384': 48, 'ecdsa-p521': 66 }[alg];
  const encodings: ('der' | 'ieee-p1363')[] = signature.length === 2 * coord ? ['ieee-p1363', 'der'] : ['der'];
  return hashes.some((h) => encodings.some((enc) => attempt(h, enc)));
}

/** Turns an IEEE P1363 ECDSA signature (r||s, as PKCS#11 returns it) into DER (X9.62 Ecdsa-Sig-Value). */
export function p1363ToDer(sig: Uint8Array): Buffer {
  if (sig.length === 0 || sig.length % 2 !== 0) throw new DrydockError('INTERNAL', `ecdsa signature of odd length ${sig.length}`);
  const half = sig.length / 2;
  const int = (bytes: Uint8Array): Buffer => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    let v = Buffer.from(bytes.subarray(i));
    if ((v[0] ?? 0) & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02]), derLength(v.length), v]);
  };
  const body = Buffer.concat([int(sig.subarray(0, half)), int(sig.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
