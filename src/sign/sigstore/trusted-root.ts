/**
 * Trust roots for Sigstore verification: the JSON TrustedRoot format of the Sigstore protobuf specs
 * (application/vnd.dev.sigstore.trustedroot+json). By default the public-good root that ships in
 * @sigstore/tuf's seeds is used, so verification works offline; a private deployment passes its own file.
 * Nothing here reaches the network except `fetchTrustedRootOnline`, which is explicit and fails clearly.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial, type TrustMaterial } from '@sigstore/verify';
import { DrydockError } from '../../core/errors.js';
import { lazyPackage } from '../../core/lazy.js';

/** The TUF repository of the public-good instance; its seeded trusted_root.json is our default. */
export const PUBLIC_GOOD_TUF_URL = 'https://tuf-repo-cdn.sigstore.dev';

export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/** A parsed trusted root, with the verifier's view of it built once. */
export interface LoadedTrustedRoot {
  /** where it came from: a path, or "public-good (seeded)" */
  source: string;
  json: Record<string, unknown>;
  root: TrustedRoot;
  material: TrustMaterial;
}

const seedsFile = lazyPackage<Record<string, { targets?: Record<string, string> }>>('@sigstore/tuf/seeds.json');
let publicGood: LoadedTrustedRoot | undefined;

function fromJson(json: unknown, source: string): LoadedTrustedRoot {
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new DrydockError('BUNDLE_INVALID', `trusted root ${source} is not a JSON object`);
  }
  const obj = json as Record<string, unknown>;
  const mt = obj.mediaType;
  if (typeof mt === 'string' && !mt.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    throw new DrydockError('BUNDLE_INVALID', `trusted root ${source} has media type ${mt}, not a Sigstore trusted root`);
  }
  for (const k of ['certificateAuthorities', 'tlogs'] as const) {
    if (obj[k] !== undefined && !Array.isArray(obj[k])) throw new DrydockError('BUNDLE_INVALID', `trusted root ${source}: ${k} must be a list`);
  }
  let root: TrustedRoot;
  let material: TrustMaterial;
  try {
    root = TrustedRoot.fromJSON(obj);
    material = toTrustMaterial(root);
  } catch (e) {
    throw new DrydockError('BUNDLE_INVALID', `trusted root ${source} is malformed`, { cause: e });
  }
  return { source, json: obj, root, material };
}

/** The public-good trusted root from @sigstore/tuf's seeds (no network). Cached per process. */
export function publicGoodTrustedRoot(): LoadedTrustedRoot {
  if (publicGood) return publicGood;
  let seeds: Record<string, { targets?: Record<string, string> }>;
  try {
    seeds = seedsFile();
  } catch (e) {
    throw new DrydockError('BUNDLE_INVALID', 'cannot read the seeded public-good trusted root of @sigstore/tuf', { cause: e });
  }
  const b64 = seeds[PUBLIC_GOOD_TUF_URL]?.targets?.['trusted_root.json'];
  if (!b64) throw new DrydockError('BUNDLE_INVALID', `the @sigstore/tuf seeds hold no trusted_root.json for ${PUBLIC_GOOD_TUF_URL}`);
  publicGood = fromJson(JSON.parse(Buffer.from(b64, 'base64').toString('utf8')), 'public-good (seeded from @sigstore/tuf)');
  return publicGood;
}

/** Reads a trusted root file (`--trusted-root FILE`). */
export function loadTrustedRoot(path: string): LoadedTrustedRoot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot read trusted root ${path}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DrydockError('BUNDLE_INVALID', `trusted root ${path} is not JSON`, { cause: e });
  }
  return fromJson(json, path);
}

/** A trusted root given as parsed JSON (tests, private deployments built in code). */
export function trustedRootFromJson(json: unknown, source = 'inline trusted root'): LoadedTrustedRoot {
  return fromJson(json, source);
}

/** `path` when given, else the seeded public-good root. */
export function resolveTrustedRoot(path?: string): LoadedTrustedRoot {
  return path ? loadTrustedRoot(path) : publicGoodTrustedRoot();
}

export interface TrustedRootParts {
  /** Fulcio: each CA's chain, leaf-most first, DER */
  certificateAuthorities?: { uri: string; chainDer: Buffer[]; start?: Date; end?: Date }[];
  /** Rekor instances: SPKI public keys */
  tlogs?: { baseUrl: string; publicKey: KeyObject; start?: Date; end?: Date }[];
  /** certificate transparency logs that sign Fulcio's SCTs */
  ctlogs?: { baseUrl: string; publicKey: KeyObject; logId?: Buffer; start?: Date; end?: Date }[];
  /** RFC 3161 timestamp authorities: chain leaf-most first, DER */
  timestampAuthorities?: { uri: string; chainDer: Buffer[]; start?: Date; end?: Date }[];
}

function keyDetails(k: KeyObject): string {
  if (k.asymmetricKeyType === 'ed25519') return 'PKIX_ED25519';
  if (k.asymmetricKeyType === 'rsa') return 'PKIX_RSA_PKCS1V15_2048_SHA256';
  const curve = k.asymmetricKeyDetails?.namedCurve;
  if (curve === 'secp384r1') return 'PKIX_ECDSA_P384_SHA_384';
  if (curve === 'secp521r1') return 'PKIX_ECDSA_P521_SHA_512';
  return 'PKIX_ECDSA_P256_SHA_256';
}

function validFor(start?: Date, end?: Date): Record<string, string> {
  return { start: (start ?? new Date(0)).toISOString(), ...(end ? { end: end.toISOString() } : {}) };
}

function logKey(baseUrl: string, key: KeyObject, logId: Buffer | undefined, start?: Date, end?: Date): Record<string, unknown> {
  const der = key.export({ format: 'der', type: 'spki' });
  return {
    baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: der.toString('base64'), keyDetails: keyDetails(key), validFor: validFor(start, end) },
    // the log ID is the SHA-256 of the DER public key (RFC 6962 section 3.2; Rekor does the same)
    logId: { keyId: (logId ?? createHash('sha256').update(der).digest()).toString('base64') },
  };
}

/** Builds TrustedRoot JSON from the keys and certificates of a (private or test) Sigstore deployment. */
export function buildTrustedRootJson(parts: TrustedRootParts): Record<string, unknown> {
  const ca = (c: { uri: string; chainDer: Buffer[]; start?: Date; end?: Date }) => ({
    subject: {},
    uri: c.uri,
    certChain: { certificates: c.chainDer.map((d) => ({ rawBytes: d.toString('base64') })) },
    validFor: validFor(c.start, c.end),
  });
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: (parts.tlogs ?? []).map((t) => logKey(t.baseUrl, t.publicKey, undefined, t.start, t.end)),
    certificateAuthorities: (parts.certificateAuthorities ?? []).map(ca),
    ctlogs: (parts.ctlogs ?? []).map((t) => logKey(t.baseUrl, t.publicKey, t.logId, t.start, t.end)),
    timestampAuthorities: (parts.timestampAuthorities ?? []).map(ca),
  };
}

/**
 * Refreshes the trusted root from a TUF repository. Drydock's default is the seeded root; this
 * path exists for deployments that can reach their TUF mirror. Every failure is SIGSTORE_ERROR.
 */
export async function fetchTrustedRootOnline(opts: { mirrorUrl?: string; cacheDir: string; rootPath?: string; timeoutMs?: number }): Promise<LoadedTrustedRoot> {
  const mirror = opts.mirrorUrl ?? PUBLIC_GOOD_TUF_URL;
  try {
    const { getTrustedRoot } = await import('@sigstore/tuf');
    const root = await getTrustedRoot({
      mirrorURL: mirror,
      cachePath: opts.cacheDir,
      ...(opts.rootPath ? { rootPath: opts.rootPath } : {}),
      retry: false,
      timeout: opts.timeoutMs ?? 10_000,
    });
    return fromJson(TrustedRoot.toJSON(root), `TUF ${mirror}`);
  } catch (e) {
    if (e instanceof DrydockError) throw e;
    throw new DrydockError(
      'SIGSTORE_ERROR',
      `cannot update the trusted root from the TUF repository ${mirror}; pass --trusted-root FILE or use the seeded public-good root`,
      { cause: e },
    );
  }
}
