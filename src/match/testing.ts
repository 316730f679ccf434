/**
 * An in-memory VulnerabilityData built from OSV records, for tests (here and in other folders).
 * Records are read into advisories by the database importer's own function.
 */
import type { AdvisoryMeta, AffectedEntry, CvssScore, EpssScore, KevEntry, OsvRecord, Severity, VulnerabilityData } from '../model/vuln.js';
import { normalizePackageName } from '../model/vuln.js';
import { advisoryMeta } from '../vulndb/index.js';

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

export function memoryVulnData(records: OsvRecord[], extra: MemoryVulnExtra = {}): MemoryVulnData {
  const affected = new Map<string, AffectedEntry[]>();
  const advisories = new Map<string, AdvisoryMeta>();
  const ecosystems = new Set<string>();
  for (const r of records) {
    const base = r.affected?.[0]?.package?.ecosystem.split(':', 1)[0] ?? 'unknown';
    const source = extra.source?.(r) ?? `osv:${base}`;
    let meta = advisories.get(r.id);
    if (!meta) {
      // the importer's own reading of a record (CVSS scores, vendor severity, upstream ids, CWEs)
      meta = advisoryMeta(r, source);
      const vs = extra.vendorSeverity?.[r.id];
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
