/**
 * Helpers shared by the scan report encoders: which findings a report shows, the risk order,
 * severity and CVSS arithmetic, display names, layer labels and the links of a vulnerability id.
 * Pure functions over ScanResult; nothing here knows a format.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { byString } from '../core/compare.js';
import type { LayerRef } from '../model/package.js';
import type { CvssScore, Finding, FindingPackage, ScanResult, Severity } from '../model/vuln.js';
import { SEVERITY_ORDER } from '../model/vuln.js';

export interface ScanReportOptions {
  /** ANSI colour in the table (never in machine formats) */
  color?: boolean;
  /** show suppressed findings (table section, SARIF suppressions, CycloneDX / OpenVEX entries) */
  showSuppressed?: boolean;
  /** CycloneDX spec version of the cyclonedx-json report */
  cyclonedxVersion?: '1.6' | '1.5';
  /** "now" for relative ages in the table (database age); default: result.createdAt */
  clock?: Clock;
}

export function severityRank(s: Severity): number {
  return SEVERITY_ORDER.indexOf(s);
}

/** Highest risk first: severity, KEV, EPSS, then id, package, version, path (a total order). */
export function compareRisk(a: Finding, b: Finding): number {
  return (
    severityRank(b.severity) - severityRank(a.severity) ||
    Number(b.kev !== undefined) - Number(a.kev !== undefined) ||
    (b.epss?.score ?? -1) - (a.epss?.score ?? -1) ||
    byString(a.id, b.id) ||
    byString(packageName(a.package), packageName(b.package)) ||
    byString(a.package.version, b.package.version) ||
    byString(packagePath(a.package) ?? '', packagePath(b.package) ?? '') ||
    byString(a.package.id, b.package.id)
  );
}

/** The findings a report shows, in risk order: active ones, and suppressed ones apart. */
export function partition(result: ScanResult): { active: Finding[]; suppressed: Finding[] } {
  const active: Finding[] = [];
  const suppressed: Finding[] = [];
  for (const f of result.findings) (f.suppressed ? suppressed : active).push(f);
  return { active: active.sort(compareRisk), suppressed: suppressed.sort(compareRisk) };
}

/** Counts per severity, every severity present (highest first). */
export function severityCounts(findings: readonly Finding[]): [Severity, number][] {
  const counts = new Map<Severity, number>(SEVERITY_ORDER.map((s) => [s, 0]));
  for (const f of findings) counts.set(f.severity, (counts.get(f.severity) ?? 0) + 1);
  return [...SEVERITY_ORDER].reverse().map((s) => [s, counts.get(s) ?? 0]);
}

/** The name people know a package by: npm scope and Maven group included. */
export function packageName(p: FindingPackage): string {
  if (p.namespace && p.type === 'npm') return `@${p.namespace}/${p.name}`;
  if (p.namespace && p.type === 'maven') return `${p.namespace}:${p.name}`;
  return p.name;
}

export function packagePath(p: FindingPackage): string | undefined {
  return p.locations[0]?.path;
}

/** The layer that brought the package in, completed from the image's layer list. */
export function layerOfFinding(result: ScanResult, p: FindingPackage): LayerRef | undefined {
  const layers = result.inventory.source.layers;
  const index = p.introducedBy?.index ?? p.locations[0]?.layer;
  if (index === undefined || index < 0) return undefined;
  const known = layers.find((l) => l.index === index);
  if (p.introducedBy) return { ...p.introducedBy, createdBy: p.introducedBy.createdBy ?? known?.createdBy };
  return known;
}

/** "fixed" cell: the fixed versions, else what the fix state says. */
export function fixedText(f: Finding): string {
  if (f.fixedVersions.length) return f.fixedVersions.join(', ');
  switch (f.fixState) {
    case 'not-fixed':
      return 'not fixed';
    case 'wont-fix':
      return "won't fix";
    default:
      return '';
  }
}

/** What to do about a finding, in words. */
export function recommendation(f: Finding): string {
  const name = packageName(f.package);
  if (f.fixedVersions.length) return `upgrade ${name} to ${f.fixedVersions[0]} or later`;
  if (f.fixState === 'wont-fix') return `the vendor will not fix ${f.id} in ${name}; remove the package or mitigate`;
  return `no fix of ${f.id} is available for ${name} yet`;
}

const CVSS_RANK: Record<CvssScore['version'], number> = { '4.0': 3, '3.1': 2, '3.0': 1, '2.0': 0 };

/**
 * The CVSS score that stands for a finding: the one whose source decided the severity when it
 * was CVSS-derived ("cvss:nvd"), else the newest CVSS version, NVD first among equals.
 */
export function primaryCvss(f: Finding): CvssScore | undefined {
  if (!f.cvss.length) return undefined;
  const decided = f.severitySource?.startsWith('cvss:') ? f.severitySource.slice(5) : undefined;
  const sorted = [...f.cvss].sort(
    (a, b) =>
      Number(b.source === decided) - Number(a.source === decided) ||
      CVSS_RANK[b.version] - CVSS_RANK[a.version] ||
      Number(b.source === 'nvd') - Number(a.source === 'nvd') ||
      b.score - a.score,
  );
  return sorted[0];
}

/** Qualitative band of a CVSS base score (CVSS v3.1 specification, section 5; v4.0 uses the same bands). */
export function cvssBand(score: number): 'none' | 'low' | 'medium' | 'high' | 'critical' {
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'medium';
  if (score > 0) return 'low';
  return 'none';
}

const DERIVED_SCORE: Partial<Record<Severity, string>> = { critical: '9.5', high: '8.0', medium: '5.5', low: '2.0', negligible: '0.5' };

/**
 * A 0-10 score as text for consumers that rank by number (SARIF security-severity): the CVSS
 * score when its band agrees with the finding's severity, else a score derived from the severity
 * (so a vendor's "low" is not shown as critical). Undefined for unknown severity without CVSS.
 */
export function securitySeverity(f: Finding): string | undefined {
  const c = primaryCvss(f);
  if (c && (f.severity === 'unknown' || cvssBand(c.score) === f.severity)) return c.score.toFixed(1);
  return DERIVED_SCORE[f.severity];
}

/** The public page of a vulnerability id, and who publishes it. */
export function vulnSource(id: string): { name: string; url: string } {
  if (/^CVE-\d{4}-\d+$/.test(id)) return { name: 'NVD', url: `https://nvd.nist.gov/vuln/detail/${id}` };
  if (/^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/.test(id)) return { name: 'GitHub Advisories', url: `https://github.com/advisories/${id}` };
  return { name: 'OSV', url: `https://osv.dev/vulnerability/${encodeURIComponent(id)}` };
}

/** The first reference URL of a finding, else the public page of its id. */
export function primaryUrl(f: Finding): string {
  return f.urls[0] ?? vulnSource(f.id).url;
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/**
 * A fingerprint of "this vulnerability in this package at this path", independent of the installed
 * version, so an alert survives an upgrade that does not fix it.
 */
export function findingFingerprint(f: Finding): string {
  const p = f.package;
  return sha256Hex([f.id, p.type, p.namespace ?? '', p.name, packagePath(p) ?? ''].join('\u0000'));
}

/** The image as people name it: the source name, with the digest when the name does not carry one. */
export function targetName(result: ScanResult): string {
  return result.inventory.source.name || result.inventory.source.target;
}

/** Extra facts a finding may carry once the model has them (CWE ids, advisory dates). */
export interface FindingExtras {
  cwes?: readonly string[];
  published?: string;
  modified?: string;
}

export function extrasOf(f: Finding): FindingExtras {
  return f as Finding & FindingExtras;
}

// ---------------------------------------------------------------- VEX vocabulary

/** OpenVEX statuses (OpenVEX spec v0.2.0, "Status Labels"). */
export type VexStatus = 'not_affected' | 'affected' | 'fixed' | 'under_investigation';

/** A suppression's status in OpenVEX terms, whichever vocabulary (OpenVEX, CycloneDX, CSAF) it came in. */
export function vexStatus(status: string | undefined): VexStatus | undefined {
  switch (status?.toLowerCase().replace(/[-\s]/g, '_')) {
    case 'not_affected':
    case 'known_not_affected':
    case 'false_positive':
      return 'not_affected';
    case 'fixed':
    case 'resolved':
    case 'resolved_with_pedigree':
      return 'fixed';
    case 'under_investigation':
    case 'in_triage':
      return 'under_investigation';
    case 'affected':
    case 'known_affected':
    case 'exploitable':
      return 'affected';
    default:
      return undefined;
  }
}

export const OPENVEX_JUSTIFICATIONS = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
] as const;
export type OpenVexJustification = (typeof OPENVEX_JUSTIFICATIONS)[number];

export const CYCLONEDX_JUSTIFICATIONS = [
  'code_not_present',
  'code_not_reachable',
  'requires_configuration',
  'requires_dependency',
  'requires_environment',
  'protected_by_compiler',
  'protected_at_runtime',
  'protected_at_perimeter',
  'protected_by_mitigating_control',
] as const;
export type CycloneDxJustification = (typeof CYCLONEDX_JUSTIFICATIONS)[number];

function norm(j: string | undefined): string {
  return (j ?? '').toLowerCase().replace(/[-\s]/g, '_');
}

/** A justification in OpenVEX terms; only mappings that keep the meaning, else undefined. */
export function openVexJustification(j: string | undefined): OpenVexJustification | undefined {
  const n = norm(j);
  if ((OPENVEX_JUSTIFICATIONS as readonly string[]).includes(n)) return n as OpenVexJustification;
  if (n === 'code_not_present') return 'vulnerable_code_not_present';
  if (n === 'code_not_reachable') return 'vulnerable_code_not_in_execute_path';
  if (n.startsWith('protected_')) return 'inline_mitigations_already_exist';
  return undefined;
}

/** A justification in CycloneDX terms; only mappings that keep the meaning, else undefined. */
export function cycloneDxJustification(j: string | undefined): CycloneDxJustification | undefined {
  const n = norm(j);
  if ((CYCLONEDX_JUSTIFICATIONS as readonly string[]).includes(n)) return n as CycloneDxJustification;
  if (n === 'component_not_present' || n === 'vulnerable_code_not_present') return 'code_not_present';
  if (n === 'vulnerable_code_not_in_execute_path') return 'code_not_reachable';
  if (n === 'inline_mitigations_already_exist') return 'protected_by_mitigating_control';
  return undefined;
}

/**
 * Findings for the formats that carry a status per finding (CycloneDX, OpenVEX): active ones, plus
 * suppressed ones that carry a VEX status (they are statements, not noise), plus every suppressed
 * one with showSuppressed. Risk order.
 */
export function statusFindings(result: ScanResult, opts: ScanReportOptions): Finding[] {
  const { active, suppressed } = partition(result);
  return [...active, ...suppressed.filter((f) => opts.showSuppressed || vexStatus(f.suppressed?.status) !== undefined)].sort(compareRisk);
}
