/**
 * Private and public keys from PEM text: cosign/sigstore encrypted keys, PKCS#8 (plain or
 * encrypted), SEC1 EC, PKCS#1 RSA, SPKI public keys and X.509 certificates.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { DrydockError, isDrydockError } from '../../core/errors.js';
import type { PasswordSource } from '../types.js';
import { ENCRYPTED_LABELS, decryptPrivateKey } from './encrypted.js';
import { parsePemBlocks, type PemBlock } from './pem.js';

const PRIVATE_LABELS = ['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', ...ENCRYPTED_LABELS];
const PUBLIC_LABELS = ['PUBLIC KEY', 'RSA PUBLIC KEY', 'CERTIFICATE'];

function keyBlock(text: string, what: string, labels: readonly string[]): PemBlock {
  const blocks = parsePemBlocks(text, what);
  if (blocks.length === 0) throw new DrydockError('KEY_INVALID', `${what} holds no PEM block`);
  const block = blocks.find((b) => labels.includes(b.label));
  if (!block) {
    throw new DrydockError('KEY_INVALID', `${what} holds no key of a supported kind (found ${blocks.map((b) => b.label).join(', ')})`);
  }
  return block;
}

export function isEncryptedCosignKey(text: string): boolean {
  return ENCRYPTED_LABELS.some((l) => text.includes(`-----BEGIN ${l}-----`));
}

/** Loads a private key; the password source is asked only for encrypted keys. */
export async function privateKeyFromPem(text: string, what: string, password: PasswordSource): Promise<KeyObject> {
  const block = keyBlock(text, what, [...PRIVATE_LABELS, ...PUBLIC_LABELS]);
  if (PUBLIC_LABELS.includes(block.label)) {
    throw new DrydockError('KEY_INVALID', `${what} holds a ${block.label.toLowerCase()}, a private key is needed`);
  }
  if (ENCRYPTED_LABELS.includes(block.label)) {
    const der = await decryptPrivateKey(block, await password(), what);
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch (e) {
      throw new DrydockError('KEY_INVALID', `${what}: the decrypted key is not a PKCS#8 private key`, { cause: e });
    } finally {
      der.fill(0);
    }
  }
  if (block.label === 'ENCRYPTED PRIVATE KEY') {
    const passphrase = await password();
    try {
      return createPrivateKey({ key: block.der, format: 'der', type: 'pkcs8', passphrase });
    } catch (e) {
      // OpenSSL does not tell a wrong password from a corrupt body; both are reported as the password
      throw new DrydockError('KEY_PASSWORD', `cannot decrypt PKCS#8 private key ${what}: wrong password or corrupt key`, { cause: e });
    }
  }
  const type = block.label === 'EC PRIVATE KEY' ? 'sec1' : block.label === 'RSA PRIVATE KEY' ? 'pkcs1' : 'pkcs8';
  try {
    return createPrivateKey({ key: block.der, format: 'der', type });
  } catch (e) {
    throw new DrydockError('KEY_INVALID', `${what}: malformed ${block.label.toLowerCase()}`, { cause: e });
  }
}

/** Loads a public key: SPKI, PKCS#1 RSA, a certificate's key, or the public half of a private key. */
export async function publicKeyFromPem(text: string, what: string, password: PasswordSource): Promise<KeyObject> {
  const block = keyBlock(text, what, [...PUBLIC_LABELS, ...PRIVATE_LABELS]);
  if (PRIVATE_LABELS.includes(block.label)) return createPublicKey(await privateKeyFromPem(text, what, password));
  try {
    if (block.label === 'CERTIFICATE') return new X509Certificate(block.der).publicKey;
    return createPublicKey({ key: block.der, format: 'der', type: block.label === 'RSA PUBLIC KEY' ? 'pkcs1' : 'spki' });
  } catch (e) {
    if (isDrydockError(e)) throw e;
    throw new DrydockError('KEY_INVALID', `${what}: malformed ${block.label.toLowerCase()}`, { cause: e });
  }
}
