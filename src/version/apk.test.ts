import { describe, expect, it } from 'vitest';
import { apkComparator } from './apk.js';
import { compareVersions, isValidVersion } from './index.js';
import { type Rng, checkTotalOrder, fuzzScale, fuzzSeed, prng } from './testdata/harness.js';

// No apk-tools on this machine: the documented rules (APKBUILD reference, pkgver) and their edge cases.
describe('apk versions', () => {
  it('sorts the documented edge cases', () => {
    const ascending = [
      '0_git20200101-r0', '0.9', '0.10', '1', '1.0_alpha_pre', '1.0_alpha', '1.0_alpha_p1', '1.0_alpha1', '1.0_alpha2', '1.0_beta', '1.0_beta1',
      '1.0_pre1', '1.0_rc', '1.0_rc0', '1.0_rc1', '1.0_rc9', '1.0_rc10', '1.0', '1.0-r0', '1.0-r1', '1.0-r2', '1.0-r10', '1.0_cvs', '1.0_svn', '1.0_git',
      '1.0_git20240101', '1.0_git20240101-r1', '1.0_hg', '1.0_p', '1.0_p1', '1.0_p1-r1', '1.0_p2', '1.0_p10', '1.0_p20250503123456789', '1.0a', '1.0a_p1',
      '1.0b', '1.0z', '1.0.0', '1.0.1_rc1', '1.0.1', '1.001', '1.01', '1.1_rc1', '1.1', '1.2', '1.10', '2.0_alpha', '2.0', '10.0',
      '123456789012345678901.0',
    ];
    const c = apkComparator;
    const parsed = ascending.map((v) => c.parse(v));
    const wrong: string[] = [];
    for (let i = 0; i < parsed.length; i++) {
      for (let j = 0; j < parsed.length; j++) {
        const got = c.compare(parsed[i]!, parsed[j]!);
        if (got !== Math.sign(i - j)) wrong.push(`${ascending[i]} vs ${ascending[j]}: ${got}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('compares the first number numerically and leading-zero numbers as decimals', () => {
    expect(compareVersions('apk', '01.0', '1.0')).toBe(0);
    expect(compareVersions('apk', '1.05', '1.5')).toBe(-1);
    expect(compareVersions('apk', '1.050', '1.05')).toBe(0);
    expect(compareVersions('apk', '1.10', '1.9')).toBe(1);
    expect(compareVersions('apk', '3.0.13-r0', '3.0.8-r3')).toBe(1);
    expect(compareVersions('apk', '2.38.1-r0', '2.38.1-r1')).toBe(-1);
  });

  it('refuses what the pkgver format refuses', () => {
    for (const bad of ['', 'a1', 'v1.0', '1..0', '1.', '.1', '1.0-1', '1.0-r', '1.0-r1-r2', '1.0_foo', '1.0_rc1a', '1.0A', '1.0ab', '1.0_', '1.0 r1', '1.0~abc']) {
      expect(isValidVersion('apk', bad)).toBe(false);
    }
  });

  it('is a total order on random versions (antisymmetric, transitive)', () => {
    const r = prng(fuzzSeed(0x5eed_a9c));
    const gen = (g: Rng): string => {
      let s = g.pick(['0', '1', '2', '10']);
      for (let i = g.int(3); i > 0; i--) s += `.${g.pick(['0', '1', '01', '10', '001'])}`;
      if (g.chance(0.3)) s += g.pick(['a', 'b', 'z']);
      for (let i = g.int(3); i > 0; i--) s += `_${g.pick(['alpha', 'beta', 'pre', 'rc', 'cvs', 'svn', 'git', 'hg', 'p'])}${g.pick(['', '0', '1', '2'])}`;
      if (g.chance(0.6)) s += `-r${g.pick(['0', '1', '2', '10'])}`;
      return s;
    };
    checkTotalOrder(Array.from({ length: fuzzScale(300) }, () => apkComparator.parse(gen(r))), apkComparator.compare);
  });
});

