/**
 * A finding's severity: the vendor's word for OS packages, else the best CVSS score (the record's own,
 * then NVD's), mapped by the CVSS qualitative rating scale.
 */
import type { AdvisoryMeta, CvssScore, Severity } from '../model/vuln.js';
import { SEVERITY_ORDER } from '../model/vuln.js';
import { byString } from '../core/compare.js';

const VERSION_RANK: Record<CvssScore['version'], number> = { '4.0': 4, '3.1': 3, '3.0': 2, '2.0': 1 };

/**
 * CVSS v3.x / v4.0 qualitative scale (FIRST CVSS v3.1 specification, section 5): 0.0 none, 0.1-3.9 low,
 * 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical. NVD rates v2 scores 0-3.9 low, 4-6.9 medium, 7-10 high.
 * A score of 0.0 ("none") is reported as negligible.
 */
export function severityFromCvss(score: CvssScore): Severity {
  const s = score.score;
  if (!Number.isFinite(s)) return 'unknown';
  if (s === 0) return 'negligible';
  if (s < 4) return 'low';
  if (s < 7) return 'medium';
  if (score.version === '2.0') return 'high';
  return s < 9 ? 'high' : 'critical';
}

/** The preferred score: the newest CVSS version present, the highest score within it. */
export function bestCvss(scores: readonly CvssScore[]): CvssScore | undefined {
  let best: CvssScore | undefined;
  for (const c of scores) {
    if (
      !best ||
      VERSION_RANK[c.version] > VERSION_RANK[best.version] ||
      (c.version === best.version && c.score > best.score)
    )
      best = c;
  }
  return best;
}

export interface SeverityDecision {
  severity: Severity;
  /** "vendor:almalinux", "cvss:nvd", "cvss:GHSA-..." */
  source?: string;
}

/**
 * Decides a finding's severity. `advisories` are the merged advisories, primary first; `nvd` are NVD's
 * scores of the CVE. OS packages prefer the vendor's severity; language packages use it only when no CVSS
 * score exists.
 */
export function decideSeverity(advisories: readonly AdvisoryMeta[], nvd: readonly CvssScore[], os: boolean): SeverityDecision {
  const vendor = advisories.find((a) => a.vendorSeverity && a.vendorSeverity.severity !== 'unknown')?.vendorSeverity;
  if (os && vendor) return { severity: vendor.severity, source: `vendor:${vendor.source}` };
  const own = advisories.flatMap((a) => a.cvss);
  const best = bestCvss(own) ?? bestCvss(nvd);
  if (best) return { severity: severityFromCvss(best), source: `cvss:${best.source}` };
  if (vendor) return { severity: vendor.severity, source: `vendor:${vendor.source}` };
  return { severity: 'unknown' };
}

/** Every score of a finding once (version, vector, source), newest CVSS version first. */
export function collectCvss(advisories: readonly AdvisoryMeta[], nvd: readonly CvssScore[]): CvssScore[] {
  const seen = new Set<string>();
  const out: CvssScore[] = [];
  for (const c of [...advisories.flatMap((a) => a.cvss), ...nvd]) {
    const k = `${c.version}\0${c.vector}\0${c.source}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(c);
  }
  return out.sort(
    (a, b) => VERSION_RANK[b.version] - VERSION_RANK[a.version] || b.score - a.score || byString(a.source, b.source) || byString(a.vector, b.vector),
  );
}

/** Rank for sorting: higher is more severe. */
export const severityRank = (s: Severity): number => SEVERITY_ORDER.indexOf(s);
