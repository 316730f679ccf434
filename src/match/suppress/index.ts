/**
 * Suppression: ignore rules and VEX statements mark findings as suppressed, with the rule or
 * statement that decided (ARCHITECTURE habit 7). Findings are never dropped; policy/ and report/
 * decide what to show and what fails a gate.
 *
 * Order of precedence: the first matching, unexpired ignore rule (files in the order given, rules in
 * file order); otherwise the latest applicable VEX statement, which suppresses when its status is
 * not_affected or fixed. docs/ignore-and-vex.md describes the rules for people.
 */
import type { IssueLog } from '../../core/issues.js';
import type { Finding, Suppression } from '../../model/vuln.js';
import { describeRule, findingIds, isExpired, ruleMatches, suppressionFor, type IgnoreRule, type IgnoreRuleSet } from './ignore.js';
import { packagePurl, prepareImage, productIsImage, purlMatches, type ImageContext, type ProductRef, type Purl } from './purl.js';
import type { VexDocument, VexStatement } from './vex.js';

export { loadIgnoreFile, parseIgnoreFile, parseExpiry, type IgnoreFileFormat, type IgnoreRule, type IgnoreRuleSet, type LoadIgnoreOptions } from './ignore.js';
export { loadVex, parseVex, type VexDocument, type VexFormat, type VexProduct, type VexStatement, type VexStatus } from './vex.js';
export { parsePurl, purlMatches, type ImageContext, type ProductRef, type Purl } from './purl.js';
export { compileGlob, globMatches, type PathGlob } from './glob.js';

export interface SuppressInput {
  ignore?: IgnoreRuleSet[];
  vex?: VexDocument[];
  /** the scanned image, for VEX statements whose product is the image */
  image?: ImageContext;
  /** expiry is judged against this time (inject the scan clock) */
  now: Date;
  /** expired rules are recorded here */
  issues?: IssueLog;
}

interface IndexedRule {
  set: IgnoreRuleSet;
  rule: IgnoreRule;
  order: number;
}

interface IndexedStatement {
  doc: VexDocument;
  st: VexStatement;
  order: number;
}

/** Rules or statements by upper-cased vulnerability id, and those that name no id. */
class ById<T extends { order: number }> {
  readonly byId = new Map<string, T[]>();
  readonly any: T[] = [];

  add(ids: string[] | undefined, v: T): void {
    if (!ids || ids.length === 0) {
      this.any.push(v);
      return;
    }
    for (const id of ids) {
      const list = this.byId.get(id);
      if (list) list.push(v);
      else this.byId.set(id, [v]);
    }
  }

  /** candidates for a finding, in order, each once */
  candidates(ids: string[]): readonly T[] {
    // each list is in insertion order already; merge only when two sources contribute
    let single: T[] | undefined;
    let merged: Set<T> | undefined = this.any.length > 0 ? new Set(this.any) : undefined;
    for (const id of ids) {
      const list = this.byId.get(id);
      if (!list) continue;
      if (!merged && !single) {
        single = list;
        continue;
      }
      merged ??= new Set(single);
      for (const v of list) merged.add(v);
    }
    if (!merged) return single ?? [];
    return [...merged].sort((a, b) => a.order - b.order);
  }
}

/**
 * Returns the findings with `suppressed` set where an ignore rule or a VEX statement applies
 * (and cleared where none does). The input array and its findings are not modified.
 */
export function applySuppressions(findings: Finding[], input: SuppressInput): Finding[] {
  const active = new ById<IndexedRule>();
  const expired = new ById<IndexedRule>();
  let order = 0;
  for (const set of input.ignore ?? []) {
    for (const rule of set.rules) {
      (isExpired(rule, input.now) ? expired : active).add(rule.id ? [rule.id] : undefined, { set, rule, order: order++ });
    }
  }
  const statements = new ById<IndexedStatement>();
  order = 0;
  for (const doc of input.vex ?? []) for (const st of doc.statements) statements.add(st.ids, { doc, st, order: order++ });

  const image = prepareImage(input.image);
  const imageCache = new Map<ProductRef, boolean>();
  const isImage = (p: ProductRef): boolean => {
    let v = imageCache.get(p);
    if (v === undefined) imageCache.set(p, (v = productIsImage(p, image)));
    return v;
  };
  const wouldHaveMatched = new Map<IndexedRule, number>();

  const out = findings.map((f) => {
    const ids = findingIds(f);
    let suppressed: Suppression | undefined;
    for (const c of active.candidates(ids)) {
      if (ruleMatches(c.rule, f)) {
        suppressed = suppressionFor(c.set, c.rule);
        break;
      }
    }
    for (const c of expired.candidates(ids)) {
      if (ruleMatches(c.rule, f)) wouldHaveMatched.set(c, (wouldHaveMatched.get(c) ?? 0) + 1);
    }
    if (!suppressed) {
      const cands = statements.candidates(ids);
      if (cands.length > 0) suppressed = vexSuppression(cands, packagePurl(f.package), isImage);
    }
    if (suppressed) return { ...f, suppressed };
    if (f.suppressed) {
      const { suppressed: _stale, ...rest } = f;
      return rest;
    }
    return f;
  });

  if (input.issues) {
    const all = [...expired.any, ...[...expired.byId.values()].flat()];
    for (const c of [...new Set(all)].sort((a, b) => a.order - b.order)) {
      const n = wouldHaveMatched.get(c) ?? 0;
      input.issues.record({
        // no dedicated code exists for an expired rule; the ignore-file code is the closest
        code: 'IGNORE_RULE_EXPIRED',
        message: `ignore rule ${describeRule(c.rule)} in ${c.set.file} expired at ${c.rule.expires!.toISOString()} and no longer suppresses (${n} finding${n === 1 ? '' : 's'} it would match)`,
        path: c.set.file,
      });
    }
  }
  return out;
}

/** The product or subcomponent through which a statement reaches the package, if it does. */
function reaches(st: VexStatement, pkg: Purl | undefined, isImage: (p: ProductRef) => boolean): { product: ProductRef; via?: ProductRef } | undefined {
  for (const vp of st.products) {
    if (pkg && vp.product.purl && purlMatches(vp.product.purl, pkg)) return { product: vp.product };
    if (!isImage(vp.product)) continue;
    if (vp.subcomponents.length === 0) return { product: vp.product };
    for (const sc of vp.subcomponents) if (pkg && sc.purl && purlMatches(sc.purl, pkg)) return { product: vp.product, via: sc };
  }
  return undefined;
}

function vexSuppression(
  candidates: readonly IndexedStatement[],
  pkg: Purl | undefined,
  isImage: (p: ProductRef) => boolean,
): Suppression | undefined {
  let best: { c: IndexedStatement; hit: { product: ProductRef; via?: ProductRef } } | undefined;
  for (const c of candidates) {
    const hit = reaches(c.st, pkg, isImage);
    if (!hit) continue;
    // the latest statement wins; a statement without a time is older than any with one; ties: the later one given
    const t = c.st.time ?? Number.NEGATIVE_INFINITY;
    const bt = best ? (best.c.st.time ?? Number.NEGATIVE_INFINITY) : undefined;
    if (bt === undefined || t >= bt) best = { c, hit };
  }
  if (!best) return undefined;
  const { st, doc } = best.c;
  if (st.status !== 'not_affected' && st.status !== 'fixed') return undefined;
  const target = best.hit.via ? `${best.hit.via.id} in ${best.hit.product.id}` : best.hit.product.id;
  const s: Suppression = {
    kind: 'vex',
    file: doc.file,
    rule: `${doc.format} statement: ${st.vulnerability} ${st.status} for ${target}${st.timestamp ? ` (${st.timestamp})` : ''}`,
    status: st.status,
  };
  if (st.justification) s.justification = st.justification;
  const reason = st.impactStatement ?? st.actionStatement;
  if (reason) s.reason = reason;
  return s;
}

