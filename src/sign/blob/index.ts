/**
 * sign-blob and verify-blob: a file signed with a key (detached signature, optionally a bundle and a
 * Rekor entry) or keylessly (always a bundle with a Fulcio certificate and a Rekor entry), and verified
 * from a detached signature with a key or from a bundle with a key or an identity policy.
 * Transparency log: a key-based signature is logged only with tlogUpload, and verification with a key
 * needs a log entry only with requireTlog (cosign logs and requires by default; Drydock does not).
 */
import type { KeyObject } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { DrydockError } from '../../core/errors.js';
import { verifyWithKey } from '../keys/index.js';
import type { SignatureCheck, Signer } from '../types.js';
import { signKeylessToBundle, signToBundle, type KeylessOptions, type ServiceOptions } from '../sigstore/sign.js';
import type { LoadedTrustedRoot } from '../sigstore/trusted-root.js';
import { verifyBundle, type IdentityPolicy } from '../sigstore/verify.js';

export interface SignBlobOptions extends ServiceOptions {
  /** key-based signing; exactly one of signer and keyless */
  signer?: Signer;
  /** keyless signing: where the identity token comes from */
  keyless?: KeylessOptions;
  /** key-based: also write a Rekor entry */
  tlogUpload?: boolean;
  /** also produce a bundle (always produced for keyless) */
  bundle?: boolean;
}

export interface SignBlobResult {
  /** the signature, base64 (what cosign writes with --output-signature) */
  signature: string;
  bundle?: SerializedBundle;
  /** keyless: the identity the certificate was issued to */
  subject?: string;
  /** what the signature carries: "signature", "certificate", "tlog-entry", "timestamp" */
  evidence: string[];
}

function producedEvidence(bundle: SerializedBundle | undefined): string[] {
  const ev = ['signature'];
  if (!bundle) return ev;
  const vm = bundle.verificationMaterial as { certificate?: unknown; x509CertificateChain?: unknown; tlogEntries?: unknown[]; timestampVerificationData?: { rfc3161Timestamps?: unknown[] } };
  if (vm.certificate || vm.x509CertificateChain) ev.push('certificate');
  if ((vm.tlogEntries ?? []).length) ev.push('tlog-entry');
  if ((vm.timestampVerificationData?.rfc3161Timestamps ?? []).length) ev.push('timestamp');
  return ev;
}

export async function signBlob(data: Buffer, opts: SignBlobOptions): Promise<SignBlobResult> {
  if ((opts.signer === undefined) === (opts.keyless === undefined)) {
    throw new DrydockError('USAGE', 'sign-blob needs exactly one of --key and --keyless');
  }
  const services: ServiceOptions = {
    ...(opts.fulcioUrl ? { fulcioUrl: opts.fulcioUrl } : {}),
    ...(opts.rekorUrl ? { rekorUrl: opts.rekorUrl } : {}),
    ...(opts.tsaUrl ? { tsaUrl: opts.tsaUrl } : {}),
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.retries ? { retries: opts.retries } : {}),
  };
  if (opts.keyless) {
    const out = await signKeylessToBundle(data, { ...services, ...opts.keyless });
    return { signature: out.signature.toString('base64'), bundle: out.bundle, subject: out.subject, evidence: producedEvidence(out.bundle) };
  }
  const signer = opts.signer!;
  if (!opts.bundle && !opts.tlogUpload && !opts.tsaUrl) {
    // the plain case needs no bundle machinery: a detached signature over the bytes
    const sig = await signer.sign(data);
    return { signature: sig.toString('base64'), evidence: ['signature'] };
  }
  const out = await signToBundle(data, { ...services, signer, tlogUpload: opts.tlogUpload === true });
  return { signature: out.signature.toString('base64'), bundle: out.bundle, evidence: producedEvidence(out.bundle) };
}

export interface VerifyBlobOptions {
  /** a detached signature: raw bytes or base64 text (as cosign writes it) */
  signature?: Buffer;
  /** a Sigstore bundle (JSON text, bytes or parsed) */
  bundle?: unknown;
  publicKey?: KeyObject;
  policy?: IdentityPolicy;
  trustedRoot: LoadedTrustedRoot;
  requireTlog?: boolean;
  /** names the signature in the result */
  source?: string;
}

/** Signature files hold base64 (cosign) or raw DER; accept both. */
export function decodeSignatureFile(buf: Buffer): Buffer {
  const text = buf.toString('latin1').trim();
  if (/^[A-Za-z0-9+/=\r\n]+$/.test(text) && text.length % 4 === 0) return Buffer.from(text.replace(/\s+/g, ''), 'base64');
  return buf;
}

export function verifyBlob(data: Buffer, opts: VerifyBlobOptions): SignatureCheck {
  if ((opts.signature === undefined) === (opts.bundle === undefined)) {
    throw new DrydockError('USAGE', 'verify-blob needs exactly one of --signature and --bundle');
  }
  if ((opts.publicKey === undefined) === (opts.policy === undefined)) {
    throw new DrydockError('USAGE', 'verify-blob needs --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], not both');
  }
  if (opts.bundle !== undefined) {
    return verifyBundle(opts.bundle, data, {
      trustedRoot: opts.trustedRoot,
      ...(opts.publicKey ? { publicKey: opts.publicKey } : {}),
      ...(opts.policy ? { policy: opts.policy } : {}),
      ...(opts.requireTlog ? { requireTlog: true } : {}),
      source: opts.source ?? 'bundle',
    });
  }
  const source = opts.source ?? 'signature';
  if (!opts.publicKey) throw new DrydockError('USAGE', 'a detached --signature carries no certificate: verify it with --key, or verify a --bundle keylessly');
  if (opts.requireTlog) {
    return { source, verified: false, reason: 'tlog-missing', detail: 'a detached signature carries no transparency-log entry; --require-tlog needs a --bundle', evidence: [] };
  }
  const ok = verifyWithKey(opts.publicKey, data, decodeSignatureFile(opts.signature!));
  return ok
    ? { source, verified: true, evidence: ['signature'] }
    : { source, verified: false, reason: 'signature-invalid', detail: 'the signature does not verify over the file with the given key', evidence: [] };
}
