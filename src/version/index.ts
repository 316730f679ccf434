/**
 * version/: one comparator per versioning scheme (level 0: imports only core/).
 * compareVersions and isValidVersion for one-off use; comparator(scheme) to parse once and
 * compare parsed values in hot loops (a matcher checking one installed version against many bounds).
 */
import { DrydockError, isDrydockError } from '../core/errors.js';
import { apkComparator } from './apk.js';
import { debComparator } from './deb.js';
import { gemComparator } from './gem.js';
import { goComparator } from './go.js';
import { mavenComparator } from './maven.js';
import { npmComparator } from './npm.js';
import { nugetComparator } from './nuget.js';
import { pypiComparator } from './pypi.js';
import { rpmComparator } from './rpm.js';
import { semverComparator } from './semver.js';
import type { Comparator, Order, VersionScheme } from './types.js';

export type { Comparator, Order, VersionScheme } from './types.js';

export const VERSION_SCHEMES: readonly VersionScheme[] = ['deb', 'rpm', 'apk', 'npm', 'semver', 'pypi', 'maven', 'go', 'gem', 'nuget'];

const COMPARATORS: Readonly<Record<VersionScheme, Comparator>> = {
  deb: debComparator as Comparator,
  rpm: rpmComparator as Comparator,
  apk: apkComparator as Comparator,
  npm: npmComparator as Comparator,
  semver: semverComparator as Comparator,
  pypi: pypiComparator as Comparator,
  maven: mavenComparator as Comparator,
  go: goComparator as Comparator,
  gem: gemComparator as Comparator,
  nuget: nugetComparator as Comparator,
};

/** The comparator of a scheme; parse throws DrydockError('VERSION_INVALID'). */
export function comparator(scheme: VersionScheme): Comparator {
  const c = Object.hasOwn(COMPARATORS, scheme) ? COMPARATORS[scheme] : undefined;
  if (c === undefined) throw new DrydockError('ECOSYSTEM_UNSUPPORTED', `unknown version scheme ${JSON.stringify(scheme)}`);
  return c;
}

/** -1 | 0 | 1; throws DrydockError('VERSION_INVALID') naming the scheme and the string. */
export function compareVersions(scheme: VersionScheme, a: string, b: string): Order {
  const c = comparator(scheme);
  return c.compare(c.parse(a), c.parse(b));
}

export function isValidVersion(scheme: VersionScheme, v: string): boolean {
  const c = comparator(scheme);
  try {
    c.parse(v);
    return true;
  } catch (e) {
    if (isDrydockError(e, 'VERSION_INVALID')) return false;
    throw e;
  }
}
