import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { compareVersions, comparator, isValidVersion } from './index.js';
import { semverComparator } from './semver.js';
import { type Rng, differential, fuzzScale, fuzzSeed, makePairs, prng, unique } from './testdata/harness.js';

function num(r: Rng): string {
  return r.chance(0.03) ? '01' : r.pick(['0', '1', '2', '10', '11', '9']);
}
function id(r: Rng): string {
  if (r.chance(0.03)) return r.pick(['01', '']);
  return r.pick(['alpha', 'beta', 'rc', 'RC', 'Alpha', 'x-y', '-', '--', '0', '1', '2', '10', 'a1', '1a', '0a', 'z', 'Z']);
}

function genSemver(r: Rng): string {
  let s = `${num(r)}.${num(r)}.${num(r)}`;
  if (r.chance(0.03)) s = `${num(r)}.${num(r)}`;
  if (r.chance(0.5)) {
    s += `-${id(r)}`;
    for (let i = r.int(3); i > 0; i--) s += `.${id(r)}`;
  }
  if (r.chance(0.2)) s += `+${r.chance(0.1) ? r.pick(['', 'a..b']) : r.pick(['build', '001', 'exp.sha.5114f85', 'x-y'])}`;
  return s;
}

describe('semver versions', () => {
  // node-semver (strict) is an independent implementation of the same precedence rules. It also
  // accepts a leading "v" and surrounding whitespace, which strict SemVer 2.0 refuses: the
  // generator produces neither.
  it('agrees with node-semver on random and edge-case pairs', () => {
    const r = prng(fuzzSeed(0x5eed_5e));
    const edge = [
      '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0',
      '1.0.0+build', '1.0.0-0', '1.0.0-0.0', '1.0.0--', '1.0.0-a-b', '1.0.0-1a', '1.0.0-A', '1.0.0-a', '2.0.0', '2.1.0', '2.1.1',
      '1.0.0-01', '01.0.0', '1.0', '1.0.0-', '1.0.0+', '1.0.0-a..b', '',
    ];
    const pool = unique([...edge, ...Array.from({ length: fuzzScale(150) }, () => genSemver(r))]);
    const pairs = makePairs(r, pool, fuzzScale(400));
    const parsed = new Map(pool.map((v) => [v, semver.valid(v, { loose: false }) !== null]));
    const cmp = pairs.map(([a, b]) => (parsed.get(a) && parsed.get(b) ? semver.compare(a, b) : null));
    const { mismatches, compared } = differential(semverComparator, pairs, cmp, parsed);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(250);
  });

  it('follows the precedence example of SemVer 2.0 item 11', () => {
    const sorted = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0'];
    const c = comparator('semver');
    const parsed = sorted.map((v) => c.parse(v));
    for (let i = 0; i < parsed.length; i++) for (let j = 0; j < parsed.length; j++) expect(c.compare(parsed[i], parsed[j])).toBe(Math.sign(i - j));
    expect(compareVersions('semver', '1.0.0+a', '1.0.0+b')).toBe(0);
  });

  it('has no size limit and refuses what SemVer 2.0 refuses', () => {
    expect(compareVersions('semver', '1.0.99999999999999999999', '1.0.99999999999999999998')).toBe(1);
    expect(compareVersions('semver', '1.0.0-99999999999999999999', '1.0.0-100000000000000000000')).toBe(-1);
    for (const bad of ['', 'v1.0.0', ' 1.0.0', '=1.0.0', '1.0', '01.0.0', '1.0.0-01', '1.0.0-', '1.0.0+', 'garbage']) {
      expect(isValidVersion('semver', bad)).toBe(false);
    }
  });
});
