/**
 * The manifest behind cosign's `sha256-<hex>.sig` tag (cosign specs/SIGNATURE_SPEC.md, "OCI Image
 * Manifest V1"): one OCI image manifest per signed object, one layer per signature. Each layer is a
 * simple signing payload; its annotations carry the base64 signature and, when present, the
 * certificate, chain and transparency-log bundle. The config is the one go-containerregistry writes
 * for cosign's empty image with those layers appended (zero timestamps, payload digests as diff_ids).
 * Serialisation follows Go's field order so the bytes match what cosign pushes.
 */
import { digestOf } from '../../core/digest.js';
import { DrydockError } from '../../core/errors.js';
import { MediaType, type Descriptor, type RawManifest } from '../../image/types.js';
import {
  BUNDLE_ANNOTATION,
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  SIGNATURE_ANNOTATION,
  SIMPLE_SIGNING_MEDIA_TYPE,
  goJson,
  goJsonString,
} from './payload.js';

/** One signature as stored in a layer. */
export interface SignatureLayer {
  payload: Buffer;
  /** base64 of the signature bytes */
  signature: string;
  /** PEM of the signing certificate (keyless) */
  certificate?: string;
  /** PEM chain up to the root (keyless) */
  chain?: string;
  /** cosign's Rekor bundle JSON ({"SignedEntryTimestamp":..,"Payload":{..}}) */
  bundle?: string;
}

export interface Blob {
  descriptor: Descriptor;
  bytes: Buffer;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** The layer descriptor of one signature, annotations as cosign names them. */
export function signatureLayerDescriptor(l: SignatureLayer): Descriptor {
  const annotations: Record<string, string> = { [SIGNATURE_ANNOTATION]: l.signature };
  if (l.certificate !== undefined) annotations[CERTIFICATE_ANNOTATION] = l.certificate;
  if (l.chain !== undefined) annotations[CHAIN_ANNOTATION] = l.chain;
  if (l.bundle !== undefined) annotations[BUNDLE_ANNOTATION] = l.bundle;
  return { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: l.payload.length, digest: digestOf(l.payload), annotations };
}

/** A descriptor in go-containerregistry's field order: mediaType, size, digest, data, urls, annotations, platform, artifactType. */
export function descriptorJson(d: Descriptor): string {
  let s = `{"mediaType":${goJsonString(d.mediaType)},"size":${d.size},"digest":${goJsonString(d.digest)}`;
  if (d.data !== undefined) s += `,"data":${goJsonString(d.data)}`;
  if (d.urls?.length) s += `,"urls":${goJson(d.urls)}`;
  if (d.annotations && Object.keys(d.annotations).length) s += `,"annotations":${goJson(d.annotations)}`;
  if (d.platform !== undefined) s += `,"platform":${JSON.stringify(d.platform)}`;
  if (d.artifactType !== undefined) s += `,"artifactType":${goJsonString(d.artifactType)}`;
  return `${s}}`;
}

/** The config blob of a signature manifest over these layers. */
export function signatureConfig(layers: readonly Descriptor[]): Blob {
  const history = layers.map(() => `{"created":"${ZERO_TIME}"}`).join(',');
  const diffIds = layers.map((l) => goJsonString(l.digest)).join(',');
  const text =
    `{"architecture":"","created":"${ZERO_TIME}",` +
    (layers.length ? `"history":[${history}],` : '') +
    `"os":"","rootfs":{"type":"layers","diff_ids":[${diffIds}]},"config":{}}`;
  const bytes = Buffer.from(text, 'utf8');
  return { bytes, descriptor: { mediaType: MediaType.ociConfig, size: bytes.length, digest: digestOf(bytes) } };
}

/** The manifest (and its config blob) over these signature layers. */
export function buildSignatureManifest(layers: readonly Descriptor[], annotations?: Record<string, string>): { manifest: RawManifest; config: Blob } {
  const config = signatureConfig(layers);
  let text = `{"schemaVersion":2,"mediaType":"${MediaType.ociManifest}","config":${descriptorJson(config.descriptor)},"layers":[${layers.map(descriptorJson).join(',')}]`;
  if (annotations && Object.keys(annotations).length) text += `,"annotations":${goJson(annotations)}`;
  text += '}';
  const bytes = Buffer.from(text, 'utf8');
  return { manifest: { bytes, mediaType: MediaType.ociManifest, digest: digestOf(bytes) }, config };
}

export interface ParsedSignatureManifest {
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** Reads a signature manifest; MANIFEST_INVALID when it is not an image manifest with layers. */
export function parseSignatureManifest(m: RawManifest, what: string): ParsedSignatureManifest {
  let doc: { layers?: unknown; annotations?: unknown; manifests?: unknown };
  try {
    doc = JSON.parse(m.bytes.toString('utf8')) as typeof doc;
  } catch (e) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: not valid JSON`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.layers)) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: not an image manifest with layers`);
  }
  const layers: Descriptor[] = [];
  for (const [i, l] of (doc.layers as unknown[]).entries()) {
    const d = l as Partial<Descriptor> | null;
    if (!d || typeof d.mediaType !== 'string' || typeof d.digest !== 'string' || typeof d.size !== 'number') {
      throw new DrydockError('MANIFEST_INVALID', `${what}: layer ${i} is not a descriptor`);
    }
    layers.push(d as Descriptor);
  }
  const out: ParsedSignatureManifest = { layers };
  if (doc.annotations && typeof doc.annotations === 'object') out.annotations = doc.annotations as Record<string, string>;
  return out;
}

/**
 * The layers after appending `added`: an identical signature (same payload digest and the same
 * signature value) is not added twice. Returns undefined when nothing changes.
 */
export function appendSignatureLayer(existing: readonly Descriptor[], added: Descriptor): Descriptor[] | undefined {
  const sig = added.annotations?.[SIGNATURE_ANNOTATION];
  if (existing.some((l) => l.digest === added.digest && l.annotations?.[SIGNATURE_ANNOTATION] === sig)) return undefined;
  return [...existing, added];
}
