/**
 * What the signing flags ask for, mapped once for every command that signs or verifies (sign, verify,
 * attest, verify-attestation, sign-blob, verify-blob): the signer of --key or --keyless, the identity
 * policy of the --certificate-* flags, and the image verifier built from both.
 */
import { DrydockError } from '../core/errors.js';
import type { ImageVerifier } from '../sign/image/index.js';
import type { Signer } from '../sign/types.js';
import type { ResolvedValues } from './options.js';

const PROMPT = 'Enter password for private key: ';

/** The identity policy of --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] (empty when none is given). */
export function identityPolicyOf(v: ResolvedValues): { subject?: string; subjectRegexp?: string; issuer?: string; issuerRegexp?: string } {
  return {
    ...(v.certificateIdentity ? { subject: v.certificateIdentity as string } : {}),
    ...(v.certificateIdentityRegexp ? { subjectRegexp: v.certificateIdentityRegexp as string } : {}),
    ...(v.certificateOidcIssuer ? { issuer: v.certificateOidcIssuer as string } : {}),
    ...(v.certificateOidcIssuerRegexp ? { issuerRegexp: v.certificateOidcIssuerRegexp as string } : {}),
  };
}

/** Fulcio, Rekor and timestamp-authority settings of the keyless flags. */
export function sigstoreServicesOf(v: ResolvedValues): { identityToken?: string; fulcioUrl?: string; rekorUrl?: string; tsaUrl?: string; timeoutMs: number } {
  return {
    ...(v.identityToken ? { identityToken: v.identityToken as string } : {}),
    ...(v.fulcioUrl ? { fulcioUrl: v.fulcioUrl as string } : {}),
    ...(v.rekorUrl ? { rekorUrl: v.rekorUrl as string } : {}),
    ...(v.tsaUrl ? { tsaUrl: v.tsaUrl as string } : {}),
    timeoutMs: ((v.timeout as number | undefined) ?? 30) * 1000,
  };
}

/**
 * The image signer of exactly one of --key REF and --keyless. With --key and --tlog-upload the signature is
 * also recorded in Rekor (hashedrekord with the public key), kept in cosign's bundle annotation.
 */
export async function imageSignerOf(v: ResolvedValues, command: string): Promise<Signer> {
  const keyRef = v.key as string | undefined;
  if (!keyRef === (v.keyless !== true)) throw new DrydockError('USAGE', `${command} needs exactly one of --key REF and --keyless`);
  const services = sigstoreServicesOf(v);
  if (!keyRef) return (await import('../sign/sigstore/sign.js')).imageKeylessSigner(services);
  const { loadSigner, defaultPasswordSource } = await import('../sign/keys/index.js');
  const signer = await loadSigner(keyRef, { password: defaultPasswordSource({ prompt: PROMPT }) });
  if (v.tlogUpload !== true) return signer;
  return {
    algorithm: signer.algorithm,
    publicKeyPem: () => signer.publicKeyPem(),
    sign: (d: Buffer) => signer.sign(d),
    close: () => signer.close(),
    rekorBundle: async (payload: Buffer, sig: Buffer) => {
      const { uploadToRekor } = await import('../sign/sigstore/sign.js');
      const up = await uploadToRekor(payload, sig, signer.publicKeyPem(), services);
      return up.cosignBundle ? JSON.stringify(up.cosignBundle) : undefined;
    },
  } as Signer;
}

/** The verifier of --key and/or the keyless identity policy; undefined when neither is given. */
export async function imageVerifierOf(v: ResolvedValues): Promise<ImageVerifier | undefined> {
  const policy = identityPolicyOf(v);
  const keyRef = v.key as string | undefined;
  const keyless = Object.keys(policy).length > 0;
  if (!keyRef && !keyless) return undefined;
  const verifier: ImageVerifier = {};
  if (keyRef) {
    const { loadPublicKey, defaultPasswordSource } = await import('../sign/keys/index.js');
    verifier.key = await loadPublicKey(keyRef, { password: defaultPasswordSource({ prompt: PROMPT }) });
  }
  if (keyless) {
    const { certificateVerifier } = await import('../sign/sigstore/image-hook.js');
    const { resolveTrustedRoot } = await import('../sign/sigstore/trusted-root.js');
    verifier.verifyCertificateSignature = certificateVerifier({ trustedRoot: resolveTrustedRoot(v.trustedRoot as string | undefined), policy, requireTlog: v.requireTlog === true });
  }
  if (keyRef && v.requireTlog === true) {
    const { keyTlogVerifier } = await import('../sign/sigstore/image-hook.js');
    const { resolveTrustedRoot } = await import('../sign/sigstore/trusted-root.js');
    verifier.verifyKeyTlog = keyTlogVerifier({ trustedRoot: resolveTrustedRoot(v.trustedRoot as string | undefined) });
  }
  return verifier;
}
