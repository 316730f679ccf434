/**
 * Image signatures as Sigstore bundles stored as OCI 1.1 referrers, the way cosign 3 stores them
 * (cosign specs/BUNDLE_SPEC.md): a bundle v0.3 whose DSSE envelope holds an in-toto Statement v1 with
 * predicate type https://sigstore.dev/cosign/sign/v1, subject = the image manifest digest (the -a
 * annotations ride on the subject), predicate {}. The referrer manifest has artifactType = the bundle
 * media type, the empty config, one layer (the bundle JSON) and the image as its subject.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { digestOf, parseDigest } from '../../core/digest.js';
import { MediaType, type Descriptor, type RawManifest } from '../../image/types.js';
import { descriptorJson } from './sig-manifest.js';
import { goJson, goJsonString } from './payload.js';

export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const INTOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
export const CREATED_ANNOTATION = 'org.opencontainers.image.created';
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';

/** The OCI empty descriptor (image-spec manifest.md, "Guidance for an Empty Descriptor"). */
export const EMPTY_CONFIG = Buffer.from('{}');
export const EMPTY_CONFIG_DESCRIPTOR: Descriptor = { mediaType: MediaType.ociEmpty, size: 2, digest: digestOf(EMPTY_CONFIG) };

/** DSSE pre-authentication encoding: "DSSEv1" SP len(type) SP type SP len(body) SP body. */
export function pae(payloadType: string, body: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${body.length} `), body]);
}

/** The statement cosign 3 signs for an image. */
export function signStatement(digest: string, annotations: Record<string, string> = {}): Buffer {
  const { algorithm, hex } = parseDigest(digest);
  const text =
    `{"_type":"${INTOTO_STATEMENT_V1}","subject":[{"digest":{${goJsonString(algorithm)}:${goJsonString(hex)}},"annotations":${goJson(annotations)}}],` +
    `"predicateType":"${COSIGN_SIGN_PREDICATE}","predicate":{}}`;
  return Buffer.from(text, 'utf8');
}

/** The key hint of a bundle: base64 of the SHA-256 of the DER public key (as sigstore-go writes it). */
export function publicKeyHint(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64');
}

/** Verification material of a keyless bundle, as the keyless signer supplies it (protobuf JSON). */
export type VerificationMaterialJson = Record<string, unknown>;

/** The bundle JSON of a DSSE signature. */
export function buildDsseBundle(statement: Buffer, signature: Buffer, material: VerificationMaterialJson): Buffer {
  const bundle = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: material,
    dsseEnvelope: {
      payload: statement.toString('base64'),
      payloadType: INTOTO_PAYLOAD_TYPE,
      signatures: [{ sig: signature.toString('base64'), keyid: '' }],
    },
  };
  return Buffer.from(JSON.stringify(bundle), 'utf8');
}

/** The referrer manifest holding a bundle blob for `subject`. */
export function buildBundleReferrer(bundle: Buffer, subject: Descriptor, created: Date, predicateType = COSIGN_SIGN_PREDICATE): { manifest: RawManifest; layer: Descriptor } {
  const digest = digestOf(bundle);
  const { algorithm, hex } = parseDigest(digest);
  const layer: Descriptor = { mediaType: BUNDLE_V03_MEDIA_TYPE, size: bundle.length, digest, annotations: { [TITLE_ANNOTATION]: `${algorithm}-${hex}.sigstore.json` } };
  const annotations = {
    [BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope',
    [BUNDLE_PREDICATE_ANNOTATION]: predicateType,
    [CREATED_ANNOTATION]: created.toISOString(),
  };
  const subj: Descriptor = { mediaType: subject.mediaType, size: subject.size, digest: subject.digest };
  const text =
    `{"schemaVersion":2,"mediaType":"${MediaType.ociManifest}","artifactType":"${BUNDLE_V03_MEDIA_TYPE}",` +
    `"config":${descriptorJson(EMPTY_CONFIG_DESCRIPTOR)},"layers":[${descriptorJson(layer)}],` +
    `"subject":${descriptorJson(subj)},"annotations":${goJson(annotations)}}`;
  const bytes = Buffer.from(text, 'utf8');
  return { manifest: { bytes, mediaType: MediaType.ociManifest, digest: digestOf(bytes) }, layer };
}

/** What a stored bundle holds, after parsing; a string names what is malformed. */
export interface ParsedDsseBundle {
  mediaType: string;
  payloadType: string;
  payload: Buffer;
  signature: Buffer;
  hint?: string;
  /** DER of the leaf certificate, when the bundle carries one */
  certificate?: Buffer;
  raw: Record<string, unknown>;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function b64(v: unknown): Buffer | undefined {
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(v)) return undefined;
  return Buffer.from(v, 'base64');
}

export function parseDsseBundle(bytes: Buffer): ParsedDsseBundle | string {
  let doc: Record<string, unknown> | undefined;
  try {
    doc = obj(JSON.parse(bytes.toString('utf8')));
  } catch {
    return 'the bundle is not JSON';
  }
  if (!doc) return 'the bundle is not a JSON object';
  const mediaType = doc.mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.bundle')) return `unknown bundle media type ${JSON.stringify(mediaType)}`;
  const env = obj(doc.dsseEnvelope);
  if (!env) return doc.messageSignature !== undefined ? 'a message-signature bundle cannot sign an image (cosign 3 signs a DSSE statement)' : 'the bundle has no dsseEnvelope';
  const payload = b64(env.payload);
  const sigs = Array.isArray(env.signatures) ? (env.signatures as unknown[]) : [];
  const signature = b64(obj(sigs[0])?.sig);
  if (typeof env.payloadType !== 'string' || !payload || !signature) return 'the DSSE envelope lacks payloadType, payload or a signature';
  if (sigs.length !== 1) return `the DSSE envelope has ${sigs.length} signatures; exactly one is expected`;
  const vm = obj(doc.verificationMaterial);
  if (!vm) return 'the bundle has no verificationMaterial';
  const out: ParsedDsseBundle = { mediaType, payloadType: env.payloadType, payload, signature, raw: doc };
  const hint = obj(vm.publicKey)?.hint;
  if (typeof hint === 'string') out.hint = hint;
  const cert = b64(obj(vm.certificate)?.rawBytes) ?? b64(obj((obj(vm.x509CertificateChain)?.certificates as unknown[] | undefined)?.[0])?.rawBytes);
  if (cert) out.certificate = cert;
  if (!out.hint && !out.certificate && !obj(vm.publicKey)) return 'the verification material has neither a public key nor a certificate';
  return out;
}

export interface ParsedStatement {
  predicateType: string;
  subjects: { digest: Record<string, string>; annotations: Record<string, unknown> }[];
}

export function parseStatement(bytes: Buffer): ParsedStatement | string {
  let doc: Record<string, unknown> | undefined;
  try {
    doc = obj(JSON.parse(bytes.toString('utf8')));
  } catch {
    return 'the DSSE payload is not JSON';
  }
  if (!doc) return 'the DSSE payload is not a JSON object';
  if (typeof doc._type !== 'string' || !doc._type.startsWith('https://in-toto.io/Statement/')) return `the DSSE payload is not an in-toto statement (_type ${JSON.stringify(doc._type)})`;
  if (typeof doc.predicateType !== 'string') return 'the statement has no predicateType';
  if (!Array.isArray(doc.subject) || doc.subject.length === 0) return 'the statement has no subject';
  const subjects: ParsedStatement['subjects'] = [];
  for (const s of doc.subject as unknown[]) {
    const so = obj(s);
    const digest = obj(so?.digest);
    if (!so || !digest) return 'a statement subject has no digest';
    subjects.push({ digest: digest as Record<string, string>, annotations: obj(so.annotations) ?? {} });
  }
  return { predicateType: doc.predicateType, subjects };
}
