/**
 * The scan report encoders on a hand-built ScanResult: byte-compared goldens for table and json
 * (refresh on purpose with UPDATE_GOLDEN=1), the official SARIF 2.1.0 and CycloneDX 1.5/1.6
 * schemas, JUnit XML parsed by a real XML parser (expat, through Debian's python3), and
 * reproducibility (no system clock, stable fingerprints and ids).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isDrydockError } from '../core/errors.js';
import type { ScanResult } from '../model/vuln.js';
import { cyclonedxValidator } from '../sbom/testdata/schemas.js';
import { cvssBand, securitySeverity, vexStatus } from './scan-common.js';
import { encodeScanReport, SARIF_FINGERPRINT_KEY, SCAN_FORMATS, type ScanFormat } from './scan-index.js';
import { sampleScanResult } from './testdata/scan-sample.js';

const TESTDATA = join(import.meta.dirname, 'testdata');

function golden(name: string, actual: string): void {
  const file = join(TESTDATA, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  if (!existsSync(file)) throw new Error(`golden ${name} is missing; run with UPDATE_GOLDEN=1`);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

// ajv-formats is CommonJS with a default export: under NodeNext the callable is on .default
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => void;

let sarifValidate: ((doc: unknown) => boolean) & { errors?: unknown } = undefined as never;
function validateSarif(doc: unknown): { valid: boolean; errors: string } {
  if (!sarifValidate) {
    // the schema is draft-04 (`id`, `$schema` draft-04); its keywords are otherwise the draft-07 subset ajv 8 knows.
    // Its language pattern has a stray "]" that unicode-mode regexes reject: compile patterns without the u flag.
    const path = join(dirname(createRequire(import.meta.url).resolve('@microsoft/jest-sarif/package.json')), 'lib', 'schemas', 'sarif-2.1.0-rtm.5.json');
    const { $schema: _s, id, ...schema } = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, allErrors: true, logger: false, unicodeRegExp: false });
    addFormats(ajv);
    sarifValidate = ajv.compile({ ...schema, $id: id as string });
  }
  const valid = sarifValidate(doc);
  return { valid, errors: valid ? '' : JSON.stringify(sarifValidate.errors, null, 2).slice(0, 4000) };
}

const ANSI = /\u001b\[[0-9;]*m/g;
const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

afterEach(() => {
  vi.useRealTimers();
});

describe('table', () => {
  it('matches the golden file, plain ASCII layout without colour', () => {
    const out = encodeScanReport(sampleScanResult(), 'table');
    golden('scan.table.txt', out);
    expect(out).not.toMatch(/\u001b/);
    expect(out).toMatch(/^[\x20-\x7e\n]*$/);
  });

  it('shows suppressed findings apart, with the rule that suppressed them, only with showSuppressed', () => {
    const plain = encodeScanReport(sampleScanResult(), 'table');
    expect(plain).not.toContain('CVE-2022-0778');
    expect(plain).toContain('2 suppressed');
    const out = encodeScanReport(sampleScanResult(), 'table', { showSuppressed: true });
    golden('scan.table-suppressed.txt', out);
    const section = out.slice(out.indexOf('Suppressed (2):'));
    expect(section).toContain('ignore-file drydock-ignore.yaml: id CVE-2022-0778 until 2026-12-31');
    expect(section).toContain('vex vex/api.openvex.json');
    expect(out.indexOf('CVE-2022-0778')).toBeGreaterThan(out.indexOf('Suppressed (2):'));
  });

  it('sorts by risk: severity, then KEV, then EPSS', () => {
    const out = encodeScanReport(sampleScanResult(), 'table');
    const order = ['CVE-2021-23337', 'CVE-2020-8203', 'CVE-2023-0286', 'CVE-2024-5535'].map((id) => out.indexOf(id));
    expect(order.every((n) => n > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('header: target, end-of-life warning, database age and data as of, counts per severity', () => {
    const out = encodeScanReport(sampleScanResult(), 'table');
    expect(out).toContain('Target:   registry.example:5000/shop/api:1.4 (sha256:eeeeeeeeeeee) linux/amd64');
    expect(out).toContain('WARNING: debian 10 (buster) reached end of life on 2024-06-30');
    expect(out).toContain('Database: updated 2024-07-14T02:00:00Z (1 day ago), data as of 2024-07-10T23:59:00Z');
    expect(out).toContain('Findings: 4 (critical 0, high 3, medium 1, low 0, negligible 0, unknown 0); 2 suppressed');
  });

  it('colours only when asked, and colour changes nothing but escape codes', () => {
    const r = sampleScanResult();
    const coloured = encodeScanReport(r, 'table', { color: true, showSuppressed: true });
    expect(coloured).toMatch(ANSI);
    expect(coloured).toContain('\u001b[31mhigh (KEV)\u001b[0m');
    expect(coloured.replace(ANSI, '')).toBe(encodeScanReport(r, 'table', { showSuppressed: true }));
  });

  it('neutralises terminal escapes smuggled into package data', () => {
    const r = sampleScanResult();
    r.findings[0]!.package.name = 'evil\u001b]0;pwned\u0007name';
    const out = encodeScanReport(r, 'table');
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(out).toContain('evil ]0;pwned name');
  });

  it('says so when there is nothing to show', () => {
    const r = { ...sampleScanResult(), findings: [] };
    expect(encodeScanReport(r, 'table')).toContain('No vulnerabilities found.');
  });
});

describe('json', () => {
  it('matches the golden file; suppressed findings always under `suppressed`', () => {
    const out = encodeScanReport(sampleScanResult(), 'json');
    golden('scan.json', out);
    const doc = JSON.parse(out);
    expect(Object.keys(doc)).toEqual(['schemaVersion', 'createdAt', 'descriptor', 'source', 'distro', 'distroStatus', 'db', 'summary', 'findings', 'suppressed', 'issues']);
    expect(ids(doc.findings)).toEqual(['CVE-2021-23337', 'CVE-2020-8203', 'CVE-2023-0286', 'CVE-2024-5535']);
    expect(ids(doc.suppressed)).toEqual(['CVE-2020-28500', 'CVE-2022-0778']);
    expect(doc.db.digest).toBe(`sha256:${'9'.repeat(64)}`);
    expect(doc.findings[0].kev.dateAdded).toBe('2024-01-10');
    expect(doc.suppressed[1].suppressed.rule).toBe('id CVE-2022-0778 until 2026-12-31');
  });

  it('keeps every field of every finding', () => {
    const r = sampleScanResult();
    const doc = JSON.parse(encodeScanReport(r, 'json'));
    const all = [...doc.findings, ...doc.suppressed];
    for (const f of r.findings) expect(all.find((x: { id: string }) => x.id === f.id)).toEqual(JSON.parse(JSON.stringify(f)));
  });

  it('field order does not depend on construction order', () => {
    const r = sampleScanResult();
    const shuffled = JSON.parse(JSON.stringify(r), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ) as ScanResult;
    shuffled.findings.reverse();
    expect(encodeScanReport(shuffled, 'json')).toBe(encodeScanReport(r, 'json'));
  });
});

describe('SARIF', () => {
  it('is valid SARIF 2.1.0, with and without suppressed results', () => {
    for (const showSuppressed of [false, true]) {
      const doc = JSON.parse(encodeScanReport(sampleScanResult(), 'sarif', { showSuppressed }));
      const v = validateSarif(doc);
      expect(v.valid, v.errors).toBe(true);
    }
  });

  it('the schema check can fail', () => {
    const doc = JSON.parse(encodeScanReport(sampleScanResult(), 'sarif'));
    doc.runs[0].results[0].level = 'fatal';
    expect(validateSarif(doc).valid).toBe(false);
  });

  it('one rule per vulnerability id, with GitHub security-severity and tags', () => {
    const doc = JSON.parse(encodeScanReport(sampleScanResult(), 'sarif'));
    const run = doc.runs[0];
    expect(run.tool.driver.name).toBe('drydock');
    expect(run.tool.driver.version).toBe('0.1.0');
    const rules = new Map<string, any>(run.tool.driver.rules.map((r: any) => [r.id, r]));
    expect([...rules.keys()]).toEqual(['CVE-2020-8203', 'CVE-2021-23337', 'CVE-2023-0286', 'CVE-2024-5535']);
    const lodash = rules.get('CVE-2021-23337');
    // CVSS 3.1 decided the severity (cvss:nvd), not the newer 4.0 score of the GHSA record
    expect(lodash.properties['security-severity']).toBe('7.2');
    expect(lodash.properties.tags).toEqual(['security', 'vulnerability', 'high']);
    expect(lodash.helpUri).toBe('https://github.com/advisories/GHSA-35jh-r3h4-6jhm');
    expect(lodash.help.markdown).toContain('| high | lodash | 4.17.15 | 4.17.21 | /app/node\\_modules/lodash/package.json |');
    expect(lodash.help.text).toContain('Recommendation: upgrade lodash to 4.17.21 or later');
    // Debian says medium while NVD's CVSS says critical: the number follows the severity shown
    expect(rules.get('CVE-2024-5535').properties['security-severity']).toBe('5.5');
    expect(rules.get('CVE-2024-5535').helpUri).toBe('https://nvd.nist.gov/vuln/detail/CVE-2024-5535');
    for (const r of run.results) expect(run.tool.driver.rules[r.ruleIndex].id).toBe(r.ruleId);
  });

  it('results: level by severity, file path relative to the image root, image as logical location', () => {
    const doc = JSON.parse(encodeScanReport(sampleScanResult(), 'sarif'));
    const results = doc.runs[0].results;
    expect(results.map((r: any) => [r.ruleId, r.level])).toEqual([
      ['CVE-2021-23337', 'error'],
      ['CVE-2020-8203', 'error'],
      ['CVE-2023-0286', 'error'],
      ['CVE-2024-5535', 'warning'],
    ]);
    const first = results[0];
    expect(first.locations[0].physicalLocation.artifactLocation.uri).toBe('app/node_modules/lodash/package.json');
    expect(first.locations[0].logicalLocations[0].name).toBe('registry.example:5000/shop/api:1.4');
    expect(first.message.text).toContain('lodash 4.17.15');
    expect(first.message.text).toContain('fixed in 4.17.21');
    expect(results[3].message.text).toContain('not fixed');
    expect(first.suppressions).toBeUndefined();
  });

  it('partial fingerprints are stable across runs and versions, and distinct per finding', () => {
    const a = JSON.parse(encodeScanReport(sampleScanResult(), 'sarif'));
    const r = sampleScanResult();
    r.createdAt = '2030-01-01T00:00:00Z';
    for (const f of r.findings) if (f.package.name === 'lodash') f.package.version = '4.17.15-patched';
    const b = JSON.parse(encodeScanReport(r, 'sarif'));
    const fp = (d: any) => d.runs[0].results.map((x: any) => x.partialFingerprints[SARIF_FINGERPRINT_KEY]);
    expect(fp(a)).toEqual(fp(b));
    expect(new Set(fp(a)).size).toBe(fp(a).length);
    expect(fp(a)[0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('suppressed results carry external suppressions only with showSuppressed', () => {
    const doc = JSON.parse(encodeScanReport(sampleScanResult(), 'sarif', { showSuppressed: true }));
    const sup = doc.runs[0].results.filter((r: any) => r.suppressions);
    expect(sup.map((r: any) => r.ruleId)).toEqual(['CVE-2020-28500', 'CVE-2022-0778']);
    expect(sup[1].suppressions).toEqual([{ kind: 'external', status: 'accepted', justification: 'ignore-file drydock-ignore.yaml: id CVE-2022-0778 until 2026-12-31 - accepted risk' }]);
  });
});

describe('CycloneDX', () => {
  for (const cyclonedxVersion of ['1.6', '1.5'] as const) {
    it(`${cyclonedxVersion}: valid against the official schema`, () => {
      for (const showSuppressed of [false, true]) {
        const doc = JSON.parse(encodeScanReport(sampleScanResult(), 'cyclonedx-json', { cyclonedxVersion, showSuppressed }));
        expect(doc.specVersion).toBe(cyclonedxVersion);
        const v = cyclonedxValidator(cyclonedxVersion)(doc);
        expect(v.valid, v.errors).toBe(true);
      }
    });
  }

  it('vulnerabilities affect the components of the BOM, with ratings, recommendation and advisories', () => {
    const r = sampleScanResult();
    const doc = JSON.parse(encodeScanReport(r, 'cyclonedx-json'));
    const refs = new Set(doc.components.map((c: any) => c['bom-ref']));
    for (const v of doc.vulnerabilities) for (const a of v.affects) expect(refs.has(a.ref)).toBe(true);
    const lodash = doc.vulnerabilities.find((v: any) => v.id === 'CVE-2021-23337');
    expect(lodash.source).toEqual({ name: 'NVD', url: 'https://nvd.nist.gov/vuln/detail/CVE-2021-23337' });
    expect(lodash.references).toEqual([{ id: 'GHSA-35jh-r3h4-6jhm', source: { name: 'GitHub Advisories', url: 'https://github.com/advisories/GHSA-35jh-r3h4-6jhm' } }]);
    expect(lodash.ratings).toEqual([
      { source: { name: 'nvd' }, score: 7.2, severity: 'high', method: 'CVSSv31', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' },
      { source: { name: 'GHSA-35jh-r3h4-6jhm' }, score: 8.6, severity: 'high', method: 'CVSSv4', vector: r.findings[3]!.cvss[1]!.vector },
      { source: { name: 'cvss:nvd' }, severity: 'high', method: 'other' },
    ]);
    expect(lodash.recommendation).toBe('upgrade lodash to 4.17.21 or later');
    expect(lodash.advisories.map((a: any) => a.url)).toEqual(r.findings[3]!.urls);
    expect(lodash.affects[0].versions).toEqual([{ version: '4.17.15', status: 'affected' }, { version: '4.17.21', status: 'unaffected' }]);
    expect(doc.metadata.properties).toContainEqual({ name: 'drydock:db:digest', value: r.db.digest });
  });

  it('a VEX-suppressed finding carries its analysis; ignore-rule suppressions appear only with showSuppressed', () => {
    const doc = JSON.parse(encodeScanReport(sampleScanResult(), 'cyclonedx-json'));
    expect(doc.vulnerabilities.map((v: any) => v.id)).toEqual(['CVE-2021-23337', 'CVE-2020-8203', 'CVE-2023-0286', 'CVE-2020-28500', 'CVE-2024-5535']);
    const vex = doc.vulnerabilities.find((v: any) => v.id === 'CVE-2020-28500');
    expect(vex.analysis).toEqual({ state: 'not_affected', justification: 'code_not_reachable', detail: 'vex vex/api.openvex.json: CVE-2020-28500 not_affected for pkg:npm/lodash@4.17.15' });
    const all = JSON.parse(encodeScanReport(sampleScanResult(), 'cyclonedx-json', { showSuppressed: true }));
    const ignored = all.vulnerabilities.find((v: any) => v.id === 'CVE-2022-0778');
    expect(ignored.analysis).toBeUndefined();
    expect(ignored.properties).toContainEqual({ name: 'drydock:suppressed:rule', value: 'id CVE-2022-0778 until 2026-12-31' });
  });

  it('the serial number names the content: not the clock, not the plain SBOM', () => {
    const a = JSON.parse(encodeScanReport(sampleScanResult(), 'cyclonedx-json'));
    const r = sampleScanResult();
    r.createdAt = '2031-02-03T04:05:06Z';
    const b = JSON.parse(encodeScanReport(r, 'cyclonedx-json'));
    expect(b.metadata.timestamp).toBe('2031-02-03T04:05:06Z');
    expect(a.serialNumber).toBe(b.serialNumber);
    r.findings.pop();
    expect(JSON.parse(encodeScanReport(r, 'cyclonedx-json')).serialNumber).not.toBe(a.serialNumber);
  });
});

describe('OpenVEX', () => {
  it('one statement per vulnerability and package, the image as product, packages as subcomponents', () => {
    const doc = JSON.parse(encodeScanReport(sampleScanResult(), 'openvex'));
    expect(doc['@context']).toBe('https://openvex.dev/ns/v0.2.0');
    expect(doc['@id']).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(doc.author).toBe('drydock');
    expect(doc.timestamp).toBe('2024-07-15T07:08:09Z');
    expect(doc.version).toBe(1);
    expect(doc.statements.map((s: any) => [s.vulnerability.name, s.status])).toEqual([
      ['CVE-2020-28500', 'not_affected'],
      ['CVE-2020-8203', 'affected'],
      ['CVE-2021-23337', 'affected'],
      ['CVE-2023-0286', 'affected'],
      ['CVE-2024-5535', 'affected'],
    ]);
    const [notAffected, , lodash, , unfixed] = doc.statements;
    expect(notAffected.justification).toBe('vulnerable_code_not_in_execute_path');
    expect(lodash.products).toEqual([
      {
        '@id': `pkg:oci/api@sha256:${'e'.repeat(64)}?arch=amd64&repository_url=registry.example%3A5000%2Fshop%2Fapi&tag=1.4`,
        subcomponents: [{ '@id': 'pkg:npm/lodash@4.17.15' }],
      },
    ]);
    expect(lodash.vulnerability.aliases).toEqual(['GHSA-35jh-r3h4-6jhm']);
    expect(lodash.action_statement).toBe('upgrade lodash to 4.17.21 or later');
    expect(unfixed.action_statement).toBe('no fix of CVE-2024-5535 is available for libssl1.1 yet');
  });

  it('not_affected without a known justification keeps an impact statement; the id ignores the timestamp', () => {
    const r = sampleScanResult();
    r.findings[4]!.suppressed!.justification = 'the service never parses user regexes';
    const doc = JSON.parse(encodeScanReport(r, 'openvex'));
    expect(doc.statements[0].justification).toBeUndefined();
    expect(doc.statements[0].impact_statement).toContain('the service never parses user regexes');
    const later = { ...r, createdAt: '2030-01-01T00:00:00Z' };
    expect(JSON.parse(encodeScanReport(later, 'openvex'))['@id']).toBe(doc['@id']);
  });
});

/** Parses XML with expat (Python's standard library) and returns testcases and failure attributes. */
function parseJunit(xml: string): { suites: any[] } {
  const script = `
import sys, json, xml.dom.minidom as m
d = m.parseString(sys.stdin.buffer.read())
out = []
for s in d.getElementsByTagName('testsuite'):
    cases = []
    for c in s.getElementsByTagName('testcase'):
        f = c.getElementsByTagName('failure')
        k = c.getElementsByTagName('skipped')
        cases.append({'name': c.getAttribute('name'), 'classname': c.getAttribute('classname'),
          'failure': {'message': f[0].getAttribute('message'), 'type': f[0].getAttribute('type'), 'body': ''.join(n.data for n in f[0].childNodes)} if f else None,
          'skipped': k[0].getAttribute('message') if k else None})
    out.append({'name': s.getAttribute('name'), 'tests': s.getAttribute('tests'), 'failures': s.getAttribute('failures'), 'skipped': s.getAttribute('skipped'), 'cases': cases})
print(json.dumps({'suites': out}))
`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script], { input: xml, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })) as { suites: any[] };
}

describe('JUnit', () => {
  it('one testsuite per target, one failing testcase per package x vulnerability, correct counts', () => {
    const xml = encodeScanReport(sampleScanResult(), 'junit');
    const { suites } = parseJunit(xml);
    expect(suites).toHaveLength(1);
    const s = suites[0];
    expect(s.name).toBe('registry.example:5000/shop/api:1.4');
    expect([s.tests, s.failures, s.skipped]).toEqual(['4', '4', '0']);
    expect(s.cases.map((c: any) => c.name)).toEqual([
      'CVE-2021-23337 in lodash 4.17.15',
      'CVE-2020-8203 in lodash 4.17.15',
      'CVE-2023-0286 in libssl1.1 1.1.1n-0+deb10u3',
      'CVE-2024-5535 in libssl1.1 1.1.1n-0+deb10u3',
    ]);
    expect(s.cases[0].failure.type).toBe('high');
    expect(s.cases[0].failure.body).toContain('Known exploited (CISA KEV) since 2024-01-10');
    const shown = parseJunit(encodeScanReport(sampleScanResult(), 'junit', { showSuppressed: true })).suites[0];
    expect([shown.tests, shown.failures, shown.skipped]).toEqual(['6', '4', '2']);
    expect(shown.cases[5].skipped).toBe('suppressed by ignore-file drydock-ignore.yaml: id CVE-2022-0778 until 2026-12-31 - accepted risk');
  });

  it('escapes hostile strings; characters XML cannot carry become U+FFFD', () => {
    const r = sampleScanResult();
    const hostile = `a<b>&"c"'d'\u0001e\u001b[31m\ttab\nline]]>`;
    r.inventory.source.name = `evil "image" <&>`;
    r.findings[0]!.package.version = hostile;
    r.findings[0]!.summary = `</failure><injected/>${hostile}`;
    const xml = encodeScanReport(r, 'junit');
    expect(xml).not.toMatch(/[\u0001\u001b]/);
    const s = parseJunit(xml).suites[0];
    expect(s.name).toBe('evil "image" <&>');
    const c = s.cases.find((x: any) => x.name.startsWith('CVE-2023-0286'));
    const cleaned = `a<b>&"c"'d'\ufffde\ufffd[31m\ttab\nline]]>`;
    expect(c.name).toBe(`CVE-2023-0286 in libssl1.1 ${cleaned}`);
    expect(c.failure.message).toContain(cleaned);
    expect(c.failure.body).toContain(`Summary: </failure><injected/>${cleaned}`);
  });

  it('the XML check can fail', () => {
    expect(() => parseJunit('<testsuites><testsuite></testsuites>')).toThrow();
  });
});

describe('encodeScanReport', () => {
  it('every format is deterministic and never reads the system clock', () => {
    for (const format of SCAN_FORMATS) {
      vi.useFakeTimers({ now: new Date('2001-01-01T00:00:00Z') });
      const a = encodeScanReport(sampleScanResult(), format, { showSuppressed: true });
      vi.setSystemTime(new Date('2039-12-31T23:59:59Z'));
      const b = encodeScanReport(sampleScanResult(), format, { showSuppressed: true });
      vi.useRealTimers();
      expect(b, format).toBe(a);
      expect(a, format).not.toContain('2001-01-01');
    }
  });

  it('an empty result encodes in every format', () => {
    const r = { ...sampleScanResult(), findings: [], issues: [] };
    for (const format of SCAN_FORMATS) expect(encodeScanReport(r, format).length).toBeGreaterThan(0);
    expect(validateSarif(JSON.parse(encodeScanReport(r, 'sarif'))).valid).toBe(true);
    expect(cyclonedxValidator('1.6')(JSON.parse(encodeScanReport(r, 'cyclonedx-json'))).valid).toBe(true);
  });

  it('refuses an unknown format with FORMAT_UNSUPPORTED', () => {
    let err: unknown;
    try {
      encodeScanReport(sampleScanResult(), 'html' as ScanFormat);
    } catch (e) {
      err = e;
    }
    expect(isDrydockError(err, 'FORMAT_UNSUPPORTED')).toBe(true);
  });
});

describe('helpers', () => {
  it('CVSS bands (CVSS v3.1 specification table 14)', () => {
    expect([0, 0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10].map(cvssBand)).toEqual(['none', 'low', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'critical']);
  });

  it('security-severity falls back to the severity when there is no CVSS', () => {
    const f = sampleScanResult().findings[2]!;
    expect(securitySeverity({ ...f, severity: 'critical' })).toBe('9.5');
    expect(securitySeverity({ ...f, severity: 'high' })).toBe('8.0');
    expect(securitySeverity({ ...f, severity: 'medium' })).toBe('5.5');
    expect(securitySeverity({ ...f, severity: 'low' })).toBe('2.0');
    expect(securitySeverity({ ...f, severity: 'unknown' })).toBeUndefined();
  });

  it('VEX statuses in any vocabulary', () => {
    expect(['not_affected', 'false_positive', 'resolved', 'in_triage', 'exploitable', 'known_affected', 'bogus'].map(vexStatus)).toEqual([
      'not_affected',
      'not_affected',
      'fixed',
      'under_investigation',
      'affected',
      'affected',
      undefined,
    ]);
  });
});
