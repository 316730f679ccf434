/**
 * Creating Sigstore bundles and keyless signing with @sigstore/sign: an ephemeral P-256 key, a
 * short-lived certificate from Fulcio (v2 signingCert API) for an OIDC identity, a Rekor (v1) entry
 * and optionally an RFC 3161 timestamp. Key-based bundles use any Signer of src/sign/types.ts and
 * reach Rekor only when asked. Every service failure is SIGSTORE_ERROR; a missing token is
 * IDENTITY_TOKEN_MISSING.
 */
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { bundleToJSON, type SerializedBundle, type TransparencyLogEntry } from '@sigstore/bundle';
import { MessageSignatureBundleBuilder, RekorWitness, TSAWitness, type Signer as SigstoreSigner, type Witness } from '@sigstore/sign';
import { CAClient } from '@sigstore/sign/dist/signer/fulcio/ca.js';
import { TransparencyLogEntry as TlogEntryProto } from '@sigstore/protobuf-specs';
import { DrydockError } from '../../core/errors.js';
import type { Signer } from '../types.js';
import { cosignBundleFromTlogEntry, type CosignRekorBundle } from './verify.js';

export const PUBLIC_FULCIO_URL = 'https://fulcio.sigstore.dev';
export const PUBLIC_REKOR_URL = 'https://rekor.sigstore.dev';

export interface ServiceOptions {
  fulcioUrl?: string;
  rekorUrl?: string;
  /** a timestamp authority (base URL or the full /api/v1/timestamp URL); none by default */
  tsaUrl?: string;
  timeoutMs?: number;
  retries?: number;
}

export interface TokenOptions {
  /** --identity-token */
  identityToken?: string;
  env?: NodeJS.ProcessEnv;
  /** OIDC audience asked of CI providers */
  audience?: string;
}

function fetchOpts(o: ServiceOptions): { timeout: number; retry: { retries: number } | false } {
  return { timeout: o.timeoutMs ?? 30_000, retry: o.retries ? { retries: o.retries } : false };
}

function serviceError(what: string, url: string, e: unknown): DrydockError {
  return new DrydockError('SIGSTORE_ERROR', `${what} at ${url} failed`, { cause: e });
}

/**
 * The OIDC token for keyless signing: --identity-token, else SIGSTORE_ID_TOKEN, else GitHub
 * Actions' token service (ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN, audience "sigstore").
 */
export async function resolveIdentityToken(opts: TokenOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  if (opts.identityToken) return opts.identityToken.trim();
  if (env.SIGSTORE_ID_TOKEN) return env.SIGSTORE_ID_TOKEN.trim();
  const reqUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const reqToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (reqUrl && reqToken) {
    const url = new URL(reqUrl);
    url.searchParams.set('audience', opts.audience ?? 'sigstore');
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: 'application/json', authorization: `Bearer ${reqToken}` }, signal: AbortSignal.timeout(30_000) });
    } catch (e) {
      throw new DrydockError('SIGSTORE_ERROR', `cannot reach the GitHub Actions token service ${url.origin}`, { cause: e });
    }
    if (!res.ok) throw new DrydockError('SIGSTORE_ERROR', `the GitHub Actions token service ${url.origin} answered ${res.status}`);
    const body = (await res.json().catch(() => ({}))) as { value?: unknown };
    if (typeof body.value !== 'string' || !body.value) throw new DrydockError('SIGSTORE_ERROR', `the GitHub Actions token service ${url.origin} returned no token`);
    return body.value;
  }
  throw new DrydockError('IDENTITY_TOKEN_MISSING', 'keyless signing needs an OIDC identity token: pass --identity-token, set SIGSTORE_ID_TOKEN, or run in GitHub Actions with id-token: write');
}

/** The claim Fulcio asks the key to sign as proof of possession (email for email issuers, else sub). */
export function tokenSubject(token: string): string {
  const part = token.split('.')[1];
  let claims: { sub?: unknown; email?: unknown; iss?: unknown };
  try {
    claims = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as typeof claims;
  } catch (e) {
    throw new DrydockError('USAGE', 'the identity token is not a JWT', { cause: e });
  }
  const emailIssuers = ['https://accounts.google.com', 'https://oauth2.sigstore.dev/auth'];
  const subject = typeof claims.iss === 'string' && emailIssuers.includes(claims.iss) ? claims.email : claims.sub;
  if (typeof subject !== 'string' || !subject) throw new DrydockError('USAGE', 'the identity token has no subject claim');
  return subject;
}

/** An in-memory ECDSA P-256 key that lives only for one signing. */
export function ephemeralSigner(): Signer {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
  return {
    algorithm: 'ecdsa-p256',
    publicKeyPem: () => pem,
    sign: async (data: Buffer) => cryptoSign('sha256', data, { key: privateKey, dsaEncoding: 'der' }),
    close: async () => {},
  };
}

/** What a transparency-log upload gives back, in both shapes signatures are stored in. */
export interface RekorUpload {
  /** the bundle form (TransparencyLogEntry JSON) */
  tlogEntry: Record<string, unknown>;
  /** cosign's dev.sigstore.cosign/bundle annotation */
  cosignBundle?: CosignRekorBundle;
}

function messageContent(payload: Buffer, signature: Buffer) {
  return {
    $case: 'messageSignature' as const,
    messageSignature: { messageDigest: { algorithm: 1 /* SHA2_256 */, digest: createHash('sha256').update(payload).digest() }, signature },
  };
}

/** Logs a signature over `payload` in Rekor as a hashedrekord entry. `publicKeyOrCertPem`: the verifier's material. */
export async function uploadToRekor(payload: Buffer, signature: Buffer, publicKeyOrCertPem: string, opts: ServiceOptions): Promise<RekorUpload> {
  const url = opts.rekorUrl ?? PUBLIC_REKOR_URL;
  let entries: TransparencyLogEntry[];
  try {
    const w = new RekorWitness({ rekorBaseURL: url, fetchOnConflict: true, ...fetchOpts(opts) });
    entries = (await w.testify(messageContent(payload, signature) as never, publicKeyOrCertPem)).tlogEntries;
  } catch (e) {
    throw serviceError('creating a Rekor entry', url, e);
  }
  const entry = entries[0];
  if (!entry) throw new DrydockError('SIGSTORE_ERROR', `Rekor at ${url} returned no log entry`);
  const tlogEntry = TlogEntryProto.toJSON(entry) as Record<string, unknown>;
  const cosignBundle = cosignBundleFromTlogEntry(tlogEntry);
  return { tlogEntry, ...(cosignBundle ? { cosignBundle } : {}) };
}

/** An RFC 3161 timestamp (DER response) over `signature` from the configured authority. */
export async function timestampSignature(signature: Buffer, opts: ServiceOptions): Promise<Buffer> {
  if (!opts.tsaUrl) throw new DrydockError('USAGE', 'no timestamp authority is configured (--tsa-url)');
  const base = opts.tsaUrl.replace(/\/api\/v1\/timestamp\/?$/, '');
  try {
    const w = new TSAWitness({ tsaBaseURL: base, ...fetchOpts(opts) });
    const r = await w.testify(messageContent(Buffer.alloc(0), signature) as never);
    const ts = r.rfc3161Timestamps[0];
    if (!ts) throw new Error('no timestamp in the answer');
    return Buffer.from(ts.signedTimestamp);
  } catch (e) {
    throw serviceError('requesting an RFC 3161 timestamp', opts.tsaUrl, e);
  }
}

export interface KeylessOptions extends ServiceOptions, TokenOptions {}

/** A Signer bound to a Fulcio certificate, for `sign --keyless` and `sign-blob --keyless`. */
export interface KeylessSigner {
  signer: Signer;
  /** the signing certificate, PEM */
  certificatePem: string;
  /** the rest of the chain Fulcio returned (intermediates, root), PEM, leaf-most first */
  chainPem: string[];
  /** the identity the certificate was issued for, as the token claims it */
  subject: string;
  /** logs a signature made by `signer` (always done for keyless signatures) */
  uploadToRekor(payload: Buffer, signature: Buffer): Promise<RekorUpload>;
  /** an RFC 3161 timestamp over a signature, when a TSA is configured */
  timestamp?(signature: Buffer): Promise<Buffer>;
}

/** Obtains an identity token and a Fulcio certificate for a fresh ephemeral key. */
export async function keylessSigner(opts: KeylessOptions = {}): Promise<KeylessSigner> {
  const token = await resolveIdentityToken(opts);
  const subject = tokenSubject(token);
  const signer = ephemeralSigner();
  const challenge = await signer.sign(Buffer.from(subject));
  const fulcioUrl = opts.fulcioUrl ?? PUBLIC_FULCIO_URL;
  let chain: string[];
  try {
    const ca = new CAClient({ fulcioBaseURL: fulcioUrl, ...fetchOpts(opts) });
    chain = await ca.createSigningCertificate(token, signer.publicKeyPem(), challenge);
  } catch (e) {
    throw serviceError('requesting a signing certificate from Fulcio', fulcioUrl, e);
  }
  const [leaf, ...rest] = chain.map((c) => (c.endsWith('\n') ? c : `${c}\n`));
  if (!leaf) throw new DrydockError('SIGSTORE_ERROR', `Fulcio at ${fulcioUrl} returned no certificate`);
  return {
    signer,
    certificatePem: leaf,
    chainPem: rest,
    subject,
    uploadToRekor: (payload, signature) => uploadToRekor(payload, signature, leaf, opts),
    ...(opts.tsaUrl ? { timestamp: (signature: Buffer) => timestampSignature(signature, opts) } : {}),
  };
}

export interface BundleSignOptions extends ServiceOptions {
  signer: Signer;
  /** keyless: the signer's Fulcio certificate (PEM); else the bundle names the public key */
  certificatePem?: string;
  /** write a Rekor entry (always for keyless) */
  tlogUpload?: boolean;
}

export interface SignedBlob {
  /** the Sigstore bundle v0.3, JSON */
  bundle: SerializedBundle;
  /** the raw signature */
  signature: Buffer;
}

/** Signs `data` into a message-signature bundle (v0.3). */
export async function signToBundle(data: Buffer, opts: BundleSignOptions): Promise<SignedBlob> {
  const pem = opts.signer.publicKeyPem();
  const hint = createHash('sha256').update(pem).digest('base64');
  let signature: Buffer | undefined;
  const adapter: SigstoreSigner = {
    sign: async (d: Buffer) => {
      signature = await opts.signer.sign(d);
      return {
        signature,
        key: opts.certificatePem ? { $case: 'x509Certificate', certificate: opts.certificatePem } : { $case: 'publicKey', publicKey: pem, hint },
      };
    },
  };
  const witnesses: Witness[] = [];
  const tlog = opts.certificatePem !== undefined || opts.tlogUpload === true;
  if (tlog) witnesses.push(new RekorWitness({ rekorBaseURL: opts.rekorUrl ?? PUBLIC_REKOR_URL, fetchOnConflict: true, ...fetchOpts(opts) }));
  if (opts.tsaUrl) witnesses.push(new TSAWitness({ tsaBaseURL: opts.tsaUrl.replace(/\/api\/v1\/timestamp\/?$/, ''), ...fetchOpts(opts) }));
  let bundle;
  try {
    bundle = await new MessageSignatureBundleBuilder({ signer: adapter, witnesses }).create({ data });
  } catch (e) {
    if (e instanceof DrydockError) throw e;
    const url = tlog ? (opts.rekorUrl ?? PUBLIC_REKOR_URL) : (opts.tsaUrl ?? 'the signer');
    throw serviceError('signing the bundle', url, e);
  }
  if (!signature) throw new DrydockError('INTERNAL', 'the bundle builder did not sign');
  return { bundle: toV03(bundleToJSON(bundle)), signature };
}

/**
 * @sigstore/sign writes message-signature bundles as v0.2 (a one-certificate chain); v0.3 is the
 * current version (a single certificate, as cosign 3 writes), so the bundle is restated as v0.3.
 */
function toV03(json: SerializedBundle): SerializedBundle {
  const out = structuredClone(json) as SerializedBundle & { verificationMaterial: Record<string, unknown> };
  const vm = out.verificationMaterial;
  const chain = vm.x509CertificateChain as { certificates: { rawBytes: string }[] } | undefined;
  if (chain) {
    delete vm.x509CertificateChain;
    vm.certificate = chain.certificates[0];
  }
  vm.tlogEntries = vm.tlogEntries ?? [];
  out.mediaType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
  return out;
}

/** Keyless: token, certificate, signature, Rekor entry (and timestamp) as one bundle. */
export async function signKeylessToBundle(data: Buffer, opts: KeylessOptions): Promise<SignedBlob & { subject: string }> {
  const ks = await keylessSigner(opts);
  try {
    const out = await signToBundle(data, { ...opts, signer: ks.signer, certificatePem: ks.certificatePem, tlogUpload: true });
    return { ...out, subject: ks.subject };
  } finally {
    await ks.signer.close();
  }
}

/** Splits DSSE's pre-authentication encoding back into type and payload (DSSE protocol.md: PAE). */
function parsePae(data: Buffer): { payloadType: string; payload: Buffer } | undefined {
  const head = 'DSSEv1 ';
  if (data.subarray(0, head.length).toString('latin1') !== head) return undefined;
  let pos = head.length;
  const num = (): number | undefined => {
    const sp = data.indexOf(0x20, pos);
    if (sp < 0) return undefined;
    const n = Number(data.subarray(pos, sp).toString('latin1'));
    pos = sp + 1;
    return Number.isSafeInteger(n) ? n : undefined;
  };
  const tl = num();
  if (tl === undefined) return undefined;
  const payloadType = data.subarray(pos, pos + tl).toString('utf8');
  pos += tl + 1;
  const bl = num();
  if (bl === undefined || pos + bl !== data.length) return undefined;
  return { payloadType, payload: data.subarray(pos) };
}

/**
 * The keyless signer in the shape `drydock sign IMAGE --keyless` uses (src/sign/image KeylessSigner):
 * a Signer plus the certificate chain, cosign's Rekor bundle annotation, and bundle verification
 * material (Rekor entry: hashedrekord for plain payloads, intoto v0.0.2 when the signed bytes are a DSSE
 * PAE, the kind whose canonical body carries the envelope's signatures and hashes;
 * an RFC 3161 timestamp too when a TSA is configured).
 */
export async function imageKeylessSigner(opts: KeylessOptions = {}): Promise<Signer & {
  certificateChain(): Promise<string[]>;
  rekorBundle(payload: Buffer, signature: Buffer): Promise<string | undefined>;
  bundleMaterial(signedData: Buffer, signature: Buffer): Promise<Record<string, unknown>>;
}> {
  const ks = await keylessSigner(opts);
  const rekorUrl = opts.rekorUrl ?? PUBLIC_REKOR_URL;
  return {
    ...ks.signer,
    certificateChain: async () => [ks.certificatePem, ...ks.chainPem],
    rekorBundle: async (payload, signature) => {
      const up = await ks.uploadToRekor(payload, signature);
      return up.cosignBundle ? JSON.stringify(up.cosignBundle) : undefined;
    },
    bundleMaterial: async (signedData, signature) => {
      const pae = parsePae(signedData);
      let tlogEntry: Record<string, unknown>;
      if (pae) {
        try {
          const w = new RekorWitness({ rekorBaseURL: rekorUrl, fetchOnConflict: true, entryType: 'intoto', ...fetchOpts(opts) });
          const content = { $case: 'dsseEnvelope', dsseEnvelope: { payload: pae.payload, payloadType: pae.payloadType, signatures: [{ sig: signature, keyid: '' }] } };
          const { tlogEntries } = await w.testify(content as never, ks.certificatePem);
          if (!tlogEntries[0]) throw new Error('no log entry in the answer');
          tlogEntry = TlogEntryProto.toJSON(tlogEntries[0]) as Record<string, unknown>;
        } catch (e) {
          throw serviceError('creating a Rekor intoto entry', rekorUrl, e);
        }
      } else {
        tlogEntry = (await ks.uploadToRekor(signedData, signature)).tlogEntry;
      }
      const stamps = ks.timestamp ? [{ signedTimestamp: (await ks.timestamp(signature)).toString('base64') }] : [];
      const certDer = Buffer.from(ks.certificatePem.replace(/-----[^-]+-----|\s+/g, ''), 'base64');
      return {
        certificate: { rawBytes: certDer.toString('base64') },
        tlogEntries: [tlogEntry],
        ...(stamps.length ? { timestampVerificationData: { rfc3161Timestamps: stamps } } : {}),
      };
    },
  };
}
