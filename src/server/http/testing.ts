/** Test fixtures of the server: a small real vulnerability database and SBOM documents. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importFeeds } from '../../vulndb/index.js';

export const OSV_RECORDS = [
  {
    id: 'GHSA-35jh-r3h4-6jhm', modified: '2024-02-01T00:00:00Z', aliases: ['CVE-2021-23337'],
    summary: 'Command Injection in lodash',
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }] }],
  },
  {
    id: 'GHSA-p6mc-m468-83gw', modified: '2024-02-01T00:00:00Z', aliases: ['CVE-2020-8203'],
    summary: 'Prototype Pollution in lodash',
    affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '3.7.0' }, { fixed: '4.17.19' }] }] }],
  },
  {
    id: 'GHSA-93q8-gq69-wqmw', modified: '2024-02-01T00:00:00Z', aliases: ['CVE-2021-3807'],
    summary: 'Inefficient Regular Expression Complexity in ansi-regex',
    affected: [{ package: { ecosystem: 'npm', name: 'ansi-regex' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '4.0.0' }, { fixed: '4.1.1' }] }] }],
  },
];

/** Imports OSV_RECORDS (plus `extra`) into a new database at dir/vuln.db. */
export async function makeVulnDb(dir: string, extra: object[] = []): Promise<string> {
  const feeds = join(dir, 'feeds');
  mkdirSync(feeds, { recursive: true });
  for (const r of [...OSV_RECORDS, ...extra]) writeFileSync(join(feeds, `${(r as { id: string }).id}.json`), JSON.stringify(r));
  const db = join(dir, 'vuln.db');
  await importFeeds(db, [{ path: feeds }]);
  return db;
}

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;

/** A CycloneDX 1.5 JSON SBOM of npm packages. */
export function cyclonedx(packages: [name: string, version: string][], name = 'registry.example.com/team/app'): Record<string, unknown> {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    version: 1,
    metadata: { component: { type: 'container', name, 'bom-ref': 'image' } },
    components: packages.map(([n, v]) => ({ type: 'library', 'bom-ref': `pkg:npm/${n}@${v}`, name: n, version: v, purl: `pkg:npm/${n}@${v}` })),
  };
}

/** An SPDX 2.3 JSON SBOM of npm packages. */
export function spdx(packages: [name: string, version: string][]): Record<string, unknown> {
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: 'app',
    documentNamespace: 'https://example.com/spdx/app',
    creationInfo: { created: '2025-01-01T00:00:00Z', creators: ['Tool: test'] },
    packages: packages.map(([n, v], i) => ({
      SPDXID: `SPDXRef-Package-${i}`,
      name: n,
      versionInfo: v,
      downloadLocation: 'NOASSERTION',
      externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: `pkg:npm/${n}@${v}` }],
    })),
  };
}
