import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from './index.js';
import { nugetComparator } from './nuget.js';
import { type Rng, checkTotalOrder, fuzzScale, fuzzSeed, prng } from './testdata/harness.js';

// No NuGet on this machine: NuGet's documented rules ("Package versioning", SemVer 2.0) and their edge cases.
describe('nuget versions', () => {
  it('sorts the documented edge cases', () => {
    const ascending = [
      '0.9', '1.0.0-1', '1.0.0-2', '1.0.0-10', '1.0.0-a', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.2', '1.0.0-alpha.10', '1.0.0-alpha.beta',
      '1.0.0-B', '1.0.0-beta', '1.0.0-rc.1', '1.0.0-x-y', '1.0.0-xa', '1.0.0', '1.0.0.1', '1.0.1-alpha', '1.0.1', '1.1', '1.10', '2147483647.0',
    ];
    const parsed = ascending.map((v) => nugetComparator.parse(v));
    const wrong: string[] = [];
    for (let i = 0; i < parsed.length; i++) {
      for (let j = 0; j < parsed.length; j++) {
        const got = nugetComparator.compare(parsed[i]!, parsed[j]!);
        if (got !== Math.sign(i - j)) wrong.push(`${ascending[i]} vs ${ascending[j]}: ${got}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('normalises missing and zero parts, case, and metadata', () => {
    for (const same of ['1', '1.0', '1.0.0', '1.0.0.0', '01.00.000', '1.0.0+build.5', '1.0.0.0+x']) expect(compareVersions('nuget', same, '1.0.0')).toBe(0);
    expect(compareVersions('nuget', '1.0.0-ALPHA', '1.0.0-alpha')).toBe(0);
    expect(compareVersions('nuget', '1.0.0-a', '1.0.0-B')).toBe(-1); // SemVer's ASCII order would say 1
    expect(compareVersions('nuget', '1.0.0-01', '1.0.0-1')).toBe(0); // int.TryParse reads both as 1
  });

  it('refuses what NuGetVersion.TryParse refuses', () => {
    for (const bad of ['', 'garbage', 'v1.0', '1.0.0.0.0', '1.0.0-', '1.0.0+', '1.0.0-a..b', '1.0.0-a_b', '2147483648.0', '1.0 0', '1.', '.1', '1..0', '-1']) {
      expect(isValidVersion('nuget', bad)).toBe(false);
    }
  });

  it('is a total order on random versions', () => {
    const r = prng(fuzzSeed(0x5eed_e7));
    const gen = (g: Rng): string => {
      let s = g.pick(['0', '1', '2', '10']);
      for (let i = g.int(4); i > 0; i--) s += `.${g.pick(['0', '1', '01', '10'])}`;
      if (g.chance(0.5)) s += `-${g.pick(['alpha', 'Alpha', 'BETA', 'beta', 'rc', '1', '2', '10', '01', 'x-y'])}${g.chance(0.4) ? `.${g.pick(['1', '2', 'a', 'B'])}` : ''}`;
      if (g.chance(0.2)) s += '+meta';
      return s;
    };
    checkTotalOrder(Array.from({ length: fuzzScale(300) }, () => nugetComparator.parse(gen(r))), nugetComparator.compare);
  });
});
