/**
 * The keyless side of image verification: the hook src/sign/image calls for a signature that carries a
 * certificate (a cosign .sig layer with certificate, chain and Rekor bundle annotations, or a Sigstore
 * bundle referrer). Both go through the same offline checks as blobs: chain to Fulcio, SCTs, log
 * inclusion or timestamps, integrated time inside the certificate's validity, identity policy.
 */
import type { CertificateCheckResult, CertificateSignatureInput } from '../image/verify.js';
import type { LoadedTrustedRoot } from './trusted-root.js';
import { verifyBundle, verifyCertificateSignature, type CosignRekorBundle, type IdentityPolicy } from './verify.js';

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
