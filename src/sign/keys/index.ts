/**
 * Keys for signing and verification: cosign's encrypted key format, key references (files,
 * env://VAR, pkcs11: URIs; cloud KMS refused until implemented), passwords, and the verification
 * primitive shared by signatures and attestations.
 */
import type { KeyObject } from 'node:crypto';
import type { KeyRefOptions, Signer } from '../types.js';
import { providerFor } from './providers.js';

export { generateKeyPair, importKeyPair, type ImportOptions, type KeyPairPem } from './keypair.js';
export { decryptPrivateKey, encryptPrivateKey, SIGSTORE_PRIVATE_KEY_LABEL, COSIGN_PRIVATE_KEY_LABEL } from './encrypted.js';
export { defaultPasswordSource, passwordFromEnv, promptSecret, PASSWORD_ENV_VARS, type PasswordSourceOptions } from './password.js';
export { privateKeyFromPem, publicKeyFromPem } from './pem-keys.js';
export { parsePem, parsePemBlocks, toPem, type PemBlock } from './pem.js';
export { parsePkcs11Uri, redactPkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';
export { KEY_PROVIDERS, UNSUPPORTED_SCHEMES, providerFor, type KeyProvider } from './providers.js';
export { keyAlgorithm, memorySigner, p1363ToDer, spkiPem, verifyWithKey } from './signer.js';

/** A signer for a key reference: an encrypted cosign/sigstore PEM, a plain private key PEM, or a pkcs11: key object. */
export async function loadSigner(ref: string, opts: KeyRefOptions = {}): Promise<Signer> {
  return providerFor(ref).loadSigner(ref, opts);
}

/** The public key a reference names: a public key PEM, a certificate's key, a private key's public half, a token's public key. */
export async function loadPublicKey(ref: string, opts: KeyRefOptions = {}): Promise<KeyObject> {
  return providerFor(ref).loadPublicKey(ref, opts);
}
