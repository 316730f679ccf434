/**
 * OSV affected-entry evaluation (https://ossf.github.io/osv-schema/#evaluation), compiled once per entry:
 * range bounds are parsed when the entry is compiled, so checking an installed version costs a few
 * comparisons of pre-parsed values.
 */
import type { AffectedEntry, OsvRange } from '../model/vuln.js';
import { comparator, type Comparator, type VersionScheme } from '../version/index.js';
import { ecosystemScheme, rangeScheme } from './ecosystems.js';
import { byString } from '../core/compare.js';

/** A problem found while compiling an entry; reported (once per run) whenever the entry is consulted. */
export interface EntryProblem {
  code: 'VERSION_INVALID' | 'ECOSYSTEM_UNSUPPORTED';
  message: string;
}

/** What the vendor says about fixing, read from the entry's ecosystem_specific / database_specific. */
export type VendorFixState = 'wont-fix' | 'not-fixed' | 'not-affected';

/** The part of an entry that contained the installed version. */
export interface RangeMatch {
  /** ">=1.2.0, <1.2.5", "<=1.4.0 (last affected)", ">=0", "in version list" */
  range: string;
  scheme: VersionScheme;
  /** how the matched interval ends: at a fixed version, at a last affected version, or not at all */
  end: 'fixed' | 'last-affected' | 'open' | 'list';
}

const INVALID = Symbol('invalid');
type Parsed = unknown;

/**
 * Parsed installed versions per scheme, shared by every entry a Matcher evaluates. Invalid versions are
 * remembered too. Bounded: cleared when it grows past `max` entries.
 */
export class ParseCache {
  readonly #maps = new Map<VersionScheme, Map<string, Parsed>>();
  #size = 0;
  constructor(readonly max = 200_000) {}

  /** The parsed version, or undefined when the string is not valid in the scheme. */
  get(scheme: VersionScheme, v: string): Parsed | undefined {
    let m = this.#maps.get(scheme);
    if (!m) this.#maps.set(scheme, (m = new Map()));
    let p = m.get(v);
    if (p === undefined) {
      try {
        p = comparator(scheme).parse(v);
      } catch {
        p = INVALID;
      }
      if (this.#size >= this.max) {
        for (const mm of this.#maps.values()) mm.clear();
        this.#size = 0;
      }
      m.set(v, p);
      this.#size++;
    }
    return p === INVALID ? undefined : p;
  }
}

const enum Kind {
  Introduced,
  Fixed,
  LastAffected,
}

interface Bound {
  kind: Kind;
  raw: string;
  /** undefined for introduced "0" (before every version) */
  v: Parsed | undefined;
}

interface CompiledRange {
  scheme: VersionScheme;
  cmp: Comparator;
  events: Bound[];
  limits: Parsed[];
  limitRaw: string[];
}

interface CompiledList {
  exact: Set<string>;
  scheme: VersionScheme | undefined;
  cmp: Comparator | undefined;
  parsed: Parsed[];
}

/** An affected entry ready for fast evaluation. */
export interface CompiledAffected {
  readonly entry: AffectedEntry;
  /** invalid bounds (those ranges are skipped), unsupported range schemes */
  readonly problems: readonly EntryProblem[];
  readonly vendorFixState: VendorFixState | undefined;
  /**
   * Whether `installed` is affected. `onInvalid(scheme)` is called when the installed version does not
   * parse in a scheme a usable range needs (that range then cannot decide).
   */
  evaluate(installed: string, cache: ParseCache, onInvalid?: (scheme: VersionScheme) => void): RangeMatch | undefined;
  /** fixed versions (from fixed events) above the installed version, ascending in the entry's scheme */
  fixedAbove(installed: string, cache: ParseCache): string[];
}

const rangeText = (events: readonly Bound[], from: number, limitRaw: readonly string[]): { text: string; end: RangeMatch['end'] } => {
  const parts: string[] = [];
  let end: RangeMatch['end'] = 'open';
  const intro = events[from]!;
  if (intro.v !== undefined) parts.push(`>=${intro.raw}`);
  for (let i = from + 1; i < events.length; i++) {
    const e = events[i]!;
    if (e.kind === Kind.Fixed) {
      parts.push(`<${e.raw}`);
      end = 'fixed';
      break;
    }
    if (e.kind === Kind.LastAffected) {
      parts.push(`<=${e.raw} (last affected)`);
      end = 'last-affected';
      break;
    }
  }
  for (const l of limitRaw) parts.push(`<${l} (limit)`);
  return { text: parts.length ? parts.join(', ') : '>=0', end };
};

function compileRange(
  r: OsvRange,
  entry: AffectedEntry,
  problems: EntryProblem[],
): CompiledRange | undefined {
  if (r.type === 'GIT') return undefined; // commit ranges need the source repository: not used for packages
  const scheme = rangeScheme(entry.ecosystem, r.type);
  if (!scheme) {
    problems.push({
      code: 'ECOSYSTEM_UNSUPPORTED',
      message: `advisory ${entry.advisoryId}: ${r.type} range of ${entry.ecosystem} ${entry.name} has no version scheme; range not evaluated`,
    });
    return undefined;
  }
  const cmp = comparator(scheme);
  const events: Bound[] = [];
  const limits: Parsed[] = [];
  const limitRaw: string[] = [];
  const bad = (raw: string): undefined => {
    problems.push({
      code: 'VERSION_INVALID',
      message: `advisory ${entry.advisoryId}: ${entry.ecosystem} ${entry.name} range has invalid ${scheme} version "${raw}"; range not evaluated`,
    });
    return undefined;
  };
  const parse = (raw: unknown): Parsed | typeof INVALID => {
    if (typeof raw !== 'string' || raw === '') return INVALID;
    try {
      return cmp.parse(raw);
    } catch {
      return INVALID;
    }
  };
  for (const ev of r.events ?? []) {
    const e = ev as Record<string, unknown>;
    if ('introduced' in e) {
      if (e.introduced === '0') events.push({ kind: Kind.Introduced, raw: '0', v: undefined });
      else {
        const p = parse(e.introduced);
        if (p === INVALID) return bad(String(e.introduced));
        events.push({ kind: Kind.Introduced, raw: e.introduced as string, v: p });
      }
    } else if ('fixed' in e || 'last_affected' in e) {
      const fixed = 'fixed' in e;
      const raw = fixed ? e.fixed : e.last_affected;
      const p = parse(raw);
      if (p === INVALID) return bad(String(raw));
      events.push({ kind: fixed ? Kind.Fixed : Kind.LastAffected, raw: raw as string, v: p });
    } else if ('limit' in e) {
      if (e.limit === '*') continue; // "*" is no limit at all
      const p = parse(e.limit);
      if (p === INVALID) return bad(String(e.limit));
      limits.push(p);
      limitRaw.push(e.limit as string);
    }
  }
  // sort by version, introduced "0" first; the sort is stable so equal versions keep the feed's order
  events.sort((a, b) => (a.v === undefined ? (b.v === undefined ? 0 : -1) : b.v === undefined ? 1 : cmp.compare(a.v, b.v)));
  return { scheme, cmp, events, limits, limitRaw };
}

const WONT_FIX = /^(won'?t[\s_-]*fix|will[\s_-]*not[\s_-]*fix|ignored|out[\s_-]*of[\s_-]*support[\s_-]*scope)$/i;
const NOT_FIXED = /^(affected|not[\s_-]*fixed|fix[\s_-]*deferred|deferred|postponed|needed|open|pending)$/i;
const NOT_AFFECTED = /^(not[\s_-]*affected|not[\s_-]*vulnerable)$/i;
const STATUS_KEYS = ['fix_state', 'fixState', 'fix_status', 'status', 'state', 'resolution'];

/** Reads a vendor's fix status from feed-specific objects (Red Hat "fix_state", Debian/Ubuntu "status"). */
export function vendorFixStateOf(...objs: (Record<string, unknown> | undefined)[]): VendorFixState | undefined {
  for (const o of objs) {
    if (!o) continue;
    for (const k of STATUS_KEYS) {
      const v = o[k];
      if (typeof v !== 'string') continue;
      const s = v.trim().replace(/^<|>$/g, '');
      if (WONT_FIX.test(s)) return 'wont-fix';
      if (NOT_AFFECTED.test(s)) return 'not-affected';
      if (NOT_FIXED.test(s)) return 'not-fixed';
    }
  }
  return undefined;
}

/** Compiles an affected entry. Never throws: what cannot be evaluated is listed in `problems`. */
export function compileAffected(entry: AffectedEntry): CompiledAffected {
  const problems: EntryProblem[] = [];
  const a = entry.affected;
  const ranges: CompiledRange[] = [];
  for (const r of a.ranges ?? []) {
    const c = compileRange(r, entry, problems);
    if (c) ranges.push(c);
  }
  let list: CompiledList | undefined;
  if (a.versions && a.versions.length) {
    const scheme = ecosystemScheme(entry.ecosystem);
    const cmp = scheme ? comparator(scheme) : undefined;
    const parsed: Parsed[] = [];
    if (cmp) {
      for (const v of a.versions) {
        try {
          parsed.push(cmp.parse(v));
        } catch {
          problems.push({
            code: 'VERSION_INVALID',
            message: `advisory ${entry.advisoryId}: ${entry.ecosystem} ${entry.name} version list has invalid ${scheme} version "${v}"; only exact matches used for it`,
          });
        }
      }
    }
    list = { exact: new Set(a.versions), scheme, cmp, parsed };
  }
  const vendorFixState = vendorFixStateOf(
    a.ecosystem_specific,
    a.database_specific,
    ...(a.ranges ?? []).map((r) => r.database_specific),
  );

  // fixed versions per scheme, ascending (computed once)
  const fixed: { scheme: VersionScheme; cmp: Comparator; raw: string; v: Parsed }[] = [];
  for (const r of ranges) for (const e of r.events) if (e.kind === Kind.Fixed) fixed.push({ scheme: r.scheme, cmp: r.cmp, raw: e.raw, v: e.v });
  if (fixed.length > 1) fixed.sort((x, y) => (x.scheme === y.scheme ? x.cmp.compare(x.v, y.v) : byString(x.raw, y.raw)));

  const evaluate = (installed: string, cache: ParseCache, onInvalid?: (s: VersionScheme) => void): RangeMatch | undefined => {
    for (const r of ranges) {
      const v = cache.get(r.scheme, installed);
      if (v === undefined) {
        onInvalid?.(r.scheme);
        continue;
      }
      const cmp = r.cmp;
      if (r.limits.length) {
        let below = false;
        for (const l of r.limits) if (cmp.compare(v, l) < 0) below = true;
        if (!below) continue;
      }
      let vulnerable = false;
      let from = -1;
      const ev = r.events;
      for (let i = 0; i < ev.length; i++) {
        const e = ev[i]!;
        if (e.kind === Kind.Introduced) {
          if (e.v === undefined || cmp.compare(v, e.v) >= 0) {
            vulnerable = true;
            from = i;
          }
        } else if (e.kind === Kind.Fixed) {
          if (cmp.compare(v, e.v) >= 0) vulnerable = false;
        } else if (cmp.compare(v, e.v) > 0) vulnerable = false;
      }
      if (vulnerable) {
        const { text, end } = rangeText(ev, from, r.limitRaw);
        return { range: text, scheme: r.scheme, end };
      }
    }
    if (list) {
      if (list.exact.has(installed)) return { range: 'in version list', scheme: list.scheme ?? ranges[0]?.scheme ?? 'semver', end: 'list' };
      if (list.cmp && list.parsed.length) {
        const v = cache.get(list.scheme!, installed);
        if (v === undefined) onInvalid?.(list.scheme!);
        else for (const p of list.parsed) if (list.cmp.compare(v, p) === 0) return { range: 'in version list', scheme: list.scheme!, end: 'list' };
      }
    }
    return undefined;
  };

  const fixedAbove = (installed: string, cache: ParseCache): string[] => {
    const out: string[] = [];
    for (const f of fixed) {
      const v = cache.get(f.scheme, installed);
      if (v === undefined || f.cmp.compare(f.v, v) > 0) if (!out.includes(f.raw)) out.push(f.raw);
    }
    return out;
  };

  return { entry, problems, vendorFixState, evaluate, fixedAbove };
}
