import { describe, expect, it } from 'vitest';
import { DrydockError, isDrydockError } from '../core/errors.js';
import { VERSION_SCHEMES, type VersionScheme, compareVersions, comparator, isValidVersion } from './index.js';

const SAMPLE: Record<VersionScheme, [string, string]> = {
  deb: ['1:2.36-9+deb12u4', '1:2.36-9+deb12u10'],
  rpm: ['2.34-60.el9', '2.34-100.el9'],
  apk: ['3.0.8-r3', '3.0.13-r0'],
  npm: ['4.17.20', '4.17.21'],
  semver: ['1.0.0-rc.1', '1.0.0'],
  pypi: ['2.31.0rc1', '2.31.0'],
  maven: ['2.14.0-rc1', '2.14.0'],
  go: ['v0.0.0-20191109021931-daa7c04131f5', 'v0.1.0'],
  gem: ['7.0.4.rc1', '7.0.4'],
  nuget: ['13.0.1-beta1', '13.0.1'],
};

describe('version API', () => {
  it('has one comparator per scheme', () => {
    expect([...VERSION_SCHEMES].sort()).toEqual(['apk', 'deb', 'gem', 'go', 'maven', 'npm', 'nuget', 'pypi', 'rpm', 'semver']);
    for (const s of VERSION_SCHEMES) {
      const c = comparator(s);
      expect(c.scheme).toBe(s);
      const [lo, hi] = SAMPLE[s];
      expect(compareVersions(s, lo, hi)).toBe(-1);
      expect(compareVersions(s, hi, lo)).toBe(1);
      expect(compareVersions(s, hi, hi)).toBe(0);
      expect(c.compare(c.parse(lo), c.parse(hi))).toBe(-1);
    }
  });

  it('refuses empty strings and garbage in every scheme with VERSION_INVALID', () => {
    for (const s of VERSION_SCHEMES) {
      for (const bad of ['', 'not a version']) {
        expect(isValidVersion(s, bad)).toBe(false);
        let err: unknown;
        try {
          comparator(s).parse(bad);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(DrydockError);
        expect(isDrydockError(err, 'VERSION_INVALID')).toBe(true);
        expect((err as DrydockError).message).toBe((err as DrydockError).message.toLowerCase());
        expect((err as DrydockError).message).toContain(`invalid ${s} version ${JSON.stringify(bad)}`);
        expect((err as DrydockError).details).toEqual({ scheme: s, version: bad });
      }
      expect(() => compareVersions(s, SAMPLE[s][0], 'not a version')).toThrow(DrydockError);
    }
  });

  it('refuses an unknown scheme', () => {
    expect(() => comparator('cargo' as VersionScheme)).toThrow(/unknown version scheme "cargo"/);
    expect(() => comparator('toString' as VersionScheme)).toThrow(DrydockError);
  });
});
