import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DrydockError } from '../../core/errors.js';
import { IssueLog } from '../../core/issues.js';
import type { Finding } from '../../model/vuln.js';
import { applySuppressions, type ImageContext } from './index.js';
import { parseIgnoreFile } from './ignore.js';
import { makeFinding } from './testing.js';
import { loadVex, parseVex, type VexDocument } from './vex.js';

const TD = join(import.meta.dirname, 'testdata');
const DIGEST = 'sha256:4bcff63911fcb4448bd4fdacec207030997caf25e9bea4045fa6c8c44de311d1';
const IMAGE: ImageContext = { digest: DIGEST, reference: 'ghcr.io/example/app:1.4.2' };
const NOW = new Date('2025-01-01T00:00:00Z');

const xnet = (version = 'v0.15.0', id = 'CVE-2023-44487', aliases = ['GHSA-qppj-fm5r-hxr3']) =>
  makeFinding(id, { type: 'golang', name: 'golang.org/x/net', version, purl: `pkg:golang/golang.org/x/net@${version}`, locations: [{ path: '/app/server', layer: 1 }] }, { aliases });
const lodash = (version = '4.17.20') =>
  makeFinding('GHSA-35jh-r3h4-6jhm', { name: 'lodash', version, purl: `pkg:npm/lodash@${version}` }, { aliases: ['CVE-2021-23337'] });
const openssl = (version: string) =>
  makeFinding('CVE-2023-5363', { type: 'deb', namespace: 'debian', name: 'openssl', version, purl: `pkg:deb/debian/openssl@${version}?arch=amd64&distro=debian-12` });
const xz = () => makeFinding('CVE-2024-3094', { type: 'deb', namespace: 'debian', name: 'xz-utils', version: '5.6.0-0.2', purl: 'pkg:deb/debian/xz-utils@5.6.0-0.2' });
const setuptools = (version = '65.5.0') => makeFinding('CVE-2022-40897', { type: 'pypi', name: 'setuptools', version, purl: `pkg:pypi/setuptools@${version}` });

function apply(docs: VexDocument[], findings: Finding[], image: ImageContext | null = IMAGE): Finding[] {
  return applySuppressions(findings, { vex: docs, now: NOW, ...(image ? { image } : {}) });
}

describe('OpenVEX v0.2.0', () => {
  const file = join(TD, 'openvex-v0.2.0.json');
  const doc = loadVex(file);

  it('normalises statements', () => {
    expect(doc).toMatchObject({ format: 'openvex', id: 'https://example.com/vex/app-2024-001', timestamp: '2024-01-10T09:00:00Z' });
    expect(doc.statements).toHaveLength(5);
    const s = doc.statements[0]!;
    expect(s).toMatchObject({
      vulnerability: 'CVE-2023-44487',
      ids: ['CVE-2023-44487', 'GHSA-QPPJ-FM5R-HXR3', 'GO-2023-2102'],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      impactStatement: 'the service never enables the HTTP/2 server',
      timestamp: '2024-01-10T09:00:00Z',
    });
    expect(s.products[0]!.product.purl).toMatchObject({ type: 'oci', name: 'app', version: DIGEST });
    expect(s.products[0]!.subcomponents[0]!.purl).toMatchObject({ type: 'golang', namespace: 'golang.org/x', name: 'net', version: 'v0.15.0' });
    expect(doc.statements[4]!.products[0]!.product.digests).toEqual([DIGEST]);
  });

  it('suppresses not_affected for a subcomponent of the image, with its justification', () => {
    const out = apply([doc], [xnet(), xnet('v0.16.0'), xnet('v0.15.0', 'GO-2023-2102', ['CVE-2023-44487'])]);
    expect(out[0]!.suppressed).toEqual({
      kind: 'vex',
      file,
      rule: `openvex statement: CVE-2023-44487 not_affected for pkg:golang/golang.org/x/net@v0.15.0 in pkg:oci/app@${DIGEST.replace(':', '%3A')}?repository_url=ghcr.io/example/app (2024-01-10T09:00:00Z)`,
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      reason: 'the service never enables the HTTP/2 server',
    });
    expect(out[1]!.suppressed).toBeUndefined(); // another version of the subcomponent
    expect(out[2]!.suppressed?.status).toBe('not_affected'); // matched through an alias
  });

  it('does not apply image statements to another image or without an image', () => {
    expect(apply([doc], [xnet()], { digest: 'sha256:' + '0'.repeat(64) })[0]!.suppressed).toBeUndefined();
    expect(apply([doc], [xnet()], null)[0]!.suppressed).toBeUndefined();
    // the image purl alone identifies it too
    expect(apply([doc], [xnet()], { purl: `pkg:oci/app@${DIGEST.replace(':', '%3A')}` })[0]!.suppressed).toBeDefined();
  });

  it('lets the latest statement win: fixed (2024-02-01, any lodash) over affected (2024-01-10, 4.17.20)', () => {
    const out = apply([doc], [lodash('4.17.20')]);
    expect(out[0]!.suppressed).toMatchObject({ status: 'fixed', rule: 'openvex statement: CVE-2021-23337 fixed for pkg:npm/lodash (2024-02-01T00:00:00Z)' });
    const later = parseVex(
      JSON.stringify({
        '@context': 'https://openvex.dev/ns/v0.2.0',
        timestamp: '2024-03-01T00:00:00Z',
        statements: [{ vulnerability: { name: 'CVE-2021-23337' }, products: [{ '@id': 'pkg:npm/lodash@4.17.20' }], status: 'affected' }],
      }),
      'later.json',
    );
    expect(apply([doc, later], [lodash('4.17.20')])[0]!.suppressed).toBeUndefined();
    expect(apply([later, doc], [lodash('4.17.20')])[0]!.suppressed).toBeUndefined();
  });

  it('matches an image reference product with no subcomponents to every package, tag included', () => {
    expect(apply([doc], [xz()])[0]!.suppressed).toMatchObject({ status: 'not_affected', justification: 'component_not_present' });
    expect(apply([doc], [xz()], { reference: 'ghcr.io/example/app:1.5.0' })[0]!.suppressed).toBeUndefined();
    expect(apply([doc], [xz()], { reference: 'ghcr.io/example/other:1.4.2' })[0]!.suppressed).toBeUndefined();
  });

  it('keeps under_investigation findings unsuppressed', () => {
    expect(apply([doc], [openssl('3.0.11-1~deb12u1')])[0]!.suppressed).toBeUndefined();
  });
});

describe('OpenVEX 0.0.x', () => {
  const doc = loadVex(join(TD, 'openvex-v0.0.2.json'));

  it('reads string vulnerabilities, string products and statement-level subcomponents', () => {
    expect(doc.statements[0]).toMatchObject({ vulnerability: 'CVE-2022-40897', ids: ['CVE-2022-40897'], timestamp: '2023-06-01T12:00:00Z' });
    expect(doc.statements[0]!.products[0]!.subcomponents.map((s) => s.id)).toEqual(['pkg:pypi/setuptools@65.5.0']);
    // a product purl without a version names the repository: any tag or digest of it
    const out = apply([doc], [setuptools(), setuptools('65.5.1')], { reference: 'ghcr.io/example/app:2.0.0' });
    expect(out[0]!.suppressed).toMatchObject({ status: 'not_affected', justification: 'vulnerable_code_cannot_be_controlled_by_adversary' });
    expect(out[1]!.suppressed).toBeUndefined();
    expect(apply([doc], [setuptools()], { reference: 'docker.io/example/app:2.0.0' })[0]!.suppressed).toBeUndefined();
  });
});

describe('CycloneDX VEX', () => {
  const file = join(TD, 'cyclonedx-vex.json');
  const doc = loadVex(file);

  it('keeps vulnerabilities with an analysis state and resolves affects refs to purls', () => {
    expect(doc).toMatchObject({ format: 'cyclonedx', id: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79' });
    expect(doc.statements.map((s) => [s.vulnerability, s.status, s.products[0]!.product.purl?.text])).toEqual([
      ['CVE-2021-23337', 'not_affected', 'pkg:npm/lodash@4.17.20'],
      ['CVE-2023-44487', 'fixed', 'pkg:golang/golang.org/x/net@v0.15.0'],
      ['CVE-2024-3094', 'not_affected', 'pkg:oci/app?repository_url=ghcr.io/example/app'],
      ['CVE-2023-5363', 'affected', 'pkg:deb/debian/openssl'],
    ]);
    expect(doc.statements[0]!.ids).toEqual(['CVE-2021-23337', 'GHSA-35JH-R3H4-6JHM']);
    expect(doc.statements[1]!.timestamp).toBe('2024-03-01T10:00:00Z'); // from metadata.timestamp
  });

  it('suppresses by analysis state', () => {
    const out = apply([doc], [lodash('4.17.20'), lodash('4.17.19'), xnet(), xz(), openssl('3.0.9-1')]);
    expect(out[0]!.suppressed).toEqual({
      kind: 'vex',
      file,
      rule: 'cyclonedx statement: CVE-2021-23337 not_affected for lodash-4.17.20 (2024-03-01T10:00:00Z)',
      status: 'not_affected',
      justification: 'code_not_reachable',
      reason: 'template() is not used',
    });
    expect(out[1]!.suppressed).toBeUndefined();
    expect(out[2]!.suppressed).toMatchObject({ status: 'fixed', reason: 'update' });
    expect(out[3]!.suppressed).toMatchObject({ status: 'not_affected', justification: 'false_positive' });
    expect(out[4]!.suppressed).toBeUndefined(); // exploitable
  });
});

describe('CSAF 2.0 VEX', () => {
  const file = join(TD, 'csaf-vex.json');
  const doc = loadVex(file);

  it('reads products from branches, full product names and relationships, with flags and threats', () => {
    expect(doc).toMatchObject({ format: 'csaf', id: 'EXAMPLE-VEX-2024-0007', timestamp: '2024-01-20T00:00:00Z' });
    const s = doc.statements[0]!;
    expect(s).toMatchObject({
      vulnerability: 'CVE-2023-44487',
      ids: ['CVE-2023-44487', 'GHSA-QPPJ-FM5R-HXR3'],
      status: 'not_affected',
      justification: 'vulnerable_code_not_in_execute_path',
      impactStatement: 'HTTP/2 is disabled in the server configuration',
      timestamp: '2024-01-18T00:00:00Z',
    });
    expect(s.products[0]!.product.purl?.text).toBe('pkg:oci/app?repository_url=ghcr.io/example/app&tag=1.4.2');
    expect(s.products[0]!.subcomponents[0]!.purl?.text).toBe('pkg:golang/golang.org/x/net@v0.15.0');
    expect(doc.statements.map((x) => x.status)).toEqual(['not_affected', 'fixed', 'affected']);
    expect(doc.statements[1]!.actionStatement).toBe('rebuilt on debian 12.2');
  });

  it('suppresses known_not_affected and fixed, not known_affected', () => {
    const out = apply([doc], [xnet(), openssl('3.0.11-1~deb12u1'), openssl('3.0.9-1'), lodash()]);
    expect(out[0]!.suppressed).toMatchObject({ kind: 'vex', file, status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' });
    expect(out[1]!.suppressed).toMatchObject({ status: 'fixed', reason: 'rebuilt on debian 12.2' });
    expect(out[2]!.suppressed).toBeUndefined();
    expect(out[3]!.suppressed).toBeUndefined();
    // the tag qualifier of the product must match the image
    expect(apply([doc], [xnet()], { reference: 'ghcr.io/example/app:1.5.0' })[0]!.suppressed).toBeUndefined();
  });
});

describe('malformed VEX documents', () => {
  const bad = join(TD, 'bad');
  it.each(readdirSync(bad).filter((n) => n.endsWith('.json')))('%s → VEX_INVALID naming the file', (name) => {
    const path = join(bad, name);
    let err: unknown;
    try {
      loadVex(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DrydockError);
    expect((err as DrydockError).code).toBe('VEX_INVALID');
    expect((err as DrydockError).message).toContain(path);
  });

  it('names the JSON path of the bad value', () => {
    expect(() => loadVex(join(bad, 'openvex-bad-status.json'))).toThrow(/statements\[0\]\.status: unknown status "not_sure"/);
    expect(() => loadVex(join(bad, 'cyclonedx-no-ref.json'))).toThrow(/vulnerabilities\[0\]\.affects\[0\]\.ref: missing/);
    expect(() => loadVex(join(bad, 'csaf-no-product-id.json'))).toThrow(/product_tree\.full_product_names\[0\]\.product_id: missing/);
  });
});

describe('applySuppressions', () => {
  const ignore = parseIgnoreFile('CVE-2021-23337 # accepted\n', '.trivyignore');
  const vex = loadVex(join(TD, 'cyclonedx-vex.json'));

  it('prefers an ignore rule to a VEX statement, and never drops or mutates findings', () => {
    const input = [lodash(), xnet(), openssl('3.0.9-1')];
    const snapshot = JSON.stringify(input);
    const out = applySuppressions(input, { ignore: [ignore], vex: [vex], image: IMAGE, now: NOW, issues: new IssueLog() });
    expect(out).toHaveLength(3);
    expect(out.map((f) => f.suppressed?.kind)).toEqual(['trivyignore', 'vex', undefined]);
    expect(JSON.stringify(input)).toBe(snapshot);
    expect(out[2]).toBe(input[2]);
  });

  it('clears a suppression left from an earlier run that no longer applies', () => {
    const stale = { ...openssl('3.0.9-1'), suppressed: { kind: 'ignore-file' as const, file: 'old.yaml', rule: 'id CVE-2023-5363 (line 1)' } };
    const out = applySuppressions([stale], { now: NOW });
    expect(out[0]).not.toHaveProperty('suppressed');
  });

  it('applies 5,000 VEX statements and 2,000 ignore rules to 20,000 findings', () => {
    const statements = Array.from({ length: 5000 }, (_, i) => ({
      vulnerability: { name: `CVE-2024-${10000 + i}` },
      products: [{ '@id': `pkg:npm/pkg${i}@1.0.0` }],
      status: 'not_affected',
      justification: 'component_not_present',
    }));
    const big = parseVex(JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', statements }), 'big.json');
    const rules = parseIgnoreFile(Array.from({ length: 2000 }, (_, i) => `CVE-2023-${10000 + i}`).join('\n'), '.trivyignore');
    const findings = Array.from({ length: 20000 }, (_, i) =>
      makeFinding(`CVE-2024-${10000 + (i % 10000)}`, { name: `pkg${i % 10000}`, version: '1.0.0', purl: `pkg:npm/pkg${i % 10000}@1.0.0` }),
    );
    const out = applySuppressions(findings, { ignore: [rules], vex: [big], now: NOW });
    expect(out.filter((f) => f.suppressed).length).toBe(10000);
  });
});
