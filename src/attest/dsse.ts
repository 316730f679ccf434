/**
 * DSSE, the Dead Simple Signing Envelope (https://github.com/secure-systems-lab/dsse, protocol.md and
 * envelope.md): signatures over PAE(payloadType, payload), carried in a JSON envelope. Signing goes
 * through a Signer (ECDSA signatures in DER, as cosign writes them); verification accepts DER and IEEE
 * P1363 ECDSA signatures, both base64 alphabets, and a threshold of distinct trusted keys.
 * Verification returns data (one check per signature, one reason); it throws only for programming errors.
 */
import type { KeyObject } from 'node:crypto';
import { DrydockError } from '../core/errors.js';
import { verifyWithKey } from '../sign/keys/index.js';
import type { SignatureCheck, Signer, VerifyReason } from '../sign/types.js';
import { checkPredicate, predicateTypeMatches } from './predicates.js';
import { INTOTO_PAYLOAD_TYPE, subjectMatches, validateStatement, type DigestSet, type Statement } from './statement.js';

export const DSSE_ENVELOPE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';

export interface DsseSignature {
  /** an unauthenticated hint; cosign writes "" */
  keyid?: string;
  /** base64 signature over PAE(payloadType, payload) */
  sig: string;
}

export interface Envelope {
  payloadType: string;
  /** base64 (standard or URL-safe alphabet) of the serialized body */
  payload: string;
  signatures: DsseSignature[];
}

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes (protocol.md). */
export function pae(payloadType: string | Uint8Array, body: Uint8Array | string): Buffer {
  const t = typeof payloadType === 'string' ? Buffer.from(payloadType, 'utf8') : Buffer.from(payloadType);
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return Buffer.concat([Buffer.from(`DSSEv1 ${t.length} `), t, Buffer.from(` ${b.length} `), b]);
}

/**
 * Strict base64 in either alphabet (protocol.md: verifiers MUST accept both). Node's decoder skips
 * characters it does not know, so the text is checked first: a stray byte must not vanish silently.
 */
export function decodeBase64(s: string): Buffer | undefined {
  const body = s.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9+/_-]*$/.test(body) || body.length % 4 === 1) return undefined;
  if (s.length !== body.length && s.length % 4 !== 0) return undefined;
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The problem with a would-be envelope, or undefined when its shape is right. */
function envelopeProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'the envelope is not a JSON object';
  if (typeof v.payloadType !== 'string') return 'the envelope has no payloadType string';
  if (typeof v.payload !== 'string') return 'the envelope has no payload string';
  if (!Array.isArray(v.signatures) || v.signatures.length === 0) return 'the envelope has no signatures';
  for (const [i, s] of v.signatures.entries()) {
    if (!isObject(s) || typeof s.sig !== 'string') return `signatures[${i}] has no sig string`;
    if (s.keyid !== undefined && typeof s.keyid !== 'string') return `signatures[${i}].keyid is not a string`;
  }
  return undefined;
}

/** Parses envelope JSON (text or an already-parsed value); BUNDLE_INVALID naming `what` when malformed. */
export function parseEnvelope(input: string | Uint8Array | unknown, what = 'DSSE envelope'): Envelope {
  let v: unknown = input;
  if (typeof input === 'string' || input instanceof Uint8Array) {
    try {
      v = JSON.parse(typeof input === 'string' ? input : Buffer.from(input).toString('utf8'));
    } catch (e) {
      throw new DrydockError('BUNDLE_INVALID', `${what} is not JSON`, { cause: e });
    }
  }
  const problem = envelopeProblem(v);
  if (problem) throw new DrydockError('BUNDLE_INVALID', `${what}: ${problem}`);
  return v as Envelope;
}

/** Signs raw bytes of a payload type. */
export async function signPayload(payloadType: string, body: Uint8Array, signer: Signer, opts: { keyid?: string } = {}): Promise<Envelope> {
  const sig = await signer.sign(pae(payloadType, body));
  return {
    payloadType,
    payload: Buffer.from(body).toString('base64'),
    signatures: [{ keyid: opts.keyid ?? '', sig: sig.toString('base64') }],
  };
}

/** Wraps a statement in a DSSE envelope signed by `signer` (payload type application/vnd.in-toto+json). */
export async function signEnvelope(statement: Statement, signer: Signer, opts: { keyid?: string } = {}): Promise<Envelope> {
  return signPayload(INTOTO_PAYLOAD_TYPE, Buffer.from(JSON.stringify(statement), 'utf8'), signer, opts);
}

export interface VerifyEnvelopeOptions {
  /** payload types accepted (default: the in-toto type only) */
  payloadTypes?: readonly string[];
  /** distinct trusted keys whose signatures must verify (default 1) */
  threshold?: number;
  /** parse the payload as an in-toto statement and check it (default true) */
  statement?: boolean;
  /** the predicate type required: a --type name (cyclonedx, vuln, ...) or a URI */
  predicateType?: string;
  /** a subject must carry this digest ("sha256:<hex>" or a DigestSet) */
  subject?: string | DigestSet;
  /** check that the predicate is what its type says (default true) */
  checkPredicate?: boolean;
  /** names the envelope in check sources ("envelope" by default) */
  source?: string;
}

export interface EnvelopeVerification {
  /** true only when every requested check passed */
  verified: boolean;
  /** the first failed check */
  reason?: VerifyReason;
  detail?: string;
  /** one entry per signature of the envelope */
  checks: SignatureCheck[];
  /** distinct trusted keys that verified a signature */
  acceptedKeys: number;
  payloadType?: string;
  /** the decoded payload, when it decoded */
  payload?: Buffer;
  /** the statement, when the payload is one and a signature verified */
  statement?: Statement;
  /** the evidence checked: signature, statement, subject, predicate-type, predicate */
  evidence: string[];
}

/**
 * Verifies an envelope against trusted public keys, then (unless `statement: false`) the statement it
 * carries: shape, predicate type, subject digest, predicate content. Nothing unverified is returned as
 * a statement. Reasons: bundle-malformed, payload-type-unsupported, signature-invalid, payload-malformed,
 * statement-invalid, predicate-type-mismatch, digest-mismatch, predicate-invalid.
 */
export function verifyEnvelope(input: Envelope | unknown, keys: readonly KeyObject[], opts: VerifyEnvelopeOptions = {}): EnvelopeVerification {
  const source = opts.source ?? 'envelope';
  const evidence: string[] = [];
  const fail = (reason: VerifyReason, detail: string, rest: Partial<EnvelopeVerification> = {}): EnvelopeVerification => ({
    verified: false,
    reason,
    detail,
    checks: [],
    acceptedKeys: 0,
    evidence,
    ...rest,
  });

  const problem = envelopeProblem(input);
  if (problem) return fail('bundle-malformed', problem);
  const env = input as Envelope;
  const payloadTypes = opts.payloadTypes ?? [INTOTO_PAYLOAD_TYPE];
  if (!payloadTypes.includes(env.payloadType)) {
    return fail('payload-type-unsupported', `payload type ${JSON.stringify(env.payloadType)} is not ${payloadTypes.map((t) => JSON.stringify(t)).join(' or ')}`, { payloadType: env.payloadType });
  }
  const body = decodeBase64(env.payload);
  if (!body) return fail('bundle-malformed', 'the payload is not base64', { payloadType: env.payloadType });
  const message = pae(env.payloadType, body);

  // each trusted key counts once, however many signatures it made (protocol.md, multi-signature)
  const accepted = new Set<number>();
  const checks: SignatureCheck[] = env.signatures.map((s, i): SignatureCheck => {
    const src = `${source} signature ${i}`;
    const sig = decodeBase64(s.sig);
    if (!sig || sig.length === 0) return { source: src, verified: false, reason: 'bundle-malformed', detail: 'the signature is not base64', evidence: [] };
    const k = keys.findIndex((key, ki) => !accepted.has(ki) && verifyWithKey(key, message, sig));
    const again = k < 0 && keys.some((key, ki) => accepted.has(ki) && verifyWithKey(key, message, sig));
    if (k >= 0) {
      accepted.add(k);
      return { source: src, verified: true, evidence: ['signature'] };
    }
    if (again) return { source: src, verified: true, detail: 'made by a key that an earlier signature already counted; it counts once', evidence: ['signature'] };
    const hint = s.keyid ? ` (keyid hint ${JSON.stringify(s.keyid)})` : '';
    return {
      source: src,
      verified: false,
      reason: 'signature-invalid',
      detail: keys.length
        ? `the signature does not verify with ${keys.length === 1 ? 'the trusted key' : `any of the ${keys.length} trusted keys`}${hint}: payload or signature altered, or signed by another key`
        : 'no trusted key was given',
      evidence: [],
    };
  });
  const threshold = Math.max(1, opts.threshold ?? 1);
  const base = { checks, acceptedKeys: accepted.size, payloadType: env.payloadType, payload: body };
  if (accepted.size < threshold) {
    const first = checks.find((c) => !c.verified);
    const detail =
      threshold > 1
        ? `${accepted.size} of the ${threshold} distinct trusted keys required verified a signature`
        : (first?.detail ?? 'no signature verified');
    return fail(first?.reason === 'bundle-malformed' && accepted.size === 0 ? 'bundle-malformed' : 'signature-invalid', detail, base);
  }
  evidence.push('signature');
  if (opts.statement === false) return { verified: true, ...base, evidence };

  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return fail('payload-malformed', 'the signed payload is not JSON', base);
  }
  const problems = validateStatement(doc);
  if (problems.length) return fail('statement-invalid', `the signed payload is not a valid in-toto statement: ${problems.join('; ')}`, base);
  const statement = doc as Statement;
  evidence.push('statement');
  const withStatement = { ...base, statement };

  if (opts.predicateType !== undefined) {
    if (!predicateTypeMatches(opts.predicateType, statement.predicateType)) {
      return fail('predicate-type-mismatch', `predicate type ${statement.predicateType}, expected ${opts.predicateType}`, withStatement);
    }
    evidence.push('predicate-type');
  }
  if (opts.subject !== undefined) {
    if (!subjectMatches(statement, opts.subject)) {
      const want = typeof opts.subject === 'string' ? opts.subject : JSON.stringify(opts.subject);
      const have = statement.subject.map((s) => Object.entries(s.digest).map(([a, h]) => `${a}:${h}`).join(',')).join(' ');
      return fail('digest-mismatch', `no subject has digest ${want} (subjects: ${have})`, withStatement);
    }
    evidence.push('subject');
  }
  if (opts.checkPredicate !== false) {
    const bad = checkPredicate(statement.predicateType, statement.predicate);
    if (bad) return fail('predicate-invalid', bad, withStatement);
    evidence.push('predicate');
  }
  return { verified: true, ...withStatement, evidence };
}
