/**
 * npm package versions, with node-semver (npm's own library) in strict mode: what
 * semver.valid(v) accepts, which includes a leading "v" and surrounding whitespace (trimmed),
 * and refuses leading zeros, "=" prefixes, numbers above Number.MAX_SAFE_INTEGER and strings
 * longer than 256 characters. Precedence is node-semver's compare (build metadata ignored).
 */
import semver from 'semver';
import { type Comparator, type Order, invalidVersion } from './types.js';

export type NpmVersion = semver.SemVer;

export function parseNpm(v: string): NpmVersion {
  try {
    return new semver.SemVer(v, { loose: false });
  } catch (e) {
    throw invalidVersion('npm', v, v === '' ? 'empty version' : 'not a valid semver version', e);
  }
}

export function compareNpm(a: NpmVersion, b: NpmVersion): Order {
  return a.compare(b);
}

export const npmComparator: Comparator<NpmVersion> = { scheme: 'npm', parse: parseNpm, compare: compareNpm };
