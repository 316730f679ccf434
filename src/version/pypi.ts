/**
 * Python package versions per PEP 440 (https://peps.python.org/pep-0440/), with its
 * normalisation: case-insensitive, optional "v", separators "-", "_", "." around pre/post/dev
 * labels, spellings alpha/beta/c/pre/preview/rev/r, implicit post releases ("1.0-1"), implicit
 * numbers ("1.0rc" is 1.0rc0). Order: epoch, release (trailing zeros ignored), pre-release
 * (a < b < rc; a version with only a dev part sorts before its pre-releases), post-release,
 * dev-release (before the version it develops), local label (absent lowest, numeric
 * segments above alphanumeric ones).
 */
import { type Comparator, type Num, type Order, cmpNum, cmpStr, invalidVersion, toNum } from './types.js';

export type LocalSegment = Num | string;

export interface PypiVersion {
  readonly epoch: Num;
  /** release numbers without trailing zeros */
  readonly release: readonly Num[];
  /** 0: no pre, no post but a dev part (sorts first); 1 a; 2 b; 3 rc; 4 no pre-release */
  readonly preRank: number;
  readonly preNum: Num;
  /** -1 when there is no post-release */
  readonly post: Num;
  /** Infinity when there is no dev-release */
  readonly dev: Num;
  /** undefined when there is no local label */
  readonly local: readonly LocalSegment[] | undefined;
}

// The regular expression of PEP 440, appendix B, as one line.
const PEP440 =
  /^\s*v?(?:(?:([0-9]+)!)?([0-9]+(?:\.[0-9]+)*)([-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?([0-9]+)?)?((?:-([0-9]+))|(?:[-_.]?(post|rev|r)[-_.]?([0-9]+)?))?([-_.]?(dev)[-_.]?([0-9]+)?)?)(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$/i;

const PRE_RANK: Readonly<Record<string, number>> = { a: 1, alpha: 1, b: 2, beta: 2, c: 3, rc: 3, pre: 3, preview: 3 };

export function parsePypi(v: string): PypiVersion {
  const m = PEP440.exec(v);
  if (m === null) throw invalidVersion('pypi', v, v.trim() === '' ? 'empty version' : 'not a pep 440 version');
  const release = m[2]!.split('.').map(toNum);
  while (release.length > 0 && release[release.length - 1] === 0) release.pop();
  const hasPre = m[3] !== undefined;
  const hasPost = m[6] !== undefined;
  const hasDev = m[10] !== undefined;
  let preRank = 4;
  if (hasPre) preRank = PRE_RANK[m[4]!.toLowerCase()]!;
  else if (!hasPost && hasDev) preRank = 0;
  const postDigits = m[7] ?? m[9];
  return {
    epoch: m[1] === undefined ? 0 : toNum(m[1]),
    release,
    preRank,
    preNum: m[5] === undefined ? 0 : toNum(m[5]),
    post: hasPost ? (postDigits === undefined ? 0 : toNum(postDigits)) : -1,
    dev: hasDev ? (m[12] === undefined ? 0 : toNum(m[12])) : Infinity,
    local: m[13] === undefined ? undefined : m[13].toLowerCase().split(/[-_.]/).map((s) => (/^[0-9]+$/.test(s) ? toNum(s) : s)),
  };
}

function compareLocal(a: readonly LocalSegment[] | undefined, b: readonly LocalSegment[] | undefined): Order {
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? -1 : 1;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const xs = typeof x === 'string';
    const ys = typeof y === 'string';
    let c: Order;
    if (xs) c = ys ? cmpStr(x, y) : -1;
    else c = ys ? 1 : cmpNum(x, y as Num);
    if (c !== 0) return c;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

export function comparePypi(a: PypiVersion, b: PypiVersion): Order {
  let c = cmpNum(a.epoch, b.epoch);
  if (c !== 0) return c;
  const ra = a.release;
  const rb = b.release;
  const n = ra.length < rb.length ? ra.length : rb.length;
  for (let i = 0; i < n; i++) {
    c = cmpNum(ra[i]!, rb[i]!);
    if (c !== 0) return c;
  }
  if (ra.length !== rb.length) return ra.length < rb.length ? -1 : 1;
  if (a.preRank !== b.preRank) return a.preRank < b.preRank ? -1 : 1;
  return cmpNum(a.preNum, b.preNum) || cmpNum(a.post, b.post) || cmpNum(a.dev, b.dev) || compareLocal(a.local, b.local);
}

export const pypiComparator: Comparator<PypiVersion> = { scheme: 'pypi', parse: parsePypi, compare: comparePypi };
