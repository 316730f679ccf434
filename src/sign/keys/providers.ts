/**
 * Key references, one provider per kind, in a plain list (ARCHITECTURE habit 3): `env://VAR`,
 * `pkcs11:` URIs, cloud KMS schemes (refused until implemented), and file paths last.
 * A KMS provider is added by putting an entry before the file provider.
 */
import type { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DrydockError } from '../../core/errors.js';
import type { KeyRefOptions, Signer } from '../types.js';
import { defaultPasswordSource } from './password.js';
import { privateKeyFromPem, publicKeyFromPem } from './pem-keys.js';
import { isPkcs11Uri } from './pkcs11-uri.js';
import { memorySigner } from './signer.js';

export interface KeyProvider {
  /** a short name for messages and docs: file, env, pkcs11, awskms ... */
  name: string;
  matches(ref: string): boolean;
  loadSigner(ref: string, opts: KeyRefOptions): Promise<Signer>;
  loadPublicKey(ref: string, opts: KeyRefOptions): Promise<KeyObject>;
}

function passwordOf(opts: KeyRefOptions, what: string) {
  return opts.password ?? defaultPasswordSource({ env: opts.env ?? process.env, prompt: `Enter password for private key ${what}: ` });
}

/** Providers whose keys are PEM text from somewhere (a file, an environment variable). */
function pemProvider(name: string, matches: (ref: string) => boolean, read: (ref: string, opts: KeyRefOptions) => Promise<{ text: string; what: string }>): KeyProvider {
  return {
    name,
    matches,
    async loadSigner(ref, opts) {
      const { text, what } = await read(ref, opts);
      return memorySigner(await privateKeyFromPem(text, what, passwordOf(opts, what)), what);
    },
    async loadPublicKey(ref, opts) {
      const { text, what } = await read(ref, opts);
      return publicKeyFromPem(text, what, passwordOf(opts, what));
    },
  };
}

const ENV_PREFIX = 'env://';

const envProvider = pemProvider(
  'env',
  (ref) => ref.startsWith(ENV_PREFIX),
  async (ref, opts) => {
    const name = ref.slice(ENV_PREFIX.length);
    const what = `${ENV_PREFIX}${name}`;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DrydockError('USAGE', `key reference ${what}: ${JSON.stringify(name)} is not an environment variable name`);
    const text = (opts.env ?? process.env)[name];
    if (text === undefined || text === '') throw new DrydockError('KEY_INVALID', `key reference ${what}: the environment variable is not set`);
    return { text, what };
  },
);

const pkcs11Provider: KeyProvider = {
  name: 'pkcs11',
  matches: isPkcs11Uri,
  // the native binding is loaded only when a pkcs11: reference is used
  async loadSigner(ref, opts) {
    const { loadPkcs11Signer } = await import('./pkcs11.js');
    return loadPkcs11Signer(ref, opts.env ?? process.env);
  },
  async loadPublicKey(ref, opts) {
    const { loadPkcs11PublicKey } = await import('./pkcs11.js');
    return loadPkcs11PublicKey(ref, opts.env ?? process.env);
  },
};

/** Schemes cosign supports that Drydock does not yet. */
export const UNSUPPORTED_SCHEMES = ['awskms', 'gcpkms', 'azurekms', 'hashivault', 'k8s', 'gitlab'] as const;

function unsupported(scheme: string): KeyProvider {
  const refuse = async (ref: string): Promise<never> => {
    throw new DrydockError('KEY_PROVIDER_UNSUPPORTED', `key reference ${ref}: the ${scheme} key provider is not supported yet; use a key file, env://VAR or a pkcs11: URI`);
  };
  return { name: scheme, matches: (ref) => ref.toLowerCase().startsWith(`${scheme}://`), loadSigner: refuse, loadPublicKey: refuse };
}

const FILE_PREFIX = 'file://';

const fileProvider = pemProvider(
  'file',
  () => true,
  async (ref) => {
    const path = ref.startsWith(FILE_PREFIX) ? ref.slice(FILE_PREFIX.length) : ref;
    // any other scheme:// is a provider we do not know, not a file name
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(ref)?.[1];
    if (scheme && !ref.startsWith(FILE_PREFIX)) {
      throw new DrydockError('KEY_PROVIDER_UNSUPPORTED', `key reference ${ref}: unknown key provider ${scheme}://`);
    }
    try {
      return { text: await readFile(path, 'utf8'), what: path };
    } catch (e) {
      throw new DrydockError('IO_ERROR', `cannot read key file ${path}`, { cause: e });
    }
  },
);

/** Every provider, the file provider last (it takes whatever the others do not). */
export const KEY_PROVIDERS: readonly KeyProvider[] = [envProvider, pkcs11Provider, ...UNSUPPORTED_SCHEMES.map(unsupported), fileProvider];

export function providerFor(ref: string): KeyProvider {
  if (ref.trim() === '') throw new DrydockError('USAGE', 'empty key reference');
  const p = KEY_PROVIDERS.find((x) => x.matches(ref));
  if (!p) throw new DrydockError('INTERNAL', `no key provider for ${ref}`);
  return p;
}
