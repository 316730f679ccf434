/**
 * The SBOM encoders on a hand-built inventory: byte-compared goldens (refresh on purpose with
 * UPDATE_GOLDEN=1), validation against the official CycloneDX 1.4/1.5/1.6 and SPDX 2.3 schemas,
 * and reproducibility (content-derived serial numbers and namespaces, the injected clock).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../core/clock.js';
import { clockFromEnv } from '../core/clock.js';
import type { Inventory } from '../model/index.js';
import { encodeCycloneDx, encodeNativeJson, encodeSbom, encodeSpdx, encodeTable, spdxId, writesFileLists, type SbomFormat } from './index.js';
import { L0, L1, sampleInventory } from './testdata/sample-inventory.js';
import { cyclonedxValidator, spdxValidator } from './testdata/schemas.js';
import { cycloneDxDocument } from './cyclonedx.js';

const TESTDATA = join(import.meta.dirname, 'testdata');
const clock: Clock = { now: () => new Date('2024-05-06T07:08:09.123Z') };

export { sampleInventory };

function golden(name: string, actual: string): void {
  const file = join(TESTDATA, name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, actual);
  if (!existsSync(file)) throw new Error(`golden ${name} is missing; run with UPDATE_GOLDEN=1`);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('CycloneDX', () => {
  for (const version of ['1.6', '1.5', '1.4'] as const) {
    it(`${version}: matches the golden file and the official schema`, () => {
      const out = encodeCycloneDx(sampleInventory(), { version, clock });
      golden(`inventory.cyclonedx-${version}.json`, out);
      const r = cyclonedxValidator(version)(JSON.parse(out));
      expect(r.valid, r.errors).toBe(true);
    });
  }

  it('an empty inventory is valid too, and every component appears in dependencies', () => {
    const inv = { ...sampleInventory(), packages: [], relationships: [], issues: [], distro: undefined };
    const doc = JSON.parse(encodeCycloneDx(inv, { clock }));
    expect(cyclonedxValidator('1.6')(doc).valid).toBe(true);
    expect(doc.dependencies).toEqual([{ ref: 'drydock:image', dependsOn: [] }]);
  });

  it('licenses: ids, names, and one expression', () => {
    const doc = JSON.parse(encodeCycloneDx(sampleInventory(), { clock }));
    const byName = new Map<string, any>(doc.components.map((c: any) => [c.name, c]));
    expect(byName.get('bash').licenses).toEqual([{ license: { id: 'GPL-3.0-or-later' } }]);
    expect(byName.get('libtinfo6').licenses).toEqual([{ license: { id: 'X11' } }, { license: { name: 'some custom licence text' } }]);
    expect(byName.get('node').licenses).toEqual([{ expression: '(MIT OR Apache-2.0)' }]);
    expect(byName.get('node').group).toBe('@types');
  });

  it('layer attribution, locations and cataloger are properties; the image depends on top-level packages', () => {
    const inv = sampleInventory();
    const doc = JSON.parse(encodeCycloneDx(inv, { clock }));
    const express = doc.components.find((c: any) => c.name === 'express');
    const props = Object.fromEntries(express.properties.map((p: any) => [p.name, p.value]));
    expect(props['drydock:layer:digest']).toBe(L1.digest);
    expect(props['drydock:layer:diffId']).toBe(L1.diffId);
    expect(props['drydock:layer:createdBy']).toBe(L1.createdBy);
    expect(props['drydock:location:path']).toBe('/app/node_modules/express/package.json');
    expect(props['drydock:foundBy']).toBe('npm-installed');
    const image = doc.dependencies.find((d: any) => d.ref === 'drydock:image');
    const ids = new Map<string, string>(inv.packages.map((p) => [p.name, p.id]));
    expect(image.dependsOn).toContain(ids.get('bash'));
    expect(image.dependsOn).toContain(ids.get('express'));
    expect(image.dependsOn).not.toContain(ids.get('libtinfo6'));
    expect(image.dependsOn).not.toContain(ids.get('node'));
    expect(doc.dependencies.map((d: any) => d.ref).sort()).toEqual(['drydock:image', 'drydock:os', ...inv.packages.map((p) => p.id)].sort());
    expect(doc.metadata.component.purl).toBe(`pkg:oci/app@sha256:${'e'.repeat(64)}?arch=amd64&repository_url=registry.example%3A5000%2Fcorpus%2Fapp&tag=latest`);
    expect(doc.metadata.properties.some((p: any) => p.name === 'drydock:issue:warning' && p.value.startsWith('ARCHIVE_CORRUPT'))).toBe(true);
  });

  it('the serial number is derived from the content, not the clock', () => {
    const a = JSON.parse(encodeCycloneDx(sampleInventory(), { clock }));
    const b = JSON.parse(encodeCycloneDx(sampleInventory(), { clock: { now: () => new Date(0) } }));
    expect(a.serialNumber).toBe(b.serialNumber);
    expect(a.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const inv = sampleInventory();
    inv.packages[0]!.version = '9.9';
    expect(JSON.parse(encodeCycloneDx(inv, { clock })).serialNumber).not.toBe(a.serialNumber);
    // the document object (attestations, the server) carries the serial of the text, and the text is
    // exactly that object serialised
    const text = encodeCycloneDx(sampleInventory(), { clock });
    const obj = cycloneDxDocument(sampleInventory(), { clock });
    expect(obj.serialNumber).toBe(a.serialNumber);
    expect(JSON.stringify(obj, null, 2) + '\n').toBe(text);
  });

  it('SOURCE_DATE_EPOCH sets the timestamp', () => {
    const doc = JSON.parse(encodeCycloneDx(sampleInventory(), { clock: clockFromEnv({ SOURCE_DATE_EPOCH: '1700000000' }) }));
    expect(doc.metadata.timestamp).toBe('2023-11-14T22:13:20Z');
  });
});

describe('SPDX 2.3', () => {
  it('matches the golden file and the official schema', () => {
    const out = encodeSpdx(sampleInventory(), { clock });
    golden('inventory.spdx.json', out);
    const r = spdxValidator()(JSON.parse(out));
    expect(r.valid, r.errors).toBe(true);
  });

  it('ids, namespace, relationships, licenses and refs', () => {
    const inv = sampleInventory();
    const doc = JSON.parse(encodeSpdx(inv, { clock }));
    for (const p of doc.packages) expect(p.SPDXID).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
    expect(doc.creationInfo.created).toBe('2024-05-06T07:08:09Z');
    expect(doc.creationInfo.creators).toEqual(['Tool: drydock-0.1.0']);
    expect(doc.documentNamespace).toBe(JSON.parse(encodeSpdx(inv, { clock: { now: () => new Date(0) } })).documentNamespace);
    const rel = (t: string) => doc.relationships.filter((r: any) => r.relationshipType === t);
    expect(rel('DESCRIBES')).toEqual([{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-DocumentRoot-Image' }]);
    expect(rel('CONTAINS')).toHaveLength(inv.packages.length + 1);
    expect(rel('DEPENDS_ON')).toHaveLength(1);
    expect(rel('DEV_DEPENDENCY_OF')).toHaveLength(1);
    const tinfo = doc.packages.find((p: any) => p.name === 'libtinfo6');
    expect(tinfo.licenseDeclared).toBe('X11 AND LicenseRef-some-custom-licence-text');
    expect(doc.hasExtractedLicensingInfos).toEqual([{ licenseId: 'LicenseRef-some-custom-licence-text', extractedText: 'some custom licence text', name: 'some custom licence text' }]);
    const bash = doc.packages.find((p: any) => p.name === 'bash');
    expect(bash.externalRefs).toContainEqual({ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: inv.packages.find((p) => p.name === 'bash')!.purl });
    expect(bash.externalRefs.filter((r: any) => r.referenceType === 'cpe23Type')).toHaveLength(2);
    expect(bash.sourceInfo).toContain(L0.digest);
    expect(bash.sourceInfo).toContain('/var/lib/dpkg/status');
    expect(spdxId('a b/c@d')).toBe('SPDXRef-a-b-c-d');
  });
});

describe('native', () => {
  it('json and table match their golden files', () => {
    golden('inventory.json', encodeNativeJson(sampleInventory()));
    golden('inventory.table.txt', encodeTable(sampleInventory()));
  });

  it('json field order does not depend on construction order', () => {
    const inv = sampleInventory();
    const shuffled = JSON.parse(JSON.stringify(inv), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ) as Inventory;
    expect(encodeNativeJson(shuffled)).toBe(encodeNativeJson(inv));
  });
});

describe('file lists', () => {
  it('only the formats that say so write them: every other one encodes the same without them', () => {
    const inv = sampleInventory();
    expect(inv.packages.some((p) => p.metadata && 'files' in p.metadata)).toBe(true);
    const without: Inventory = {
      ...inv,
      packages: inv.packages.map((p) => {
        if (!p.metadata || !('files' in p.metadata)) return p;
        const { files: _f, ...metadata } = p.metadata;
        return { ...p, metadata };
      }),
    };
    const clock: Clock = { now: () => new Date('2024-01-02T03:04:05Z') };
    for (const format of ['cyclonedx-json', 'spdx-json', 'json', 'table'] as SbomFormat[]) {
      const same = encodeSbom(inv, format, { clock }) === encodeSbom(without, format, { clock });
      expect(same, format).toBe(!writesFileLists(format));
    }
  });
});

describe('derived ids', () => {
  // The serial number and the SPDX namespace hash the document's JSON as built: that names the
  // content only while the encoders control every key order, whatever order the inventory has
  // (a cached inventory comes back from JSON; a decoded SBOM is built by other code).
  it('the documents do not depend on the order the inventory was built in', () => {
    const inv = sampleInventory();
    const shuffled = JSON.parse(JSON.stringify(inv), (_k, v) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ) as Inventory;
    for (const version of ['1.4', '1.5', '1.6'] as const) expect(encodeCycloneDx(shuffled, { clock, version })).toBe(encodeCycloneDx(inv, { clock, version }));
    expect(encodeSpdx(shuffled, { clock })).toBe(encodeSpdx(inv, { clock }));
  });
});
