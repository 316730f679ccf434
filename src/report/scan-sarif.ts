/**
 * SARIF 2.1.0 (OASIS sarif-v2.1.0, with the properties GitHub code scanning reads): one rule per
 * vulnerability id, one result per finding located at the package's file in the image (path
 * relative to the image root), the image itself as a logical location, and a partial fingerprint
 * that does not change with the installed version or between runs.
 */
import { byString } from '../core/compare.js';
import type { Finding, ScanResult, Severity } from '../model/vuln.js';
import {
  findingFingerprint,
  fixedText,
  layerOfFinding,
  packageName,
  packagePath,
  partition,
  primaryCvss,
  primaryUrl,
  recommendation,
  securitySeverity,
  targetName,
  type ScanReportOptions,
} from './scan-common.js';

type Json = Record<string, unknown>;
type Level = 'error' | 'warning' | 'note';

export const SARIF_FINGERPRINT_KEY = 'drydock/v1';

export function sarifLevel(s: Severity): Level {
  if (s === 'critical' || s === 'high') return 'error';
  if (s === 'medium') return 'warning';
  return 'note';
}

/** Markdown table cells: no pipes or line breaks from the data. */
function md(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').replace(/[|\\`*_<>[\]]/g, (c) => `\\${c}`);
}

function rule(id: string, findings: Finding[]): Json {
  // the highest-risk finding of the id speaks for the rule (findings arrive in risk order)
  const top = findings[0]!;
  const summary = top.summary?.trim();
  const short = summary ? summary.split(/\r?\n/, 1)[0]!.slice(0, 200) : `${id} in ${packageName(top.package)}`;
  const cvss = primaryCvss(top);
  const text: string[] = [`Vulnerability ${id}`, `Severity: ${top.severity}${cvss ? ` (CVSS ${cvss.version} ${cvss.score.toFixed(1)}, ${cvss.vector})` : ''}`];
  if (top.aliases.length) text.push(`Aliases: ${top.aliases.join(', ')}`);
  if (summary) text.push('', summary);
  text.push('', 'Affected packages:');
  const rows = findings.map((f) => ({ name: packageName(f.package), version: f.package.version, fixed: fixedText(f) || 'unknown', path: packagePath(f.package) ?? '' }));
  for (const r of rows) text.push(`- ${r.name} ${r.version}, fixed: ${r.fixed}${r.path ? `, at ${r.path}` : ''}`);
  text.push('', `Recommendation: ${recommendation(top)}`);
  if (top.urls.length) text.push('', 'References:', ...top.urls.map((u) => `- ${u}`));

  const mdLines = [`**Vulnerability ${md(id)}**`, '', `| Severity | Package | Installed | Fixed | Path |`, '| --- | --- | --- | --- | --- |'];
  for (const [i, r] of rows.entries()) mdLines.push(`| ${findings[i]!.severity} | ${md(r.name)} | ${md(r.version)} | ${md(r.fixed)} | ${md(r.path)} |`);
  if (summary) mdLines.push('', md(summary));
  if (top.urls.length) mdLines.push('', ...top.urls.map((u) => `- <${u.replace(/[<>\s]/g, encodeURIComponent)}>`));

  const properties: Json = { tags: ['security', 'vulnerability', top.severity] };
  const score = securitySeverity(top);
  if (score) properties['security-severity'] = score;
  return {
    id,
    name: id.replace(/[^A-Za-z0-9]+/g, '_'),
    shortDescription: { text: short },
    fullDescription: { text: summary || `${id} affects ${packageName(top.package)} ${top.package.version}` },
    defaultConfiguration: { level: sarifLevel(top.severity) },
    helpUri: primaryUrl(top),
    help: { text: text.join('\n'), markdown: mdLines.join('\n') },
    properties,
  };
}

function result(scan: ScanResult, f: Finding, ruleIndex: number, image: string, showSuppressed: boolean): Json {
  const p = f.package;
  const name = packageName(p);
  const fixed = f.fixedVersions.length ? `fixed in ${f.fixedVersions.join(', ')}` : fixedText(f) || 'fix state unknown';
  const path = packagePath(p)?.replace(/^\/+/, '');
  const layer = layerOfFinding(scan, p);
  const properties: Json = {
    package: name,
    installedVersion: p.version,
    fixedVersions: f.fixedVersions,
    fixState: f.fixState,
    severity: f.severity,
    image,
  };
  if (p.purl) properties.purl = p.purl;
  if (scan.inventory.source.digest) properties.imageDigest = scan.inventory.source.digest;
  if (layer) properties.layer = { index: layer.index, digest: layer.digest, ...(layer.createdBy ? { createdBy: layer.createdBy } : {}) };
  if (f.epss) properties.epss = f.epss.score;
  if (f.kev) properties.kev = true;
  const out: Json = {
    ruleId: f.id,
    ruleIndex,
    level: sarifLevel(f.severity),
    message: { text: `Package ${name} ${p.version} is affected by ${f.id} (${f.severity}); ${fixed}. Image: ${image}` },
    locations: [
      {
        physicalLocation: {
          // code scanning needs a file: the package's file, relative to the image root; else the image name
          artifactLocation: { uri: encodeURI(path || image.replace(/^[a-z-]+:\/*/i, '')) },
          region: { startLine: 1 },
        },
        logicalLocations: [{ name: image, kind: 'image', ...(scan.inventory.source.digest ? { fullyQualifiedName: `${image}@${scan.inventory.source.digest}` } : {}) }],
      },
    ],
    partialFingerprints: { [SARIF_FINGERPRINT_KEY]: findingFingerprint(f) },
    properties,
  };
  if (f.suppressed && showSuppressed) {
    const s = f.suppressed;
    out.suppressions = [
      { kind: 'external', status: 'accepted', justification: `${s.kind} ${s.file}: ${s.rule}${s.status ? ` [${s.status}${s.justification ? `: ${s.justification}` : ''}]` : ''}${s.reason ? ` - ${s.reason}` : ''}` },
    ];
  }
  return out;
}

export function encodeScanSarif(scan: ScanResult, opts: ScanReportOptions = {}): string {
  const { active, suppressed } = partition(scan);
  const shown = opts.showSuppressed ? [...active, ...suppressed] : active;
  const byId = new Map<string, Finding[]>();
  for (const f of shown) {
    const list = byId.get(f.id);
    if (list) list.push(f);
    else byId.set(f.id, [f]);
  }
  const ids = [...byId.keys()].sort(byString);
  const index = new Map(ids.map((id, i) => [id, i]));
  const image = targetName(scan);
  const run: Json = {
    tool: {
      driver: {
        name: 'drydock',
        version: scan.descriptor.version,
        semanticVersion: /^\d+\.\d+\.\d+/.test(scan.descriptor.version) ? scan.descriptor.version : undefined,
        rules: ids.map((id) => rule(id, byId.get(id)!)),
      },
    },
    results: shown.map((f) => result(scan, f, index.get(f.id)!, image, opts.showSuppressed === true)),
    columnKind: 'utf16CodeUnits',
    properties: {
      image,
      ...(scan.inventory.source.digest ? { imageDigest: scan.inventory.source.digest } : {}),
      createdAt: scan.createdAt,
      db: { digest: scan.db.digest, updatedAt: scan.db.updatedAt, ...(scan.db.dataAsOf ? { dataAsOf: scan.db.dataAsOf } : {}) },
    },
  };
  const doc = { $schema: 'https://json.schemastore.org/sarif-2.1.0.json', version: '2.1.0', runs: [run] };
  return JSON.stringify(doc, null, 2) + '\n';
}
