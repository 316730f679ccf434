/**
 * in-toto Statements (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md): the
 * middle layer that binds a predicate to subjects by digest. Drydock writes v1; v0.1, which cosign
 * still writes, is accepted when reading. Pure functions.
 */
import { DrydockError } from '../core/errors.js';
import { byString } from '../core/compare.js';

export const STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
export const STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
/** DSSE payload type of an in-toto statement */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** algorithm name → lowercase hex digest (spec/v1/digest_set.md) */
export type DigestSet = Record<string, string>;

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest: DigestSet;
  [extension: string]: unknown;
}

export interface Statement {
  _type: string;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate?: Record<string, unknown>;
}

/** Hex lengths of the digest algorithms the DigestSet spec names with a fixed size. */
const HEX_LENGTHS: Record<string, readonly number[]> = {
  sha256: [64],
  sha224: [56],
  sha384: [96],
  sha512: [128],
  sha512_224: [56],
  sha512_256: [64],
  sha3_224: [56],
  sha3_256: [64],
  sha3_384: [96],
  sha3_512: [128],
  sha1: [40],
  md5: [32],
  ripemd160: [40],
  sm3: [64],
  gitCommit: [40, 64],
  gitTree: [40, 64],
  gitBlob: [40, 64],
  gitTag: [40, 64],
  dirHash1: [64],
};

/** Algorithms strong enough to bind a subject (digest_set.md: consumers accept only secure ones). */
export const ACCEPTED_SUBJECT_ALGORITHMS = ['sha256', 'sha384', 'sha512', 'sha512_256', 'sha3_256', 'sha3_384', 'sha3_512'] as const;

const URI_RE = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/;

/** A TypeURI (spec/v1/field_types.md): an absolute RFC 3986 URI. */
export function isTypeUri(s: string): boolean {
  return URI_RE.test(s);
}

/** `sha256:<hex>` (an OCI digest) or a DigestSet → a DigestSet. */
export function toDigestSet(d: string | DigestSet): DigestSet {
  if (typeof d !== 'string') return { ...d };
  const i = d.indexOf(':');
  if (i <= 0) throw new DrydockError('USAGE', `subject digest ${JSON.stringify(d)} is not algorithm:hex`);
  return { [d.slice(0, i)]: d.slice(i + 1) };
}

export interface SubjectInput {
  name?: string;
  digest: string | DigestSet;
}

/** A v1 statement; subjects sorted by name then digest for reproducible output. */
export function makeStatement(subjects: SubjectInput | SubjectInput[], predicateType: string, predicate: Record<string, unknown> = {}): Statement {
  const list = (Array.isArray(subjects) ? subjects : [subjects]).map((s): ResourceDescriptor => ({
    ...(s.name !== undefined ? { name: s.name } : {}),
    digest: toDigestSet(s.digest),
  }));
  list.sort((a, b) => byString(a.name ?? '', b.name ?? '') || byString(JSON.stringify(a.digest), JSON.stringify(b.digest)));
  const st: Statement = { _type: STATEMENT_V1, subject: list, predicateType, predicate };
  const problems = validateStatement(st);
  if (problems.length) throw new DrydockError('USAGE', `cannot make an in-toto statement: ${problems.join('; ')}`);
  return st;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The problems of a would-be statement (empty when it is valid): the v1 rules, and for v0.1 the same
 * rules except that the predicate type need only be a non-empty string (cosign's early predicate types
 * had no scheme). Unknown fields are ignored, as the parsing rules require.
 */
export function validateStatement(value: unknown, opts: { allowV01?: boolean } = {}): string[] {
  const allowV01 = opts.allowV01 ?? true;
  if (!isObject(value)) return ['the statement is not a JSON object'];
  const problems: string[] = [];
  const type = value._type;
  const v01 = type === STATEMENT_V01;
  if (type !== STATEMENT_V1 && !(allowV01 && v01)) {
    problems.push(`_type is ${JSON.stringify(type)}, expected ${STATEMENT_V1}${allowV01 ? ` or ${STATEMENT_V01}` : ''}`);
  }
  const subject = value.subject;
  if (!Array.isArray(subject) || subject.length === 0) {
    problems.push('subject must be a non-empty array');
  } else {
    subject.forEach((s, i) => {
      if (!isObject(s)) {
        problems.push(`subject[${i}] is not an object`);
        return;
      }
      if (s.name !== undefined && typeof s.name !== 'string') problems.push(`subject[${i}].name is not a string`);
      if (!isObject(s.digest) || Object.keys(s.digest).length === 0) {
        problems.push(`subject[${i}].digest must be a non-empty object of algorithm to digest`);
        return;
      }
      for (const [alg, hex] of Object.entries(s.digest)) {
        if (typeof hex !== 'string' || hex === '') {
          problems.push(`subject[${i}].digest.${alg} is not a non-empty string`);
          continue;
        }
        const lengths = HEX_LENGTHS[alg];
        if (lengths && !(lengths.includes(hex.length) && /^[0-9a-f]+$/.test(hex))) {
          problems.push(`subject[${i}].digest.${alg} is not ${lengths.join(' or ')} lowercase hex digits`);
        }
      }
    });
  }
  const pt = value.predicateType;
  if (typeof pt !== 'string' || pt === '') problems.push('predicateType must be a non-empty string');
  else if (!v01 && !isTypeUri(pt)) problems.push(`predicateType ${JSON.stringify(pt)} is not a URI`);
  if (value.predicate !== undefined && value.predicate !== null && !isObject(value.predicate)) problems.push('predicate must be a JSON object when present');
  return problems;
}

/** Parses and validates a statement from bytes; throws BUNDLE_INVALID naming `what`. */
export function parseStatement(bytes: Uint8Array | string, what = 'in-toto statement'): Statement {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (e) {
    throw new DrydockError('BUNDLE_INVALID', `${what} is not JSON`, { cause: e });
  }
  const problems = validateStatement(doc);
  if (problems.length) throw new DrydockError('BUNDLE_INVALID', `${what} is not a valid in-toto statement: ${problems.join('; ')}`);
  return doc as Statement;
}

/**
 * True when some subject's digest set matches `expected`: two digest sets match when any accepted
 * algorithm they share has the same value (digest_set.md); weak or unknown algorithms are ignored.
 */
export function subjectMatches(statement: Pick<Statement, 'subject'>, expected: string | DigestSet): boolean {
  const want = toDigestSet(expected);
  return statement.subject.some((s) =>
    ACCEPTED_SUBJECT_ALGORITHMS.some((alg) => want[alg] !== undefined && s.digest?.[alg] !== undefined && s.digest[alg] === want[alg].toLowerCase()),
  );
}
