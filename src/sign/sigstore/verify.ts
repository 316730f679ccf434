/**
 * Offline verification of Sigstore bundles (v0.1 to v0.3; message signatures and DSSE envelopes)
 * with @sigstore/verify: certificate chain to a trusted Fulcio CA, SCTs, transparency-log inclusion
 * proofs with signed checkpoints or signed entry timestamps, RFC 3161 timestamps, the signing time
 * inside the certificate's validity, then identity and issuer policy. Pure: data in, a
 * SignatureCheck out; the trusted root is loaded by the caller (trusted-root.ts).
 *
 * Bundle format: https://github.com/sigstore/protobuf-specs (sigstore_bundle.proto).
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { Bundle as BundleProto } from '@sigstore/protobuf-specs';
import { PolicyError, VerificationError, Verifier, toSignedEntity, type TrustMaterial, type VerifierOptions } from '@sigstore/verify';
import { DrydockError } from '../../core/errors.js';
import type { SignatureCheck, VerifyReason } from '../types.js';
import type { LoadedTrustedRoot } from './trusted-root.js';

/** Who must have signed: exact values or regular expressions (searched, as cosign does; anchor with ^…$). */
export interface IdentityPolicy {
  subject?: string;
  subjectRegexp?: string;
  issuer?: string;
  issuerRegexp?: string;
}

export interface BundleVerifyOptions {
  trustedRoot: LoadedTrustedRoot;
  /** key-based verification: the trusted public key; no certificate identity is involved */
  publicKey?: KeyObject;
  /** keyless verification: required when no publicKey is given */
  policy?: IdentityPolicy;
  /** demand at least one verified transparency-log entry (always on for keyless unless a timestamp is present) */
  requireTlog?: boolean;
  /** names the signature in the result, e.g. the bundle path */
  source?: string;
}

const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

class CheckFailure extends Error {
  constructor(readonly reason: VerifyReason, detail: string) {
    super(detail);
  }
}

/** Parses bundle JSON (text, bytes or an object) and validates it against its version's rules. */
export function parseBundle(input: string | Buffer | unknown, name = 'bundle'): Bundle {
  let json: unknown = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    try {
      json = JSON.parse(input.toString());
    } catch (e) {
      throw new DrydockError('BUNDLE_INVALID', `${name} is not JSON`, { cause: e });
    }
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new DrydockError('BUNDLE_INVALID', `${name} is not a JSON object`);
  const obj = structuredClone(json) as Record<string, unknown>;
  const mt = obj.mediaType;
  if (typeof mt !== 'string' || !mt.startsWith('application/vnd.dev.sigstore.bundle')) {
    throw new DrydockError('BUNDLE_INVALID', `${name} has media type ${JSON.stringify(mt)}, not a Sigstore bundle`);
  }
  // A v0.1 inclusion proof may lack a checkpoint; without one it proves nothing about a signed tree
  // head, so it is dropped and the entry's signed entry timestamp (required in v0.1) is what counts.
  if (mt.endsWith('version=0.1')) {
    const vm = obj.verificationMaterial as { tlogEntries?: { inclusionProof?: { checkpoint?: unknown } }[] } | undefined;
    for (const e of vm?.tlogEntries ?? []) if (e.inclusionProof && !e.inclusionProof.checkpoint) delete e.inclusionProof;
  }
  try {
    return bundleFromJSON(obj);
  } catch (e) {
    throw new DrydockError('BUNDLE_INVALID', `${name} is not a valid Sigstore bundle: ${(e as Error).message}`, { cause: e });
  }
}

function leafCertificate(bundle: Bundle): X509Certificate | undefined {
  const c = bundle.verificationMaterial.content;
  if (c.$case === 'certificate') return X509Certificate.parse(Buffer.from(c.certificate.rawBytes));
  if (c.$case === 'x509CertificateChain') {
    const first = c.x509CertificateChain.certificates[0];
    return first ? X509Certificate.parse(Buffer.from(first.rawBytes)) : undefined;
  }
  return undefined;
}

function certIssuer(cert: X509Certificate): string | undefined {
  const v2 = cert.extension(OID_ISSUER_V2);
  if (v2) return v2.valueObj.subs?.[0]?.value.toString('utf8');
  return cert.extension(OID_ISSUER_V1)?.value.toString('utf8');
}

function matches(value: string | undefined, exact: string | undefined, re: string | undefined): boolean {
  if (value === undefined) return false;
  if (exact !== undefined && value !== exact) return false;
  if (re !== undefined && !new RegExp(re).test(value)) return false;
  return true;
}

/** Throws USAGE unless the policy names both an identity and an issuer (cosign demands the same). */
export function assertPolicy(policy: IdentityPolicy | undefined): asserts policy is IdentityPolicy {
  if (!policy || (policy.subject === undefined && policy.subjectRegexp === undefined)) {
    throw new DrydockError('USAGE', 'keyless verification needs --certificate-identity or --certificate-identity-regexp');
  }
  if (policy.issuer === undefined && policy.issuerRegexp === undefined) {
    throw new DrydockError('USAGE', 'keyless verification needs --certificate-oidc-issuer or --certificate-oidc-issuer-regexp');
  }
  for (const re of [policy.subjectRegexp, policy.issuerRegexp]) {
    if (re === undefined) continue;
    try {
      new RegExp(re);
    } catch (e) {
      throw new DrydockError('USAGE', `invalid regular expression ${JSON.stringify(re)}`, { cause: e });
    }
  }
}

function describePolicy(p: IdentityPolicy, which: 'subject' | 'issuer'): string {
  const exact = which === 'subject' ? p.subject : p.issuer;
  const re = which === 'subject' ? p.subjectRegexp : p.issuerRegexp;
  return [exact !== undefined ? JSON.stringify(exact) : '', re !== undefined ? `/${re}/` : ''].filter(Boolean).join(' and ');
}

function rootCause(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let i = 0; cur && i < 4; i++) {
    if (cur instanceof Error) {
      if (cur.message && !parts.includes(cur.message)) parts.push(cur.message);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ');
}

/** Maps a @sigstore/verify error to one stable reason with the library's words as detail. */
function classify(e: unknown, keyless: boolean): CheckFailure {
  if (e instanceof CheckFailure) return e;
  const detail = rootCause(e);
  if (e instanceof PolicyError) return new CheckFailure('identity-mismatch', detail);
  if (e instanceof VerificationError) {
    switch (e.code) {
      case 'SIGNATURE_ERROR':
        return new CheckFailure('signature-invalid', 'the signature does not verify over the artifact');
      case 'PUBLIC_KEY_ERROR':
        return new CheckFailure('key-mismatch', detail);
      case 'CERTIFICATE_ERROR':
        if (/not valid or expired/.test(detail)) return new CheckFailure('certificate-expired', `the signing time is outside the certificate's validity (${detail})`);
        return new CheckFailure('certificate-untrusted', detail);
      case 'TIMESTAMP_ERROR':
        if (/expected \d+ timestamps, got 0/.test(detail) && keyless) {
          return new CheckFailure('tlog-missing', 'keyless verification needs a transparency-log entry or a signed RFC 3161 timestamp; the bundle has neither');
        }
        return new CheckFailure('timestamp-invalid', detail);
      case 'TLOG_ERROR':
        if (/got 0/.test(detail)) return new CheckFailure('tlog-missing', 'a transparency-log entry is required and the bundle has none');
        return new CheckFailure('tlog-invalid', detail);
      case 'TLOG_INCLUSION_PROOF_ERROR':
      case 'TLOG_INCLUSION_PROMISE_ERROR':
      case 'TLOG_MISSING_INCLUSION_ERROR':
      case 'TLOG_BODY_ERROR':
        return new CheckFailure('tlog-invalid', detail);
      default:
        return new CheckFailure('bundle-malformed', detail);
    }
  }
  // TypeErrors and the like: the bundle had a shape the verifier could not work with
  return new CheckFailure('bundle-malformed', detail || 'the bundle could not be processed');
}

/** What the bundle carries as evidence, listed after it verified. */
function evidenceOf(bundle: Bundle, keyless: boolean): string[] {
  const ev = new Set<string>(['signature']);
  if (keyless) {
    ev.add('certificate-chain');
    ev.add('sct');
  }
  for (const t of bundle.verificationMaterial.tlogEntries) {
    if (t.inclusionProof) ev.add('tlog-inclusion');
    if (t.inclusionPromise) ev.add('tlog-set');
  }
  if ((bundle.verificationMaterial.timestampVerificationData?.rfc3161Timestamps ?? []).length > 0) ev.add('timestamp');
  if (keyless) ev.add('identity');
  return [...ev];
}

function digestsOfStatement(bundle: Bundle): { algo: string; hex: string }[] | undefined {
  if (bundle.content.$case !== 'dsseEnvelope') return undefined;
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== 'application/vnd.in-toto+json') return undefined;
  try {
    const st = JSON.parse(Buffer.from(env.payload).toString('utf8')) as { subject?: { digest?: Record<string, string> }[] };
    return (st.subject ?? []).flatMap((s) => Object.entries(s.digest ?? {}).map(([algo, hex]) => ({ algo, hex: String(hex).toLowerCase() })));
  } catch {
    throw new CheckFailure('payload-malformed', 'the DSSE payload is not in-toto JSON');
  }
}

function checkArtifactBinding(bundle: Bundle, artifact: Buffer | undefined): void {
  if (!artifact) {
    if (bundle.content.$case === 'messageSignature') throw new CheckFailure('bundle-malformed', 'a message-signature bundle needs the artifact it signs');
    return;
  }
  const subjects = digestsOfStatement(bundle);
  if (subjects === undefined) return; // message signatures bind the artifact through the signature itself
  const ok = subjects.some(({ algo, hex }) => ['sha256', 'sha384', 'sha512'].includes(algo) && createHash(algo).update(artifact).digest('hex') === hex);
  if (!ok) throw new CheckFailure('digest-mismatch', 'no subject of the in-toto statement has the digest of the artifact');
}

function keyMaterial(base: TrustMaterial, key: KeyObject): TrustMaterial {
  return { ...base, publicKey: () => ({ publicKey: key, validFor: () => true }) };
}

function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ format: 'der', type: 'spki' }).equals(b.export({ format: 'der', type: 'spki' }));
}

/** Verifies an already parsed bundle; see verifyBundle. */
export function verifyParsedBundle(bundle: Bundle, artifact: Buffer | undefined, opts: BundleVerifyOptions): SignatureCheck {
  const source = opts.source ?? 'bundle';
  const keyless = opts.publicKey === undefined;
  if (keyless) assertPolicy(opts.policy);
  try {
    checkArtifactBinding(bundle, artifact);
    let entity = toSignedEntity(bundle, artifact);
    let material = opts.trustedRoot.material;
    const options: VerifierOptions = { tlogThreshold: opts.requireTlog ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 };
    if (opts.publicKey) {
      // with a trusted key the bundle's own key material only has to agree with it
      const leaf = leafCertificate(bundle);
      if (leaf && !samePublicKey(createPublicKey(leaf.publicKey), opts.publicKey)) {
        throw new CheckFailure('key-mismatch', 'the bundle was signed by a certificate whose key is not the trusted key');
      }
      entity = { ...entity, key: { $case: 'public-key', hint: '' } };
      material = keyMaterial(material, opts.publicKey);
    } else {
      if (!leafCertificate(bundle)) throw new CheckFailure('bundle-malformed', 'keyless verification needs a bundle with a signing certificate; this one holds a public key hint (use --key)');
      options.ctlogThreshold = 1;
      options.timestampThreshold = 1;
    }
    const signer = new Verifier(material, options).verify(entity);
    const evidence = evidenceOf(bundle, keyless);
    if (!keyless) return { source, verified: true, evidence };
    const policy = opts.policy!;
    const subject = signer.identity?.subjectAlternativeName;
    const leaf = leafCertificate(bundle)!;
    const issuer = signer.identity?.extensions?.issuer ?? certIssuer(leaf);
    const identity = { subject: subject ?? '', ...(issuer !== undefined ? { issuer } : {}) };
    if (!matches(subject, policy.subject, policy.subjectRegexp)) {
      return { source, verified: false, reason: 'identity-mismatch', detail: `the certificate names ${JSON.stringify(subject ?? '')}, expected ${describePolicy(policy, 'subject')}`, evidence, identity };
    }
    if (!matches(issuer, policy.issuer, policy.issuerRegexp)) {
      return { source, verified: false, reason: 'issuer-mismatch', detail: `the certificate's OIDC issuer is ${JSON.stringify(issuer ?? '')}, expected ${describePolicy(policy, 'issuer')}`, evidence, identity };
    }
    return { source, verified: true, evidence, identity };
  } catch (e) {
    const f = classify(e, keyless);
    return { source, verified: false, reason: f.reason, detail: f.message, evidence: [] };
  }
}

/**
 * Verifies a Sigstore bundle over `artifact` (message signatures need it; for DSSE it is optional and,
 * when given, must be a subject of the in-toto statement). A malformed bundle is a failed check with
 * reason bundle-malformed, never a thrown error; only a missing policy (USAGE) throws.
 */
export function verifyBundle(bundleJson: string | Buffer | unknown, artifact: Buffer | undefined, opts: BundleVerifyOptions): SignatureCheck {
  if (opts.publicKey === undefined) assertPolicy(opts.policy);
  let bundle: Bundle;
  try {
    bundle = parseBundle(bundleJson, opts.source ?? 'bundle');
  } catch (e) {
    return { source: opts.source ?? 'bundle', verified: false, reason: 'bundle-malformed', detail: (e as Error).message, evidence: [] };
  }
  return verifyParsedBundle(bundle, artifact, opts);
}

/** cosign's transparency-log bundle (the dev.sigstore.cosign/bundle annotation). */
export interface CosignRekorBundle {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

function pemBlocks(pem: string | string[]): Buffer[] {
  const text = Array.isArray(pem) ? pem.join('\n') : pem;
  const out: Buffer[] = [];
  for (const m of text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)) out.push(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  return out;
}

/** A cosign Rekor bundle as a bundle's transparency-log entry (v0.1 shape: signed entry timestamp). */
export function tlogEntryFromCosignBundle(rb: CosignRekorBundle): Record<string, unknown> {
  const body = JSON.parse(Buffer.from(rb.Payload.body, 'base64').toString('utf8')) as { kind?: string; apiVersion?: string };
  return {
    logIndex: String(rb.Payload.logIndex),
    logId: { keyId: Buffer.from(rb.Payload.logID, 'hex').toString('base64') },
    kindVersion: { kind: body.kind ?? '', version: body.apiVersion ?? '' },
    integratedTime: String(rb.Payload.integratedTime),
    inclusionPromise: { signedEntryTimestamp: rb.SignedEntryTimestamp },
    canonicalizedBody: rb.Payload.body,
  };
}

/** The other direction, for the annotation that cosign writes next to a signature. */
export function cosignBundleFromTlogEntry(entry: Record<string, unknown>): CosignRekorBundle | undefined {
  const e = entry as { logIndex: string; logId: { keyId: string }; integratedTime: string; inclusionPromise?: { signedEntryTimestamp: string }; canonicalizedBody: string };
  if (!e.inclusionPromise) return undefined;
  return {
    SignedEntryTimestamp: e.inclusionPromise.signedEntryTimestamp,
    Payload: {
      body: e.canonicalizedBody,
      integratedTime: Number(e.integratedTime),
      logIndex: Number(e.logIndex),
      logID: Buffer.from(e.logId.keyId, 'base64').toString('hex'),
    },
  };
}

export interface CertificateSignatureInput {
  /** the signed bytes (for images: the simple-signing payload) */
  payload: Buffer;
  /** the raw signature (not base64) */
  signature: Buffer;
  /** the signing certificate, then its chain (PEM; one string with several blocks, or a list) */
  certChainPem: string | string[];
  /** cosign's Rekor bundle, when the signature was logged */
  rekorBundle?: CosignRekorBundle;
  /** an RFC 3161 timestamp response over the signature (DER), when one was taken */
  rfc3161Timestamp?: Buffer;
  trustedRoot: LoadedTrustedRoot;
  policy: IdentityPolicy;
  requireTlog?: boolean;
  source?: string;
}

/**
 * Verifies a certificate-based signature stored the cosign way (signature, certificate, chain and
 * Rekor bundle in separate annotations) with the same code path as Sigstore bundles.
 */
export function verifyCertificateSignature(input: CertificateSignatureInput): SignatureCheck {
  const source = input.source ?? 'signature';
  assertPolicy(input.policy);
  const certs = pemBlocks(input.certChainPem);
  if (certs.length === 0) return { source, verified: false, reason: 'bundle-malformed', detail: 'no PEM certificate was given with the signature', evidence: [] };
  let bundle: Bundle;
  try {
    const json = {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: certs.map((c) => ({ rawBytes: c.toString('base64') })) },
        tlogEntries: input.rekorBundle ? [tlogEntryFromCosignBundle(input.rekorBundle)] : [],
        ...(input.rfc3161Timestamp ? { timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: input.rfc3161Timestamp.toString('base64') }] } } : {}),
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(input.payload).digest('base64') },
        signature: input.signature.toString('base64'),
      },
    };
    // built from parts, so not held to the v0.1 rule that a log entry is present
    bundle = BundleProto.fromJSON(json) as Bundle;
  } catch (e) {
    return { source, verified: false, reason: 'bundle-malformed', detail: rootCause(e), evidence: [] };
  }
  return verifyParsedBundle(bundle, input.payload, {
    trustedRoot: input.trustedRoot,
    policy: input.policy,
    source,
    ...(input.requireTlog ? { requireTlog: true } : {}),
  });
}
