/**
 * Shared vocabulary of the version comparators: the scheme names, the Comparator shape, the
 * VERSION_INVALID error, and number tokens that stay exact beyond 2^53 without allocating on compare.
 */
import { DrydockError } from '../core/errors.js';

export type VersionScheme = 'deb' | 'rpm' | 'apk' | 'npm' | 'semver' | 'pypi' | 'maven' | 'go' | 'gem' | 'nuget';

export type Order = -1 | 0 | 1;

/**
 * Parse once, compare parsed values many times (a matcher compares one installed version
 * against many range bounds). parse throws DrydockError('VERSION_INVALID'); compare never throws
 * and does not allocate.
 */
export interface Comparator<P = unknown> {
  readonly scheme: VersionScheme;
  parse(v: string): P;
  compare(a: P, b: P): Order;
}

export function invalidVersion(scheme: VersionScheme, version: string, reason: string, cause?: unknown): DrydockError {
  return new DrydockError('VERSION_INVALID', `invalid ${scheme} version ${JSON.stringify(version)}: ${reason}`, {
    details: { scheme, version },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** A non-negative integer: a number while exact, a bigint beyond. `<` and `>` compare the two kinds correctly. */
export type Num = number | bigint;

/** digits: ASCII digits only (leading zeros allowed). */
export function toNum(digits: string): Num {
  let i = 0;
  while (i < digits.length - 1 && digits.charCodeAt(i) === 48) i++;
  const d = i === 0 ? digits : digits.slice(i);
  return d.length <= 15 ? Number(d) : BigInt(d);
}

export function cmpNum(a: Num, b: Num): Order {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Plain code-unit order of two strings (what C strcmp, Java compareTo and Ruby <=> do for ASCII). */
export function cmpStr(a: string, b: string): Order {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sign(n: number): Order {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAlphaCode(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}
