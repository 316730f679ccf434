/**
 * The neutral vulnerability model: advisories (OSV-shaped, https://ossf.github.io/osv-schema/),
 * enrichment (CVSS, EPSS, KEV), and findings that explain themselves (ARCHITECTURE habit 7).
 * vulndb/ stores advisories, match/ turns packages + advisories into findings, report/ renders them.
 */
import type { Issue } from '../core/issues.js';
import type { Inventory, LayerRef, Location, PackageType } from './package.js';

// ---------------------------------------------------------------- advisories (OSV schema 1.6)

export type OsvEvent = { introduced: string } | { fixed: string } | { last_affected: string } | { limit: string };

export interface OsvRange {
  type: 'ECOSYSTEM' | 'SEMVER' | 'GIT';
  repo?: string;
  events: OsvEvent[];
  database_specific?: Record<string, unknown>;
}

export interface OsvSeverity {
  /** CVSS_V2, CVSS_V3, CVSS_V4, Ubuntu */
  type: string;
  score: string;
}

export interface OsvAffected {
  package?: { ecosystem: string; name: string; purl?: string };
  severity?: OsvSeverity[];
  ranges?: OsvRange[];
  versions?: string[];
  ecosystem_specific?: Record<string, unknown>;
  database_specific?: Record<string, unknown>;
}

export interface OsvRecord {
  schema_version?: string;
  id: string;
  modified: string;
  published?: string;
  withdrawn?: string;
  aliases?: string[];
  related?: string[];
  upstream?: string[];
  summary?: string;
  details?: string;
  severity?: OsvSeverity[];
  affected?: OsvAffected[];
  references?: { type: string; url: string }[];
  database_specific?: Record<string, unknown>;
}

/** One affected entry of one advisory, as the database hands it to a matcher. */
export interface AffectedEntry {
  /** the advisory id (OSV id) */
  advisoryId: string;
  /** the ecosystem exactly as the feed names it, e.g. "Debian:12", "AlmaLinux:9", "Go" */
  ecosystem: string;
  /** the package name as the feed names it (Debian: the source package) */
  name: string;
  affected: OsvAffected;
  /** the source (feed) the advisory came from: "osv:Go", "alpine-secdb", ... */
  source: string;
}

// ---------------------------------------------------------------- enrichment

export type Severity = 'critical' | 'high' | 'medium' | 'low' | 'negligible' | 'unknown';
export const SEVERITY_ORDER: readonly Severity[] = ['unknown', 'negligible', 'low', 'medium', 'high', 'critical'];

export interface CvssScore {
  version: '2.0' | '3.0' | '3.1' | '4.0';
  vector: string;
  /** base score, computed from the vector */
  score: number;
  /** who published it: "nvd", the OSV record id, a distro */
  source: string;
}

export interface EpssScore {
  score: number;
  percentile: number;
  /** the date of the EPSS model run (YYYY-MM-DD) */
  date?: string;
}

export interface KevEntry {
  dateAdded: string;
  dueDate?: string;
  knownRansomwareCampaignUse?: string;
  vendorProject?: string;
  product?: string;
}

// ---------------------------------------------------------------- findings

/** fixed: a fixed version exists; not-fixed: affected, no fix yet; wont-fix: the vendor will not fix; unknown. */
export type FixState = 'fixed' | 'not-fixed' | 'wont-fix' | 'unknown';

export interface FindingPackage {
  id: string;
  type: PackageType;
  namespace?: string;
  name: string;
  version: string;
  purl?: string;
  locations: Location[];
  introducedBy?: LayerRef;
  /** set when an OS package owns the files of this (language) package */
  ownedBy?: string;
}

/** What matched: enough to reproduce the decision by hand. */
export interface MatchExplanation {
  /** the matcher that decided: "deb", "rpm", "apk", "language", "go-stdlib", ... */
  matcher: string;
  /** the ecosystem and package name that were looked up ("Debian:12" / "util-linux") */
  ecosystem: string;
  searchedName: string;
  /** the version compared (for Debian: the source version when the source package matched) */
  searchedVersion: string;
  /** the versioning scheme used for the comparison */
  scheme: string;
  /** the range that contained the version, rendered as ">=1.2.0, <1.2.5" or "version list" */
  matchedRange: string;
  /** the OSV advisory ids that matched (several when aliases were merged) */
  advisoryIds: string[];
  /** data sources of those advisories */
  sources: string[];
  /** true when an upstream (language) advisory matched a package owned by an OS package (comprehensive mode) */
  upstream?: boolean;
}

export interface Suppression {
  /** ignore-file, trivyignore, vex */
  kind: 'ignore-file' | 'trivyignore' | 'vex';
  /** the file that held the rule or statement */
  file: string;
  /** the rule or statement, in words: "id CVE-2023-1234 until 2026-12-31" */
  rule: string;
  reason?: string;
  /** VEX status and justification where a VEX statement decided */
  status?: string;
  justification?: string;
}

export interface Finding {
  /** the vulnerability id shown to people: the CVE alias when there is one, else the advisory id */
  id: string;
  /** every other id of the same vulnerability (advisory ids, GHSA, distro ids) */
  aliases: string[];
  package: FindingPackage;
  /** fixed versions in the matched ecosystem, ascending */
  fixedVersions: string[];
  fixState: FixState;
  severity: Severity;
  /** where the severity came from: "vendor:debian", "cvss:nvd", "osv:GHSA-...", ... */
  severitySource?: string;
  cvss: CvssScore[];
  epss?: EpssScore;
  kev?: KevEntry;
  summary?: string;
  /** CWE ids of the weakness ("CWE-79"), where the advisory names them */
  cwes?: string[];
  /** the advisory's publication and last-modification times, RFC 3339 */
  published?: string;
  modified?: string;
  /** reference URLs, primary advisory first */
  urls: string[];
  match: MatchExplanation;
  /** set when an ignore rule or a VEX statement suppresses the finding; suppressed findings are kept */
  suppressed?: Suppression;
}

// ---------------------------------------------------------------- the data a matcher reads

/** An advisory's own facts, without its affected entries. */
export interface AdvisoryMeta {
  id: string;
  aliases: string[];
  related?: string[];
  /** the upstream vulnerabilities a distro advisory is about (OSV `upstream`: Debian and Ubuntu name their CVE here) */
  upstream?: string[];
  /** CWE ids the record names (database_specific.cwe_ids, as GitHub's advisories carry them) */
  cwes?: string[];
  summary?: string;
  /** CVSS scores of the record (its severity[] and its affected[].severity[]), computed at import */
  cvss: CvssScore[];
  /** a vendor's word on severity where the feed carries one (distro OSV records, Ubuntu priority); source names the vendor ("ubuntu") */
  vendorSeverity?: { severity: Severity; source: string };
  references: { type: string; url: string }[];
  modified: string;
  published?: string;
  withdrawn?: string;
  source: string;
}

/**
 * Read access to a vulnerability database, as matchers need it. Implemented by vulndb/ over SQLite
 * (and by an in-memory copy in tests); pure match/ code depends only on this interface.
 */
export interface VulnerabilityData {
  /** affected entries for an ecosystem (as the feed spells it) and a package name (normalised with normalizePackageName) */
  affected(ecosystem: string, name: string): readonly AffectedEntry[];
  /** every ecosystem present, e.g. ["AlmaLinux:8", "AlmaLinux:9", "Go"] */
  ecosystems(): readonly string[];
  advisory(id: string): AdvisoryMeta | undefined;
  /** NVD CVSS scores of a CVE id */
  nvdCvss(cveId: string): readonly CvssScore[];
  epss(cveId: string): EpssScore | undefined;
  kev(cveId: string): KevEntry | undefined;
}

/** The database a scan used: its identity (attestations name it) and its age. */
export interface VulnDbInfo {
  /** content digest of the advisory data, "sha256:..." */
  digest: string;
  /** when this identity was made (last successful update or import), RFC 3339 */
  updatedAt: string;
  /** the newest record's modified time ("data as of") */
  dataAsOf?: string;
  schemaVersion: number;
  sources: { name: string; origin: string; records: number; modified?: string }[];
}

/**
 * Package names as a feed's ecosystem compares them. PyPI names follow PEP 503 normalisation;
 * every other ecosystem compares names exactly.
 */
export function normalizePackageName(ecosystem: string, name: string): string {
  const base = ecosystem.split(':', 1)[0]!;
  if (base === 'PyPI') return name.toLowerCase().replace(/[-_.]+/g, '-');
  return name;
}

/** Everything a scan produced: what report/ renders and what the server stores. */
export interface ScanResult {
  /** RFC 3339, from the injected clock (SOURCE_DATE_EPOCH when set) */
  createdAt: string;
  descriptor: { name: string; version: string; options?: Record<string, unknown> };
  inventory: Inventory;
  db: VulnDbInfo;
  /** the distribution's support status, when the image has one */
  distroStatus?: { ecosystem: string; supported: boolean; eolDate?: string; message?: string };
  /** every finding, suppressed ones included (they carry `suppressed`) */
  findings: Finding[];
  issues: Issue[];
}
