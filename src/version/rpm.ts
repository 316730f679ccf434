/**
 * RPM versions as [epoch:]version[-release] (EVR) strings, the way distros and OSV write them
 * ("1:2.3-4.el9"), compared with rpm's rpmvercmp segment rules: runs of digits or of letters,
 * other characters separate; digits beat letters; `~` sorts before everything, `^` after the
 * base version but before any other addition. A missing epoch is 0. As rpm 4.18 does
 * (rpm.vercmp / rpm.ver), a version without a release sorts before the same version with one.
 *
 * Validity: rpm compares almost any string; we accept what rpmbuild accepts in Version and
 * Release (letters, digits and `._+~^`), a decimal epoch, and refuse the empty string.
 */
import { type Comparator, type Num, type Order, cmpNum, invalidVersion, isAlphaCode, isDigitCode, toNum } from './types.js';

export interface RpmVersion {
  readonly epoch: Num;
  readonly version: string;
  /** undefined when the string has no release */
  readonly release: string | undefined;
}

const PART = /^[A-Za-z0-9._+~^]+$/;

export function parseRpm(v: string): RpmVersion {
  if (v === '') throw invalidVersion('rpm', v, 'empty version');
  let i = 0;
  while (i < v.length && isDigitCode(v.charCodeAt(i))) i++;
  let epoch: Num = 0;
  let rest = v;
  if (v.charCodeAt(i) === 58 /* : */) {
    if (i === 0) throw invalidVersion('rpm', v, 'empty epoch');
    epoch = toNum(v.slice(0, i));
    rest = v.slice(i + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const version = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const release = hyphen >= 0 ? rest.slice(hyphen + 1) : undefined;
  if (version === '') throw invalidVersion('rpm', v, 'empty version part');
  if (!PART.test(version)) throw invalidVersion('rpm', v, 'invalid character in version');
  if (release !== undefined) {
    if (release === '') throw invalidVersion('rpm', v, 'empty release');
    if (!PART.test(release)) throw invalidVersion('rpm', v, 'invalid character in release');
  }
  return { epoch, version, release };
}

function isAlnum(c: number): boolean {
  return isDigitCode(c) || isAlphaCode(c);
}

/** rpmvercmp: compares one version or one release string. */
export function rpmvercmp(a: string, b: string): Order {
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  let i = 0;
  let j = 0;
  while (i < la || j < lb) {
    while (i < la && !isAlnum(a.charCodeAt(i)) && a.charCodeAt(i) !== 126 && a.charCodeAt(i) !== 94) i++;
    while (j < lb && !isAlnum(b.charCodeAt(j)) && b.charCodeAt(j) !== 126 && b.charCodeAt(j) !== 94) j++;
    const ca = i < la ? a.charCodeAt(i) : 0;
    const cb = j < lb ? b.charCodeAt(j) : 0;
    // tilde: before everything, even the end
    if (ca === 126 || cb === 126) {
      if (ca !== 126) return 1;
      if (cb !== 126) return -1;
      i++;
      j++;
      continue;
    }
    // caret: like tilde, but the end of a string sorts before it
    if (ca === 94 || cb === 94) {
      if (ca === 0) return -1;
      if (cb === 0) return 1;
      if (ca !== 94) return 1;
      if (cb !== 94) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === 0 || cb === 0) break;
    const numeric = isDigitCode(ca);
    let ei = i;
    let ej = j;
    if (numeric) {
      while (ei < la && isDigitCode(a.charCodeAt(ei))) ei++;
      while (ej < lb && isDigitCode(b.charCodeAt(ej))) ej++;
    } else {
      while (ei < la && isAlphaCode(a.charCodeAt(ei))) ei++;
      while (ej < lb && isAlphaCode(b.charCodeAt(ej))) ej++;
    }
    // a's segment is non-empty; b's is empty when the kinds differ: digits beat letters
    if (ej === j) return numeric ? 1 : -1;
    if (numeric) {
      while (i < ei - 1 && a.charCodeAt(i) === 48) i++;
      while (j < ej - 1 && b.charCodeAt(j) === 48) j++;
      // zeros were stripped (keeping one digit): the longer number wins
      const na = ei - i;
      const nb = ej - j;
      if (na !== nb) {
        // "0" and "00" both reduce to one digit; a lone 0 against a longer run is smaller
        return na > nb ? 1 : -1;
      }
    }
    // same-length digit runs or letter runs: plain byte order
    const n = Math.min(ei - i, ej - j);
    for (let k = 0; k < n; k++) {
      const d = a.charCodeAt(i + k) - b.charCodeAt(j + k);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    if (ei - i !== ej - j) return ei - i < ej - j ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= la && j >= lb) return 0;
  return i >= la ? -1 : 1;
}

export function compareRpm(a: RpmVersion, b: RpmVersion): Order {
  const e = cmpNum(a.epoch, b.epoch);
  if (e !== 0) return e;
  const v = rpmvercmp(a.version, b.version);
  if (v !== 0) return v;
  if (a.release === undefined) return b.release === undefined ? 0 : -1;
  if (b.release === undefined) return 1;
  return rpmvercmp(a.release, b.release);
}

export const rpmComparator: Comparator<RpmVersion> = { scheme: 'rpm', parse: parseRpm, compare: compareRpm };
