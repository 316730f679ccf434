/**
 * The scan as CycloneDX (1.6 default, 1.5): the inventory's BOM, built by the SBOM encoder, plus
 * `vulnerabilities` (CycloneDX spec, "vulnerabilities" object): one entry per finding, affecting
 * the component whose bom-ref is the package id, with CVSS and vendor ratings, the fix as
 * recommendation, and the VEX decision as `analysis` where a VEX statement suppressed it.
 */
import { cycloneDxContent, serialiseCycloneDx, withContentSerial } from '../sbom/cyclonedx.js';
import type { CvssScore, Finding, ScanResult, Severity } from '../model/vuln.js';
import {
  cvssBand,
  cycloneDxJustification,
  extrasOf,
  layerOfFinding,
  recommendation,
  statusFindings,
  vexStatus,
  vulnSource,
  type ScanReportOptions,
  type VexStatus,
} from './scan-common.js';

type Json = Record<string, unknown>;
interface Property {
  name: string;
  value: string;
}

const METHOD: Record<CvssScore['version'], string> = { '2.0': 'CVSSv2', '3.0': 'CVSSv3', '3.1': 'CVSSv31', '4.0': 'CVSSv4' };
const SEVERITY: Record<Severity, string> = { critical: 'critical', high: 'high', medium: 'medium', low: 'low', negligible: 'info', unknown: 'unknown' };
const STATE: Record<VexStatus, string> = { not_affected: 'not_affected', fixed: 'resolved', under_investigation: 'in_triage', affected: 'exploitable' };

function ratings(f: Finding): Json[] {
  const out: Json[] = f.cvss.map((c) => ({
    source: { name: c.source },
    score: c.score,
    severity: cvssBand(c.score),
    method: METHOD[c.version],
    vector: c.vector,
  }));
  out.push({ source: { name: f.severitySource ?? 'drydock' }, severity: SEVERITY[f.severity], method: 'other' });
  return out;
}

function properties(result: ScanResult, f: Finding): Property[] {
  const props: Property[] = [
    { name: 'drydock:fixState', value: f.fixState },
    { name: 'drydock:match:matcher', value: f.match.matcher },
    { name: 'drydock:match:ecosystem', value: f.match.ecosystem },
    { name: 'drydock:match:searched', value: `${f.match.searchedName} ${f.match.searchedVersion}` },
    { name: 'drydock:match:range', value: f.match.matchedRange },
  ];
  for (const s of f.match.sources) props.push({ name: 'drydock:match:source', value: s });
  if (f.epss) {
    props.push({ name: 'drydock:epss:score', value: String(f.epss.score) }, { name: 'drydock:epss:percentile', value: String(f.epss.percentile) });
  }
  if (f.kev) props.push({ name: 'drydock:kev:dateAdded', value: f.kev.dateAdded });
  const layer = layerOfFinding(result, f.package);
  if (layer) props.push({ name: 'drydock:layer:index', value: String(layer.index) }, { name: 'drydock:layer:digest', value: layer.digest });
  const s = f.suppressed;
  if (s) {
    props.push({ name: 'drydock:suppressed:kind', value: s.kind }, { name: 'drydock:suppressed:file', value: s.file }, { name: 'drydock:suppressed:rule', value: s.rule });
    if (s.reason) props.push({ name: 'drydock:suppressed:reason', value: s.reason });
  }
  return props.filter((p) => p.value !== '');
}

function analysis(f: Finding): Json | undefined {
  const s = f.suppressed;
  const status = vexStatus(s?.status);
  if (!s || !status) return undefined;
  const a: Json = { state: STATE[status] };
  const j = cycloneDxJustification(s.justification);
  if (j && status === 'not_affected') a.justification = j;
  const detail = [`${s.kind} ${s.file}: ${s.rule}`, s.justification && !j ? `justification: ${s.justification}` : '', s.reason ?? ''].filter(Boolean).join('; ');
  a.detail = detail;
  return a;
}

function cwes(f: Finding): number[] | undefined {
  const ids = (extrasOf(f).cwes ?? []).map((c) => /^(?:CWE-)?(\d+)$/i.exec(c.trim())?.[1]).filter((x): x is string => x !== undefined);
  return ids.length ? [...new Set(ids.map(Number))].sort((a, b) => a - b) : undefined;
}

function vulnerability(result: ScanResult, f: Finding, bomRef: string): Json {
  const v: Json = { 'bom-ref': bomRef, id: f.id, source: vulnSource(f.id) };
  if (f.aliases.length) v.references = f.aliases.map((a) => ({ id: a, source: vulnSource(a) }));
  v.ratings = ratings(f);
  const cw = cwes(f);
  if (cw) v.cwes = cw;
  if (f.summary) v.description = f.summary;
  v.recommendation = recommendation(f);
  if (f.urls.length) v.advisories = f.urls.map((url) => ({ url }));
  const { published, modified } = extrasOf(f);
  if (published) v.published = published;
  if (modified) v.updated = modified;
  const a = analysis(f);
  if (a) v.analysis = a;
  v.affects = [
    {
      ref: f.package.id,
      versions: [{ version: f.package.version, status: 'affected' }, ...f.fixedVersions.map((version) => ({ version, status: 'unaffected' }))],
    },
  ];
  v.properties = properties(result, f);
  return v;
}

/** The scan report as a CycloneDX document without its serial number. */
function scanCycloneDxContent(result: ScanResult, opts: ScanReportOptions): Json {
  const version = opts.cyclonedxVersion ?? '1.6';
  const createdAt = new Date(result.createdAt);
  const doc = cycloneDxContent(result.inventory, { version, clock: { now: () => createdAt } });
  const seen = new Set<string>();
  const vulnerabilities = statusFindings(result, opts).map((f) => {
    let ref = `vuln:${f.id}:${f.package.id}`;
    for (let n = 2; seen.has(ref); n++) ref = `vuln:${f.id}:${f.package.id}:${n}`;
    seen.add(ref);
    return vulnerability(result, f, ref);
  });
  const metadata = doc.metadata as Json;
  const props = [...((metadata.properties as Property[] | undefined) ?? [])];
  props.push({ name: 'drydock:db:digest', value: result.db.digest }, { name: 'drydock:db:updatedAt', value: result.db.updatedAt });
  if (result.db.dataAsOf) props.push({ name: 'drydock:db:dataAsOf', value: result.db.dataAsOf });
  if (result.distroStatus) {
    props.push({ name: 'drydock:distro:supported', value: String(result.distroStatus.supported) });
    if (result.distroStatus.eolDate) props.push({ name: 'drydock:distro:eolDate', value: result.distroStatus.eolDate });
  }
  return { ...doc, metadata: { ...metadata, properties: props }, vulnerabilities };
}

// a report BOM names different content than the plain SBOM: its serial hashes the vulnerabilities too
export function scanCycloneDxDocument(result: ScanResult, opts: ScanReportOptions = {}): Json {
  return withContentSerial(scanCycloneDxContent(result, opts));
}

export function encodeScanCycloneDx(result: ScanResult, opts: ScanReportOptions = {}): string {
  return serialiseCycloneDx(scanCycloneDxContent(result, opts));
}
