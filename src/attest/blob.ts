/**
 * Attestations about files (cosign's attest-blob and verify-blob-attestation): an in-toto statement
 * whose subject is the file's sha256, in a DSSE envelope. Verification: a trusted key's signature,
 * a well-formed statement, a subject digest equal to the file's, the predicate type asked for, and
 * an optional CEL policy. Pure over bytes; the CLI reads and writes the files.
 */
import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DrydockError } from '../core/errors.js';
import { publicKeyHint } from '../sign/image/bundle.js';
import type { Signer } from '../sign/types.js';
import { parseEnvelope, signEnvelope, verifyEnvelope, type Envelope, type EnvelopeVerification } from './dsse.js';
import { policyFailures, runPolicy, type Policy, type PolicyResult } from './policy.js';
import { makeStatement, type Statement } from './statement.js';

export interface AttestBlobInput {
  blob: Uint8Array;
  /** the subject name (cosign uses the file's base name) */
  name: string;
  predicateType: string;
  predicate: Record<string, unknown>;
  signer: Signer;
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The statement about a blob: its name and sha256 as the subject. */
export function blobStatement(input: Omit<AttestBlobInput, 'signer'>): Statement {
  return makeStatement({ name: input.name, digest: { sha256: sha256Hex(input.blob) } }, input.predicateType, input.predicate);
}

/** Makes and signs the statement about a blob. */
export async function attestBlob(input: AttestBlobInput): Promise<{ statement: Statement; envelope: Envelope }> {
  const statement = blobStatement(input);
  return { statement, envelope: await signEnvelope(statement, input.signer) };
}

export interface VerifyBlobAttestationOptions {
  /** the predicate type required (--type: a name or a URI); unchecked when absent */
  type?: string;
  /** a compiled CEL policy every condition of which must hold */
  policy?: Policy;
  clock?: Clock;
}

export interface BlobAttestationResult extends EnvelopeVerification {
  /** the blob's digest, "sha256:<hex>" */
  blobDigest: string;
  policy?: PolicyResult;
}

/** Verifies an envelope (parsed or not) about `blob` against trusted keys. Never throws for bad input. */
export function verifyBlobAttestation(blob: Uint8Array, envelope: unknown, keys: readonly KeyObject[], opts: VerifyBlobAttestationOptions = {}): BlobAttestationResult {
  const blobDigest = `sha256:${sha256Hex(blob)}`;
  const r = verifyEnvelope(envelope, keys, {
    subject: blobDigest,
    ...(opts.type !== undefined ? { predicateType: opts.type } : {}),
    source: 'envelope',
  });
  if (!r.verified || !r.statement || !opts.policy) return { ...r, blobDigest };
  const policy = runPolicy(opts.policy, r.statement, opts.clock ? { clock: opts.clock } : {});
  if (!policy.passed) {
    return { ...r, verified: false, reason: 'policy-failed', detail: `policy ${policy.source}: ${policyFailures(policy).join('; ')}`, blobDigest, policy };
  }
  return { ...r, evidence: [...r.evidence, 'policy'], blobDigest, policy };
}

const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/**
 * A Sigstore bundle v0.3 holding the envelope (`dsseEnvelope`) and the signing key's hint, as cosign's
 * `attest-blob --bundle` writes for a key (no transparency-log entry: key-based attestations are not logged).
 */
export function envelopeBundle(envelope: Envelope, key: KeyObject): Record<string, unknown> {
  return {
    mediaType: BUNDLE_V03,
    verificationMaterial: { publicKey: { hint: publicKeyHint(key) }, tlogEntries: [] },
    dsseEnvelope: { payload: envelope.payload, payloadType: envelope.payloadType, signatures: envelope.signatures.map((s) => ({ sig: s.sig, keyid: s.keyid ?? '' })) },
  };
}

/** The DSSE envelope of a Sigstore bundle (v0.1-v0.3); BUNDLE_INVALID when it holds none. */
export function envelopeFromBundle(input: Uint8Array | string | unknown, what: string): Envelope {
  let doc: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      doc = JSON.parse(Buffer.from(input as Uint8Array).toString('utf8'));
    } catch (cause) {
      throw new DrydockError('BUNDLE_INVALID', `${what} is not JSON`, { cause });
    }
  }
  const b = doc as { mediaType?: unknown; dsseEnvelope?: unknown; messageSignature?: unknown };
  if (!b || typeof b !== 'object' || typeof b.mediaType !== 'string' || !b.mediaType.startsWith('application/vnd.dev.sigstore.bundle')) {
    throw new DrydockError('BUNDLE_INVALID', `${what} is not a Sigstore bundle (no bundle mediaType)`);
  }
  if (b.dsseEnvelope === undefined) throw new DrydockError('BUNDLE_INVALID', `${what} holds a message signature, not an attestation (no dsseEnvelope)`);
  return parseEnvelope(b.dsseEnvelope, `${what} dsseEnvelope`);
}
