/**
 * Which findings to show (--severity, --ignore-unfixed / --only-fixed) and whether a run fails
 * (--fail-on). Pure: data in, data out.
 */
import { DrydockError } from '../core/errors.js';
import { SEVERITY_ORDER, type Finding, type Severity } from '../model/vuln.js';

export interface SelectOptions {
  /** keep only these severities */
  severities?: Severity[];
  /** Trivy's --ignore-unfixed: hide findings that have no fixed version */
  ignoreUnfixed?: boolean;
  /** Grype's --only-fixed: the same selection as ignoreUnfixed */
  onlyFixed?: boolean;
}

/** A fix exists: the matcher said so, or it found a fixed version. not-fixed, wont-fix and unknown do not count. */
export function hasFix(f: Finding): boolean {
  return f.fixState === 'fixed' || f.fixedVersions.length > 0;
}

/** Findings to show. Suppressed findings are kept (they carry `suppressed`); the report decides how to show them. */
export function selectFindings(findings: readonly Finding[], opts: SelectOptions = {}): Finding[] {
  const sev = opts.severities && opts.severities.length > 0 ? new Set(opts.severities) : undefined;
  const fixedOnly = opts.ignoreUnfixed === true || opts.onlyFixed === true;
  return findings.filter((f) => (!sev || sev.has(f.severity)) && (!fixedOnly || hasFix(f)));
}

const RANK = new Map<Severity, number>(SEVERITY_ORDER.map((s, i) => [s, i]));

/** True when `s` is at least as severe as `threshold` (unknown < negligible < low < medium < high < critical). */
export function atLeast(s: Severity, threshold: Severity): boolean {
  return RANK.get(s)! >= RANK.get(threshold)!;
}

export interface GateResult {
  failed: boolean;
  /** findings that are not suppressed, per severity */
  counts: Record<Severity, number>;
  /** the unsuppressed findings at or above the threshold */
  failing: Finding[];
}

/**
 * The --fail-on gate: fails when an unsuppressed finding is at or above `failOn`
 * (failOn "high" fails on high and critical). Suppressed findings never fail it. No threshold: never fails.
 */
export function gate(findings: readonly Finding[], failOn: Severity | undefined): GateResult {
  const counts = Object.fromEntries(SEVERITY_ORDER.map((s) => [s, 0])) as Record<Severity, number>;
  const failing: Finding[] = [];
  for (const f of findings) {
    if (f.suppressed) continue;
    counts[f.severity]++;
    if (failOn !== undefined && atLeast(f.severity, failOn)) failing.push(f);
  }
  return { failed: failing.length > 0, counts, failing };
}

/** One severity name, any case: "HIGH", "critical". Throws USAGE naming the bad value. */
export function parseSeverity(name: string, option = 'severity'): Severity {
  const s = name.trim().toLowerCase();
  if (RANK.has(s as Severity)) return s as Severity;
  throw new DrydockError('USAGE', `invalid ${option} ${JSON.stringify(name)}: expected one of ${[...SEVERITY_ORDER].reverse().join(', ')}`);
}

/** A comma-separated list, any case: "HIGH,critical" → ["high", "critical"] (duplicates dropped). */
export function parseSeverityList(list: string, option = 'severity'): Severity[] {
  const parts = list.split(',').map((p) => p.trim());
  if (parts.every((p) => p === '')) throw new DrydockError('USAGE', `invalid ${option} list ${JSON.stringify(list)}: empty`);
  const out: Severity[] = [];
  for (const p of parts) {
    if (p === '') throw new DrydockError('USAGE', `invalid ${option} list ${JSON.stringify(list)}: empty entry`);
    const s = parseSeverity(p, option);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}
