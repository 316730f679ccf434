/**
 * An in-memory VulnerabilityData built from OSV records, for tests (here and in other folders).
 * CVSS vectors of the records are scored with ae-cvss-calculator, as the database importer does.
 */
import cvssLib from 'ae-cvss-calculator';
import type {
  AdvisoryMeta,
  AffectedEntry,
  CvssScore,
  EpssScore,
  KevEntry,
  OsvRecord,
  OsvSeverity,
  Severity,
  VulnerabilityData,
} from '../model/vuln.js';
import { normalizePackageName } from '../model/vuln.js';

export interface MemoryVulnExtra {
  /** NVD scores per CVE id */
  nvd?: Record<string, CvssScore[]>;
  epss?: Record<string, EpssScore>;
  kev?: Record<string, KevEntry>;
  /** vendor severities per advisory id (what the importer reads from distro feeds) */
  vendorSeverity?: Record<string, { severity: Severity; source: string }>;
  /** the data source of a record; default "osv:<ecosystem base of its first affected entry>" */
  source?: (r: OsvRecord) => string;
}

export interface MemoryVulnData extends VulnerabilityData {
  /** how often affected() was called (tests of the matcher's caches) */
  affectedCalls: number;
  /** the package names (normalised) that an ecosystem's advisories name, sorted */
  names(ecosystem: string): string[];
}

/** Scores a CVSS vector; undefined when the vector does not parse. */
export function scoreCvss(sev: OsvSeverity, source: string): CvssScore | undefined {
  const v = sev.score;
  try {
    if (sev.type === 'CVSS_V4' || v.startsWith('CVSS:4.0/'))
      return { version: '4.0', vector: v, score: new cvssLib.Cvss4P0(v).calculateScores().base ?? NaN, source };
    if (v.startsWith('CVSS:3.1/')) return { version: '3.1', vector: v, score: new cvssLib.Cvss3P1(v).calculateScores().base ?? NaN, source };
    if (v.startsWith('CVSS:3.0/')) return { version: '3.0', vector: v, score: new cvssLib.Cvss3P0(v).calculateScores().base ?? NaN, source };
    if (sev.type === 'CVSS_V2') return { version: '2.0', vector: v, score: new cvssLib.Cvss2(v).calculateScores().base ?? NaN, source };
  } catch {
    return undefined;
  }
  return undefined;
}

/** Ubuntu's priority words → Severity */
const UBUNTU_PRIORITY: Record<string, Severity> = { negligible: 'negligible', low: 'low', medium: 'medium', high: 'high', critical: 'critical' };

export function memoryVulnData(records: OsvRecord[], extra: MemoryVulnExtra = {}): MemoryVulnData {
  const affected = new Map<string, AffectedEntry[]>();
  const advisories = new Map<string, AdvisoryMeta>();
  const ecosystems = new Set<string>();
  for (const r of records) {
    const base = r.affected?.[0]?.package?.ecosystem.split(':', 1)[0] ?? 'unknown';
    const source = extra.source?.(r) ?? `osv:${base}`;
    let meta = advisories.get(r.id);
    if (!meta) {
      const cvss: CvssScore[] = [];
      for (const s of [...(r.severity ?? []), ...(r.affected ?? []).flatMap((a) => a.severity ?? [])]) {
        const c = scoreCvss(s, r.id);
        if (c && !cvss.some((x) => x.vector === c.vector)) cvss.push(c);
      }
      meta = { id: r.id, aliases: r.aliases ?? [], cvss, references: r.references ?? [], modified: r.modified, source };
      if (r.related) meta.related = r.related;
      if (r.summary) meta.summary = r.summary;
      if (r.published) meta.published = r.published;
      if (r.withdrawn) meta.withdrawn = r.withdrawn;
      const ubuntu = (r.severity ?? []).find((s) => s.type === 'Ubuntu');
      const vs = extra.vendorSeverity?.[r.id] ?? (ubuntu && UBUNTU_PRIORITY[ubuntu.score.toLowerCase()] ? { severity: UBUNTU_PRIORITY[ubuntu.score.toLowerCase()]!, source: 'ubuntu' } : undefined);
      if (vs) meta.vendorSeverity = vs;
      advisories.set(r.id, meta);
    }
    for (const a of r.affected ?? []) {
      if (!a.package) continue;
      const eco = a.package.ecosystem;
      const name = normalizePackageName(eco, a.package.name);
      ecosystems.add(eco);
      const key = `${eco}\0${name}`;
      let list = affected.get(key);
      if (!list) affected.set(key, (list = []));
      list.push({ advisoryId: r.id, ecosystem: eco, name, affected: a, source });
    }
  }
  const data: MemoryVulnData = {
    affectedCalls: 0,
    affected(ecosystem, name) {
      data.affectedCalls++;
      return affected.get(`${ecosystem}\0${name}`) ?? [];
    },
    ecosystems: () => [...ecosystems].sort(),
    names: (ecosystem) =>
      [...affected.keys()]
        .filter((k) => k.startsWith(`${ecosystem}\0`))
        .map((k) => k.slice(ecosystem.length + 1))
        .sort(),
    advisory: (id) => advisories.get(id),
    nvdCvss: (cve) => extra.nvd?.[cve] ?? [],
    epss: (cve) => extra.epss?.[cve],
    kev: (cve) => extra.kev?.[cve],
  };
  return data;
}
