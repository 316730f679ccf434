/**
 * Attestations stored beside an image, in the two layouts cosign reads and writes:
 * - the `sha256-<hex>.att` tag (cosign specs/ATTESTATION_SPEC.md): an OCI image manifest with one
 *   layer per DSSE envelope, media type application/vnd.dsse.envelope.v1+json, annotated with
 *   `predicateType` and an empty `dev.cosignproject.cosign/signature` (plus the certificate and chain
 *   when keyless); attesting again appends a layer;
 * - a Sigstore bundle v0.3 stored as an OCI 1.1 referrer (cosign 3, GitHub artifact attestations).
 * BuildKit attestation manifests inside an index are found too and reported as unsigned: they are
 * never verified. Only manifests and small blobs are read, never image layers.
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import { digestOf } from '../../core/digest.js';
import { DrydockError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { INDEX_MEDIA_TYPES, type Descriptor, type RawManifest, type RegistryOptions, type Target } from '../../image/types.js';
import { digestsToSign, signDsseBundle, type KeylessSigner } from '../../sign/image/index.js';
import { attachedTag } from '../../sign/image/payload.js';
import { CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION } from '../../sign/image/payload.js';
import {
  BUNDLE_PREDICATE_ANNOTATION,
  COSIGN_SIGN_PREDICATE,
  EMPTY_CONFIG,
  EMPTY_CONFIG_DESCRIPTOR,
  buildBundleReferrer,
  parseDsseBundle,
  publicKeyHint,
} from '../../sign/image/bundle.js';
import { buildSignatureManifest, parseSignatureManifest } from '../../sign/image/sig-manifest.js';
import { COSIGN_KIND_ATTS, openSignatureStore, type SignatureStore } from '../../sign/image/store.js';
import type { ImageVerifier } from '../../sign/image/verify.js';
import type { SignatureCheck, Signer, VerifyReason } from '../../sign/types.js';
import { DSSE_ENVELOPE_MEDIA_TYPE, pae, decodeBase64, verifyEnvelope, type Envelope } from '../dsse.js';
import { policyFailures, runPolicy, type Policy, type PolicyResult } from '../policy.js';
import { INTOTO_PAYLOAD_TYPE, makeStatement, type Statement } from '../statement.js';

/** Annotation of an .att layer naming the statement's predicate type (cosign). */
export const PREDICATE_TYPE_ANNOTATION = 'predicateType';
/** BuildKit: index entries of attestation manifests, and the predicate type of their layers. */
export const BUILDKIT_REFERENCE_TYPE = 'vnd.docker.reference.type';
export const BUILDKIT_REFERENCE_DIGEST = 'vnd.docker.reference.digest';
export const BUILDKIT_PREDICATE_ANNOTATION = 'in-toto.io/predicate-type';

export type AttestationFormat = 'cosign' | 'bundle';

function isKeyless(s: Signer): s is KeylessSigner {
  return typeof (s as Partial<KeylessSigner>).certificateChain === 'function';
}

export interface AttestImageOptions {
  /** 'cosign' (default): a layer of the sha256-<hex>.att tag; 'bundle': a Sigstore bundle v0.3 referrer */
  format?: AttestationFormat;
  /**
   * the manifest to attest when it is not the one the target names: it must be the root or a manifest
   * the root index lists (an SBOM of one platform of a multi-platform image)
   */
  subjectDigest?: string;
  registry?: RegistryOptions;
  /** the subject name (default: the repository, as cosign writes it) */
  subjectName?: string;
  clock?: Clock;
  /** cosign's --replace: attestations of the same predicate type about the subject are removed once the new one is stored */
  replace?: boolean;
}

export interface AttestImageResult {
  /** the digest the attestation is about */
  digest: string;
  statement: Statement;
  envelope: Envelope;
  /** "tag REPO:sha256-<hex>.att layer N" or "referrer sha256:..." */
  location: string;
  /** false when an identical envelope was already stored */
  added: boolean;
  /** with `replace`: how many attestations of the same predicate type were removed */
  replaced?: number;
}

async function subjectOf(store: SignatureStore, wanted: string | undefined): Promise<Descriptor> {
  const root = await store.root();
  const rootDesc: Descriptor = { mediaType: root.mediaType, digest: root.digest, size: root.bytes.length };
  if (wanted === undefined || wanted === root.digest) return rootDesc;
  if (INDEX_MEDIA_TYPES.includes(root.mediaType)) {
    const doc = JSON.parse(root.bytes.toString('utf8')) as { manifests?: Descriptor[] };
    const child = (doc.manifests ?? []).find((d) => d.digest === wanted);
    if (child) return { mediaType: child.mediaType, digest: child.digest, size: child.size };
  }
  throw new DrydockError('USAGE', `${store.name}: ${wanted} is neither the image (${root.digest}) nor a manifest its index lists`);
}

/** Stores one envelope as a layer of the .att tag; an identical layer is not added twice. */
async function storeCosign(store: SignatureStore, subject: string, envelope: Envelope, predicateType: string, signer: Signer, replace: boolean): Promise<{ location: string; added: boolean; replaced?: number }> {
  const bytes = Buffer.from(JSON.stringify(envelope), 'utf8');
  const annotations: Record<string, string> = { [SIGNATURE_ANNOTATION]: '', [PREDICATE_TYPE_ANNOTATION]: predicateType };
  if (isKeyless(signer)) {
    const [leaf, ...chain] = await signer.certificateChain();
    if (leaf) annotations[CERTIFICATE_ANNOTATION] = leaf;
    if (chain.length) annotations[CHAIN_ANNOTATION] = chain.join('');
  }
  const layer: Descriptor = { mediaType: DSSE_ENVELOPE_MEDIA_TYPE, size: bytes.length, digest: digestOf(bytes), annotations };
  const tag = attachedTag(subject, 'attestation');
  const existing = await store.tagged(tag);
  const parsed = existing ? parseSignatureManifest(existing, `${store.name}:${tag}`) : { layers: [] as Descriptor[] };
  // --replace: the other layers of this predicate type go (the manifest is rewritten in one put)
  const kept = replace ? parsed.layers.filter((l) => l.annotations?.[PREDICATE_TYPE_ANNOTATION] !== predicateType || l.digest === layer.digest) : parsed.layers;
  const replaced = parsed.layers.length - kept.length;
  if (kept.some((l) => l.digest === layer.digest) && !replaced) return { location: `tag ${store.name}:${tag}`, added: false };
  const added = !kept.some((l) => l.digest === layer.digest);
  const layers = added ? [...kept, layer] : kept;
  const { manifest, config } = buildSignatureManifest(layers, parsed.annotations);
  await store.putBlob(layer, bytes);
  await store.putBlob(config.descriptor, config.bytes);
  await store.putTagged(tag, manifest, COSIGN_KIND_ATTS);
  const at = layers.findIndex((l) => l.digest === layer.digest);
  return { location: `tag ${store.name}:${tag} layer ${at}`, added, ...(replace ? { replaced } : {}) };
}

async function storeBundle(
  store: SignatureStore, subject: Descriptor, statement: Statement, predicateType: string, signer: Signer, clock: Clock, replace: boolean,
): Promise<{ location: string; added: boolean; envelope: Envelope; replaced?: number }> {
  const body = Buffer.from(JSON.stringify(statement), 'utf8');
  const { bundle, signature } = await signDsseBundle(body, signer);
  const { manifest, layer } = buildBundleReferrer(bundle, subject, clock.now(), predicateType);
  // --replace: the referrers of this predicate type that were there before (removed after the new one is in)
  const before = replace
    ? (await store.referrers(subject.digest)).filter((d) => isBundleArtifact(d) && d.annotations?.[BUNDLE_PREDICATE_ANNOTATION] === predicateType && d.digest !== manifest.digest)
    : [];
  await store.putBlob(EMPTY_CONFIG_DESCRIPTOR, EMPTY_CONFIG);
  await store.putBlob(layer, bundle);
  await store.pushReferrer(manifest);
  for (const d of before) await store.deleteReferrer(subject.digest, d.digest);
  const envelope: Envelope = { payloadType: INTOTO_PAYLOAD_TYPE, payload: body.toString('base64'), signatures: [{ keyid: '', sig: signature.toString('base64') }] };
  return { location: `referrer ${manifest.digest}`, added: true, envelope, ...(replace ? { replaced: before.length } : {}) };
}

/**
 * Attests the image `target` names: an in-toto Statement v1 whose subject is the manifest digest
 * (named after the repository), signed in a DSSE envelope and stored beside the image.
 */
export async function attestImage(
  target: Target | string,
  predicate: { predicateType: string; predicate: Record<string, unknown> },
  signer: Signer,
  opts: AttestImageOptions = {},
): Promise<AttestImageResult> {
  const store = await openSignatureStore(target, opts.registry ? { registry: opts.registry } : {});
  try {
    return await attestOne(store, await subjectOf(store, opts.subjectDigest), predicate, signer, opts);
  } finally {
    await store.close();
  }
}

/** The same predicate about the image and, for an index, about every manifest below it (--recursive). */
export async function attestImageRecursive(
  target: Target | string,
  predicate: { predicateType: string; predicate: Record<string, unknown> },
  signer: Signer,
  opts: Omit<AttestImageOptions, 'subjectDigest'> = {},
): Promise<AttestImageResult[]> {
  const store = await openSignatureStore(target, opts.registry ? { registry: opts.registry } : {});
  try {
    const out: AttestImageResult[] = [];
    for (const subject of await digestsToSign(store, await store.root(), true)) out.push(await attestOne(store, subject, predicate, signer, opts));
    return out;
  } finally {
    await store.close();
  }
}

async function attestOne(
  store: SignatureStore,
  subject: Descriptor,
  predicate: { predicateType: string; predicate: Record<string, unknown> },
  signer: Signer,
  opts: AttestImageOptions,
): Promise<AttestImageResult> {
  const statement = makeStatement({ name: opts.subjectName ?? store.dockerReference, digest: subject.digest }, predicate.predicateType, predicate.predicate);
  if (opts.format === 'bundle') {
    const r = await storeBundle(store, subject, statement, predicate.predicateType, signer, opts.clock ?? systemClock, opts.replace === true);
    return { digest: subject.digest, statement, ...r };
  }
  const body = Buffer.from(JSON.stringify(statement), 'utf8');
  const sig = await signer.sign(pae(INTOTO_PAYLOAD_TYPE, body));
  const envelope: Envelope = { payloadType: INTOTO_PAYLOAD_TYPE, payload: body.toString('base64'), signatures: [{ keyid: '', sig: sig.toString('base64') }] };
  const r = await storeCosign(store, subject.digest, envelope, predicate.predicateType, signer, opts.replace === true);
  return { digest: subject.digest, statement, envelope, ...r };
}

// ---------------------------------------------------------------- discovery

/** One attestation found beside the image, before any verification. */
export interface StoredAttestation {
  /** "tag sha256-<hex>.att layer N", "referrer sha256:...", "buildkit sha256:... layer N" */
  source: string;
  kind: 'tag' | 'referrer' | 'buildkit';
  /** the predicate type its annotations declare (unverified) */
  annotatedPredicateType?: string;
  /** the envelope, when it could be read and parsed as JSON */
  envelope?: unknown;
  /** a BuildKit attestation: the bare (unsigned) statement */
  statement?: unknown;
  /** PEM (tag layers) or DER (bundles) of a signing certificate */
  certificate?: string | Buffer;
  chain?: string;
  rekorBundle?: string;
  /** the parsed Sigstore bundle (referrers) */
  bundle?: Record<string, unknown>;
  /** why it could not be read */
  problem?: { reason: VerifyReason; detail: string };
}

export interface AttestationListing {
  /** registry/repository or the layout path */
  name: string;
  /** the manifest digest the attestations must name */
  digest: string;
  attestations: StoredAttestation[];
}

function isBundleArtifact(d: Descriptor): boolean {
  return (d.artifactType ?? '').startsWith('application/vnd.dev.sigstore.bundle');
}

const READ_ERRORS = ['DIGEST_MISMATCH', 'SIZE_MISMATCH', 'BLOB_NOT_FOUND', 'MANIFEST_INVALID', 'IMAGE_NOT_FOUND'];

async function tryRead<T>(f: () => Promise<T>): Promise<T | DrydockError> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof DrydockError && READ_ERRORS.includes(e.code)) return e;
    throw e;
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

async function fromTag(store: SignatureStore, digest: string): Promise<StoredAttestation[]> {
  const tag = attachedTag(digest, 'attestation');
  const m = await tryRead(() => store.tagged(tag));
  if (m === undefined) return [];
  if (m instanceof DrydockError) return [{ source: `tag ${tag}`, kind: 'tag', problem: { reason: 'layer-digest-mismatch', detail: m.message } }];
  let layers: Descriptor[];
  try {
    layers = parseSignatureManifest(m, `${store.name}:${tag}`).layers;
  } catch (e) {
    return [{ source: `tag ${tag}`, kind: 'tag', problem: { reason: 'payload-malformed', detail: (e as Error).message } }];
  }
  return Promise.all(
    layers.map(async (l, i): Promise<StoredAttestation> => {
      const a = l.annotations ?? {};
      const out: StoredAttestation = { source: `tag ${tag} layer ${i}`, kind: 'tag' };
      if (a[PREDICATE_TYPE_ANNOTATION]) out.annotatedPredicateType = a[PREDICATE_TYPE_ANNOTATION];
      if (a[CERTIFICATE_ANNOTATION]) out.certificate = a[CERTIFICATE_ANNOTATION];
      if (a[CHAIN_ANNOTATION]) out.chain = a[CHAIN_ANNOTATION];
      if (a[BUNDLE_ANNOTATION]) out.rekorBundle = a[BUNDLE_ANNOTATION];
      if (l.mediaType !== DSSE_ENVELOPE_MEDIA_TYPE) {
        out.problem = { reason: 'bundle-malformed', detail: `layer media type ${l.mediaType} is not ${DSSE_ENVELOPE_MEDIA_TYPE}` };
        return out;
      }
      const bytes = await tryRead(() => store.blob(l));
      if (bytes instanceof DrydockError) {
        out.problem = { reason: 'layer-digest-mismatch', detail: `the envelope blob ${l.digest} cannot be read as described: ${bytes.message}` };
        return out;
      }
      const env = parseJson(bytes);
      if (env === undefined) out.problem = { reason: 'bundle-malformed', detail: 'the envelope is not JSON' };
      else out.envelope = env;
      return out;
    }),
  );
}

async function fromReferrers(store: SignatureStore, digest: string): Promise<StoredAttestation[]> {
  const refs = await tryRead(() => store.referrers(digest));
  if (refs instanceof DrydockError) return [{ source: `referrers of ${digest}`, kind: 'referrer', problem: { reason: 'layer-digest-mismatch', detail: refs.message } }];
  const wanted = refs.filter((d) => isBundleArtifact(d) && d.annotations?.[BUNDLE_PREDICATE_ANNOTATION] !== COSIGN_SIGN_PREDICATE);
  const out = await Promise.all(
    wanted.map(async (d): Promise<StoredAttestation | undefined> => {
      const a: StoredAttestation = { source: `referrer ${d.digest}`, kind: 'referrer' };
      const p = d.annotations?.[BUNDLE_PREDICATE_ANNOTATION];
      if (p) a.annotatedPredicateType = p;
      const m = await tryRead(() => store.manifest(d.digest));
      if (m instanceof DrydockError) return { ...a, problem: { reason: 'layer-digest-mismatch', detail: m.message } };
      const doc = parseJson(m.bytes) as { subject?: { digest?: string }; layers?: Descriptor[] } | undefined;
      if (!doc) return { ...a, problem: { reason: 'bundle-malformed', detail: 'the referrer manifest is not JSON' } };
      if (doc.subject?.digest !== digest) return { ...a, problem: { reason: 'digest-mismatch', detail: `the referrer's subject is ${doc.subject?.digest ?? 'missing'}, not ${digest}` } };
      const layer = doc.layers?.find((l) => typeof l?.mediaType === 'string' && l.mediaType.startsWith('application/vnd.dev.sigstore.bundle'));
      if (!layer) return { ...a, problem: { reason: 'bundle-malformed', detail: 'the referrer holds no bundle layer' } };
      const bytes = await tryRead(() => store.blob(layer));
      if (bytes instanceof DrydockError) return { ...a, problem: { reason: 'layer-digest-mismatch', detail: bytes.message } };
      const b = parseDsseBundle(bytes);
      if (typeof b === 'string') return { ...a, problem: { reason: 'bundle-malformed', detail: b } };
      // a cosign 3 signature bundle without the predicate annotation is not an attestation
      const st = parseJson(b.payload) as { predicateType?: unknown } | undefined;
      if (st?.predicateType === COSIGN_SIGN_PREDICATE) return undefined;
      a.bundle = b.raw;
      a.envelope = b.raw.dsseEnvelope;
      if (b.certificate) a.certificate = b.certificate;
      return a;
    }),
  );
  return out.filter((x): x is StoredAttestation => x !== undefined);
}

/** BuildKit's attestation manifests in an index: unsigned in-toto statements, listed, never verified. */
async function fromBuildKit(store: SignatureStore, root: RawManifest): Promise<StoredAttestation[]> {
  if (!INDEX_MEDIA_TYPES.includes(root.mediaType)) return [];
  const doc = parseJson(root.bytes) as { manifests?: Descriptor[] } | undefined;
  const out: StoredAttestation[] = [];
  for (const d of doc?.manifests ?? []) {
    if (d.annotations?.[BUILDKIT_REFERENCE_TYPE] !== 'attestation-manifest') continue;
    const m = await tryRead(() => store.manifest(d.digest));
    if (m instanceof DrydockError) {
      out.push({ source: `buildkit ${d.digest}`, kind: 'buildkit', problem: { reason: 'layer-digest-mismatch', detail: m.message } });
      continue;
    }
    let layers: Descriptor[] = [];
    try {
      layers = parseSignatureManifest(m, `${store.name}@${d.digest}`).layers;
    } catch (e) {
      out.push({ source: `buildkit ${d.digest}`, kind: 'buildkit', problem: { reason: 'payload-malformed', detail: (e as Error).message } });
      continue;
    }
    for (const [i, l] of layers.entries()) {
      const a: StoredAttestation = { source: `buildkit ${d.digest} layer ${i}`, kind: 'buildkit' };
      const p = l.annotations?.[BUILDKIT_PREDICATE_ANNOTATION];
      if (p) a.annotatedPredicateType = p;
      const bytes = await tryRead(() => store.blob(l));
      if (!(bytes instanceof DrydockError)) {
        const st = parseJson(bytes);
        if (st !== undefined) a.statement = st;
      }
      out.push(a);
    }
  }
  return out;
}

async function listWith(store: SignatureStore, subjectDigest?: string): Promise<AttestationListing> {
  const root = await store.root();
  const subject = await subjectOf(store, subjectDigest);
  const [tag, refs, bk] = await Promise.all([
    fromTag(store, subject.digest),
    fromReferrers(store, subject.digest),
    subject.digest === root.digest ? fromBuildKit(store, root) : Promise.resolve([]),
  ]);
  const attestations = [...tag, ...refs, ...bk];
  return { name: store.name, digest: subject.digest, attestations };
}

/**
 * Every attestation stored beside the image (.att tag, bundle referrers, BuildKit manifests), unverified.
 * `subjectDigest`: the attestations of a manifest the root index lists instead of the root's.
 */
export async function listImageAttestations(target: Target | string, opts: { registry?: RegistryOptions; subjectDigest?: string } = {}): Promise<AttestationListing> {
  const store = await openSignatureStore(target, opts.registry ? { registry: opts.registry } : {});
  try {
    return await listWith(store, opts.subjectDigest);
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------- verification

export interface VerifyImageAttestationOptions {
  /** the predicate type required: a --type name or a URI */
  type?: string;
  policy?: Policy;
  clock?: Clock;
  registry?: RegistryOptions;
  /** verify the attestations of this manifest of the root index (a platform image) instead of the root's */
  subjectDigest?: string;
}

export interface AttestationCheck extends SignatureCheck {
  kind: StoredAttestation['kind'];
  /** the statement, only when its signature verified */
  statement?: Statement;
  predicateType?: string;
  policy?: PolicyResult;
}

export interface VerifyImageAttestationsResult {
  name: string;
  digest: string;
  checks: AttestationCheck[];
}

function certificateKey(cert: string | Buffer): KeyObject | undefined {
  try {
    return createPublicKey(new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'pem' }));
  } catch {
    return undefined;
  }
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

/**
 * Checks one stored attestation against the verifier: signature (a trusted key, else the keyless
 * certificate hook), statement shape, predicate type, subject digest, predicate content, policy.
 * Pure apart from the keyless hook; never throws for bad input.
 */
export async function checkStoredAttestation(a: StoredAttestation, digest: string, verifier: ImageVerifier, opts: Omit<VerifyImageAttestationOptions, 'registry'> = {}): Promise<AttestationCheck> {
  const base = { source: a.source, kind: a.kind, ...(a.annotatedPredicateType ? { predicateType: a.annotatedPredicateType } : {}) };
  const fail = (reason: VerifyReason, detail: string, evidence: string[] = []): AttestationCheck => ({ ...base, verified: false, reason, detail, evidence });
  if (a.problem) return fail(a.problem.reason, a.problem.detail);
  if (a.kind === 'buildkit') return fail('unsigned', 'a BuildKit attestation is an unsigned in-toto statement: listed, never verified');
  const env = a.envelope as Partial<Envelope> | undefined;
  if (!env || typeof env !== 'object') return fail('bundle-malformed', 'no DSSE envelope');

  // which key checks the signature: the trusted key, or the certificate once the keyless hook accepted it
  let keys: KeyObject[] = [];
  let identity: SignatureCheck['identity'];
  const certEvidence: string[] = [];
  if (verifier.key) {
    if (a.certificate) {
      const ck = certificateKey(a.certificate);
      if (!ck) return fail('bundle-malformed', 'the certificate cannot be parsed');
      if (!sameKey(ck, verifier.key)) return fail('key-mismatch', 'signed with a certificate whose key is not the trusted key');
    }
    if (a.bundle) {
      const hint = ((a.bundle.verificationMaterial as Record<string, unknown> | undefined)?.publicKey as Record<string, unknown> | undefined)?.hint;
      if (typeof hint === 'string' && hint !== '' && hint !== publicKeyHint(verifier.key)) return fail('key-mismatch', 'the bundle names another public key (hint) than the trusted one');
    }
    keys = [verifier.key];
  } else if (a.certificate && verifier.verifyCertificateSignature) {
    const payload = typeof env.payload === 'string' ? decodeBase64(env.payload) : undefined;
    const sig = typeof env.signatures?.[0]?.sig === 'string' ? decodeBase64(env.signatures[0].sig) : undefined;
    if (!payload || !sig || typeof env.payloadType !== 'string') return fail('bundle-malformed', 'the envelope lacks payloadType, payload or a signature');
    const r = await verifyCertificateSignature(verifier, a, pae(env.payloadType, payload), sig);
    if (!r.verified) {
      const c = fail(r.reason ?? 'certificate-untrusted', r.detail ?? 'the certificate did not verify', r.evidence);
      if (r.identity) c.identity = r.identity;
      return c;
    }
    identity = r.identity;
    certEvidence.push(...r.evidence.filter((e) => e !== 'signature'));
    const ck = certificateKey(a.certificate);
    if (!ck) return fail('bundle-malformed', 'the certificate cannot be parsed');
    keys = [ck];
  } else if (a.certificate) {
    return fail('certificate-untrusted', 'certificate-based verification (keyless) was not requested: give --certificate-identity and --certificate-oidc-issuer');
  } else {
    return fail('key-mismatch', 'no trusted key was given and the attestation carries no certificate');
  }

  const r = verifyEnvelope(env, keys, { subject: digest, ...(opts.type !== undefined ? { predicateType: opts.type } : {}), source: a.source });
  const evidence = [...r.evidence.slice(0, 1), ...certEvidence, ...r.evidence.slice(1)];
  const out: AttestationCheck = { ...base, verified: r.verified, evidence, ...(identity ? { identity } : {}) };
  if (r.statement) out.predicateType = r.statement.predicateType;
  if (!r.verified) {
    out.reason = r.reason ?? 'signature-invalid';
    if (r.detail) out.detail = r.detail;
    return out;
  }
  out.statement = r.statement as Statement;
  if (opts.policy) {
    const p = runPolicy(opts.policy, out.statement, opts.clock ? { clock: opts.clock } : {});
    out.policy = p;
    if (!p.passed) return { ...out, verified: false, reason: 'policy-failed', detail: `policy ${p.source}: ${policyFailures(p).join('; ')}` };
    out.evidence.push('policy');
  }
  return out;
}

function verifyCertificateSignature(verifier: ImageVerifier, a: StoredAttestation, signedData: Buffer, signature: Buffer) {
  const hook = verifier.verifyCertificateSignature!;
  if (a.bundle) return hook({ kind: 'bundle', bundle: a.bundle, signedData, signature, certificate: a.certificate as Buffer });
  return hook({ kind: 'layer', signedData, signature, certificate: a.certificate as string, ...(a.chain ? { chain: a.chain } : {}), ...(a.rekorBundle ? { rekorBundle: a.rekorBundle } : {}) });
}

/** Finds and checks every attestation of the image; see requireAttestation() for the decision. */
export async function verifyImageAttestations(target: Target | string, verifier: ImageVerifier, opts: VerifyImageAttestationOptions = {}): Promise<VerifyImageAttestationsResult> {
  const listing = await listImageAttestations(target, { ...(opts.registry ? { registry: opts.registry } : {}), ...(opts.subjectDigest ? { subjectDigest: opts.subjectDigest } : {}) });
  const checks = await Promise.all(listing.attestations.map((a) => checkStoredAttestation(a, listing.digest, verifier, opts)));
  checks.sort((x, y) => x.source.localeCompare(y.source, 'en', { numeric: true }));
  return { name: listing.name, digest: listing.digest, checks };
}

/** SIGNATURE_NOT_FOUND when nothing signed is stored; VERIFICATION_FAILED (every reason) when none verified. */
export function requireAttestation(result: { digest: string; checks: SignatureCheck[] }, name: string): void {
  const signed = result.checks.filter((c) => !(c as Partial<AttestationCheck>).kind || (c as AttestationCheck).kind !== 'buildkit');
  if (signed.length === 0) {
    const unsigned = result.checks.length ? ` (${result.checks.length} unsigned BuildKit attestation${result.checks.length === 1 ? '' : 's'} only)` : '';
    throw new DrydockError('SIGNATURE_NOT_FOUND', `${name}@${result.digest}: no attestations found (neither a .att tag nor an attestation bundle referrer)${unsigned}`);
  }
  if (result.checks.some((c) => c.verified)) return;
  const reasons = result.checks.map((c) => `${c.source}: ${c.reason ?? 'unknown'}${c.detail ? ` (${c.detail})` : ''}`);
  throw new DrydockError('VERIFICATION_FAILED', `${name}@${result.digest}: no attestation verified; ${reasons.join('; ')}`, { details: { digest: result.digest, checks: result.checks } });
}
