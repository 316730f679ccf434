/**
 * Pure checks of one image signature (ARCHITECTURE habit 5): data in, a SignatureCheck out, one
 * VerifyReason per failure. A check is `verified` only when every step passed: the stored bytes match
 * their descriptor, the signature verifies with the trusted key (or the certificate through the
 * keyless hook), the payload has the expected shape, names the digest being verified, and carries the
 * required annotations.
 */
import { X509Certificate, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { SignatureCheck, VerifyReason } from '../types.js';
import { CERTIFICATE_ANNOTATION, CHAIN_ANNOTATION, BUNDLE_ANNOTATION, SIGNATURE_ANNOTATION, parseSimpleSigningPayload } from './payload.js';
import { COSIGN_SIGN_PREDICATE, INTOTO_PAYLOAD_TYPE, pae, parseDsseBundle, parseStatement, publicKeyHint } from './bundle.js';
import type { Descriptor } from '../../image/types.js';

/** What the keyless hook receives: the signed bytes, the signature and the certificate material. */
export interface CertificateSignatureInput {
  /** 'layer': a cosign .sig layer; 'bundle': a Sigstore bundle (then `bundle` is its parsed JSON) */
  kind: 'layer' | 'bundle';
  /** the bytes the signature covers (the payload, or the DSSE PAE) */
  signedData: Buffer;
  signature: Buffer;
  /** PEM (layer) or DER (bundle) of the leaf certificate */
  certificate: string | Buffer;
  chain?: string;
  /** cosign's Rekor bundle annotation (layer) */
  rekorBundle?: string;
  bundle?: Record<string, unknown>;
}

export interface CertificateCheckResult {
  verified: boolean;
  reason?: VerifyReason;
  detail?: string;
  evidence: string[];
  identity?: { subject: string; issuer?: string };
}

/**
 * Who is trusted. `key`: a public key (cosign --key). `verifyCertificateSignature`: the keyless
 * verifier of src/sign/sigstore (chain to Fulcio, SCT, tlog, identity policy). Either or both.
 */
export interface ImageVerifier {
  key?: KeyObject;
  verifyCertificateSignature?: (input: CertificateSignatureInput) => Promise<CertificateCheckResult>;
  /**
   * --require-tlog for key-based signatures: checks the transparency-log evidence stored with a signature the key
   * verified (cosign's bundle annotation, or the bundle's tlog entries). Absent: no log entry is required.
   */
  verifyKeyTlog?: (input: { kind: 'layer' | 'bundle'; signedData: Buffer; signature: Buffer; key: KeyObject; rekorBundle?: string; bundle?: Record<string, unknown> }) => Promise<CertificateCheckResult>;
}

export interface CheckContext {
  /** the manifest digest being verified */
  digest: string;
  /** -a key=value pairs that must be present in the signed annotations */
  annotations: Record<string, string>;
  verifier: ImageVerifier;
}

function hashFor(key: KeyObject): string | null {
  if (key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448') return null;
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'secp384r1') return 'sha384';
    if (curve === 'secp521r1') return 'sha512';
  }
  return 'sha256';
}

/** Verifies a raw signature (ECDSA DER, RSA PKCS#1 v1.5, Ed25519) over `data`; never throws. */
export function verifyRawSignature(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  try {
    return cryptoVerify(hashFor(key), data, key, signature);
  } catch {
    return false;
  }
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
}

function fail(source: string, reason: VerifyReason, detail: string, evidence: string[] = []): SignatureCheck {
  return { source, verified: false, reason, detail, evidence };
}

function missingAnnotations(required: Record<string, string>, signed: Record<string, unknown> | null): string | undefined {
  for (const [k, v] of Object.entries(required)) {
    const got = signed?.[k];
    if (got === undefined) return `the signed annotations lack ${k}`;
    if (String(got) !== v) return `annotation ${k} is ${JSON.stringify(got)}, required ${JSON.stringify(v)}`;
  }
  return undefined;
}

interface SigResult {
  check?: SignatureCheck;
  evidence: string[];
  identity?: { subject: string; issuer?: string };
}

/** The signature step shared by both layouts: key first, else the certificate hook. */
async function checkSignature(
  source: string,
  ctx: CheckContext,
  signedData: Buffer,
  signature: Buffer,
  cert: { pem?: string; der?: Buffer } | undefined,
  hook: Omit<CertificateSignatureInput, 'signedData' | 'signature' | 'certificate'>,
  hint?: string,
): Promise<SigResult> {
  const { key, verifyCertificateSignature } = ctx.verifier;
  if (key) {
    if (hint !== undefined && hint !== publicKeyHint(key)) {
      return { check: fail(source, 'key-mismatch', 'the bundle names another public key (hint) than the trusted one'), evidence: [] };
    }
    if (cert) {
      let certKey: KeyObject | undefined;
      try {
        certKey = createPublicKey(new X509Certificate(cert.pem ?? (cert.der as Buffer)).publicKey.export({ type: 'spki', format: 'pem' }));
      } catch {
        return { check: fail(source, 'bundle-malformed', 'the certificate cannot be parsed'), evidence: [] };
      }
      if (!sameKey(certKey, key)) return { check: fail(source, 'key-mismatch', 'signed with a certificate whose key is not the trusted key'), evidence: [] };
    }
    if (!verifyRawSignature(key, signedData, signature)) {
      return { check: fail(source, 'signature-invalid', 'the signature does not verify with the trusted key (altered, or made by another key)'), evidence: [] };
    }
    const tlog = ctx.verifier.verifyKeyTlog;
    if (!tlog) return { evidence: ['signature'] };
    const t = await tlog({
      kind: hook.kind,
      signedData,
      signature,
      key,
      ...(hook.rekorBundle ? { rekorBundle: hook.rekorBundle } : {}),
      ...(hook.bundle ? { bundle: hook.bundle } : {}),
    });
    if (!t.verified) return { check: fail(source, t.reason ?? 'tlog-missing', t.detail ?? 'no transparency-log entry verified', ['signature']), evidence: ['signature'] };
    return { evidence: ['signature', ...t.evidence.filter((e) => e !== 'signature')] };
  }
  if (!cert) return { check: fail(source, 'key-mismatch', 'no trusted key was given and the signature carries no certificate'), evidence: [] };
  if (!verifyCertificateSignature) {
    return { check: fail(source, 'certificate-untrusted', 'certificate-based verification (keyless) is not available in this build'), evidence: [] };
  }
  const r = await verifyCertificateSignature({ ...hook, signedData, signature, certificate: cert.pem ?? (cert.der as Buffer) });
  if (!r.verified) {
    const c: SignatureCheck = fail(source, r.reason ?? 'certificate-untrusted', r.detail ?? 'the certificate did not verify', r.evidence);
    if (r.identity) c.identity = r.identity;
    return { check: c, evidence: r.evidence };
  }
  return { evidence: r.evidence, ...(r.identity ? { identity: r.identity } : {}) };
}

/**
 * Checks one layer of a `.sig` manifest. `payload` is the blob, or the error met reading it
 * (a DIGEST_MISMATCH or SIZE_MISMATCH from the verified read becomes layer-digest-mismatch).
 */
export async function checkSignatureLayer(source: string, layer: Descriptor, payload: Buffer | Error, ctx: CheckContext): Promise<SignatureCheck> {
  if (payload instanceof Error) {
    const code = (payload as { code?: string }).code;
    if (code === 'DIGEST_MISMATCH' || code === 'SIZE_MISMATCH' || code === 'BLOB_NOT_FOUND') {
      return fail(source, 'layer-digest-mismatch', `the payload blob ${layer.digest} cannot be read as described: ${payload.message}`);
    }
    throw payload;
  }
  const a = layer.annotations ?? {};
  const sigText = a[SIGNATURE_ANNOTATION];
  if (!sigText || !/^[A-Za-z0-9+/]+={0,2}$/.test(sigText)) return fail(source, 'signature-invalid', `the layer has no base64 ${SIGNATURE_ANNOTATION} annotation`);
  const certPem = a[CERTIFICATE_ANNOTATION];
  const hook: Omit<CertificateSignatureInput, 'signedData' | 'signature' | 'certificate'> = { kind: 'layer' };
  if (a[CHAIN_ANNOTATION]) hook.chain = a[CHAIN_ANNOTATION];
  if (a[BUNDLE_ANNOTATION]) hook.rekorBundle = a[BUNDLE_ANNOTATION];
  const sig = await checkSignature(source, ctx, payload, Buffer.from(sigText, 'base64'), certPem ? { pem: certPem } : undefined, hook);
  if (sig.check) return sig.check;
  const parsed = parseSimpleSigningPayload(payload);
  if (typeof parsed === 'string') return fail(source, 'payload-malformed', parsed, sig.evidence);
  if (parsed.digest !== ctx.digest) {
    return fail(source, 'digest-mismatch', `the payload signs ${parsed.digest}, not ${ctx.digest}`, sig.evidence);
  }
  const missing = missingAnnotations(ctx.annotations, parsed.optional);
  if (missing) return fail(source, 'annotation-mismatch', missing, sig.evidence);
  const ok: SignatureCheck = { source, verified: true, evidence: sig.evidence };
  if (sig.identity) ok.identity = sig.identity;
  return ok;
}

/** Checks one Sigstore bundle stored as a referrer of the image. */
export async function checkSignatureBundle(source: string, bundleBytes: Buffer | Error, ctx: CheckContext): Promise<SignatureCheck> {
  if (bundleBytes instanceof Error) {
    const code = (bundleBytes as { code?: string }).code;
    if (code === 'DIGEST_MISMATCH' || code === 'SIZE_MISMATCH' || code === 'BLOB_NOT_FOUND') {
      return fail(source, 'layer-digest-mismatch', `the bundle blob cannot be read as described: ${bundleBytes.message}`);
    }
    throw bundleBytes;
  }
  const b = parseDsseBundle(bundleBytes);
  if (typeof b === 'string') return fail(source, 'bundle-malformed', b);
  if (b.payloadType !== INTOTO_PAYLOAD_TYPE) return fail(source, 'bundle-malformed', `DSSE payload type ${b.payloadType}, expected ${INTOTO_PAYLOAD_TYPE}`);
  const sig = await checkSignature(source, ctx, pae(b.payloadType, b.payload), b.signature, b.certificate ? { der: b.certificate } : undefined, { kind: 'bundle', bundle: b.raw }, b.hint);
  if (sig.check) return sig.check;
  const st = parseStatement(b.payload);
  if (typeof st === 'string') return fail(source, 'payload-malformed', st, sig.evidence);
  if (st.predicateType !== COSIGN_SIGN_PREDICATE) return fail(source, 'payload-malformed', `predicate type ${st.predicateType} is not an image signature (${COSIGN_SIGN_PREDICATE})`, sig.evidence);
  const [alg, hex] = ctx.digest.split(':') as [string, string];
  const subject = st.subjects.find((s) => s.digest[alg] === hex);
  if (!subject) {
    const named = st.subjects.map((s) => Object.entries(s.digest).map(([k, v]) => `${k}:${v}`).join(',')).join('; ');
    return fail(source, 'digest-mismatch', `the statement signs ${named}, not ${ctx.digest}`, sig.evidence);
  }
  const missing = missingAnnotations(ctx.annotations, subject.annotations);
  if (missing) return fail(source, 'annotation-mismatch', missing, sig.evidence);
  const ok: SignatureCheck = { source, verified: true, evidence: sig.evidence };
  if (sig.identity) ok.identity = sig.identity;
  return ok;
}
