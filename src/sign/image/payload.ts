/**
 * The simple signing payload cosign signs for an image (cosign specs/SIGNATURE_SPEC.md, "Simple
 * Signing"; containers-signature.5.md for the JSON shape), serialised byte for byte as cosign's Go
 * code does: struct fields in declaration order, map keys sorted, Go's string escaping, and
 * `"optional":null` when there are no annotations.
 */
import { DrydockError } from '../../core/errors.js';
import { isDigest, parseDigest } from '../../core/digest.js';
import type { Reference } from '../../image/reference.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIGNATURE_TYPE = 'cosign container image signature';

/** Annotation names of a signature layer (SIGNATURE_SPEC.md "Object Types"). */
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';

export interface SimpleSigningPayload {
  dockerReference: string;
  digest: string;
  type: string;
  /** `optional` of the payload: cosign's -a annotations; null when there are none */
  optional: Record<string, unknown> | null;
}

/** Kinds of objects cosign attaches by tag: `sha256-<hex>.sig`, `.att`, `.sbom`. */
export type AttachedKind = 'signature' | 'attestation' | 'sbom';
export const ATTACHED_SUFFIX: Record<AttachedKind, string> = { signature: 'sig', attestation: 'att', sbom: 'sbom' };

/** cosign's tag for an object attached to `digest`: ':' becomes '-', then the suffix. */
export function attachedTag(digest: string, kind: AttachedKind): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm}-${hex}.${ATTACHED_SUFFIX[kind]}`;
}

/**
 * The `docker-reference` cosign writes: go-containerregistry's Repository.Name(), which names Docker
 * Hub `index.docker.io`.
 */
export function dockerReferenceOf(ref: Pick<Reference, 'registry' | 'repository'>): string {
  const registry = ref.registry === 'docker.io' ? 'index.docker.io' : ref.registry;
  return `${registry}/${ref.repository}`;
}

/** A JSON string as Go's encoding/json writes it (HTML-safe escaping, \u2028/\u2029 escaped). */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i] as string;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || ch === '<' || ch === '>' || ch === '&' || c === 0x2028 || c === 0x2029) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // a lone surrogate is invalid UTF-8 in Go: it becomes U+FFFD
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += s.slice(i, i + 2);
        i++;
      } else {
        out += '\ufffd';
      }
    } else out += ch;
  }
  return `${out}"`;
}

/** A JSON value as Go's encoding/json writes a map[string]interface{}: object keys sorted. */
export function goJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goJsonString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new DrydockError('USAGE', `annotation value ${v} cannot be written as JSON`);
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  if (typeof v === 'object') {
    // Go sorts map keys by their UTF-8 bytes
    const keys = Object.keys(v as object).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return `{${keys.map((k) => `${goJsonString(k)}:${goJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  throw new DrydockError('USAGE', `a value of type ${typeof v} cannot be written as JSON`);
}

/** The payload bytes cosign signs for `digest` in repository `dockerReference`. */
export function simpleSigningPayload(dockerReference: string, digest: string, annotations?: Record<string, unknown>): Buffer {
  if (!isDigest(digest)) throw new DrydockError('DIGEST_INVALID', `invalid manifest digest ${JSON.stringify(digest)}`);
  const optional = annotations && Object.keys(annotations).length > 0 ? goJson(annotations) : 'null';
  const text =
    `{"critical":{"identity":{"docker-reference":${goJsonString(dockerReference)}},` +
    `"image":{"docker-manifest-digest":${goJsonString(digest)}},` +
    `"type":${goJsonString(COSIGN_SIGNATURE_TYPE)}},"optional":${optional}}`;
  return Buffer.from(text, 'utf8');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads a payload. Returns a string naming what is wrong instead of throwing: verification turns it
 * into a `payload-malformed` check. Like cosign, the key of the digest is matched case-insensitively
 * (the spec's own example spells it `Docker-manifest-digest`).
 */
export function parseSimpleSigningPayload(bytes: Buffer): SimpleSigningPayload | string {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'the payload is not JSON';
  }
  if (!isObject(doc)) return 'the payload is not a JSON object';
  const critical = doc.critical;
  if (!isObject(critical)) return 'the payload has no critical object';
  const identity = critical.identity;
  const image = critical.image;
  if (!isObject(identity) || !isObject(image)) return 'critical.identity or critical.image is missing';
  const digestKey = Object.keys(image).find((k) => k.toLowerCase() === 'docker-manifest-digest');
  const digest = digestKey === undefined ? undefined : image[digestKey];
  if (typeof digest !== 'string') return 'critical.image.docker-manifest-digest is missing';
  const ref = identity['docker-reference'];
  if (typeof ref !== 'string') return 'critical.identity.docker-reference is missing';
  if (critical.type !== COSIGN_SIGNATURE_TYPE) return `critical.type is ${JSON.stringify(critical.type)}, not ${JSON.stringify(COSIGN_SIGNATURE_TYPE)}`;
  const optional = doc.optional;
  if (optional !== undefined && optional !== null && !isObject(optional)) return 'optional is not an object';
  return { dockerReference: ref, digest, type: critical.type, optional: (optional as Record<string, unknown> | null | undefined) ?? null };
}

/** `-a key=value` strings into an annotation map; USAGE on a pair without '='. */
export function parseAnnotationPairs(pairs: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw new DrydockError('USAGE', `invalid annotation ${JSON.stringify(p)}; use key=value`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}
