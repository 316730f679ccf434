/**
 * The scan as an OpenVEX v0.2.0 document (https://github.com/openvex/spec): one statement per
 * vulnerability and package. The product is the image (its pkg:oci purl) with the package purl
 * as subcomponent; findings are "affected" with an action statement, suppressed findings carry the
 * VEX status (and justification) that suppressed them. The document @id is derived from content.
 */
import { byString } from '../core/compare.js';
import { packageUrl } from '../model/purl.js';
import { contentUuid, imagePurl } from '../sbom/common.js';
import type { Finding, FindingPackage, ScanResult } from '../model/vuln.js';
import { openVexJustification, recommendation, statusFindings, vexStatus, type ScanReportOptions } from './scan-common.js';

type Json = Record<string, unknown>;

export const OPENVEX_CONTEXT = 'https://openvex.dev/ns/v0.2.0';

/** The package's purl, or a generic one when the cataloger could not make one. */
function packageIri(p: FindingPackage): string {
  if (p.purl) return p.purl;
  return packageUrl('generic', p.namespace, p.name, p.version) ?? `urn:drydock:package:${p.id}`;
}

function statement(f: Finding, image: string | undefined): Json {
  const vulnerability: Json = { name: f.id };
  if (f.aliases.length) vulnerability.aliases = [...f.aliases];
  const pkg = packageIri(f.package);
  const products = image ? [{ '@id': image, subcomponents: [{ '@id': pkg }] }] : [{ '@id': pkg }];
  const s: Json = { vulnerability, products };
  const sup = f.suppressed;
  const status = vexStatus(sup?.status) ?? 'affected';
  s.status = status;
  const why = sup ? `${sup.kind} ${sup.file}: ${sup.rule}${sup.reason ? ` - ${sup.reason}` : ''}` : undefined;
  if (status === 'not_affected') {
    const j = openVexJustification(sup?.justification);
    // the spec requires a justification or an impact statement for not_affected
    if (j) s.justification = j;
    else s.impact_statement = [sup?.justification, why].filter(Boolean).join('; ');
  }
  if (status === 'affected') s.action_statement = recommendation(f);
  if (why) s.status_notes = `suppressed by ${why}`;
  return s;
}

export function scanOpenVexDocument(result: ScanResult, opts: ScanReportOptions = {}): Json {
  const image = imagePurl(result.inventory);
  const statements = statusFindings(result, opts)
    .map((f) => ({ s: statement(f, image), key: [f.id, packageIri(f.package), f.package.id] }))
    .sort((a, b) => byString(a.key[0]!, b.key[0]!) || byString(a.key[1]!, b.key[1]!) || byString(a.key[2]!, b.key[2]!))
    .map((x) => x.s);
  const tooling = `${result.descriptor.name}/${result.descriptor.version}`;
  const id = `urn:uuid:${contentUuid(JSON.stringify({ context: OPENVEX_CONTEXT, tooling, statements }))}`;
  return {
    '@context': OPENVEX_CONTEXT,
    '@id': id,
    author: 'drydock',
    timestamp: result.createdAt,
    version: 1,
    tooling,
    statements,
  };
}

export function encodeScanOpenVex(result: ScanResult, opts: ScanReportOptions = {}): string {
  return JSON.stringify(scanOpenVexDocument(result, opts), null, 2) + '\n';
}
