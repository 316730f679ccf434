/**
 * Debian versions: [epoch:]upstream_version[-debian_revision], compared as Debian Policy 5.6.12
 * describes (and dpkg implements): non-digit runs by a modified ASCII order in which `~` sorts
 * before everything (even the end of the string) and letters before non-letters, digit runs
 * numerically.
 *
 * Validity: what dpkg accepts without error or warning. dpkg only warns about an upstream
 * version that does not start with a digit or holds characters Policy forbids; we refuse those too.
 */
import { type Comparator, type Num, type Order, cmpNum, invalidVersion, isAlphaCode, isDigitCode, sign, toNum } from './types.js';

export interface DebVersion {
  readonly epoch: Num;
  readonly upstream: string;
  /** '' when absent ("1.0" equals "1.0-0", as in dpkg) */
  readonly revision: string;
}

const UPSTREAM_CHARS = /^[0-9][A-Za-z0-9.+~:-]*$/;
const REVISION_CHARS = /^[A-Za-z0-9.+~]+$/;
const INT_MAX = 2147483647;

export function parseDeb(v: string): DebVersion {
  const s = v.trim();
  if (s === '') throw invalidVersion('deb', v, 'empty version');
  if (/\s/.test(s)) throw invalidVersion('deb', v, 'embedded whitespace');
  const colon = s.indexOf(':');
  let epoch: Num = 0;
  let rest = s;
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (e === '') throw invalidVersion('deb', v, 'empty epoch');
    if (!/^[0-9]+$/.test(e)) throw invalidVersion('deb', v, 'epoch is not a number');
    epoch = toNum(e);
    if (epoch > INT_MAX) throw invalidVersion('deb', v, 'epoch too big');
    rest = s.slice(colon + 1);
    if (rest === '') throw invalidVersion('deb', v, 'nothing after the epoch colon');
  }
  const hyphen = rest.lastIndexOf('-');
  let upstream = rest;
  let revision = '';
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (revision === '') throw invalidVersion('deb', v, 'empty revision');
    if (!REVISION_CHARS.test(revision)) throw invalidVersion('deb', v, 'invalid character in revision');
  }
  if (upstream === '') throw invalidVersion('deb', v, 'empty upstream version');
  if (!UPSTREAM_CHARS.test(upstream)) {
    throw invalidVersion('deb', v, isDigitCode(upstream.charCodeAt(0)) ? 'invalid character in upstream version' : 'upstream version does not start with a digit');
  }
  return { epoch, upstream, revision };
}

/** Weight of a non-digit character (NaN, the end of the string, and digits weigh 0). */
function weight(c: number): number {
  if (c !== c || isDigitCode(c)) return 0;
  if (isAlphaCode(c)) return c;
  if (c === 126 /* ~ */) return -1;
  return c + 256;
}

/** Policy 5.6.12 comparison of two upstream versions or two revisions. */
export function debStringCompare(a: string, b: string): Order {
  const la = a.length;
  const lb = b.length;
  let i = 0;
  let j = 0;
  while (i < la || j < lb) {
    // the non-digit prefix, character by character
    for (;;) {
      const ca = a.charCodeAt(i); // NaN past the end
      const cb = b.charCodeAt(j);
      const nonDigitA = i < la && !isDigitCode(ca);
      const nonDigitB = j < lb && !isDigitCode(cb);
      if (!nonDigitA && !nonDigitB) break;
      const wa = weight(ca);
      const wb = weight(cb);
      if (wa !== wb) return wa < wb ? -1 : 1;
      i++;
      j++;
    }
    // the digit run, numerically (any length)
    while (i < la && a.charCodeAt(i) === 48) i++;
    while (j < lb && b.charCodeAt(j) === 48) j++;
    let firstDiff = 0;
    while (i < la && j < lb) {
      const ca = a.charCodeAt(i);
      const cb = b.charCodeAt(j);
      if (!isDigitCode(ca) || !isDigitCode(cb)) break;
      if (firstDiff === 0) firstDiff = ca - cb;
      i++;
      j++;
    }
    if (i < la && isDigitCode(a.charCodeAt(i))) return 1;
    if (j < lb && isDigitCode(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return sign(firstDiff);
  }
  return 0;
}

export function compareDeb(a: DebVersion, b: DebVersion): Order {
  return cmpNum(a.epoch, b.epoch) || debStringCompare(a.upstream, b.upstream) || debStringCompare(a.revision, b.revision);
}

export const debComparator: Comparator<DebVersion> = { scheme: 'deb', parse: parseDeb, compare: compareDeb };
