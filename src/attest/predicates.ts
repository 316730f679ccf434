/**
 * Predicates: the type names cosign's --type takes and their URIs, a light check that a predicate is
 * the type it claims, and the predicates Drydock builds itself (vulnerability scan, SBOM).
 */
import { clockFromEnv, type Clock } from '../core/clock.js';
import { DrydockError } from '../core/errors.js';
import type { Inventory } from '../model/package.js';
import { SEVERITY_ORDER, type ScanResult, type Severity } from '../model/vuln.js';
import { cycloneDxDocument } from '../sbom/cyclonedx.js';
import { encodeSpdx } from '../sbom/spdx.js';
import { isTypeUri } from './statement.js';
import { byString } from '../core/compare.js';

/** cosign's --type names (cmd/cosign/cli/options/predicate.go) and the URIs Drydock writes for them. */
export const PREDICATE_TYPES = {
  custom: 'https://cosign.sigstore.dev/attestation/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
  spdx: 'https://spdx.dev/Document',
  spdxjson: 'https://spdx.dev/Document',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  openvex: 'https://openvex.dev/ns/v0.2.0',
  link: 'https://in-toto.io/Link/v1',
} as const;

export type PredicateTypeName = keyof typeof PREDICATE_TYPES;
export const PREDICATE_TYPE_NAMES = Object.keys(PREDICATE_TYPES) as PredicateTypeName[];

/**
 * Other URIs that mean the same type when verifying: cosign writes OpenVEX as https://openvex.dev/ns,
 * its first vulnerability predicates had no scheme, CycloneDX and SPDX have versioned forms.
 */
const ALSO_ACCEPTED: Partial<Record<string, readonly (string | RegExp)[]>> = {
  [PREDICATE_TYPES.openvex]: [/^https:\/\/openvex\.dev\/ns(\/v[0-9.]+)?$/],
  [PREDICATE_TYPES.vuln]: ['cosign.sigstore.dev/attestation/vuln/v1'],
  [PREDICATE_TYPES.cyclonedx]: [/^https:\/\/cyclonedx\.org\/bom\/v[0-9.]+$/],
  [PREDICATE_TYPES.spdx]: [/^https:\/\/spdx\.dev\/Document\/v[0-9.]+$/],
};

/** The predicate type URI of a --type value: a known name, else the value itself when it is a URI. */
export function predicateTypeOf(name: string): string {
  const known = PREDICATE_TYPES[name.toLowerCase() as PredicateTypeName];
  if (known) return known;
  if (isTypeUri(name)) return name;
  throw new DrydockError('USAGE', `unknown predicate type ${JSON.stringify(name)}; use ${PREDICATE_TYPE_NAMES.join(', ')} or a URI`);
}

/** True when the predicate type found in a statement is the one `wanted` (a --type name or URI) names. */
export function predicateTypeMatches(wanted: string, found: string): boolean {
  const uri = predicateTypeOf(wanted);
  if (found === uri) return true;
  return (ALSO_ACCEPTED[uri] ?? []).some((p) => (typeof p === 'string' ? p === found : p.test(found)));
}

/** The family a type URI belongs to, for the content check. */
function familyOf(uri: string): 'cyclonedx' | 'spdx' | 'vuln' | 'slsa02' | 'slsa1' | 'openvex' | undefined {
  for (const [name, family] of [
    ['cyclonedx', 'cyclonedx'],
    ['spdx', 'spdx'],
    ['vuln', 'vuln'],
    ['slsaprovenance', 'slsa02'],
    ['slsaprovenance1', 'slsa1'],
    ['openvex', 'openvex'],
  ] as const) {
    if (predicateTypeMatches(name, uri)) return family;
  }
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string' && v !== '';
const at = (v: unknown, ...path: string[]): unknown => path.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), v);

/**
 * Why `predicate` is not what `predicateType` declares, or undefined when it looks right. Light on
 * purpose: the fields that tell one type from another, not a schema validation.
 */
export function checkPredicate(predicateType: string, predicate: unknown): string | undefined {
  const family = familyOf(predicateType);
  if (!family) return undefined;
  if (!isObject(predicate)) return `a ${predicateType} predicate must be a JSON object`;
  switch (family) {
    case 'cyclonedx':
      if (predicate.bomFormat !== 'CycloneDX') return `the predicate is not a CycloneDX BOM (bomFormat ${JSON.stringify(predicate.bomFormat)})`;
      if (!str(predicate.specVersion)) return 'the CycloneDX predicate has no specVersion';
      return undefined;
    case 'spdx':
      if (!(str(predicate.spdxVersion) && predicate.spdxVersion.startsWith('SPDX-'))) return `the predicate is not an SPDX document (spdxVersion ${JSON.stringify(predicate.spdxVersion)})`;
      return undefined;
    case 'vuln': {
      if (!isObject(predicate.scanner)) return 'the vulnerability predicate has no scanner object';
      if (!isObject(predicate.metadata)) return 'the vulnerability predicate has no metadata object';
      for (const k of ['scanStartedOn', 'scanFinishedOn']) {
        const t = predicate.metadata[k];
        if (t !== undefined && !(str(t) && !Number.isNaN(Date.parse(t)))) return `metadata.${k} of the vulnerability predicate is not a timestamp`;
      }
      return undefined;
    }
    case 'slsa02':
      if (!str(at(predicate, 'builder', 'id'))) return 'the SLSA provenance v0.2 predicate has no builder.id';
      if (!str(predicate.buildType)) return 'the SLSA provenance v0.2 predicate has no buildType';
      return undefined;
    case 'slsa1':
      if (!str(at(predicate, 'buildDefinition', 'buildType'))) return 'the SLSA provenance v1 predicate has no buildDefinition.buildType';
      if (!isObject(at(predicate, 'buildDefinition', 'externalParameters'))) return 'the SLSA provenance v1 predicate has no buildDefinition.externalParameters';
      if (!str(at(predicate, 'runDetails', 'builder', 'id'))) return 'the SLSA provenance v1 predicate has no runDetails.builder.id';
      return undefined;
    case 'openvex':
      if (!(str(predicate['@context']) && predicate['@context'].startsWith('https://openvex.dev/ns'))) return `the predicate is not an OpenVEX document (@context ${JSON.stringify(predicate['@context'])})`;
      if (!Array.isArray(predicate.statements)) return 'the OpenVEX predicate has no statements array';
      return undefined;
  }
}

/**
 * The predicate of a predicate file for a --type, as cosign builds it: `custom` wraps the file's text
 * as {Data, Timestamp}; every other type takes a JSON object, checked against its type.
 * USAGE when the file is not a JSON object or not the declared type.
 */
export function predicateFromFile(text: string, typeName: string, opts: { what?: string; clock?: Clock } = {}): { predicateType: string; predicate: Record<string, unknown> } {
  const what = opts.what ?? 'predicate';
  const predicateType = predicateTypeOf(typeName);
  if (predicateType === PREDICATE_TYPES.custom) {
    const ts = (opts.clock ?? clockFromEnv()).now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { predicateType, predicate: { Data: text, Timestamp: ts } };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new DrydockError('USAGE', `${what} is not JSON (a ${typeName} predicate must be a JSON object)`, { cause: e });
  }
  if (!isObject(doc)) throw new DrydockError('USAGE', `${what} is not a JSON object`);
  const bad = checkPredicate(predicateType, doc);
  if (bad) throw new DrydockError('USAGE', `${what} does not match --type ${typeName}: ${bad}`);
  return { predicateType, predicate: doc };
}

// ---------------------------------------------------------------- predicates Drydock builds

export interface VulnPredicateOptions {
  /** when the scan started, RFC 3339 (default: the scan's createdAt) */
  startedOn?: string;
  /** when the scan finished, RFC 3339 (default: the scan's createdAt) */
  finishedOn?: string;
  /** the CI run that scanned: uri, event id, builder id, parameters */
  invocation?: { uri?: string; eventId?: string; builderId?: string; parameters?: string[] };
}

/**
 * The cosign vulnerability predicate (https://cosign.sigstore.dev/attestation/vuln/v1) of a scan: the
 * scanner, the database identity (its content digest as db.version), every finding (suppressed ones
 * marked) and counts of the unsuppressed ones by severity, and the scan times.
 */
export function vulnPredicate(scan: ScanResult, opts: VulnPredicateOptions = {}): { predicateType: string; predicate: Record<string, unknown> } {
  const counts = Object.fromEntries([...SEVERITY_ORDER].reverse().map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of scan.findings) if (!f.suppressed) counts[f.severity]++;
  const findings = scan.findings
    .map((f) => ({
      id: f.id,
      ...(f.aliases.length ? { aliases: [...f.aliases].sort() } : {}),
      severity: f.severity,
      package: { type: f.package.type, name: f.package.name, version: f.package.version, ...(f.package.purl ? { purl: f.package.purl } : {}) },
      fixState: f.fixState,
      ...(f.fixedVersions.length ? { fixedVersions: f.fixedVersions } : {}),
      ...(f.kev ? { kev: true } : {}),
      ...(f.epss ? { epss: f.epss.score } : {}),
      ...(f.suppressed ? { suppressed: { kind: f.suppressed.kind, rule: f.suppressed.rule, ...(f.suppressed.status ? { status: f.suppressed.status } : {}) } } : {}),
    }))
    .sort((a, b) => byString(a.id, b.id) || byString(a.package.name, b.package.name) || byString(a.package.version, b.package.version));
  const tool = scan.descriptor;
  const inv = opts.invocation ?? {};
  return {
    predicateType: PREDICATE_TYPES.vuln,
    predicate: {
      invocation: {
        parameters: inv.parameters ?? Object.entries(tool.options ?? {}).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).sort(),
        uri: inv.uri ?? '',
        event_id: inv.eventId ?? '',
        'builder.id': inv.builderId ?? '',
      },
      scanner: {
        uri: `pkg:generic/${tool.name}@${tool.version}`,
        version: tool.version,
        db: {
          uri: `pkg:generic/${tool.name}-vulndb`,
          version: scan.db.digest,
          updatedAt: scan.db.updatedAt,
          ...(scan.db.dataAsOf ? { dataAsOf: scan.db.dataAsOf } : {}),
          schemaVersion: scan.db.schemaVersion,
        },
        result: {
          target: { name: scan.inventory.source.name, ...(scan.inventory.source.digest ? { digest: scan.inventory.source.digest } : {}) },
          summary: counts,
          findings,
        },
      },
      metadata: {
        scanStartedOn: opts.startedOn ?? scan.createdAt,
        scanFinishedOn: opts.finishedOn ?? scan.createdAt,
      },
    },
  };
}

export type SbomPredicateFormat = 'cyclonedx' | 'spdx';

/** A CycloneDX (1.6) or SPDX 2.3 predicate of an inventory, through the SBOM encoders. */
export function sbomPredicate(inv: Inventory, format: SbomPredicateFormat, opts: { clock?: Clock } = {}): { predicateType: string; predicate: Record<string, unknown> } {
  if (format === 'cyclonedx') {
    return { predicateType: PREDICATE_TYPES.cyclonedx, predicate: cycloneDxDocument(inv, { version: '1.6', ...(opts.clock ? { clock: opts.clock } : {}) }) };
  }
  return { predicateType: PREDICATE_TYPES.spdx, predicate: JSON.parse(encodeSpdx(inv, opts.clock ? { clock: opts.clock } : {})) as Record<string, unknown> };
}
