import { describe, expect, it } from 'vitest';
import { makeStatement, parseStatement, subjectMatches, validateStatement } from './statement.js';

const HEX = 'ab'.repeat(32);
const good = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'x', digest: { sha256: HEX } }], predicateType: 'https://example.com/p/v1', predicate: {} };

describe('in-toto statement v1 validation', () => {
  it('accepts a valid statement, unknown fields and a missing predicate', () => {
    expect(validateStatement(good)).toEqual([]);
    expect(validateStatement({ ...good, extra: 1, predicate: undefined })).toEqual([]);
    expect(validateStatement({ ...good, subject: [{ digest: { sha256: HEX, somecoolhash: 'abcd' } }] })).toEqual([]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', [], /not a JSON object/],
    ['another _type', { ...good, _type: 'https://in-toto.io/Statement/v2' }, /_type/],
    ['no subject', { ...good, subject: [] }, /subject must be a non-empty array/],
    ['a subject without digest', { ...good, subject: [{ name: 'x' }] }, /subject\[0\]\.digest/],
    ['an empty digest set', { ...good, subject: [{ digest: {} }] }, /subject\[0\]\.digest/],
    ['a short sha256', { ...good, subject: [{ digest: { sha256: 'abcd' } }] }, /sha256 is not 64 lowercase hex/],
    ['an upper-case sha256', { ...good, subject: [{ digest: { sha256: HEX.toUpperCase() } }] }, /lowercase hex/],
    ['a predicate type that is no URI', { ...good, predicateType: 'cyclonedx' }, /is not a URI/],
    ['a predicate that is not an object', { ...good, predicate: 'x' }, /predicate must be a JSON object/],
  ];
  for (const [what, doc, re] of bad) {
    it(`rejects ${what}`, () => {
      const problems = validateStatement(doc);
      expect(problems.length).toBeGreaterThan(0);
      expect(problems.join('; ')).toMatch(re);
    });
  }

  it('accepts v0.1 statements (with scheme-less predicate types) unless told not to', () => {
    const v01 = { ...good, _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'cosign.sigstore.dev/attestation/vuln/v1' };
    expect(validateStatement(v01)).toEqual([]);
    expect(validateStatement(v01, { allowV01: false }).join()).toMatch(/_type/);
  });

  it('parseStatement throws BUNDLE_INVALID naming the object', () => {
    expect(() => parseStatement('{', 'payload of x.dsse')).toThrow(/payload of x\.dsse is not JSON/);
    expect(() => parseStatement(JSON.stringify({ ...good, subject: [] }), 'payload')).toThrow(expect.objectContaining({ code: 'BUNDLE_INVALID' }));
  });
});

describe('makeStatement and subject matching', () => {
  it('writes v1 with sorted subjects from OCI digests', () => {
    const st = makeStatement([{ name: 'b', digest: `sha256:${HEX}` }, { name: 'a', digest: { sha512: 'cd'.repeat(64) } }], 'https://example.com/p', { k: 1 });
    expect(st._type).toBe('https://in-toto.io/Statement/v1');
    expect(st.subject.map((s) => s.name)).toEqual(['a', 'b']);
    expect(st.subject[1]!.digest).toEqual({ sha256: HEX });
    expect(() => makeStatement([], 'https://example.com/p')).toThrow(/non-empty/);
  });

  it('matches by any accepted algorithm and ignores weak ones', () => {
    const st = { subject: [{ digest: { sha256: HEX, md5: 'ef'.repeat(16) } }] };
    expect(subjectMatches(st, `sha256:${HEX}`)).toBe(true);
    expect(subjectMatches(st, { sha256: HEX, sha512: 'ff'.repeat(64) })).toBe(true);
    expect(subjectMatches(st, `sha256:${'cd'.repeat(32)}`)).toBe(false);
    expect(subjectMatches(st, { md5: 'ef'.repeat(16) })).toBe(false);
  });
});
