/**
 * cosign's encrypted private key: a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign wrote
 * `ENCRYPTED COSIGN PRIVATE KEY`) whose body is JSON
 *   {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":B64},
 *    "cipher":{"name":"nacl/secretbox","nonce":B64},"ciphertext":B64}
 * The secretbox key is scrypt(password, salt, 32 bytes); the plaintext is the PKCS#8 DER private key.
 * (Format of go-securesystemslib's `encrypted` package, which cosign uses.)
 */
import { randomBytes, scrypt as scryptCb } from 'node:crypto';
import { DrydockError } from '../../core/errors.js';
import { toPem, type PemBlock } from './pem.js';

export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY';
export const ENCRYPTED_LABELS: readonly string[] = [SIGSTORE_PRIVATE_KEY_LABEL, COSIGN_PRIVATE_KEY_LABEL];

/** cosign's parameters: N=2^15, r=8, p=1, a 32-byte salt, a 24-byte nonce. */
const DEFAULT_PARAMS = { N: 32768, r: 8, p: 1 } as const;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const KEY_BYTES = 32;
/** refuse KDF parameters that would take more than this much memory (a hostile file) */
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;

interface Envelope {
  kdf: { name: 'scrypt'; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: 'nacl/secretbox'; nonce: string };
  ciphertext: string;
}

function scrypt(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  // scrypt needs 128*N*r bytes; Node's default maxmem (32 MiB) is too small for cosign's N=32768, r=8
  const maxmem = 128 * N * r * 2 + 1024 * 1024;
  return new Promise((resolve, reject) =>
    scryptCb(Buffer.from(password, 'utf8'), salt, KEY_BYTES, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function b64field(v: unknown, name: string, what: string, bytes?: number): Buffer {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) {
    throw new DrydockError('KEY_INVALID', `${what}: encrypted key field ${name} is not base64`);
  }
  const buf = Buffer.from(v, 'base64');
  if (bytes !== undefined && buf.length !== bytes) {
    throw new DrydockError('KEY_INVALID', `${what}: encrypted key field ${name} has ${buf.length} bytes, expected ${bytes}`);
  }
  return buf;
}

function parseEnvelope(body: Buffer, what: string): Envelope {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new DrydockError('KEY_INVALID', `${what}: the encrypted key body is not JSON`, { cause: e });
  }
  const env = doc as Partial<Envelope> | null;
  const kdf = env?.kdf;
  const cipher = env?.cipher;
  if (!kdf || kdf.name !== 'scrypt' || typeof kdf.params !== 'object' || kdf.params === null) {
    throw new DrydockError('KEY_INVALID', `${what}: unsupported key derivation ${JSON.stringify(kdf?.name)} (cosign uses scrypt)`);
  }
  if (!cipher || cipher.name !== 'nacl/secretbox') {
    throw new DrydockError('KEY_INVALID', `${what}: unsupported cipher ${JSON.stringify(cipher?.name)} (cosign uses nacl/secretbox)`);
  }
  const { N, r, p } = kdf.params;
  const ok = (x: unknown): x is number => Number.isInteger(x) && (x as number) > 0;
  if (!ok(N) || !ok(r) || !ok(p) || (N & (N - 1)) !== 0 || N < 2 || 128 * N * r > MAX_SCRYPT_MEMORY || p > 16) {
    throw new DrydockError('KEY_INVALID', `${what}: scrypt parameters N=${String(N)} r=${String(r)} p=${String(p)} are invalid or too costly`);
  }
  return env as Envelope;
}

/** NaCl secretbox, loaded only where a private key is encrypted or decrypted (not by verify) */
function secretbox(): Promise<typeof import('@noble/ciphers/salsa.js')> {
  return import('@noble/ciphers/salsa.js');
}

/** Decrypts a cosign/sigstore encrypted key block to its PKCS#8 DER. Wrong password → KEY_PASSWORD. */
export async function decryptPrivateKey(block: PemBlock, password: string, what: string): Promise<Buffer> {
  if (!ENCRYPTED_LABELS.includes(block.label)) {
    throw new DrydockError('KEY_INVALID', `${what}: PEM block ${block.label} is not a cosign encrypted private key`);
  }
  const env = parseEnvelope(block.der, what);
  const salt = b64field(env.kdf.salt, 'kdf.salt', what);
  const nonce = b64field(env.cipher.nonce, 'cipher.nonce', what, NONCE_BYTES);
  const ciphertext = b64field(env.ciphertext, 'ciphertext', what);
  if (ciphertext.length < 16) throw new DrydockError('KEY_INVALID', `${what}: encrypted key ciphertext is too short`);
  const { xsalsa20poly1305 } = await secretbox();
  const key = await scrypt(password, salt, env.kdf.params.N, env.kdf.params.r, env.kdf.params.p);
  try {
    return Buffer.from(xsalsa20poly1305(key, nonce).decrypt(ciphertext));
  } catch (e) {
    // the Poly1305 tag did not match: the password is wrong (or the file was altered)
    throw new DrydockError('KEY_PASSWORD', `incorrect password for encrypted private key ${what}`, { cause: e });
  } finally {
    key.fill(0);
  }
}

/** Encrypts PKCS#8 DER into cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` PEM (fresh salt and nonce). */
export async function encryptPrivateKey(pkcs8: Buffer, password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const { N, r, p } = DEFAULT_PARAMS;
  const { xsalsa20poly1305 } = await secretbox();
  const key = await scrypt(password, salt, N, r, p);
  let ciphertext: Uint8Array;
  try {
    ciphertext = xsalsa20poly1305(key, nonce).encrypt(pkcs8);
  } finally {
    key.fill(0);
  }
  const env: Envelope = {
    kdf: { name: 'scrypt', params: { N, r, p }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  };
  return toPem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from(JSON.stringify(env)));
}
