/**
 * Strict Semantic Versioning 2.0.0 (https://semver.org/spec/v2.0.0.html): MAJOR.MINOR.PATCH,
 * no leading zeros, no "v", optional -prerelease and +build. Precedence (spec item 11): numbers
 * numerically; a prerelease is lower than its release; prerelease identifiers pairwise, numeric
 * ones numerically and below alphanumeric ones, those in ASCII order; a longer list wins when all
 * shared identifiers are equal. Build metadata is ignored. Numbers have no size limit.
 */
import { type Comparator, type Num, type Order, cmpNum, cmpStr, invalidVersion, toNum } from './types.js';

/** A prerelease identifier: a Num when numeric, the text otherwise. */
export type PreId = Num | string;

export interface SemVersion {
  readonly major: Num;
  readonly minor: Num;
  readonly patch: Num;
  /** empty for a release */
  readonly pre: readonly PreId[];
  readonly build: string;
}

// The regular expression suggested by semver.org.
const SEMVER =
  /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

export function parsePreIds(pre: string | undefined): PreId[] {
  if (pre === undefined || pre === '') return [];
  return pre.split('.').map((id) => (/^[0-9]+$/.test(id) ? toNum(id) : id));
}

export function parseSemver(v: string): SemVersion {
  const m = SEMVER.exec(v);
  if (m === null) throw invalidVersion('semver', v, v === '' ? 'empty version' : 'not major.minor.patch[-prerelease][+build] (semver 2.0)');
  return { major: toNum(m[1]!), minor: toNum(m[2]!), patch: toNum(m[3]!), pre: parsePreIds(m[4]), build: m[5] ?? '' };
}

/** SemVer 2.0 precedence of two prerelease lists (an empty list is a release). */
export function comparePreIds(a: readonly PreId[], b: readonly PreId[]): Order {
  const la = a.length;
  const lb = b.length;
  if (la === 0 || lb === 0) return la === lb ? 0 : la === 0 ? 1 : -1;
  const n = la < lb ? la : lb;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xs = typeof x === 'string';
    const ys = typeof y === 'string';
    let c: Order;
    if (xs) c = ys ? cmpStr(x, y) : 1;
    else c = ys ? -1 : cmpNum(x, y as Num);
    if (c !== 0) return c;
  }
  return la === lb ? 0 : la < lb ? -1 : 1;
}

export function compareSemver(a: SemVersion, b: SemVersion): Order {
  return cmpNum(a.major, b.major) || cmpNum(a.minor, b.minor) || cmpNum(a.patch, b.patch) || comparePreIds(a.pre, b.pre);
}

export const semverComparator: Comparator<SemVersion> = { scheme: 'semver', parse: parseSemver, compare: compareSemver };
