/**
 * Packages + advisories → findings that explain themselves (ARCHITECTURE habit 7).
 *
 * A Matcher holds its caches across inventories: compiled affected entries per (ecosystem, name) and
 * lookup results per (ecosystem, name, version), so images that share packages cost a map lookup per
 * package. The caches assume the VulnerabilityData does not change under the Matcher: make a new one
 * after a database update.
 */
import { IssueLog } from '../core/issues.js';
import type { ErrorCode } from '../core/errors.js';
import type { Inventory, Package } from '../model/package.js';
import type { AdvisoryMeta, Finding, FindingPackage, FixState, VulnerabilityData } from '../model/vuln.js';
import { comparator } from '../version/index.js';
import {
  distroEcosystems,
  languageEcosystem,
  languagePackageQuery,
  osPackageQuery,
  type DistroEcosystems,
  type PackageQuery,
} from './ecosystems.js';
import { compileAffected, ParseCache, type CompiledAffected, type EntryProblem, type RangeMatch } from './ranges.js';
import { collectCvss, decideSeverity, severityRank } from './severity.js';
import { byString } from '../core/compare.js';

export interface MatchOptions {
  /**
   * precise (default): language packages whose files an OS package owns are left to the distribution's
   * advisories of that OS package. comprehensive: they are also matched against their upstream ecosystem
   * (findings flagged match.upstream).
   */
  detectionPriority?: 'precise' | 'comprehensive';
  /** where problems go (invalid feed versions, unsupported ecosystems); each is recorded once per call */
  issues?: IssueLog;
}

export interface MatcherOptions {
  /** bound on cached (ecosystem, name) entries and (ecosystem, name, version) results; default 200,000 each */
  maxCacheEntries?: number;
}

/** One advisory entry that contains a looked-up version. */
export interface Hit {
  compiled: CompiledAffected;
  meta: AdvisoryMeta;
  range: RangeMatch;
  /** fixed versions above the looked-up version, ascending */
  fixed: string[];
}

/** The outcome of one (ecosystem, name, version) lookup. */
export interface LookupResult {
  hits: readonly Hit[];
  /** problems of the entries consulted (reported, never silently "not affected") */
  problems: readonly EntryProblem[];
  /** schemes in which the looked-up version is not valid, while an entry needed it */
  invalidIn: readonly string[];
}

const EMPTY: LookupResult = Object.freeze({ hits: [], problems: [], invalidIn: [] });
const NO_PACKAGE: FindingPackage = Object.freeze({ id: '', type: 'generic', name: '', version: '', locations: [] });
const OS_TYPES = new Set(['deb', 'apk', 'rpm']);
/** a CVE id at the end of distro advisory ids: DEBIAN-CVE-2024-1234, UBUNTU-CVE-2024-1234 */
const CVE_IN_ID = /(?:^|-)(CVE-\d{4}-\d{4,})$/;

export class Matcher {
  readonly #data: VulnerabilityData;
  readonly #max: number;
  readonly #entries = new Map<string, CompiledAffected[]>();
  readonly #results = new Map<string, LookupResult>();
  readonly #meta = new Map<string, AdvisoryMeta | null>();
  readonly #parse: ParseCache;
  readonly #protos = new WeakMap<LookupResult, Map<string, Finding[]>>();
  #ecosystems: readonly string[] | undefined;

  constructor(data: VulnerabilityData, opts: MatcherOptions = {}) {
    this.#data = data;
    this.#max = opts.maxCacheEntries ?? 200_000;
    this.#parse = new ParseCache(this.#max);
  }

  #advisory(id: string): AdvisoryMeta | null {
    let m = this.#meta.get(id);
    if (m === undefined) {
      m = this.#data.advisory(id) ?? null;
      this.#meta.set(id, m);
    }
    return m;
  }

  /** Compiled, non-withdrawn entries of an (ecosystem, normalised name). */
  #compiled(ecosystem: string, name: string): CompiledAffected[] {
    const key = `${ecosystem}\0${name}`;
    let c = this.#entries.get(key);
    if (!c) {
      c = [];
      for (const e of this.#data.affected(ecosystem, name)) {
        if (this.#advisory(e.advisoryId)?.withdrawn) continue; // withdrawn advisories never match
        c.push(compileAffected(e));
      }
      if (this.#entries.size >= this.#max) this.#entries.clear();
      this.#entries.set(key, c);
    }
    return c;
  }

  /** Looks one version up; cached per (ecosystem, name, version). */
  lookup(ecosystem: string, name: string, version: string): LookupResult {
    const key = `${ecosystem}\0${name}\0${version}`;
    const cached = this.#results.get(key);
    if (cached) return cached;
    const entries = this.#compiled(ecosystem, name);
    let result = EMPTY;
    if (entries.length) {
      const hits: Hit[] = [];
      const problems: EntryProblem[] = [];
      const invalidIn: string[] = [];
      const onInvalid = (s: string): void => {
        if (!invalidIn.includes(s)) invalidIn.push(s);
      };
      for (const c of entries) {
        for (const p of c.problems) problems.push(p);
        if (c.vendorFixState === 'not-affected') continue;
        const range = c.evaluate(version, this.#parse, onInvalid);
        if (!range) continue;
        const meta = this.#advisory(c.entry.advisoryId) ?? {
          id: c.entry.advisoryId,
          aliases: [],
          cvss: [],
          references: [],
          modified: '',
          source: c.entry.source,
        };
        hits.push({ compiled: c, meta, range, fixed: c.fixedAbove(version, this.#parse) });
      }
      if (hits.length || problems.length || invalidIn.length) result = { hits, problems, invalidIn };
    }
    if (this.#results.size >= this.#max) this.#results.clear();
    this.#results.set(key, result);
    return result;
  }

  /** Matches every package of an inventory. Findings are sorted: severity desc, id, package name, version. */
  match(inv: Inventory, opts: MatchOptions = {}): Finding[] {
    const issues = opts.issues ?? new IssueLog();
    const comprehensive = opts.detectionPriority === 'comprehensive';
    const said = new Set<string>();
    const say = (code: ErrorCode, message: string): void => {
      if (said.has(message)) return;
      said.add(message);
      issues.record({ code, message });
    };
    let distro: DistroEcosystems | undefined;
    if (inv.distro) {
      this.#ecosystems ??= this.#data.ecosystems();
      distro = distroEcosystems(inv.distro, this.#ecosystems);
    }
    const findings: Finding[] = [];
    const queries: PackageQuery[] = [];
    for (const pkg of inv.packages) {
      queries.length = 0;
      if (OS_TYPES.has(pkg.type)) {
        if (distro && distro.packageType === pkg.type) {
          for (const eco of distro.ecosystems) queries.push(osPackageQuery(pkg, eco));
        } else {
          const d = inv.distro;
          say(
            'ECOSYSTEM_UNSUPPORTED',
            d
              ? `distribution ${d.id} ${d.versionId ?? '(no version)'} has no supported advisory ecosystem for ${pkg.type} packages; they were not matched`
              : `${pkg.type} packages without a detected distribution were not matched`,
          );
        }
      } else {
        if (pkg.ownedBy && !comprehensive) continue; // covered by the owning OS package's advisories
        const q = languagePackageQuery(pkg);
        if (q) {
          if (pkg.ownedBy) q.upstream = true;
          queries.push(q);
        } else if (!languageEcosystem(pkg.type)) {
          say('ECOSYSTEM_UNSUPPORTED', `${pkg.type} packages have no advisory ecosystem; they were not matched`);
        }
      }
      const os = OS_TYPES.has(pkg.type);
      let hits: { q: PackageQuery; hit: Hit }[] | undefined;
      let only: { q: PackageQuery; r: LookupResult } | undefined;
      for (const q of queries) {
        const r = this.lookup(q.ecosystem, q.name, q.version);
        if (r === EMPTY) continue;
        for (const p of r.problems) say(p.code, p.message);
        for (const s of r.invalidIn)
          say('VERSION_INVALID', `package ${pkg.name} ${pkg.version}: "${q.version}" is not a valid ${s} version; ${q.ecosystem} advisories for ${q.name} not evaluated`);
        if (!r.hits.length) continue;
        if (!hits && !only) only = { q, r };
        else {
          if (only) {
            hits = only.r.hits.map((hit) => ({ q: only!.q, hit }));
            only = undefined;
          }
          for (const hit of r.hits) hits!.push({ q, hit });
        }
      }
      if (!only && !hits) continue;
      // findings of one lookup do not depend on the package: build them once per lookup result, copy per package
      const protos = only ? this.#protosOf(only.q, only.r, os) : this.#group(hits!, os);
      if (!protos.length) continue;
      const fp = findingPackage(pkg);
      for (const p of protos) findings.push({ ...p, package: fp, match: { ...p.match } });
    }
    return sortFindings(findings);
  }

  #protosOf(q: PackageQuery, r: LookupResult, os: boolean): Finding[] {
    const key = `${q.matcher}\0${os}\0${q.upstream === true}`;
    let per = this.#protos.get(r);
    if (!per) this.#protos.set(r, (per = new Map()));
    let protos = per.get(key);
    if (!protos) per.set(key, (protos = this.#group(r.hits.map((hit) => ({ q, hit })), os)));
    return protos;
  }

  /** Merges the hits of one package by shared ids (advisory ids and aliases) into findings (package left empty). */
  #group(hits: { q: PackageQuery; hit: Hit }[], os: boolean): Finding[] {
    const out: Finding[] = [];
    // union of hits that share any id
    const groupOf = new Map<string, number>();
    const groups: { ids: Set<string>; members: { q: PackageQuery; hit: Hit }[] }[] = [];
    for (const h of hits) {
      const ids = idsOf(h.hit.meta);
      let g: number | undefined;
      for (const id of ids) {
        const other = groupOf.get(id);
        if (other === undefined || other === g) continue;
        if (g === undefined) g = other;
        else {
          // two groups joined by this hit: fold `other` into `g`
          const from = groups[other]!;
          const into = groups[g]!;
          for (const x of from.ids) {
            into.ids.add(x);
            groupOf.set(x, g);
          }
          into.members.push(...from.members);
          from.members = [];
          from.ids = new Set();
        }
      }
      if (g === undefined) {
        g = groups.length;
        groups.push({ ids: new Set(), members: [] });
      }
      const grp = groups[g]!;
      grp.members.push(h);
      for (const id of ids) {
        grp.ids.add(id);
        groupOf.set(id, g);
      }
    }
    for (const g of groups) if (g.members.length) out.push(this.#finding(os, g.ids, g.members));
    return out;
  }

  #finding(os: boolean, ids: Set<string>, members: { q: PackageQuery; hit: Hit }[]): Finding {
    const cves = [...ids].filter((i) => /^CVE-\d{4}-\d+$/.test(i)).sort();
    const advisoryIds = [...new Set(members.map((m) => m.hit.meta.id))].sort();
    const id = cves[0] ?? advisoryIds[0]!;
    const primary = members.find((m) => m.hit.meta.id === id) ?? members.find((m) => m.hit.meta.id === advisoryIds[0])!;
    const metas = [primary.hit.meta, ...dedupeMetas(members.map((m) => m.hit.meta)).filter((m) => m !== primary.hit.meta)];
    const cve = cves[0];
    const nvd = cve ? this.#data.nvdCvss(cve) : [];
    const upstream = primary.q.upstream === true;
    const sev = decideSeverity(metas, nvd, os && !upstream);

    // fixed versions above the installed one, ascending in the scheme of the primary range
    const fixedSet = new Set<string>();
    for (const m of members) for (const f of m.hit.fixed) fixedSet.add(f);
    const cmp = comparator(primary.hit.range.scheme);
    const key = (v: string): unknown => {
      try {
        return cmp.parse(v);
      } catch {
        return undefined;
      }
    };
    const fixedVersions = [...fixedSet]
      .map((v) => ({ v, p: key(v) }))
      .sort((a, b) => (a.p !== undefined && b.p !== undefined ? cmp.compare(a.p, b.p) : byString(a.v, b.v)))
      .map((x) => x.v);

    let fixState: FixState = 'unknown';
    if (fixedVersions.length) fixState = 'fixed';
    else if (members.some((m) => m.hit.compiled.vendorFixState === 'wont-fix')) fixState = 'wont-fix';
    else if (members.some((m) => m.hit.range.end === 'open' || m.hit.compiled.vendorFixState === 'not-fixed')) fixState = 'not-fixed';

    const urls: string[] = [];
    for (const m of metas) for (const r of m.references) if (!urls.includes(r.url)) urls.push(r.url);

    const f: Finding = {
      id,
      aliases: [...ids].filter((x) => x !== id).sort(),
      package: NO_PACKAGE,
      fixedVersions,
      fixState,
      severity: sev.severity,
      cvss: collectCvss(metas, nvd),
      urls,
      match: {
        matcher: primary.q.matcher,
        ecosystem: primary.q.ecosystem,
        searchedName: primary.q.name,
        searchedVersion: primary.q.version,
        scheme: primary.hit.range.scheme,
        matchedRange: primary.hit.range.range,
        advisoryIds,
        sources: [...new Set(members.map((m) => m.hit.compiled.entry.source))].sort(),
      },
    };
    if (upstream) f.match.upstream = true;
    if (sev.source) f.severitySource = sev.source;
    const summary = metas.find((m) => m.summary)?.summary;
    if (summary) f.summary = summary;
    const cwes = [...new Set(metas.flatMap((m) => m.cwes ?? []))].sort();
    if (cwes.length) f.cwes = cwes;
    const published = metas.map((m) => m.published).filter((x): x is string => !!x).sort()[0];
    if (published) f.published = published;
    const modified = metas.map((m) => m.modified).filter((x) => x && !x.startsWith('0001-')).sort().at(-1);
    if (modified) f.modified = modified;
    if (cve) {
      const epss = this.#data.epss(cve);
      if (epss) f.epss = epss;
      const kev = this.#data.kev(cve);
      if (kev) f.kev = kev;
    }
    return f;
  }
}

/** An advisory's ids: its own, its aliases, and the CVE a distro id is named after. */
function idsOf(m: AdvisoryMeta): string[] {
  const ids = [m.id, ...m.aliases];
  // Debian and Ubuntu name the CVE in `upstream` (one per record); several upstream ids are not one vulnerability
  if (m.upstream?.length === 1 && /^CVE-\d{4}-\d{4,}$/.test(m.upstream[0]!)) ids.push(m.upstream[0]!);
  const cve = CVE_IN_ID.exec(m.id)?.[1];
  if (cve && cve !== m.id) ids.push(cve);
  return ids;
}

function dedupeMetas(ms: AdvisoryMeta[]): AdvisoryMeta[] {
  const seen = new Set<string>();
  return ms.filter((m) => (seen.has(m.id) ? false : (seen.add(m.id), true))).sort((a, b) => byString(a.id, b.id));
}

function findingPackage(p: Package): FindingPackage {
  const fp: FindingPackage = { id: p.id, type: p.type, name: p.name, version: p.version, locations: p.locations };
  if (p.namespace) fp.namespace = p.namespace;
  if (p.purl) fp.purl = p.purl;
  if (p.introducedBy) fp.introducedBy = p.introducedBy;
  if (p.ownedBy) fp.ownedBy = p.ownedBy;
  return fp;
}

const RANK: Record<string, number> = Object.fromEntries(['unknown', 'negligible', 'low', 'medium', 'high', 'critical'].map((s) => [s, severityRank(s as Finding['severity'])]));

/** Sorts in place by compareFindings, comparing pre-computed keys (the hot part of matching big inventories). */
export function sortFindings(fs: Finding[]): Finding[] {
  const keyed = fs.map((f) => ({ r: RANK[f.severity] ?? 0, id: f.id, n: f.package.name, v: f.package.version, p: f.package.id, f }));
  keyed.sort((a, b) =>
    a.r !== b.r ? b.r - a.r : a.id !== b.id ? (a.id < b.id ? -1 : 1) : a.n !== b.n ? (a.n < b.n ? -1 : 1) : a.v !== b.v ? (a.v < b.v ? -1 : 1) : a.p < b.p ? -1 : a.p > b.p ? 1 : 0,
  );
  for (let i = 0; i < keyed.length; i++) fs[i] = keyed[i]!.f;
  return fs;
}

/** severity desc, then id, then package name, version, id */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    byString(a.id, b.id) ||
    byString(a.package.name, b.package.name) ||
    byString(a.package.version, b.package.version) ||
    byString(a.package.id, b.package.id)
  );
}

/** One-shot convenience: a fresh Matcher over `data`. Keep a Matcher to reuse its caches across inventories. */
export function matchInventory(inv: Inventory, data: VulnerabilityData, opts: MatchOptions = {}): Finding[] {
  return new Matcher(data).match(inv, opts);
}
