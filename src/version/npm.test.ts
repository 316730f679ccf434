import { describe, expect, it } from 'vitest';
import { compareVersions, comparator, isValidVersion } from './index.js';

// npm.ts wraps node-semver, npm's own library, so it cannot serve as its own oracle: these are
// the npm-specific behaviours, checked by hand against node-semver's documentation.
describe('npm versions', () => {
  it('accepts what semver.valid accepts in strict mode, including a leading "v" and padding', () => {
    for (const ok of ['1.2.3', 'v1.2.3', ' 1.2.3 ', '1.2.3-alpha.1', '1.2.3+build.5', '1.2.3-0', `${Number.MAX_SAFE_INTEGER}.0.0`]) {
      expect(isValidVersion('npm', ok)).toBe(true);
    }
    expect(compareVersions('npm', 'v1.2.3', '1.2.3')).toBe(0);
    expect(compareVersions('npm', ' 1.2.3', '1.2.3')).toBe(0);
  });

  it('refuses loose forms, oversized numbers and overlong strings', () => {
    for (const bad of ['', 'garbage', '=1.2.3', 'V1.2.3', '1.2', '01.2.3', '1.2.3-01', '1.2.3.4', '9007199254740992.0.0', `1.2.3-${'a'.repeat(260)}`, 'latest', '*', '^1.2.3']) {
      expect(isValidVersion('npm', bad)).toBe(false);
    }
    expect(() => comparator('npm').parse('^1.2.3')).toThrow(/invalid npm version "\^1\.2\.3"/);
  });

  it('orders like npm: prereleases below releases, build metadata ignored', () => {
    expect(compareVersions('npm', '1.0.0-rc.1', '1.0.0')).toBe(-1);
    expect(compareVersions('npm', '1.0.0-beta.11', '1.0.0-beta.2')).toBe(1);
    expect(compareVersions('npm', '1.0.0-alpha', '1.0.0-alpha.0')).toBe(-1);
    expect(compareVersions('npm', '1.0.0+a', '1.0.0+b')).toBe(0);
    expect(compareVersions('npm', '1.10.0', '1.9.9')).toBe(1);
    expect(compareVersions('npm', '2.0.0-RC', '2.0.0-alpha')).toBe(-1); // ASCII: upper case first
  });
});
