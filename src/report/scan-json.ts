/**
 * Drydock's own scan report: every field of the findings, the database identity, the distro's
 * support status, the issues and the descriptor. Keys come in a fixed order (known keys first in
 * the order below, any others sorted), findings in risk order, suppressed findings always present
 * under `suppressed`, so the same result always encodes to the same bytes.
 */
import type { ScanResult } from '../model/vuln.js';
import { byString } from '../core/compare.js';
import { compareIssues } from '../core/issues.js';
import { partition, severityCounts } from './scan-common.js';

/** Bumped when a field changes meaning or disappears; new fields do not bump it. */
export const SCAN_JSON_SCHEMA_VERSION = '1.0.0';

type Shape = { keys: readonly string[]; children?: Record<string, string> };

const SHAPES: Record<string, Shape> = {
  report: {
    keys: ['schemaVersion', 'createdAt', 'descriptor', 'source', 'distro', 'distroStatus', 'db', 'summary', 'findings', 'suppressed', 'issues'],
    children: { descriptor: 'descriptor', source: 'source', distro: 'distro', distroStatus: 'distroStatus', db: 'db', summary: 'summary', findings: 'finding', suppressed: 'finding', issues: 'issue' },
  },
  descriptor: { keys: ['name', 'version', 'options'] },
  source: { keys: ['target', 'kind', 'name', 'digest', 'configDigest', 'platform', 'layers'], children: { layers: 'layer' } },
  layer: { keys: ['index', 'digest', 'diffId', 'createdBy'] },
  distro: { keys: ['id', 'versionId', 'versionCodename', 'idLike', 'prettyName', 'name', 'cpeName', 'source'] },
  distroStatus: { keys: ['ecosystem', 'supported', 'eolDate', 'message'] },
  db: { keys: ['digest', 'updatedAt', 'dataAsOf', 'schemaVersion', 'sources'], children: { sources: 'dbSource' } },
  dbSource: { keys: ['name', 'origin', 'records', 'modified'] },
  summary: { keys: ['total', 'suppressed', 'bySeverity'], children: { bySeverity: 'severities' } },
  severities: { keys: ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'] },
  finding: {
    keys: ['id', 'aliases', 'package', 'severity', 'severitySource', 'fixState', 'fixedVersions', 'cvss', 'epss', 'kev', 'summary', 'urls', 'match', 'suppressed'],
    children: { package: 'package', cvss: 'cvss', epss: 'epss', kev: 'kev', match: 'match', suppressed: 'suppression' },
  },
  package: {
    keys: ['id', 'type', 'namespace', 'name', 'version', 'purl', 'locations', 'introducedBy', 'ownedBy'],
    children: { locations: 'location', introducedBy: 'layer' },
  },
  location: { keys: ['path', 'layer', 'layerDigest', 'diffId', 'role'] },
  cvss: { keys: ['version', 'vector', 'score', 'source'] },
  epss: { keys: ['score', 'percentile', 'date'] },
  kev: { keys: ['dateAdded', 'dueDate', 'knownRansomwareCampaignUse', 'vendorProject', 'product'] },
  match: { keys: ['matcher', 'ecosystem', 'searchedName', 'searchedVersion', 'scheme', 'matchedRange', 'advisoryIds', 'sources', 'upstream'] },
  suppression: { keys: ['kind', 'file', 'rule', 'reason', 'status', 'justification'] },
  issue: { keys: ['code', 'severity', 'message', 'path', 'layer'] },
};

/** Orders the keys of a value of a known shape; unknown objects get sorted keys at every level. */
function ordered(v: unknown, shape?: string): unknown {
  if (Array.isArray(v)) return v.map((x) => ordered(x, shape));
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const s = shape ? SHAPES[shape] : undefined;
  const known = s?.keys ?? [];
  const rest = Object.keys(o).filter((k) => !known.includes(k)).sort(byString);
  const out: Record<string, unknown> = {};
  for (const k of [...known, ...rest]) {
    if (o[k] === undefined) continue;
    out[k] = ordered(o[k], s?.children?.[k]);
  }
  return out;
}

export function scanReportJsonValue(result: ScanResult): Record<string, unknown> {
  const { active, suppressed } = partition(result);
  const bySeverity = Object.fromEntries(severityCounts(active));
  return ordered(
    {
      schemaVersion: SCAN_JSON_SCHEMA_VERSION,
      createdAt: result.createdAt,
      descriptor: result.descriptor,
      source: result.inventory.source,
      distro: result.inventory.distro,
      distroStatus: result.distroStatus,
      db: result.db,
      summary: { total: active.length, suppressed: suppressed.length, bySeverity },
      findings: active,
      suppressed,
      issues: [...result.issues].sort(compareIssues),
    },
    'report',
  ) as Record<string, unknown>;
}

export function encodeScanJson(result: ScanResult): string {
  return JSON.stringify(scanReportJsonValue(result), null, 2) + '\n';
}
