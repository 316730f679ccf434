/**
 * The scan report for people: a header (target, distro and its support status, database age,
 * counts per severity), then one row per finding in risk order, then suppressed findings with the
 * rule that suppressed them (only with showSuppressed). Colour only when asked; without it the
 * output is plain ASCII layout with control characters of the data neutralised.
 */
import { shortDigest } from '../core/digest.js';
import type { Finding, ScanResult, Severity } from '../model/vuln.js';
import {
  fixedText,
  layerOfFinding,
  packageName,
  partition,
  severityCounts,
  targetName,
  type ScanReportOptions,
} from './scan-common.js';

const ESC = '\u001b[';
const RESET = `${ESC}0m`;
const SEVERITY_COLOUR: Record<Severity, string> = {
  critical: `${ESC}1;31m`,
  high: `${ESC}31m`,
  medium: `${ESC}33m`,
  low: `${ESC}34m`,
  negligible: `${ESC}2m`,
  unknown: `${ESC}2m`,
};
const LAYER_WIDTH = 40;

/** Cells never carry control characters (an image could smuggle terminal escapes into a name). */
function clean(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

function truncate(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, width - 3)}...`;
}

function layerCell(result: ScanResult, f: Finding): string {
  const l = layerOfFinding(result, f.package);
  if (!l) return '-';
  const by = l.createdBy ? ` ${clean(l.createdBy)}` : '';
  return truncate(`${l.index}${by}`, LAYER_WIDTH);
}

function severityCell(f: Finding): string {
  return f.kev ? `${f.severity} (KEV)` : f.severity;
}

interface Column {
  header: string;
  cell: (f: Finding) => string;
  /** colour of a cell, applied after padding so widths stay right */
  colour?: (f: Finding) => string;
}

function render(findings: readonly Finding[], columns: Column[], color: boolean): string[] {
  const rows = findings.map((f) => columns.map((c) => clean(c.cell(f))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[], paint?: (i: number) => string | undefined) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]!);
        const colour = paint?.(i);
        return colour ? `${colour}${c}${RESET}${padded.slice(c.length)}` : padded;
      })
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.header)),
    ...rows.map((r, n) => line(r, color ? (i) => columns[i]!.colour?.(findings[n]!) : undefined)),
  ];
}

function days(from: string, to: Date): number | undefined {
  const t = Date.parse(from);
  return Number.isNaN(t) ? undefined : Math.floor((to.getTime() - t) / 86_400_000);
}

function header(result: ScanResult, active: readonly Finding[], suppressed: number, opts: ScanReportOptions, color: boolean): string[] {
  const src = result.inventory.source;
  const lines: string[] = [];
  const name = targetName(result);
  const digest = src.digest && !name.includes(src.digest) ? ` (${shortDigest(src.digest)})` : '';
  lines.push(`Target:   ${clean(name)}${digest}${src.platform ? ` ${clean(src.platform)}` : ''}`);

  const d = result.inventory.distro;
  if (d) {
    const distro = clean(d.prettyName ?? [d.id, d.versionId].filter(Boolean).join(' '));
    let status = '';
    const st = result.distroStatus;
    if (st && !st.supported) {
      const warning = `WARNING: ${clean(st.message ?? `${st.ecosystem} is no longer supported${st.eolDate ? ` (end of life ${st.eolDate})` : ''}`)}`;
      status = ` - ${color ? `${ESC}1;33m${warning}${RESET}` : warning}`;
    } else if (st?.eolDate) {
      status = ` - supported until ${clean(st.eolDate)}`;
    }
    lines.push(`Distro:   ${distro}${status}`);
  }

  const db = result.db;
  // the age is the time since the last update or import; "data as of" is the newest record's time
  const now = opts.clock?.now() ?? new Date(result.createdAt);
  const age = days(db.updatedAt, now);
  lines.push(
    `Database: updated ${clean(db.updatedAt)}${age !== undefined && age >= 0 ? ` (${age} day${age === 1 ? '' : 's'} ago)` : ''}` +
      `${db.dataAsOf ? `, data as of ${clean(db.dataAsOf)}` : ''}, ${shortDigest(db.digest)}`,
  );

  const counts = severityCounts(active)
    .map(([s, n]) => (color && n > 0 ? `${SEVERITY_COLOUR[s]}${s} ${n}${RESET}` : `${s} ${n}`))
    .join(', ');
  lines.push(`Findings: ${active.length} (${counts})${suppressed ? `; ${suppressed} suppressed` : ''}`);
  return lines;
}

export function encodeScanTable(result: ScanResult, opts: ScanReportOptions = {}): string {
  const color = opts.color === true;
  const { active, suppressed } = partition(result);
  const out = header(result, active, suppressed.length, opts, color);
  const sev: Column = { header: 'SEVERITY', cell: severityCell, colour: (f) => SEVERITY_COLOUR[f.severity] };
  const pkg: Column = { header: 'PACKAGE', cell: (f) => packageName(f.package) };
  const installed: Column = { header: 'INSTALLED', cell: (f) => f.package.version };
  const vuln: Column = { header: 'VULNERABILITY', cell: (f) => f.id };
  out.push('');
  if (active.length) {
    out.push(
      ...render(
        active,
        [pkg, installed, { header: 'FIXED', cell: fixedText }, vuln, sev, { header: 'LAYER', cell: (f) => layerCell(result, f) }],
        color,
      ),
    );
  } else {
    out.push('No vulnerabilities found.');
  }
  if (opts.showSuppressed && suppressed.length) {
    out.push('', `Suppressed (${suppressed.length}):`);
    const by: Column = {
      header: 'SUPPRESSED BY',
      cell: (f) => {
        const s = f.suppressed!;
        const status = s.status ? ` [${s.status}${s.justification ? `: ${s.justification}` : ''}]` : '';
        return `${s.kind} ${s.file}: ${s.rule}${status}${s.reason ? ` - ${s.reason}` : ''}`;
      },
    };
    out.push(...render(suppressed, [pkg, installed, vuln, sev, by], color));
  }
  const issues = result.issues.length;
  if (issues) out.push('', `${issues} issue${issues === 1 ? '' : 's'} recorded during the scan (see the json report).`);
  return out.join('\n') + '\n';
}
