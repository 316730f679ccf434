/**
 * The contract between key providers, signature layouts and verification (sign/ is level 3).
 * Key providers (files, env://, pkcs11:, later cloud KMS) produce Signers; verification takes
 * public keys or certificates and returns results with one reason per failed signature.
 */
import type { KeyObject } from 'node:crypto';

export type KeyAlgorithm = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa' | 'ed25519';

export interface Signer {
  algorithm: KeyAlgorithm;
  /** the public key, SPKI PEM */
  publicKeyPem(): string;
  /**
   * Signs `data`: ECDSA over SHA-256 (P-256; SHA-384/512 for the larger curves) with a DER signature,
   * RSA PKCS#1 v1.5 with SHA-256, Ed25519 over the message itself.
   */
  sign(data: Buffer): Promise<Buffer>;
  /** releases a token session (PKCS#11); a no-op for in-memory keys */
  close(): Promise<void>;
}

/** Where a key password comes from: DRYDOCK_PASSWORD / COSIGN_PASSWORD, a prompt, or a test. */
export type PasswordSource = () => Promise<string>;

export interface KeyRefOptions {
  password?: PasswordSource;
  env?: NodeJS.ProcessEnv;
}

/** Why one signature did not verify. Stable strings: JSON output and tests use them. */
export type VerifyReason =
  | 'signature-invalid' // the signature does not verify over the payload with the key/certificate
  | 'payload-malformed' // the payload is not the JSON it must be
  | 'digest-mismatch' // the payload names another manifest digest than the one verified
  | 'reference-mismatch' // critical.identity.docker-reference does not name the repository (informational where cosign allows it)
  | 'annotation-mismatch' // a required -a key=value is missing or different
  | 'key-mismatch' // signed by a key other than the trusted one
  | 'certificate-untrusted' // the certificate does not chain to a trusted Fulcio root
  | 'certificate-expired' // signed outside the certificate's validity
  | 'identity-mismatch' // the certificate's SAN does not match --certificate-identity[-regexp]
  | 'issuer-mismatch' // the OIDC issuer extension does not match --certificate-oidc-issuer[-regexp]
  | 'tlog-missing' // a transparency-log entry was required and there is none
  | 'tlog-invalid' // the log entry, inclusion proof, checkpoint or SET does not verify
  | 'timestamp-invalid' // an RFC 3161 timestamp does not verify
  | 'bundle-malformed' // the stored bundle or envelope cannot be parsed
  | 'unsigned' // an attestation that carries no signature at all (BuildKit's): listed, never verified
  | 'content-mismatch' // --check-content: the attested SBOM does not describe the image
  | 'layer-digest-mismatch' // the payload blob does not hash to its descriptor digest
  // attestations (src/attest/)
  | 'payload-type-unsupported' // the DSSE payloadType is not one the verifier accepts (application/vnd.in-toto+json)
  | 'statement-invalid' // the signed payload is JSON but not a valid in-toto statement (v1 rules; v0.1 accepted)
  | 'predicate-type-mismatch' // the statement's predicateType is not the --type asked for
  | 'predicate-invalid' // the predicate is not what its type declares (a "CycloneDX" predicate without bomFormat CycloneDX)
  | 'policy-failed'; // a --policy condition evaluated to false or could not be evaluated

export interface SignatureCheck {
  /** where the signature was found: "tag sha256-<hex>.sig layer 0", "referrer sha256:..." */
  source: string;
  verified: boolean;
  reason?: VerifyReason;
  /** words for people: what exactly did not match */
  detail?: string;
  /** the evidence checked: "signature", "tlog-inclusion", "tlog-set", "timestamp", "certificate-chain", "identity" */
  evidence: string[];
  /** the signer's identity when a certificate was used */
  identity?: { subject: string; issuer?: string };
}

export type PublicKeyLike = KeyObject;
