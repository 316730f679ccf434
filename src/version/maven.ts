/**
 * Maven versions, ordered like Maven's ComparableVersion (maven-artifact 3.8.7, the oracle of
 * the tests): the string is lower-cased and cut into a tree of items at ".", at "-" (which opens
 * a sub-list) and at every switch between digits and letters (which also opens a sub-list; a
 * qualifier that starts such a switch, or ends the string, goes into a sub-list of its own unless
 * the current list is empty, so "1.a" = "1-a" = "1a"). Items are numbers, qualifiers or lists. Known qualifiers sort alpha < beta < milestone < rc = cr < snapshot < "" = ga = final
 * = release < sp, unknown ones after all of those (alphabetically); "a1", "b1", "m1" mean alpha-1,
 * beta-1, milestone-1. Trailing null items (0, "", empty lists) are dropped, so "1.0" = "1" = "1-ga".
 * When one list runs out, each remaining item of the other is compared with "nothing" (a sub-list
 * item by item): a number > 0 or a qualifier above "" makes that side larger.
 *
 * Validity: Maven orders any string; we refuse the empty string, whitespace and control
 * characters, and non-ASCII digits (Java would read them as numbers).
 */
import { type Comparator, type Num, type Order, cmpNum, cmpStr, invalidVersion, isDigitCode, toNum } from './types.js';

export type MavenItem =
  | { readonly kind: 0; readonly n: Num }
  /** q: the qualifier's sort key, an index into QUALIFIERS or "7-" + the unknown qualifier */
  | { readonly kind: 1; readonly q: string }
  | { readonly kind: 2; readonly items: MavenItem[] };

export type MavenVersion = { readonly kind: 2; readonly items: MavenItem[] };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const RELEASE_KEY = '5';
const ALIASES: Readonly<Record<string, string>> = { ga: '', final: '', release: '', cr: 'rc' };
const SHORT: Readonly<Record<string, string>> = { a: 'alpha', b: 'beta', m: 'milestone' };

function qualifier(text: string, followedByDigit: boolean): MavenItem {
  let s = followedByDigit && text.length === 1 ? (SHORT[text] ?? text) : text;
  s = Object.hasOwn(ALIASES, s) ? ALIASES[s]! : s;
  const i = QUALIFIERS.indexOf(s);
  return { kind: 1, q: i >= 0 ? String(i) : `${QUALIFIERS.length}-${s}` };
}

function item(digits: boolean, text: string): MavenItem {
  return digits ? { kind: 0, n: toNum(text) } : qualifier(text, false);
}

function isNullItem(it: MavenItem): boolean {
  if (it.kind === 0) return it.n === 0;
  if (it.kind === 1) return it.q === RELEASE_KEY;
  return it.items.length === 0;
}

/** Drops trailing null items, looking through (non-null) sub-lists. */
function normalize(list: MavenItem[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const it = list[i]!;
    if (isNullItem(it)) list.splice(i, 1);
    else if (it.kind !== 2) break;
  }
}

const ZERO: MavenItem = { kind: 0, n: 0 };

export function parseMaven(v: string): MavenVersion {
  if (v === '') throw invalidVersion('maven', v, 'empty version');
  if (/[\s\p{Cc}]/u.test(v)) throw invalidVersion('maven', v, 'whitespace or control character');
  if (/[^\x00-\x7f]/.test(v) && /\p{Nd}/u.test(v.replace(/[0-9]/g, ''))) throw invalidVersion('maven', v, 'non-ascii digit');
  const s = v.toLowerCase();
  const root: MavenVersion = { kind: 2, items: [] };
  let list = root.items;
  const stack: MavenItem[][] = [list];
  let digits = false;
  let start = 0;
  const open = (): void => {
    const sub: MavenItem[] = [];
    list.push({ kind: 2, items: sub });
    list = sub;
    stack.push(sub);
  };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */ || c === 45 /* - */) {
      list.push(i === start ? ZERO : item(digits, s.slice(start, i)));
      start = i + 1;
      if (c === 45) open();
    } else if (isDigitCode(c)) {
      if (!digits && i > start) {
        // letters then digits: "rc1" is qualifier rc (in a new sub-list unless the list is
        // empty), then a sub-list for what follows
        if (list.length > 0) open();
        list.push(qualifier(s.slice(start, i), true));
        start = i;
        open();
      }
      digits = true;
    } else {
      if (digits && i > start) {
        list.push(item(true, s.slice(start, i)));
        start = i;
        open();
      }
      digits = false;
    }
  }
  if (s.length > start) {
    // a final qualifier also opens a sub-list when the list holds something ("1.a" = "1-a")
    if (!digits && list.length > 0) open();
    list.push(item(digits, s.slice(start)));
  }
  for (let k = stack.length - 1; k >= 0; k--) normalize(stack[k]!);
  return root;
}

/** item.compareTo(null): how an item compares with "nothing" on the other side. */
function compareWithNothing(a: MavenItem): Order {
  if (a.kind === 0) return a.n === 0 ? 0 : 1;
  if (a.kind === 1) return cmpStr(a.q, RELEASE_KEY);
  for (const it of a.items) {
    const c = compareWithNothing(it);
    if (c !== 0) return c;
  }
  return 0;
}

function compareItems(a: MavenItem, b: MavenItem): Order {
  switch (a.kind) {
    case 0:
      return b.kind === 0 ? cmpNum(a.n, b.n) : 1;
    case 1:
      return b.kind === 1 ? cmpStr(a.q, b.q) : -1;
    default: {
      if (b.kind === 0) return -1;
      if (b.kind === 1) return 1;
      const la = a.items.length;
      const lb = b.items.length;
      const n = la > lb ? la : lb;
      for (let i = 0; i < n; i++) {
        let c: Order;
        if (i >= la) c = (0 - compareWithNothing(b.items[i]!)) as Order;
        else if (i >= lb) c = compareWithNothing(a.items[i]!);
        else c = compareItems(a.items[i]!, b.items[i]!);
        if (c !== 0) return c;
      }
      return 0;
    }
  }
}

export function compareMaven(a: MavenVersion, b: MavenVersion): Order {
  return compareItems(a, b);
}

export const mavenComparator: Comparator<MavenVersion> = { scheme: 'maven', parse: parseMaven, compare: compareMaven };
