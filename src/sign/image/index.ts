/**
 * Image signatures: sign (cosign's `.sig` layout or a Sigstore bundle referrer), verify with one
 * reason per signature, list and remove what is attached to an image. Only manifests and small blobs
 * are read or written; image layers never are.
 */
import { createPublicKey } from 'node:crypto';
import { DrydockError } from '../../core/errors.js';
import { systemClock, type Clock } from '../../core/clock.js';
import { INDEX_MEDIA_TYPES, type Descriptor, type RawManifest, type RegistryOptions, type Target } from '../../image/types.js';
import type { SignatureCheck, Signer } from '../types.js';
import { attachedTag, simpleSigningPayload, SIMPLE_SIGNING_MEDIA_TYPE, type AttachedKind } from './payload.js';
import { appendSignatureLayer, buildSignatureManifest, parseSignatureManifest, signatureLayerDescriptor, type SignatureLayer } from './sig-manifest.js';
import {
  BUNDLE_PREDICATE_ANNOTATION,
  BUNDLE_V03_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE,
  EMPTY_CONFIG,
  EMPTY_CONFIG_DESCRIPTOR,
  INTOTO_PAYLOAD_TYPE,
  buildBundleReferrer,
  buildDsseBundle,
  pae,
  publicKeyHint,
  signStatement,
  type VerificationMaterialJson,
} from './bundle.js';
import { COSIGN_KIND_ATTS, COSIGN_KIND_SIGS, openSignatureStore, type SignatureStore } from './store.js';
import { checkSignatureBundle, checkSignatureLayer, type ImageVerifier } from './verify.js';
import { byString } from '../../core/compare.js';

export type { ImageVerifier, CertificateSignatureInput, CertificateCheckResult } from './verify.js';
export { simpleSigningPayload, parseSimpleSigningPayload, attachedTag, parseAnnotationPairs, dockerReferenceOf } from './payload.js';
export type { AttachedKind } from './payload.js';

/**
 * The seam for keyless signing (src/sign/sigstore): a Signer that also holds a Fulcio certificate.
 * `certificateChain()` gives the leaf PEM first, then the chain; `rekorBundle()` cosign's
 * `dev.sigstore.cosign/bundle` JSON for a signature when it was logged; `bundleMaterial()` the
 * verificationMaterial of a Sigstore bundle (certificate, tlog entries, timestamps).
 */
export interface KeylessSigner extends Signer {
  certificateChain(): Promise<string[]>;
  rekorBundle?(payload: Buffer, signature: Buffer): Promise<string | undefined>;
  bundleMaterial?(signedData: Buffer, signature: Buffer): Promise<VerificationMaterialJson>;
}

function isKeyless(s: Signer): s is KeylessSigner {
  return typeof (s as Partial<KeylessSigner>).certificateChain === 'function';
}

export type SignatureFormat = 'cosign' | 'bundle';

export interface SignImageOptions {
  annotations?: Record<string, string>;
  /** also sign every manifest of an index (nested indexes too) */
  recursive?: boolean;
  /** 'cosign' (default): the sha256-<hex>.sig tag; 'bundle': a Sigstore bundle v0.3 referrer */
  format?: SignatureFormat;
  registry?: RegistryOptions;
  /** docker-reference of payloads for oci-dir images */
  dockerReference?: string;
  clock?: Clock;
}

export interface SignedManifest {
  digest: string;
  /** "tag REPO:sha256-<hex>.sig layer N" or "referrer sha256:..." */
  location: string;
  /** false when an identical signature was already stored */
  added: boolean;
}

export interface SignImageResult {
  /** the digest the target resolved to */
  digest: string;
  signed: SignedManifest[];
}

/** The digests to sign: the root, and with `recursive` every manifest below an index. */
export async function digestsToSign(store: SignatureStore, root: RawManifest, recursive: boolean): Promise<Descriptor[]> {
  const out: Descriptor[] = [{ mediaType: root.mediaType, digest: root.digest, size: root.bytes.length }];
  if (!recursive) return out;
  const seen = new Set([root.digest]);
  const walk = async (m: RawManifest, depth: number): Promise<void> => {
    if (!INDEX_MEDIA_TYPES.includes(m.mediaType) || depth > 4) return;
    const doc = JSON.parse(m.bytes.toString('utf8')) as { manifests?: Descriptor[] };
    for (const d of doc.manifests ?? []) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      out.push({ mediaType: d.mediaType, digest: d.digest, size: d.size });
      if (INDEX_MEDIA_TYPES.includes(d.mediaType)) await walk(await store.manifest(d.digest), depth + 1);
    }
  };
  await walk(root, 0);
  return out;
}

async function signOneCosign(store: SignatureStore, subject: Descriptor, signer: Signer, annotations: Record<string, string>): Promise<SignedManifest> {
  const payload = simpleSigningPayload(store.dockerReference, subject.digest, annotations);
  const signature = await signer.sign(payload);
  const layer: SignatureLayer = { payload, signature: signature.toString('base64') };
  if (isKeyless(signer)) {
    const [leaf, ...chain] = await signer.certificateChain();
    if (leaf) layer.certificate = leaf;
    if (chain.length) layer.chain = chain.join('');
  }
  // keyless signatures are always logged; a key-based signer logs only when asked (--tlog-upload)
  const rekor = await (signer as Partial<KeylessSigner>).rekorBundle?.(payload, signature);
  if (rekor) layer.bundle = rekor;
  const desc = signatureLayerDescriptor(layer);
  const tag = attachedTag(subject.digest, 'signature');
  const existing = await store.tagged(tag);
  const layers = existing ? parseSignatureManifest(existing, `${store.name}:${tag}`) : { layers: [] };
  const next = appendSignatureLayer(layers.layers, desc);
  if (!next) return { digest: subject.digest, location: `tag ${store.name}:${tag}`, added: false };
  const { manifest, config } = buildSignatureManifest(next, layers.annotations);
  await store.putBlob(desc, payload);
  await store.putBlob(config.descriptor, config.bytes);
  await store.putTagged(tag, manifest, COSIGN_KIND_SIGS);
  return { digest: subject.digest, location: `tag ${store.name}:${tag} layer ${next.length - 1}`, added: true };
}

/**
 * A statement signed in a DSSE envelope and wrapped in a Sigstore bundle v0.3: the keyless signer's verification
 * material (certificate, log entry, timestamps), or the key's hint. Image signatures and attestations share it.
 */
export async function signDsseBundle(statement: Buffer, signer: Signer): Promise<{ bundle: Buffer; signature: Buffer }> {
  const signedData = pae(INTOTO_PAYLOAD_TYPE, statement);
  const signature = await signer.sign(signedData);
  let material: VerificationMaterialJson;
  if (isKeyless(signer)) {
    if (signer.bundleMaterial) material = await signer.bundleMaterial(signedData, signature);
    else {
      const [leaf] = await signer.certificateChain();
      if (!leaf) throw new DrydockError('SIGSTORE_ERROR', 'the keyless signer returned no certificate');
      const der = Buffer.from(leaf.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, ''), 'base64');
      material = { certificate: { rawBytes: der.toString('base64') }, tlogEntries: [] };
    }
  } else {
    material = { publicKey: { hint: publicKeyHint(createPublicKey(signer.publicKeyPem())) }, tlogEntries: [] };
  }
  return { bundle: buildDsseBundle(statement, signature, material), signature };
}

async function signOneBundle(store: SignatureStore, subject: Descriptor, signer: Signer, annotations: Record<string, string>, clock: Clock): Promise<SignedManifest> {
  const { bundle } = await signDsseBundle(signStatement(subject.digest, annotations), signer);
  const { manifest, layer } = buildBundleReferrer(bundle, subject, clock.now());
  await store.putBlob(EMPTY_CONFIG_DESCRIPTOR, EMPTY_CONFIG);
  await store.putBlob(layer, bundle);
  await store.pushReferrer(manifest);
  return { digest: subject.digest, location: `referrer ${manifest.digest}`, added: true };
}

/** Signs the image `target` names (registry reference or oci-dir:) and stores the signature beside it. */
export async function signImage(target: Target | string, signer: Signer, opts: SignImageOptions = {}): Promise<SignImageResult> {
  const store = await openSignatureStore(target, {
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.dockerReference ? { dockerReference: opts.dockerReference } : {}),
  });
  try {
    const root = await store.root();
    const subjects = await digestsToSign(store, root, opts.recursive === true);
    const signed: SignedManifest[] = [];
    for (const s of subjects) {
      signed.push(
        opts.format === 'bundle'
          ? await signOneBundle(store, s, signer, opts.annotations ?? {}, opts.clock ?? systemClock)
          : await signOneCosign(store, s, signer, opts.annotations ?? {}),
      );
    }
    return { digest: root.digest, signed };
  } finally {
    await store.close();
  }
}

export interface VerifyImageOptions {
  /** -a key=value pairs the signed payload must carry */
  annotations?: Record<string, string>;
  registry?: RegistryOptions;
}

export interface VerifyImageResult {
  /** the manifest digest verified */
  digest: string;
  checks: SignatureCheck[];
}

function isBundleReferrer(d: Descriptor): boolean {
  return d.artifactType === BUNDLE_V03_MEDIA_TYPE || (d.artifactType ?? '').startsWith('application/vnd.dev.sigstore.bundle');
}

/** A bundle referrer that is a signature, not an attestation (by its predicateType annotation when present). */
function isSignatureBundle(d: Descriptor): boolean {
  const p = d.annotations?.[BUNDLE_PREDICATE_ANNOTATION];
  return isBundleReferrer(d) && (p === undefined || p === COSIGN_SIGN_PREDICATE);
}

async function read<T>(f: () => Promise<T>): Promise<T | Error> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof DrydockError && ['DIGEST_MISMATCH', 'SIZE_MISMATCH', 'BLOB_NOT_FOUND', 'MANIFEST_INVALID', 'IMAGE_NOT_FOUND'].includes(e.code)) return e;
    throw e;
  }
}

/**
 * Finds every signature of the image in both layouts and checks each. Never throws for a signature
 * that does not verify: see requireVerified() for the pass/fail decision.
 */
export async function verifyImage(target: Target | string, verifier: ImageVerifier, opts: VerifyImageOptions = {}): Promise<VerifyImageResult> {
  const store = await openSignatureStore(target, opts.registry ? { registry: opts.registry } : {});
  try {
    const root = await store.root();
    const digest = root.digest;
    const ctx = { digest, annotations: opts.annotations ?? {}, verifier };
    const checks: SignatureCheck[] = [];
    // signatures of one payload share its blob (cosign signs the same simple-signing document): read it once
    const blobs = new Map<string, Promise<Buffer | Error>>();
    const blob = (d: Descriptor): Promise<Buffer | Error> => {
      const key = `${d.digest} ${d.size}`;
      let p = blobs.get(key);
      if (!p) blobs.set(key, (p = read(() => store.blob(d))));
      return p;
    };
    const tag = attachedTag(digest, 'signature');
    const [sigManifest, referrers] = await Promise.all([read(() => store.tagged(tag)), read(() => store.referrers(digest))]);
    if (sigManifest instanceof Error) {
      checks.push({ source: `tag ${tag}`, verified: false, reason: 'layer-digest-mismatch', detail: sigManifest.message, evidence: [] });
    } else if (sigManifest) {
      let layers: Descriptor[] = [];
      try {
        layers = parseSignatureManifest(sigManifest, `${store.name}:${tag}`).layers;
      } catch (e) {
        checks.push({ source: `tag ${tag}`, verified: false, reason: 'payload-malformed', detail: (e as Error).message, evidence: [] });
      }
      const results = await Promise.all(
        layers.map(async (l, i) => {
          const source = `tag ${tag} layer ${i}`;
          if (l.mediaType !== SIMPLE_SIGNING_MEDIA_TYPE) {
            return { source, verified: false, reason: 'payload-malformed', detail: `layer media type ${l.mediaType} is not ${SIMPLE_SIGNING_MEDIA_TYPE}`, evidence: [] } satisfies SignatureCheck;
          }
          return checkSignatureLayer(source, l, await blob(l), ctx);
        }),
      );
      checks.push(...results);
    }
    if (referrers instanceof Error) {
      checks.push({ source: `referrers of ${digest}`, verified: false, reason: 'layer-digest-mismatch', detail: referrers.message, evidence: [] });
    } else {
      const results = await Promise.all(
        referrers.filter(isSignatureBundle).map(async (d) => {
          const source = `referrer ${d.digest}`;
          const m = await read(() => store.manifest(d.digest));
          if (m instanceof Error) return { source, verified: false, reason: 'layer-digest-mismatch', detail: m.message, evidence: [] } satisfies SignatureCheck;
          let doc: { subject?: { digest?: string }; layers?: Descriptor[] };
          try {
            doc = JSON.parse(m.bytes.toString('utf8')) as typeof doc;
          } catch {
            return { source, verified: false, reason: 'bundle-malformed', detail: 'the referrer manifest is not JSON', evidence: [] } satisfies SignatureCheck;
          }
          if (doc.subject?.digest !== digest) {
            return { source, verified: false, reason: 'digest-mismatch', detail: `the referrer's subject is ${doc.subject?.digest ?? 'missing'}, not ${digest}`, evidence: [] } satisfies SignatureCheck;
          }
          const layer = doc.layers?.find((l) => l.mediaType.startsWith('application/vnd.dev.sigstore.bundle'));
          if (!layer) return { source, verified: false, reason: 'bundle-malformed', detail: 'the referrer holds no bundle layer', evidence: [] } satisfies SignatureCheck;
          return checkSignatureBundle(source, await blob(layer), ctx);
        }),
      );
      checks.push(...results);
    }
    checks.sort((a, b) => byString(a.source, b.source));
    return { digest, checks };
  } finally {
    await store.close();
  }
}

/** SIGNATURE_NOT_FOUND when there is nothing to check, VERIFICATION_FAILED (every reason) when nothing verified. */
export function requireVerified(result: VerifyImageResult, name: string): void {
  if (result.checks.length === 0) throw new DrydockError('SIGNATURE_NOT_FOUND', `${name}@${result.digest}: no signatures found (neither a .sig tag nor a signature bundle referrer)`);
  if (result.checks.some((c) => c.verified)) return;
  const reasons = result.checks.map((c) => `${c.source}: ${c.reason ?? 'unknown'}${c.detail ? ` (${c.detail})` : ''}`);
  throw new DrydockError('VERIFICATION_FAILED', `${name}@${result.digest}: no signature verified; ${reasons.join('; ')}`, {
    details: { digest: result.digest, checks: result.checks },
  });
}

export interface AttachedTagEntry {
  kind: AttachedKind;
  tag: string;
  /** digest of the manifest behind the tag */
  digest: string;
  /** digests of its layers (one per signature, attestation or SBOM) */
  layers: string[];
}

export interface AttachedReferrer {
  digest: string;
  artifactType: string;
  /** 'signature' for cosign sign bundles, 'attestation' for other in-toto bundles, else 'other' */
  kind: AttachedKind | 'other';
  annotations?: Record<string, string>;
}

export interface AttachedListing {
  name: string;
  digest: string;
  tags: AttachedTagEntry[];
  referrers: AttachedReferrer[];
}

function referrerKind(d: Descriptor): AttachedReferrer['kind'] {
  if (isSignatureBundle(d)) return 'signature';
  if (isBundleReferrer(d)) return 'attestation';
  if (/spdx|cyclonedx|sbom/i.test(d.artifactType ?? '')) return 'sbom';
  return 'other';
}

async function listWith(store: SignatureStore): Promise<AttachedListing> {
  const root = await store.root();
  const digest = root.digest;
  const kinds: AttachedKind[] = ['signature', 'attestation', 'sbom'];
  const tagged = await Promise.all(kinds.map(async (kind) => ({ kind, tag: attachedTag(digest, kind), m: await store.tagged(attachedTag(digest, kind)) })));
  const tags: AttachedTagEntry[] = [];
  for (const { kind, tag, m } of tagged) {
    if (!m) continue;
    let layers: string[] = [];
    try {
      layers = parseSignatureManifest(m, `${store.name}:${tag}`).layers.map((l) => l.digest);
    } catch {
      // listed with no layers: `verify` says what is wrong with it
    }
    tags.push({ kind, tag, digest: m.digest, layers });
  }
  const referrers = (await store.referrers(digest)).map((d) => {
    const r: AttachedReferrer = { digest: d.digest, artifactType: d.artifactType ?? '', kind: referrerKind(d) };
    if (d.annotations) r.annotations = d.annotations;
    return r;
  });
  referrers.sort((a, b) => byString(a.digest, b.digest));
  return { name: store.name, digest, tags, referrers };
}

export interface AttachedOptions {
  registry?: RegistryOptions;
}

/** Signatures, attestations, SBOMs and referrers attached to the image, in every layout. */
export async function listAttached(target: Target | string, opts: AttachedOptions = {}): Promise<AttachedListing> {
  const store = await openSignatureStore(target, opts.registry ? { registry: opts.registry } : {});
  try {
    return await listWith(store);
  } finally {
    await store.close();
  }
}

export type CleanKind = AttachedKind | 'all';

/** Removes the attached objects of the given kinds; returns what was removed. */
export async function cleanAttached(target: Target | string, kinds: readonly CleanKind[], opts: AttachedOptions = {}): Promise<AttachedListing> {
  const store = await openSignatureStore(target, opts.registry ? { registry: opts.registry } : {});
  try {
    const all = kinds.includes('all');
    const want = (k: AttachedReferrer['kind']): boolean => all || (kinds as readonly string[]).includes(k);
    const listing = await listWith(store);
    const removed: AttachedListing = { name: listing.name, digest: listing.digest, tags: [], referrers: [] };
    for (const t of listing.tags) {
      if (!want(t.kind)) continue;
      await store.deleteTagged(t.tag, t.digest);
      removed.tags.push(t);
    }
    for (const r of listing.referrers) {
      if (!want(r.kind)) continue;
      await store.deleteReferrer(listing.digest, r.digest);
      removed.referrers.push(r);
    }
    return removed;
  } finally {
    await store.close();
  }
}

/** The config and layer blobs a manifest names (attached objects are small: signatures, envelopes, bundles). */
async function copyManifestBlobs(from: SignatureStore, to: SignatureStore, m: RawManifest): Promise<void> {
  let doc: { config?: Descriptor; layers?: Descriptor[] };
  try {
    doc = JSON.parse(m.bytes.toString('utf8')) as typeof doc;
  } catch (cause) {
    throw new DrydockError('MANIFEST_INVALID', `manifest ${m.digest} of ${from.name} is not JSON`, { cause });
  }
  for (const d of [...(doc.config ? [doc.config] : []), ...(doc.layers ?? [])]) await to.putBlob(d, await from.blob(d));
}

/**
 * Copies what is attached to the image at `source` (the cosign tags and the referrers) to the same image at
 * `dest`, which must already hold it (the digest is the same: copies keep manifests byte for byte).
 */
export async function copyAttached(source: Target | string, dest: Target | string, opts: { source?: AttachedOptions; dest?: AttachedOptions } = {}): Promise<AttachedListing> {
  const from = await openSignatureStore(source, opts.source?.registry ? { registry: opts.source.registry } : {});
  try {
    const to = await openSignatureStore(dest, opts.dest?.registry ? { registry: opts.dest.registry } : {});
    try {
      const listing = await listWith(from);
      const there = (await to.root()).digest;
      if (there !== listing.digest) {
        throw new DrydockError('MANIFEST_INVALID', `${to.name} holds ${there}, not the copied image ${listing.digest}: attached objects were not copied`);
      }
      for (const t of listing.tags) {
        const m = await from.tagged(t.tag);
        if (!m) continue;
        await copyManifestBlobs(from, to, m);
        await to.putTagged(t.tag, m, t.kind === 'signature' ? COSIGN_KIND_SIGS : t.kind === 'attestation' ? COSIGN_KIND_ATTS : undefined);
      }
      for (const r of listing.referrers) {
        const m = await from.manifest(r.digest);
        await copyManifestBlobs(from, to, m);
        await to.pushReferrer(m);
      }
      return listing;
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
