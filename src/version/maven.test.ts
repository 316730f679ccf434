import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from './index.js';
import { mavenComparator } from './maven.js';
import { type Rng, differential, fuzzScale, fuzzSeed, makePairs, prng, requireTool, run, unique } from './testdata/harness.js';

const JAR = '/usr/share/java/maven-artifact-3.x.jar';
const SOURCE = fileURLToPath(new URL('./testdata/Cmp.java', import.meta.url));

/** ComparableVersion itself, through java's single-file source launcher. */
function mavenOracle(pairs: [string, string][]): number[] {
  requireTool('java', 'default-jre-headless');
  if (!existsSync(JAR)) throw new Error(`oracle ${JAR} is missing: install the Debian package maven (libmaven3-core-java)`);
  const out = run('java', ['-cp', JAR, SOURCE], pairs.map(([a, b]) => `${a}\x1f${b}`).join('\n') + '\n').trim().split('\n');
  expect(out.length).toBe(pairs.length);
  return out.map(Number);
}

function token(r: Rng): string {
  return r.chance(0.5)
    ? r.pick(['0', '1', '2', '10', '01', '00', '000', '1234567890', '12345678901234567890', '123456789012345678901234567890'])
    : r.pick(['alpha', 'beta', 'milestone', 'rc', 'cr', 'snapshot', 'SNAPSHOT', 'ga', 'final', 'release', 'RELEASE', 'sp', 'a', 'b', 'm', 'foo', 'xyz', 'jre', 'android', 'Final', 'RC', 'ea', '']);
}

function genMaven(r: Rng): string {
  let s = r.pick(['1', '2', '1.0', '1.0.0', '0', '10']);
  for (let i = r.int(5); i > 0; i--) s += r.pick(['.', '.', '-', '-', '', '']) + token(r);
  return s;
}

describe('maven versions', () => {
  it('agrees with ComparableVersion (maven-artifact 3.x) on random and edge-case pairs', () => {
    const r = prng(fuzzSeed(0x5eed_a7e));
    const edge = [
      '1', '1.0', '1.0.0', '1-0', '1.0-ga', '1.0.final', '1.0-release', '1.0-sp', '1.0-sp1', '1.0-alpha', '1.0-alpha1', '1.0a1', '1.0-a1', '1.0-a',
      '1.0-b1', '1.0-m1', '1.0-rc1', '1.0-cr1', '1.0-SNAPSHOT', '1.0-foo', '1.0-bar', '1.0.1', '1.0-1', '1.0.0.0.0.1', '1-1', '1-1-1', '1.1',
      '1a', '1.a', '1-a', '1..1', '1--1', '1.', '1-', '.1', '-1', '1.0.RELEASE', '1.0.Final', '2.0.0-M1', '2.0.0.M1', '1.0-jre', '1.0-android',
      '0.0.1', '0', '0.0', 'a', 'alpha', 'final', '1-0.1', '1-sp-1', '1.0.0-alpha.beta', '1-1.foo-bar1baz-.1',
    ];
    const pool = unique([...edge, ...Array.from({ length: fuzzScale(150) }, () => genMaven(r))]);
    const pairs = makePairs(r, pool, fuzzScale(400));
    const o = mavenOracle(pairs);
    const valid = new Map(pool.map((v) => [v, true]));
    const { mismatches, compared } = differential(mavenComparator, pairs, o, valid);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(300);
  });

  it('orders qualifiers as Maven documents', () => {
    const sorted = ['1-alpha1', '1-beta1', '1-milestone1', '1-rc1', '1-snapshot', '1', '1-sp', '1-abc', '1-xyz', '1.0.1'];
    for (let i = 0; i + 1 < sorted.length; i++) expect(compareVersions('maven', sorted[i]!, sorted[i + 1]!)).toBe(-1);
    expect(compareVersions('maven', '1.0-cr1', '1.0-rc1')).toBe(0);
    expect(compareVersions('maven', '1.0', '1-ga')).toBe(0);
  });

  it('refuses empty strings and whitespace', () => {
    for (const bad of ['', ' ', '1.0 beta', '1.0\n', '1.٣']) expect(isValidVersion('maven', bad)).toBe(false);
  });
});
