import { describe, expect, it } from 'vitest';
import type { ScanResult } from '../model/vuln.js';
import { sampleInventory } from '../sbom/testdata/sample-inventory.js';
import { checkPredicate, predicateFromFile, predicateTypeMatches, predicateTypeOf, sbomPredicate, vulnPredicate, PREDICATE_TYPES } from './predicates.js';

const fixed = { now: () => new Date('2025-03-01T10:00:00Z') };

describe('predicate types', () => {
  it('maps cosign --type names to URIs and passes URIs through', () => {
    expect(predicateTypeOf('cyclonedx')).toBe('https://cyclonedx.org/bom');
    expect(predicateTypeOf('spdxjson')).toBe('https://spdx.dev/Document');
    expect(predicateTypeOf('vuln')).toBe('https://cosign.sigstore.dev/attestation/vuln/v1');
    expect(predicateTypeOf('slsaprovenance')).toBe('https://slsa.dev/provenance/v0.2');
    expect(predicateTypeOf('slsaprovenance1')).toBe('https://slsa.dev/provenance/v1');
    expect(predicateTypeOf('openvex')).toBe('https://openvex.dev/ns/v0.2.0');
    expect(predicateTypeOf('custom')).toBe('https://cosign.sigstore.dev/attestation/v1');
    expect(predicateTypeOf('https://example.com/mine/v1')).toBe('https://example.com/mine/v1');
    expect(() => predicateTypeOf('sbom')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });

  it('matches the other spellings other tools write', () => {
    expect(predicateTypeMatches('openvex', 'https://openvex.dev/ns')).toBe(true);
    expect(predicateTypeMatches('vuln', 'cosign.sigstore.dev/attestation/vuln/v1')).toBe(true);
    expect(predicateTypeMatches('cyclonedx', 'https://cyclonedx.org/bom/v1.5')).toBe(true);
    expect(predicateTypeMatches('slsaprovenance', 'https://slsa.dev/provenance/v1')).toBe(false);
    expect(predicateTypeMatches('cyclonedx', 'https://spdx.dev/Document')).toBe(false);
  });
});

describe('predicate content check', () => {
  const cases: [string, unknown, boolean][] = [
    [PREDICATE_TYPES.cyclonedx, { bomFormat: 'CycloneDX', specVersion: '1.6' }, true],
    [PREDICATE_TYPES.cyclonedx, { spdxVersion: 'SPDX-2.3' }, false],
    [PREDICATE_TYPES.spdx, { spdxVersion: 'SPDX-2.3', SPDXID: 'SPDXRef-DOCUMENT' }, true],
    [PREDICATE_TYPES.spdx, { bomFormat: 'CycloneDX' }, false],
    [PREDICATE_TYPES.vuln, { scanner: { uri: 'x' }, metadata: { scanFinishedOn: '2025-01-01T00:00:00Z' } }, true],
    [PREDICATE_TYPES.vuln, { scanner: {}, metadata: { scanFinishedOn: 'yesterday' } }, false],
    [PREDICATE_TYPES.vuln, { bomFormat: 'CycloneDX' }, false],
    [PREDICATE_TYPES.slsaprovenance, { builder: { id: 'b' }, buildType: 't' }, true],
    [PREDICATE_TYPES.slsaprovenance, { buildDefinition: { buildType: 't' } }, false],
    [PREDICATE_TYPES.slsaprovenance1, { buildDefinition: { buildType: 't', externalParameters: {} }, runDetails: { builder: { id: 'b' } } }, true],
    [PREDICATE_TYPES.slsaprovenance1, { builder: { id: 'b' }, buildType: 't' }, false],
    [PREDICATE_TYPES.openvex, { '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] }, true],
    ['https://openvex.dev/ns', { '@context': 'https://openvex.dev/ns', statements: [] }, true],
    [PREDICATE_TYPES.openvex, { statements: [] }, false],
    [PREDICATE_TYPES.cyclonedx, 'a string', false],
    ['https://example.com/anything', { whatever: true }, true],
  ];
  for (const [type, predicate, ok] of cases) {
    it(`${type} ${JSON.stringify(predicate).slice(0, 60)} → ${ok ? 'ok' : 'rejected'}`, () => {
      const reason = checkPredicate(type, predicate);
      if (ok) expect(reason).toBeUndefined();
      else expect(reason).toMatch(/\w/);
    });
  }

  it('predicateFromFile wraps custom text as cosign does and refuses a mismatched type', () => {
    expect(predicateFromFile('some text', 'custom', { clock: fixed })).toEqual({
      predicateType: 'https://cosign.sigstore.dev/attestation/v1',
      predicate: { Data: 'some text', Timestamp: '2025-03-01T10:00:00Z' },
    });
    expect(() => predicateFromFile('{"spdxVersion":"SPDX-2.3"}', 'cyclonedx', { what: 'sbom.json' })).toThrow(/sbom\.json does not match --type cyclonedx/);
    expect(() => predicateFromFile('not json', 'vuln')).toThrow(/not JSON/);
  });
});

function scan(): ScanResult {
  const inventory = sampleInventory();
  const pkg = inventory.packages[0]!;
  const fp = { id: pkg.id, type: pkg.type, name: pkg.name, version: pkg.version, locations: pkg.locations };
  const match = { matcher: 'deb', ecosystem: 'Debian:12', searchedName: pkg.name, searchedVersion: pkg.version, scheme: 'deb', matchedRange: '<1', advisoryIds: ['X'], sources: ['osv'] };
  return {
    createdAt: '2025-03-01T09:00:00Z',
    descriptor: { name: 'drydock', version: '1.2.3', options: { failOn: 'high' } },
    inventory,
    db: { digest: `sha256:${'d'.repeat(64)}`, updatedAt: '2025-03-01T00:00:00Z', schemaVersion: 3, sources: [] },
    findings: [
      { id: 'CVE-2025-2', aliases: [], package: fp, fixedVersions: ['2'], fixState: 'fixed', severity: 'critical', cvss: [], urls: [], match },
      { id: 'CVE-2025-1', aliases: ['GHSA-x'], package: fp, fixedVersions: [], fixState: 'not-fixed', severity: 'high', cvss: [], urls: [], match },
      { id: 'CVE-2025-3', aliases: [], package: fp, fixedVersions: [], fixState: 'unknown', severity: 'critical', cvss: [], urls: [], match, suppressed: { kind: 'vex', file: 'v.json', rule: 'not_affected' } },
    ],
    issues: [],
  };
}

describe('predicates Drydock builds', () => {
  it('vulnPredicate names the scanner, the database identity and the scan time, and counts unsuppressed findings', () => {
    const { predicateType, predicate } = vulnPredicate(scan(), { startedOn: '2025-03-01T08:59:00Z' });
    expect(predicateType).toBe(PREDICATE_TYPES.vuln);
    expect(checkPredicate(predicateType, predicate)).toBeUndefined();
    const p = predicate as { scanner: { uri: string; version: string; db: { version: string }; result: { summary: Record<string, number>; findings: { id: string; suppressed?: unknown }[] } }; metadata: Record<string, string>; invocation: { parameters: string[] } };
    expect(p.scanner.uri).toBe('pkg:generic/drydock@1.2.3');
    expect(p.scanner.db.version).toBe(`sha256:${'d'.repeat(64)}`);
    expect(p.metadata).toEqual({ scanStartedOn: '2025-03-01T08:59:00Z', scanFinishedOn: '2025-03-01T09:00:00Z' });
    expect(p.scanner.result.summary.critical).toBe(1);
    expect(p.scanner.result.summary.high).toBe(1);
    expect(p.scanner.result.findings.map((f) => f.id)).toEqual(['CVE-2025-1', 'CVE-2025-2', 'CVE-2025-3']);
    expect(p.scanner.result.findings[2]!.suppressed).toBeTruthy();
    expect(p.invocation.parameters).toEqual(['failOn=high']);
  });

  it('sbomPredicate encodes CycloneDX and SPDX that pass their own type check', () => {
    const cdx = sbomPredicate(sampleInventory(), 'cyclonedx', { clock: fixed });
    expect(cdx.predicateType).toBe('https://cyclonedx.org/bom');
    expect(checkPredicate(cdx.predicateType, cdx.predicate)).toBeUndefined();
    expect((cdx.predicate.components as unknown[]).length).toBeGreaterThan(0);
    const spdx = sbomPredicate(sampleInventory(), 'spdx', { clock: fixed });
    expect(spdx.predicateType).toBe('https://spdx.dev/Document');
    expect(checkPredicate(spdx.predicateType, spdx.predicate)).toBeUndefined();
  });
});
