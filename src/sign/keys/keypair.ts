/** New key pairs and imported ones, written in cosign's encrypted format. */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { DrydockError } from '../../core/errors.js';
import { encryptPrivateKey } from './encrypted.js';
import { isEncryptedCosignKey, privateKeyFromPem } from './pem-keys.js';
import { checkKeyStrength, keyAlgorithm, spkiPem } from './signer.js';

export interface KeyPairPem {
  /** `ENCRYPTED SIGSTORE PRIVATE KEY` PEM */
  privateKeyPem: string;
  /** SPKI `PUBLIC KEY` PEM */
  publicKeyPem: string;
}

async function encryptKeyObject(key: KeyObject, password: string): Promise<KeyPairPem> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  try {
    return { privateKeyPem: await encryptPrivateKey(der, password), publicKeyPem: spkiPem(createPublicKey(key)) };
  } finally {
    der.fill(0);
  }
}

/** A new ECDSA P-256 key pair, as `cosign generate-key-pair` makes. */
export async function generateKeyPair(password: string): Promise<KeyPairPem> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return encryptKeyObject(privateKey, password);
}

export interface ImportOptions {
  /** names the input in error messages */
  what?: string;
  /** password of an input in encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`) */
  inputPassword?: () => Promise<string>;
}

/**
 * Re-encrypts a PEM private key (PKCS#8, SEC1 EC, PKCS#1 RSA, Ed25519 PKCS#8) into cosign's format.
 * RSA keys must have 2048 to 4096 bits; EC keys P-256, P-384 or P-521. `password` protects the output.
 */
export async function importKeyPair(pem: string, password: string | (() => Promise<string>), opts: ImportOptions = {}): Promise<KeyPairPem> {
  const what = opts.what ?? 'imported key';
  if (isEncryptedCosignKey(pem)) {
    throw new DrydockError('KEY_INVALID', `${what} is already a cosign encrypted key; use it as it is`);
  }
  const noPassword = async (): Promise<string> => {
    throw new DrydockError('KEY_PASSWORD', `${what} is encrypted and no password for it was given`);
  };
  const key = await privateKeyFromPem(pem, what, opts.inputPassword ?? noPassword);
  keyAlgorithm(key, what);
  checkKeyStrength(key, what);
  // a password source is asked only once the input key is known to be good
  return encryptKeyObject(key, typeof password === 'string' ? password : await password());
}
