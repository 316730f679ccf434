/**
 * Image attestations wired to the stages (scan/ is where catalog, match and attest meet):
 * `attest --sbom` (catalog and attest the CycloneDX SBOM), `attest --scan` (scan and attest the cosign
 * vulnerability predicate), and `verify-attestation --check-content` (verify, then catalog the image
 * again and compare it with the attested SBOM). The checks themselves are pure (attest/image).
 */
import { systemClock, type Clock } from '../core/clock.js';
import { DrydockError } from '../core/errors.js';
import { openReader } from '../image/open.js';
import { INDEX_MEDIA_TYPES, type ImageIndex, type RegistryOptions, type Target } from '../image/types.js';
import { parseManifestJson } from '../image/manifest.js';
import { formatPlatform, isAttestationDescriptor, parsePlatform, selectFromIndex } from '../image/platform.js';
import type { Inventory } from '../model/package.js';
import { sbomPredicate, vulnPredicate, predicateTypeMatches, type SbomPredicateFormat } from '../attest/predicates.js';
import type { Policy } from '../attest/policy.js';
import {
  attestImage,
  compareInventories,
  describeContentCheck,
  verifyImageAttestations,
  type AttestationCheck,
  type AttestationFormat,
  type AttestImageResult,
  type ContentCheckResult,
} from '../attest/image/index.js';
import { decodeSbom } from '../sbom/decode/index.js';
import type { ImageVerifier } from '../sign/image/verify.js';
import type { Signer } from '../sign/types.js';
import { sbomImage, type SbomOptions } from './sbom.js';
import { scanImage, type ScanOptions } from './scan.js';

export interface AttestStoreOptions {
  /** 'cosign' (default): the .att tag; 'bundle': a Sigstore bundle referrer */
  format?: AttestationFormat;
  clock?: Clock;
  /** remove the attestations of the same predicate type about the image (cosign's --replace) */
  replace?: boolean;
}

function registryOf(opts: { image?: { registry?: RegistryOptions } }): { registry?: RegistryOptions } {
  return opts.image?.registry ? { registry: opts.image.registry } : {};
}

/** Catalogs the image and attests its SBOM (CycloneDX 1.6 by default) about the manifest cataloged. */
export async function attestImageSbom(
  target: string,
  signer: Signer,
  opts: SbomOptions & AttestStoreOptions & { sbomFormat?: SbomPredicateFormat } = {},
): Promise<AttestImageResult & { inventory: Inventory }> {
  const inventory = await sbomImage(target, opts);
  if (!inventory.source.digest) throw new DrydockError('USAGE', `cannot attest ${target}: only images (registry or oci-dir:) can carry attestations`);
  const predicate = sbomPredicate(inventory, opts.sbomFormat ?? 'cyclonedx', opts.clock ? { clock: opts.clock } : {});
  const r = await attestImage(target, predicate, signer, {
    ...registryOf(opts),
    subjectDigest: inventory.source.digest,
    ...(opts.format ? { format: opts.format } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.replace ? { replace: true } : {}),
  });
  return { ...r, inventory };
}

/** The index at the target's root, or undefined when the target is one image. */
async function rootIndex(target: string | Target, image: SbomOptions['image']): Promise<ImageIndex | undefined> {
  const reader = await openReader(target, image ?? {});
  try {
    const root = await reader.root();
    const parsed = parseManifestJson(root, root.digest);
    return parsed.kind === 'index' ? parsed.index : undefined;
  } finally {
    await reader.close();
  }
}

const nameOf = (target: string | Target): string => (typeof target === 'string' ? target : target.input);

/**
 * The platform images of an index (attestation manifests and nested indexes left out), in index
 * order; undefined when the target is one image.
 */
async function platformImages(target: string | Target, opts: SbomOptions): Promise<{ digest: string; platform: string }[] | undefined> {
  const index = await rootIndex(target, opts.image);
  if (!index) return undefined;
  const out = index.manifests
    .filter((d) => d.platform && !isAttestationDescriptor(d) && !INDEX_MEDIA_TYPES.includes(d.mediaType))
    .map((d) => ({ digest: d.digest, platform: formatPlatform(d.platform!) }));
  const seen = new Map<string, string>();
  for (const p of out) {
    const other = seen.get(p.platform);
    if (other && other !== p.digest) {
      throw new DrydockError('MANIFEST_INVALID', `${nameOf(target)}: the index lists two manifests for platform ${p.platform} (${other}, ${p.digest}); attest them one by one`);
    }
    seen.set(p.platform, p.digest);
  }
  return out.filter((p, i) => out.findIndex((q) => q.digest === p.digest) === i);
}

/**
 * `attest --recursive --sbom|--scan`: each platform image of an index is catalogued (or scanned) and
 * attested on its own, the statement's subject being that platform's manifest; a single image is
 * attested once.
 */
export async function attestEachPlatform<T extends AttestImageResult, O extends SbomOptions>(target: string, opts: O, one: (opts: O) => Promise<T>): Promise<T[]> {
  const platforms = await platformImages(target, opts);
  if (!platforms) return [await one(opts)];
  const out: T[] = [];
  for (const p of platforms) {
    const r = await one({ ...opts, image: { ...opts.image, platform: p.platform } });
    if (r.digest !== p.digest) throw new DrydockError('INTERNAL', `${target}: platform ${p.platform} resolved to ${r.digest}, not ${p.digest}`);
    out.push(r);
  }
  return out;
}

/** Scans the image and attests the cosign vulnerability predicate (scanner, database identity, scan times). */
export async function attestImageScan(target: string, signer: Signer, opts: ScanOptions & AttestStoreOptions): Promise<AttestImageResult> {
  const clock = opts.clock ?? systemClock;
  const startedOn = clock.now().toISOString();
  const scan = await scanImage(target, opts);
  const finishedOn = clock.now().toISOString();
  if (!scan.inventory.source.digest) throw new DrydockError('USAGE', `cannot attest ${target}: only images (registry or oci-dir:) can carry attestations`);
  const predicate = vulnPredicate(scan, { startedOn, finishedOn });
  return attestImage(target, predicate, signer, {
    ...registryOf(opts),
    subjectDigest: scan.inventory.source.digest,
    ...(opts.format ? { format: opts.format } : {}),
    clock,
    ...(opts.replace ? { replace: true } : {}),
  });
}

export interface ContentCheckOptions extends SbomOptions {
  /** fail on every difference, including non-package components and other catalogers' packages */
  strict?: boolean;
}

export interface VerifyAttestationOptions {
  /** on an index: verify this platform image's attestations instead of the index's */
  platform?: string;
  type?: string;
  policy?: Policy;
  clock?: Clock;
  registry?: RegistryOptions;
  /** compare verified SBOM attestations with a fresh catalog of the image */
  checkContent?: ContentCheckOptions;
}

export interface VerifiedAttestationCheck extends AttestationCheck {
  content?: ContentCheckResult;
}

export interface VerifyAttestationResult {
  name: string;
  digest: string;
  checks: VerifiedAttestationCheck[];
  /** the digest cataloged for --check-content */
  catalogedDigest?: string;
}

const isSbomType = (t: string | undefined): boolean => t !== undefined && (predicateTypeMatches('cyclonedx', t) || predicateTypeMatches('spdx', t));

/**
 * Verifies every attestation of the image and, with `checkContent`, requires each verified one to be
 * an SBOM that matches the image as cataloged now. The image is cataloged once (a warm layer cache
 * makes this cheap), only when some SBOM attestation verified.
 */
export async function verifyImageAttestation(target: string | Target, verifier: ImageVerifier, opts: VerifyAttestationOptions = {}): Promise<VerifyAttestationResult> {
  // --platform on an index: that platform image's attestations (as attest --recursive stores them)
  // (the same choice of manifest as opening the image with --platform makes)
  let subjectDigest: string | undefined;
  if (opts.platform !== undefined) {
    const index = await rootIndex(target, { platform: opts.platform, ...(opts.registry ? { registry: opts.registry } : {}) });
    if (index) subjectDigest = selectFromIndex(index, parsePlatform(opts.platform), nameOf(target)).digest;
  }
  const r = await verifyImageAttestations(target, verifier, {
    ...(subjectDigest ? { subjectDigest } : {}),
    ...(opts.type !== undefined ? { type: opts.type } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
  const out: VerifyAttestationResult = { name: r.name, digest: r.digest, checks: r.checks };
  const cc = opts.checkContent;
  if (!cc) return out;
  const candidates = out.checks.filter((c) => c.verified);
  let image: Inventory | undefined;
  for (const c of candidates) {
    if (!isSbomType(c.statement?.predicateType)) {
      c.verified = false;
      c.reason = 'predicate-type-mismatch';
      c.detail = `--check-content needs an SBOM predicate (CycloneDX or SPDX), not ${c.statement?.predicateType ?? 'none'}`;
      continue;
    }
    let attested: Inventory;
    try {
      attested = decodeSbom(c.statement!.predicate ?? {});
    } catch (e) {
      c.verified = false;
      c.reason = 'predicate-invalid';
      c.detail = `the attested SBOM cannot be decoded: ${(e as Error).message}`;
      continue;
    }
    if (!image) {
      const { strict: _s, ...sbomOpts } = cc;
      image = await sbomImage(target, { ...sbomOpts, ...(opts.registry && !sbomOpts.image?.registry ? { image: { ...sbomOpts.image, registry: opts.registry } } : {}) });
      if (image.source.digest) out.catalogedDigest = image.source.digest;
    }
    const content = compareInventories(attested, image, { strict: cc.strict === true });
    c.content = content;
    if (content.passed) c.evidence.push('content');
    else {
      c.verified = false;
      c.reason = 'content-mismatch';
      c.detail = `the attested SBOM does not match the image: ${describeContentCheck(content).filter((l) => cc.strict || !l.startsWith('note')).join('; ')}`;
    }
  }
  return out;
}
