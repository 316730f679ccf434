/**
 * CVSS base scores computed from vectors at import time (FIRST CVSS v2, v3.0, v3.1, v4.0 specs,
 * through ae-cvss-calculator), and vendor severity words mapped to Drydock's Severity.
 */
import cvssLib from 'ae-cvss-calculator';
import type { CvssScore, OsvRecord, Severity } from '../model/vuln.js';

type CvssVersion = CvssScore['version'];

const cache = new Map<string, number | null>();

/** The CVSS version a vector string declares; v2 vectors carry no prefix. */
export function cvssVersionOf(vector: string): CvssVersion | undefined {
  if (vector.startsWith('CVSS:3.1/')) return '3.1';
  if (vector.startsWith('CVSS:3.0/')) return '3.0';
  if (vector.startsWith('CVSS:4.0/')) return '4.0';
  if (/^\(?AV:[LAN]\/AC:[HML]\/Au:[MSN]\//.test(vector)) return '2.0';
  return undefined;
}

/** Base score of a vector, or undefined when the vector is malformed or its base metrics are incomplete. */
export function cvssBaseScore(vector: string): number | undefined {
  const hit = cache.get(vector);
  if (hit !== undefined) return hit ?? undefined;
  let score: number | null = null;
  try {
    const version = cvssVersionOf(vector);
    const v =
      version === '3.1' ? new cvssLib.Cvss3P1(vector)
      : version === '3.0' ? new cvssLib.Cvss3P0(vector)
      : version === '4.0' ? new cvssLib.Cvss4P0(vector)
      : version === '2.0' ? new cvssLib.Cvss2(vector.replace(/^\((.*)\)$/, '$1'))
      : undefined;
    if (v && v.isBaseFullyDefined()) {
      const r = v.calculateScores() as { base?: number; overall: number };
      const s = r.base ?? r.overall;
      if (typeof s === 'number' && Number.isFinite(s)) score = s;
    }
  } catch {
    score = null;
  }
  if (cache.size > 50_000) cache.clear();
  cache.set(vector, score);
  return score ?? undefined;
}

export function cvssScore(vector: string, source: string): CvssScore | undefined {
  const version = cvssVersionOf(vector);
  const score = cvssBaseScore(vector);
  if (!version || score === undefined) return undefined;
  return { version, vector, score, source };
}

/** CVSS scores of an OSV record: its severity[] and every affected[].severity[], deduplicated. */
export function recordCvss(rec: OsvRecord): CvssScore[] {
  const out: CvssScore[] = [];
  const seen = new Set<string>();
  const add = (list: unknown): void => {
    if (!Array.isArray(list)) return;
    for (const s of list) {
      const t = (s as { type?: unknown })?.type;
      const v = (s as { score?: unknown })?.score;
      if (typeof t !== 'string' || typeof v !== 'string' || !t.startsWith('CVSS_') || seen.has(v)) continue;
      const c = cvssScore(v, rec.id);
      if (c) {
        seen.add(v);
        out.push(c);
      }
    }
  };
  add(rec.severity);
  for (const a of rec.affected ?? []) add(a.severity);
  return out;
}

const WORDS: Record<string, Severity> = {
  critical: 'critical',
  important: 'high',
  high: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  negligible: 'negligible',
  unimportant: 'negligible',
  none: 'negligible',
};

/** Maps a vendor's severity word (Red Hat family, Debian urgency, Ubuntu priority) to a Severity. */
export function mapVendorSeverity(word: unknown): Severity | undefined {
  if (typeof word !== 'string') return undefined;
  // Debian urgencies may carry a "**" suffix for "assigned by the security team" (e.g. "low**").
  return WORDS[word.trim().toLowerCase().replace(/\*+$/, '')];
}

const VENDOR_KEYS = ['severity', 'urgency', 'priority', 'ubuntu_priority'];

function fromObject(o: unknown): Severity | undefined {
  if (!o || typeof o !== 'object') return undefined;
  for (const k of VENDOR_KEYS) {
    const s = mapVendorSeverity((o as Record<string, unknown>)[k]);
    if (s) return s;
  }
  return undefined;
}

/** Red Hat-family errata titles start with the severity: "Important: gupnp security update". */
const TITLE_RE = /^(Critical|Important|Moderate|Low):\s/;

/** The vendor's word on severity, for records of distro feeds. */
export function vendorSeverity(rec: OsvRecord): { severity: Severity; source: string } | undefined {
  const eco = rec.affected?.find((a) => a.package?.ecosystem)?.package?.ecosystem;
  const source = `${(eco ?? 'osv').split(':', 1)[0]!.toLowerCase().replace(/\s+/g, '-')}`;
  let s = fromObject(rec.database_specific);
  for (const a of rec.affected ?? []) {
    s ??= fromObject(a.ecosystem_specific) ?? fromObject(a.database_specific);
    for (const sev of a.severity ?? []) if (!sev.type.startsWith('CVSS_')) s ??= mapVendorSeverity(sev.score);
  }
  for (const sev of rec.severity ?? []) if (!sev.type.startsWith('CVSS_')) s ??= mapVendorSeverity(sev.score);
  if (!s && eco && /^(AlmaLinux|Rocky Linux|Red Hat|RHEL|Oracle Linux)/i.test(eco)) {
    const m = TITLE_RE.exec(rec.summary ?? '');
    if (m) s = mapVendorSeverity(m[1]);
  }
  return s ? { severity: s, source } : undefined;
}
