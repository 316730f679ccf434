/**
 * The hand-built ScanResult behind the scan report tests (src/report/scan-report.test.ts): two
 * packages in two layers, six findings (CVSS 3.1 and 4.0, EPSS, KEV, a vendor severity that
 * disagrees with CVSS), one suppressed by a VEX statement and one by an ignore rule.
 */
import { packageId, type Finding, type FindingPackage, type Inventory, type Package, type ScanResult } from '../../model/index.js';

export const L0 = { index: 0, digest: `sha256:${'a'.repeat(64)}`, diffId: `sha256:${'b'.repeat(64)}`, createdBy: '/bin/sh -c #(nop) ADD file:0123456789abcdef in / ' };
export const L1 = {
  index: 1,
  digest: `sha256:${'c'.repeat(64)}`,
  diffId: `sha256:${'d'.repeat(64)}`,
  createdBy: 'RUN /bin/sh -c npm ci --omit=dev && npm cache clean --force # buildkit',
};

function pkg(p: Omit<Package, 'id'>): Package {
  return { ...p, id: packageId(p) };
}

export function sampleScanInventory(): Inventory {
  const libssl = pkg({
    type: 'deb',
    namespace: 'debian',
    name: 'libssl1.1',
    version: '1.1.1n-0+deb10u3',
    purl: 'pkg:deb/debian/libssl1.1@1.1.1n-0%2Bdeb10u3?arch=amd64&distro=debian-10&upstream=openssl',
    licenses: ['OpenSSL'],
    locations: [{ path: '/var/lib/dpkg/status', layer: 0, layerDigest: L0.digest, diffId: L0.diffId, role: 'database' }],
    introducedBy: L0,
    foundBy: 'dpkg',
    metadata: { kind: 'dpkg', source: 'openssl', sourceVersion: '1.1.1n-0+deb10u3', architecture: 'amd64' },
  });
  const lodash = pkg({
    type: 'npm',
    name: 'lodash',
    version: '4.17.15',
    purl: 'pkg:npm/lodash@4.17.15',
    licenses: ['MIT'],
    locations: [{ path: '/app/node_modules/lodash/package.json', layer: 1, layerDigest: L1.digest, diffId: L1.diffId, role: 'manifest' }],
    foundBy: 'npm-installed',
  });
  return {
    source: {
      target: 'registry.example:5000/shop/api:1.4',
      kind: 'registry',
      name: 'registry.example:5000/shop/api:1.4',
      digest: `sha256:${'e'.repeat(64)}`,
      configDigest: `sha256:${'f'.repeat(64)}`,
      platform: 'linux/amd64',
      layers: [L0, L1],
    },
    distro: { id: 'debian', versionId: '10', versionCodename: 'buster', idLike: [], prettyName: 'Debian GNU/Linux 10 (buster)', source: '/etc/os-release' },
    packages: [libssl, lodash],
    relationships: [],
    issues: [],
    descriptor: { name: 'drydock', version: '0.1.0', options: { scope: 'squashed' } },
  };
}

function findingPackage(p: Package): FindingPackage {
  const { id, type, namespace, name, version, purl, locations, introducedBy } = p;
  return { id, type, ...(namespace ? { namespace } : {}), name, version, ...(purl ? { purl } : {}), locations, ...(introducedBy ? { introducedBy } : {}) };
}

const DEB_MATCH = { matcher: 'deb', ecosystem: 'Debian:10', searchedName: 'openssl', searchedVersion: '1.1.1n-0+deb10u3', scheme: 'deb', sources: ['osv:Debian'] };
const NPM_MATCH = { matcher: 'language', ecosystem: 'npm', searchedName: 'lodash', searchedVersion: '4.17.15', scheme: 'semver', sources: ['osv:npm'] };

export function sampleScanResult(): ScanResult {
  const inventory = sampleScanInventory();
  const [libssl, lodash] = inventory.packages.map(findingPackage) as [FindingPackage, FindingPackage];
  const findings: Finding[] = [
    {
      id: 'CVE-2023-0286',
      aliases: ['DSA-5343-1'],
      package: libssl,
      fixedVersions: ['1.1.1n-0+deb10u4'],
      fixState: 'fixed',
      severity: 'high',
      severitySource: 'cvss:nvd',
      cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H', score: 7.4, source: 'nvd' }],
      epss: { score: 0.0121, percentile: 0.78, date: '2024-05-01' },
      summary: 'X.400 address type confusion in X.509 GeneralName',
      urls: ['https://security-tracker.debian.org/tracker/CVE-2023-0286', 'https://www.openssl.org/news/secadv/20230207.txt'],
      match: { ...DEB_MATCH, matchedRange: '<1.1.1n-0+deb10u4', advisoryIds: ['DEBIAN-CVE-2023-0286'] },
    },
    {
      id: 'CVE-2024-5535',
      aliases: [],
      package: libssl,
      fixedVersions: [],
      fixState: 'not-fixed',
      severity: 'medium',
      severitySource: 'vendor:debian',
      cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', score: 9.1, source: 'nvd' }],
      epss: { score: 0.0005, percentile: 0.2 },
      summary: 'SSL_select_next_proto buffer overread',
      urls: [],
      match: { ...DEB_MATCH, matchedRange: 'no fixed version', advisoryIds: ['DEBIAN-CVE-2024-5535'] },
    },
    {
      id: 'CVE-2022-0778',
      aliases: [],
      package: libssl,
      fixedVersions: ['1.1.1n-0+deb10u1'],
      fixState: 'fixed',
      severity: 'low',
      severitySource: 'vendor:debian',
      cvss: [],
      summary: 'Infinite loop in BN_mod_sqrt() reachable when parsing certificates',
      urls: ['https://security-tracker.debian.org/tracker/CVE-2022-0778'],
      match: { ...DEB_MATCH, matchedRange: '<1.1.1n-0+deb10u1', advisoryIds: ['DEBIAN-CVE-2022-0778'] },
      suppressed: { kind: 'ignore-file', file: 'drydock-ignore.yaml', rule: 'id CVE-2022-0778 until 2026-12-31', reason: 'accepted risk' },
    },
    {
      id: 'CVE-2021-23337',
      aliases: ['GHSA-35jh-r3h4-6jhm'],
      package: lodash,
      fixedVersions: ['4.17.21'],
      fixState: 'fixed',
      severity: 'high',
      severitySource: 'cvss:nvd',
      cvss: [
        { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H', score: 7.2, source: 'nvd' },
        { version: '4.0', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:H/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', score: 8.6, source: 'GHSA-35jh-r3h4-6jhm' },
      ],
      epss: { score: 0.0201, percentile: 0.88 },
      kev: { dateAdded: '2024-01-10', dueDate: '2024-01-31', vendorProject: 'lodash', product: 'lodash' },
      summary: 'Command Injection in lodash',
      urls: ['https://github.com/advisories/GHSA-35jh-r3h4-6jhm', 'https://nvd.nist.gov/vuln/detail/CVE-2021-23337'],
      match: { ...NPM_MATCH, matchedRange: '<4.17.21', advisoryIds: ['GHSA-35jh-r3h4-6jhm'] },
    },
    {
      id: 'CVE-2020-28500',
      aliases: ['GHSA-29mw-wpgm-hmr9'],
      package: lodash,
      fixedVersions: ['4.17.21'],
      fixState: 'fixed',
      severity: 'medium',
      severitySource: 'cvss:nvd',
      cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L', score: 5.3, source: 'nvd' }],
      epss: { score: 0.003, percentile: 0.6 },
      summary: 'Regular Expression Denial of Service (ReDoS) in lodash',
      urls: ['https://github.com/advisories/GHSA-29mw-wpgm-hmr9'],
      match: { ...NPM_MATCH, matchedRange: '>=4.0.0, <4.17.21', advisoryIds: ['GHSA-29mw-wpgm-hmr9'] },
      suppressed: {
        kind: 'vex',
        file: 'vex/api.openvex.json',
        rule: 'CVE-2020-28500 not_affected for pkg:npm/lodash@4.17.15',
        status: 'not_affected',
        justification: 'vulnerable_code_not_in_execute_path',
      },
    },
    {
      id: 'CVE-2020-8203',
      aliases: ['GHSA-p6mc-m468-83gw'],
      package: lodash,
      fixedVersions: ['4.17.19'],
      fixState: 'fixed',
      severity: 'high',
      severitySource: 'cvss:nvd',
      cvss: [{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H', score: 7.4, source: 'nvd' }],
      epss: { score: 0.0323, percentile: 0.91 },
      summary: 'Prototype Pollution in lodash',
      urls: ['https://github.com/advisories/GHSA-p6mc-m468-83gw'],
      match: { ...NPM_MATCH, matchedRange: '>=3.7.0, <4.17.19', advisoryIds: ['GHSA-p6mc-m468-83gw'] },
    },
  ];
  return {
    createdAt: '2024-07-15T07:08:09Z',
    descriptor: { name: 'drydock', version: '0.1.0', options: { failOn: 'high', scope: 'squashed' } },
    inventory,
    db: {
      digest: `sha256:${'9'.repeat(64)}`,
      updatedAt: '2024-07-14T02:00:00Z',
      dataAsOf: '2024-07-10T23:59:00Z',
      schemaVersion: 1,
      sources: [
        { name: 'osv:Debian', origin: 'https://osv-vulnerabilities.storage.googleapis.com/Debian/all.zip', records: 41234, modified: '2024-07-10T23:59:00Z' },
        { name: 'osv:npm', origin: 'https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip', records: 15321 },
      ],
    },
    distroStatus: { ecosystem: 'Debian:10', supported: false, eolDate: '2024-06-30', message: 'debian 10 (buster) reached end of life on 2024-06-30' },
    findings,
    issues: [{ code: 'ARCHIVE_CORRUPT', severity: 'warning', message: 'cannot parse /app/node_modules/broken/package.json', path: '/app/node_modules/broken/package.json', layer: L1.digest }],
  };
}
