/**
 * Alpine (apk-tools) versions, following the documented pkgver format of the APKBUILD reference:
 *   digits{.digits}[letter]{_suffix[digits]}[-rN]
 * with pre-release suffixes _alpha < _beta < _pre < _rc < (none) < post-release suffixes
 * _cvs < _svn < _git < _hg < _p. The ordering rules are those apk shares with Gentoo's PMS 3.3:
 *  - the first number compares numerically; a later number that starts with 0 (on either side)
 *    compares as a string with trailing zeros removed ("1.01" < "1.1"), others numerically;
 *    with equal common numbers, more numbers win ("1.0a" < "1.0.1");
 *  - then the letter (none < a < ... < z);
 *  - then suffixes pair by pair; when one side runs out, the other is lower if its next suffix is
 *    a pre-release one, higher otherwise. As in apk, "_rc" (no number) < "_rc0";
 *  - then the revision; as in apk, no revision sorts before "-r0".
 * No apk-tools exists on this machine; src/version/apk.test.ts checks the documented edge cases.
 */
import { type Comparator, type Num, type Order, cmpNum, cmpStr, invalidVersion, toNum } from './types.js';

export interface ApkVersion {
  /** numeric components */
  readonly nums: readonly Num[];
  /** the same components as strings with trailing zeros removed, and whether they began with 0 */
  readonly fracs: readonly string[];
  readonly zeroLed: readonly boolean[];
  /** char code of the letter, 0 when none */
  readonly letter: number;
  /** suffix ranks: _alpha -4, _beta -3, _pre -2, _rc -1, _cvs 1, _svn 2, _git 3, _hg 4, _p 5 */
  readonly suffixes: readonly number[];
  /** suffix numbers, -1 when the suffix has none */
  readonly suffixNums: readonly Num[];
  /** -1 when there is no -rN */
  readonly revision: Num;
}

const SUFFIX_RANK: Readonly<Record<string, number>> = { alpha: -4, beta: -3, pre: -2, rc: -1, cvs: 1, svn: 2, git: 3, hg: 4, p: 5 };
const APK = /^([0-9]+(?:\.[0-9]+)*)([a-z])?((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*)(?:-r([0-9]+))?$/;
const SUFFIX = /_(alpha|beta|pre|rc|cvs|svn|git|hg|p)([0-9]*)/g;

export function parseApk(v: string): ApkVersion {
  const m = APK.exec(v);
  if (m === null) throw invalidVersion('apk', v, v === '' ? 'empty version' : 'not digits{.digits}[letter]{_suffix[n]}[-rn]');
  const parts = m[1]!.split('.');
  const suffixes: number[] = [];
  const suffixNums: Num[] = [];
  for (const s of (m[3] ?? '').matchAll(SUFFIX)) {
    suffixes.push(SUFFIX_RANK[s[1]!]!);
    suffixNums.push(s[2] === '' ? -1 : toNum(s[2]!));
  }
  return {
    nums: parts.map(toNum),
    fracs: parts.map((p) => p.replace(/0+$/, '')),
    zeroLed: parts.map((p) => p.charCodeAt(0) === 48),
    letter: m[2] === undefined ? 0 : m[2].charCodeAt(0),
    suffixes,
    suffixNums,
    revision: m[4] === undefined ? -1 : toNum(m[4]),
  };
}

export function compareApk(a: ApkVersion, b: ApkVersion): Order {
  const na = a.nums.length;
  const nb = b.nums.length;
  const n = na < nb ? na : nb;
  for (let i = 0; i < n; i++) {
    const c = i > 0 && (a.zeroLed[i] || b.zeroLed[i]) ? cmpStr(a.fracs[i]!, b.fracs[i]!) : cmpNum(a.nums[i]!, b.nums[i]!);
    if (c !== 0) return c;
  }
  if (na !== nb) return na < nb ? -1 : 1;
  if (a.letter !== b.letter) return a.letter < b.letter ? -1 : 1;
  const sa = a.suffixes.length;
  const sb = b.suffixes.length;
  const s = sa < sb ? sa : sb;
  for (let i = 0; i < s; i++) {
    const ra = a.suffixes[i]!;
    const rb = b.suffixes[i]!;
    if (ra !== rb) return ra < rb ? -1 : 1;
    const c = cmpNum(a.suffixNums[i]!, b.suffixNums[i]!);
    if (c !== 0) return c;
  }
  if (sa > s) return a.suffixes[s]! < 0 ? -1 : 1;
  if (sb > s) return b.suffixes[s]! < 0 ? 1 : -1;
  return cmpNum(a.revision, b.revision);
}

export const apkComparator: Comparator<ApkVersion> = { scheme: 'apk', parse: parseApk, compare: compareApk };
