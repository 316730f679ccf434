/**
 * RubyGems versions, ordered like Gem::Version (rubygems 3.3): the string (surrounding
 * whitespace removed, "-" read as ".pre.") splits into runs of digits and runs of letters;
 * a letter run makes the version a prerelease ("1.0.a" < "1.0"). Trailing zeros are dropped from
 * the numeric part and from the rest ("1.0.0" = "1", "1.0.a.0" = "1.a"), missing segments count
 * as 0, letters sort below numbers, letter runs compare by byte order (case-sensitive).
 *
 * Validity: Gem::Version.correct?, except that the empty string (which RubyGems reads as "0")
 * is refused.
 */
import { type Comparator, type Num, type Order, cmpNum, cmpStr, invalidVersion, toNum } from './types.js';

export type GemSegment = Num | string;
export interface GemVersion {
  /** canonical segments */
  readonly segments: readonly GemSegment[];
}

const GEM = /^[ \t\r\n\f\v]*([0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)[ \t\r\n\f\v]*$/;

function dropTrailingZeros(list: GemSegment[]): GemSegment[] {
  let n = list.length;
  while (n > 0 && list[n - 1] === 0) n--;
  return list.slice(0, n);
}

export function parseGem(v: string): GemVersion {
  const m = GEM.exec(v);
  if (m === null) throw invalidVersion('gem', v, v.trim() === '' ? 'empty version' : 'not a rubygems version');
  const text = m[1]!.replace(/-/g, '.pre.');
  const all: GemSegment[] = (text.match(/[0-9]+|[a-z]+/gi) ?? []).map((s) => (/^[0-9]/.test(s) ? toNum(s) : s));
  let firstString = all.findIndex((s) => typeof s === 'string');
  if (firstString < 0) firstString = all.length;
  const segments = [...dropTrailingZeros(all.slice(0, firstString)), ...dropTrailingZeros(all.slice(firstString))];
  return { segments };
}

export function compareGem(a: GemVersion, b: GemVersion): Order {
  const sa = a.segments;
  const sb = b.segments;
  const n = sa.length > sb.length ? sa.length : sb.length;
  for (let i = 0; i < n; i++) {
    const l = i < sa.length ? sa[i]! : 0;
    const r = i < sb.length ? sb[i]! : 0;
    const ls = typeof l === 'string';
    const rs = typeof r === 'string';
    let c: Order;
    if (ls) c = rs ? cmpStr(l, r) : -1;
    else c = rs ? 1 : cmpNum(l, r as Num);
    if (c !== 0) return c;
  }
  return 0;
}

export const gemComparator: Comparator<GemVersion> = { scheme: 'gem', parse: parseGem, compare: compareGem };
