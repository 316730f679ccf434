/**
 * Keys on PKCS#11 tokens (hardware security modules, smart cards, SoftHSM2) through pkcs11js.
 * The module is loaded and initialised once per path and finalised when its last signer closes.
 * The PIN comes from pin-value, pin-source (a file), DRYDOCK_PKCS11_PIN / COSIGN_PKCS11_PIN, or a
 * terminal prompt; it never appears in messages.
 */
import { X509Certificate, createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as Pkcs11Types from 'pkcs11js';
import { DrydockError, isDrydockError } from '../../core/errors.js';
import type { KeyAlgorithm, Signer } from '../types.js';
import { promptSecret } from './password.js';
import { parsePkcs11Uri, redactPkcs11Uri, type Pkcs11Uri } from './pkcs11-uri.js';
import { hashOf, keyAlgorithm, p1363ToDer, spkiPem } from './signer.js';

type Lib = typeof Pkcs11Types;
type Module = Pkcs11Types.PKCS11;
type Handle = Buffer;

export const PKCS11_MODULE_ENV = ['DRYDOCK_PKCS11_MODULE', 'COSIGN_PKCS11_MODULE_PATH'] as const;
export const PKCS11_PIN_ENV = ['DRYDOCK_PKCS11_PIN', 'COSIGN_PKCS11_PIN'] as const;
const MODULE_DIRS = ['/usr/lib', '/usr/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib/softhsm', '/usr/local/lib', '/usr/lib/x86_64-linux-gnu/pkcs11'];

// named curves by their DER-encoded OID (CKA_EC_PARAMS)
const CURVE_OIDS: Record<string, { crv: string; size: number }> = {
  '06082a8648ce3d030107': { crv: 'P-256', size: 32 },
  '06052b81040022': { crv: 'P-384', size: 48 },
  '06052b81040023': { crv: 'P-521', size: 66 },
};

let libPromise: Promise<Lib> | undefined;
async function lib(): Promise<Lib> {
  libPromise ??= import('pkcs11js').then(
    (m) => (m as { default?: Lib }).default ?? (m as unknown as Lib),
    (e: unknown) => {
      libPromise = undefined;
      throw new DrydockError('PKCS11_ERROR', 'the pkcs11js native binding cannot be loaded', { cause: e });
    },
  );
  return libPromise;
}

interface LoadedModule {
  mod: Module;
  refs: number;
}
const modules = new Map<string, LoadedModule>();

function fail(uri: string, why: string, cause?: unknown): DrydockError {
  return new DrydockError('PKCS11_ERROR', `pkcs11 key ${redactPkcs11Uri(uri)}: ${why}`, cause === undefined ? {} : { cause: scrub(cause) });
}

/** pkcs11js errors carry the function and the CKR name; keep only that (never arguments such as the PIN). */
function scrub(e: unknown): Error {
  if (e instanceof Error) return new Error(e.message.split('\n')[0] ?? 'pkcs11 error');
  return new Error('pkcs11 error');
}

function ckrCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

function modulePath(u: Pkcs11Uri, uri: string, env: NodeJS.ProcessEnv): string {
  if (u.modulePath) return u.modulePath;
  if (u.moduleName) {
    // RFC 7512: the name without the platform's prefix and suffix (module-name=softhsm2 → libsofthsm2.so)
    const name = u.moduleName;
    const files = /\.so(\.\d+)*$/.test(name) ? [name] : [`lib${name}.so`, `${name}.so`];
    if (name.includes('/')) throw fail(uri, `module-name ${name} must be a name; use module-path for a path`);
    const found = MODULE_DIRS.flatMap((d) => files.map((f) => join(d, f))).find((p) => existsSync(p));
    if (!found) throw fail(uri, `module ${u.moduleName} not found in ${MODULE_DIRS.join(', ')}`);
    return found;
  }
  for (const name of PKCS11_MODULE_ENV) if (env[name]) return env[name] as string;
  throw fail(uri, `no module: add ?module-path=/path/to/module.so or set ${PKCS11_MODULE_ENV.join(' or ')}`);
}

async function acquire(path: string, uri: string): Promise<LoadedModule> {
  const known = modules.get(path);
  if (known) {
    known.refs++;
    return known;
  }
  const L = await lib();
  const mod = new L.PKCS11();
  try {
    mod.load(path);
  } catch (e) {
    throw fail(uri, `cannot load module ${path}`, e);
  }
  try {
    mod.C_Initialize();
  } catch (e) {
    if (ckrCode(e) !== L.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      mod.close();
      throw fail(uri, `cannot initialise module ${path}`, e);
    }
  }
  const entry = { mod, refs: 1 };
  modules.set(path, entry);
  return entry;
}

function release(path: string): void {
  const entry = modules.get(path);
  if (!entry) return;
  if (--entry.refs > 0) return;
  modules.delete(path);
  try {
    entry.mod.C_Finalize();
  } catch {
    // finalising a module that already failed is not worth reporting
  }
  entry.mod.close();
}

const trimmed = (s: string): string => s.replace(/[\s\0]+$/, '');

function slotIdOf(slot: Handle): bigint {
  return slot.length >= 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUIntLE(0, Math.min(slot.length, 6)));
}

function findSlot(mod: Module, u: Pkcs11Uri, uri: string): Handle {
  let slots: Handle[];
  try {
    slots = mod.C_GetSlotList(true);
  } catch (e) {
    throw fail(uri, 'cannot list the slots', e);
  }
  const labels: string[] = [];
  for (const slot of slots) {
    if (u.slotId !== undefined && slotIdOf(slot) !== u.slotId) continue;
    if (u.slotDescription !== undefined || u.slotManufacturer !== undefined) {
      const si = mod.C_GetSlotInfo(slot);
      if (u.slotDescription !== undefined && trimmed(si.slotDescription) !== u.slotDescription) continue;
      if (u.slotManufacturer !== undefined && trimmed(si.manufacturerID) !== u.slotManufacturer) continue;
    }
    const ti = mod.C_GetTokenInfo(slot);
    labels.push(trimmed(ti.label));
    if (u.token !== undefined && trimmed(ti.label) !== u.token) continue;
    if (u.manufacturer !== undefined && trimmed(ti.manufacturerID) !== u.manufacturer) continue;
    if (u.model !== undefined && trimmed(ti.model) !== u.model) continue;
    if (u.serial !== undefined && trimmed(ti.serialNumber) !== u.serial) continue;
    return slot;
  }
  throw fail(uri, labels.length ? `no token matches (tokens present: ${labels.join(', ')})` : 'no token present');
}

function readUlong(b: unknown): number {
  if (!Buffer.isBuffer(b) || b.length === 0) return -1;
  return b.readUIntLE(0, Math.min(b.length, 6));
}

function findObjects(mod: Module, session: Handle, template: Pkcs11Types.Template): Handle[] {
  mod.C_FindObjectsInit(session, template);
  try {
    return mod.C_FindObjects(session, 16);
  } finally {
    mod.C_FindObjectsFinal(session);
  }
}

/** Decodes CKA_EC_POINT: a DER OCTET STRING around the uncompressed point (some tokens give it bare). */
function ecPoint(raw: Buffer, size: number): Buffer {
  const want = 1 + 2 * size;
  if (raw[0] === 0x04 && raw.length >= 2) {
    let len = raw[1] as number;
    let off = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = raw.readUIntBE(2, n);
      off = 2 + n;
    }
    if (off + len === raw.length && len === want && raw[off] === 0x04) return raw.subarray(off);
  }
  if (raw.length === want && raw[0] === 0x04) return raw;
  throw new Error(`unsupported ec point encoding (${raw.length} bytes)`);
}

interface Opened {
  L: Lib;
  mod: Module;
  session: Handle;
  path: string;
  uri: string;
  u: Pkcs11Uri;
}

async function pinOf(u: Pkcs11Uri, uri: string, env: NodeJS.ProcessEnv, prompt: boolean): Promise<string | undefined> {
  if (u.pinValue !== undefined) return u.pinValue;
  if (u.pinSource !== undefined) {
    const file = u.pinSource.startsWith('file:') ? fileURLToPath(u.pinSource) : u.pinSource;
    try {
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw fail(uri, `cannot read pin-source ${file}`, e);
    }
  }
  for (const name of PKCS11_PIN_ENV) if (env[name] !== undefined) return env[name];
  if (!prompt) return undefined;
  if (!process.stdin.isTTY) throw fail(uri, `no PIN: add pin-value= or pin-source= to the URI, or set ${PKCS11_PIN_ENV.join(' or ')}`);
  return promptSecret(`Enter PIN for PKCS#11 token ${u.token ?? ''}: `);
}

async function open(uri: string, env: NodeJS.ProcessEnv, needLogin: boolean): Promise<Opened> {
  const u = parsePkcs11Uri(uri);
  if (u.object === undefined && u.id === undefined) throw fail(uri, 'name the key with object= or id=');
  const path = modulePath(u, uri, env);
  const pin = await pinOf(u, uri, env, needLogin);
  const L = await lib();
  const { mod } = await acquire(path, uri);
  let session: Handle | undefined;
  try {
    const slot = findSlot(mod, u, uri);
    try {
      session = mod.C_OpenSession(slot, L.CKF_SERIAL_SESSION);
    } catch (e) {
      throw fail(uri, 'cannot open a session', e);
    }
    if (pin !== undefined) {
      try {
        mod.C_Login(session, L.CKU_USER, pin);
      } catch (e) {
        const code = ckrCode(e);
        if (code !== L.CKR_USER_ALREADY_LOGGED_IN) {
          const why = code === L.CKR_PIN_INCORRECT ? 'incorrect PIN' : code === L.CKR_PIN_LEN_RANGE ? 'PIN of the wrong length' : 'login failed';
          throw fail(uri, why, e);
        }
      }
    }
    return { L, mod, session, path, uri, u };
  } catch (e) {
    if (session) {
      try {
        mod.C_CloseSession(session);
      } catch {
        // closing is best effort after a failure
      }
    }
    release(path);
    throw isDrydockError(e) ? e : fail(uri, 'token error', e);
  }
}

function closeOpened(o: Opened): void {
  try {
    o.mod.C_CloseSession(o.session);
  } finally {
    release(o.path);
  }
}

function objectTemplate(o: Opened, cls: number): Pkcs11Types.Template {
  const t: Pkcs11Types.Template = [{ type: o.L.CKA_CLASS, value: cls }];
  if (o.u.object !== undefined) t.push({ type: o.L.CKA_LABEL, value: o.u.object });
  if (o.u.id !== undefined) t.push({ type: o.L.CKA_ID, value: o.u.id });
  return t;
}

function one(o: Opened, handles: Handle[], what: string): Handle | undefined {
  if (handles.length > 1) throw fail(o.uri, `${handles.length} ${what} objects match; add id= or object= to pick one`);
  return handles[0];
}

/** The public key of the named object: its public key object, else its certificate, else the RSA private key's modulus. */
function publicKeyOf(o: Opened): KeyObject {
  const { L, mod, session } = o;
  const attrs = (h: Handle, types: number[]): Buffer[] =>
    mod.C_GetAttributeValue(session, h, types.map((type) => ({ type }))).map((a) => a.value as Buffer);
  const pub = one(o, findObjects(mod, session, objectTemplate(o, L.CKO_PUBLIC_KEY)), 'public key');
  if (pub) {
    const [keyType] = attrs(pub, [L.CKA_KEY_TYPE]);
    if (readUlong(keyType) === L.CKK_EC) {
      const [params, point] = attrs(pub, [L.CKA_EC_PARAMS, L.CKA_EC_POINT]);
      const curve = CURVE_OIDS[(params ?? Buffer.alloc(0)).toString('hex')];
      if (!curve) throw fail(o.uri, 'the key is on an unsupported curve (use P-256, P-384 or P-521)');
      const q = ecPoint(point as Buffer, curve.size);
      const b64 = (b: Buffer): string => b.toString('base64url');
      return createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64(q.subarray(1, 1 + curve.size)), y: b64(q.subarray(1 + curve.size)) }, format: 'jwk' });
    }
    if (readUlong(keyType) === L.CKK_RSA) {
      const [n, e] = attrs(pub, [L.CKA_MODULUS, L.CKA_PUBLIC_EXPONENT]);
      return createPublicKey({ key: { kty: 'RSA', n: (n as Buffer).toString('base64url'), e: (e as Buffer).toString('base64url') }, format: 'jwk' });
    }
    throw fail(o.uri, 'the key type is not supported (use EC or RSA keys on tokens)');
  }
  const cert = one(o, findObjects(mod, session, objectTemplate(o, L.CKO_CERTIFICATE)), 'certificate');
  if (cert) {
    const [der] = attrs(cert, [L.CKA_VALUE]);
    return new X509Certificate(der as Buffer).publicKey;
  }
  const priv = one(o, findObjects(mod, session, objectTemplate(o, L.CKO_PRIVATE_KEY)), 'private key');
  if (priv && readUlong(attrs(priv, [L.CKA_KEY_TYPE])[0]) === L.CKK_RSA) {
    const [n, e] = attrs(priv, [L.CKA_MODULUS, L.CKA_PUBLIC_EXPONENT]);
    return createPublicKey({ key: { kty: 'RSA', n: (n as Buffer).toString('base64url'), e: (e as Buffer).toString('base64url') }, format: 'jwk' });
  }
  throw fail(o.uri, 'no public key or certificate object matches, so the public key cannot be read');
}

/** A signer over a private key object on a token. close() ends the session. */
export async function loadPkcs11Signer(uri: string, env: NodeJS.ProcessEnv = process.env): Promise<Signer> {
  const o = await open(uri, env, true);
  try {
    if (o.u.type !== undefined && o.u.type !== 'private') throw fail(uri, `type=${o.u.type} names no private key; signing needs type=private`);
    const { L, mod, session } = o;
    const priv = one(o, findObjects(mod, session, objectTemplate(o, L.CKO_PRIVATE_KEY)), 'private key');
    if (!priv) throw fail(uri, 'no private key object matches (is the PIN right and the label or id correct?)');
    const publicKey = publicKeyOf(o);
    const algorithm: KeyAlgorithm = keyAlgorithm(publicKey, redactPkcs11Uri(uri));
    if (algorithm === 'ed25519') throw fail(uri, 'Ed25519 keys on tokens are not supported yet');
    const pem = spkiPem(publicKey);
    const hash = hashOf(algorithm) as string;
    let closed = false;
    return {
      algorithm,
      publicKeyPem: () => pem,
      sign: async (data: Buffer) => {
        if (closed) throw new DrydockError('INTERNAL', `pkcs11 signer ${redactPkcs11Uri(uri)} used after close`);
        try {
          if (algorithm === 'rsa') {
            mod.C_SignInit(session, { mechanism: L.CKM_SHA256_RSA_PKCS }, priv);
            return Buffer.from(mod.C_Sign(session, data, Buffer.alloc(1024)));
          }
          // CKM_ECDSA signs a digest we compute and returns r||s
          mod.C_SignInit(session, { mechanism: L.CKM_ECDSA }, priv);
          const raw = mod.C_Sign(session, createHash(hash).update(data).digest(), Buffer.alloc(256));
          return p1363ToDer(raw);
        } catch (e) {
          throw fail(uri, 'the token refused to sign', e);
        }
      },
      close: async () => {
        if (closed) return;
        closed = true;
        closeOpened(o);
      },
    };
  } catch (e) {
    closeOpened(o);
    throw isDrydockError(e) ? e : fail(uri, 'token error', e);
  }
}

/** The public key of a token object (public key, certificate, or RSA private key). Logs in only when a PIN is given. */
export async function loadPkcs11PublicKey(uri: string, env: NodeJS.ProcessEnv = process.env): Promise<KeyObject> {
  const o = await open(uri, env, false);
  try {
    return publicKeyOf(o);
  } catch (e) {
    throw isDrydockError(e) ? e : fail(uri, 'token error', e);
  } finally {
    closeOpened(o);
  }
}
