/**
 * The keyless side of image verification: the hook src/sign/image calls for a signature that carries a
 * certificate (a cosign .sig layer with certificate, chain and Rekor bundle annotations, or a Sigstore
 * bundle referrer). Both go through the same offline checks as blobs: chain to Fulcio, SCTs, log
 * inclusion or timestamps, integrated time inside the certificate's validity, identity policy.
 */
import { createHash, type KeyObject } from 'node:crypto';
import type { CertificateCheckResult, CertificateSignatureInput } from '../image/verify.js';
import type { LoadedTrustedRoot } from './trusted-root.js';
import { tlogEntryFromCosignBundle, verifyBundle, verifyCertificateSignature, type CosignRekorBundle, type IdentityPolicy } from './verify.js';

export interface CertificateVerifierOptions {
  trustedRoot: LoadedTrustedRoot;
  policy: IdentityPolicy;
  requireTlog?: boolean;
}

export function certificateVerifier(opts: CertificateVerifierOptions): (input: CertificateSignatureInput) => Promise<CertificateCheckResult> {
  return async (input) => {
    if (input.kind === 'bundle' && input.bundle) {
      return verifyBundle(input.bundle, undefined, { trustedRoot: opts.trustedRoot, policy: opts.policy, ...(opts.requireTlog ? { requireTlog: true } : {}) });
    }
    let rekorBundle: CosignRekorBundle | undefined;
    if (input.rekorBundle) {
      try {
        rekorBundle = JSON.parse(input.rekorBundle) as CosignRekorBundle;
      } catch {
        return { verified: false, reason: 'bundle-malformed', detail: 'the dev.sigstore.cosign/bundle annotation is not JSON', evidence: [] };
      }
    }
    const leaf = typeof input.certificate === 'string' ? input.certificate : `-----BEGIN CERTIFICATE-----\n${input.certificate.toString('base64')}\n-----END CERTIFICATE-----\n`;
    return verifyCertificateSignature({
      payload: input.signedData,
      signature: input.signature,
      certChainPem: [leaf, ...(input.chain ? [input.chain] : [])],
      ...(rekorBundle ? { rekorBundle } : {}),
      trustedRoot: opts.trustedRoot,
      policy: opts.policy,
      ...(opts.requireTlog ? { requireTlog: true } : {}),
    });
  };
}

/**
 * --require-tlog for key-based image signatures: the Rekor entry stored with the signature (cosign's bundle
 * annotation on a .sig layer, or a bundle's tlog entries) must verify against the trusted root's logs, for this
 * signature and key. No entry is `tlog-missing`.
 */
export function keyTlogVerifier(opts: { trustedRoot: LoadedTrustedRoot }): (input: { kind: 'layer' | 'bundle'; signedData: Buffer; signature: Buffer; key: KeyObject; rekorBundle?: string; bundle?: Record<string, unknown> }) => Promise<CertificateCheckResult> {
  return async (input) => {
    const base = { trustedRoot: opts.trustedRoot, publicKey: input.key, requireTlog: true };
    if (input.kind === 'bundle') {
      if (!input.bundle) return { verified: false, reason: 'tlog-missing', detail: 'the bundle carries no transparency-log entry', evidence: [] };
      return verifyBundle(input.bundle, undefined, base);
    }
    if (!input.rekorBundle) return { verified: false, reason: 'tlog-missing', detail: 'the signature has no dev.sigstore.cosign/bundle (it was not logged; sign with --tlog-upload)', evidence: [] };
    let rb: CosignRekorBundle;
    try {
      rb = JSON.parse(input.rekorBundle) as CosignRekorBundle;
    } catch {
      return { verified: false, reason: 'bundle-malformed', detail: 'the dev.sigstore.cosign/bundle annotation is not JSON', evidence: [] };
    }
    const bundle = {
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: { publicKey: { hint: '' }, tlogEntries: [tlogEntryFromCosignBundle(rb)] },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(input.signedData).digest('base64') },
        signature: input.signature.toString('base64'),
      },
    };
    return verifyBundle(bundle, input.signedData, base);
  };
}
