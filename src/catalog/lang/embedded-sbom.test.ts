import { describe, expect, it } from 'vitest';
import { runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { embeddedSbomCataloger } from './embedded-sbom.js';

const pj = (o: unknown) => JSON.stringify(o);

const CDX = {
  bomFormat: 'CycloneDX',
  specVersion: '1.5',
  metadata: { component: { name: 'app', version: '1.0.0', type: 'application' } },
  components: [
    { 'bom-ref': 'a', type: 'library', name: 'lodash', version: '4.17.21', purl: 'pkg:npm/lodash@4.17.21', licenses: [{ license: { id: 'MIT' } }] },
    {
      'bom-ref': 'b',
      type: 'library',
      group: '@angular',
      name: 'core',
      version: '17.0.0',
      purl: 'pkg:npm/%40angular/core@17.0.0',
      licenses: [{ expression: 'MIT OR Apache-2.0' }],
      components: [{ 'bom-ref': 'c', name: 'tslib', version: '2.6.2', purl: 'pkg:npm/tslib@2.6.2' }],
    },
    { 'bom-ref': 'd', type: 'file', name: 'README' },
    { 'bom-ref': 'e', type: 'library', name: 'vendored-thing', version: '0.9', cpe: 'cpe:2.3:a:v:thing:0.9:*:*:*:*:*:*:*' },
  ],
  dependencies: [{ ref: 'b', dependsOn: ['c', 'missing'] }, { ref: 'a', dependsOn: [] }],
};

const SPDX = {
  spdxVersion: 'SPDX-2.3',
  SPDXID: 'SPDXRef-DOCUMENT',
  name: 'img',
  packages: [
    { SPDXID: 'SPDXRef-root', name: 'img', downloadLocation: 'NOASSERTION' },
    {
      SPDXID: 'SPDXRef-p1',
      name: 'requests',
      versionInfo: '2.31.0',
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'Apache-2.0',
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:pypi/requests@2.31.0' }],
    },
    { SPDXID: 'SPDXRef-p2', name: 'urllib3', versionInfo: '2.0.7', externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: 'pkg:pypi/urllib3@2.0.7' }] },
  ],
  relationships: [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: 'SPDXRef-root' },
    { spdxElementId: 'SPDXRef-p2', relationshipType: 'DEPENDENCY_OF', relatedSpdxElement: 'SPDXRef-p1' },
  ],
};

describe('embedded SBOMs', () => {
  it('reads CycloneDX and SPDX documents with provenance, licenses and edges', async () => {
    const img = await buildImage({
      layers: [
        [
          { path: '/app/app.cdx.json', content: pj(CDX) },
          { path: '/usr/share/sbom/python.spdx.json', content: pj(SPDX) },
          { path: '/srv/sbom.json', content: pj({ not: 'an sbom' }) },
          { path: '/srv/broken.spdx.json', content: '{"spdxVersion":' },
          { path: '/srv/other.cdx.json', content: pj({ hello: 1 }) },
        ],
      ],
    });
    const r = await runCatalogerOnImage(embeddedSbomCataloger, img);
    const got = r.packages.map((p) => `${p.type}:${p.namespace ? `${p.namespace}/` : ''}${p.name}@${p.version}`).sort();
    expect(got).toEqual(['generic:vendored-thing@0.9', 'npm:angular/core@17.0.0', 'npm:lodash@4.17.21', 'npm:tslib@2.6.2', 'pypi:requests@2.31.0', 'pypi:urllib3@2.0.7']);
    const core = r.packages.find((p) => p.name === 'core')!;
    expect(core).toMatchObject({
      purl: 'pkg:npm/%40angular/core@17.0.0',
      licenses: ['MIT OR Apache-2.0'],
      evidence: ['/app/app.cdx.json'],
      foundBy: 'embedded-sbom',
      metadata: { kind: 'generic', format: 'cyclonedx-json', specVersion: '1.5', sbomPath: '/app/app.cdx.json' },
    });
    expect(core.locations[0]).toMatchObject({ path: '/app/app.cdx.json', role: 'evidence', layer: 0 });
    expect(r.packages.find((p) => p.name === 'vendored-thing')!.cpes).toEqual(['cpe:2.3:a:v:thing:0.9:*:*:*:*:*:*:*']);
    const req = r.packages.find((p) => p.name === 'requests')!;
    expect(req).toMatchObject({ licenses: ['Apache-2.0'], metadata: { format: 'spdx-json', specVersion: 'SPDX-2.3' } });
    const n = (id: string) => r.packages.find((p) => p.id === id)!.name;
    expect(r.relationships.map((e) => `${n(e.from)}>${n(e.to)}`).sort()).toEqual(['core>tslib', 'requests>urllib3']);
    expect(r.issues.map((i) => i.path).sort()).toEqual(['/srv/broken.spdx.json', '/srv/other.cdx.json']);
  });
});
