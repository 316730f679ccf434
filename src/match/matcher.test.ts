import { describe, expect, it } from 'vitest';
import { IssueLog } from '../core/issues.js';
import type { Finding } from '../model/vuln.js';
import { Matcher, matchInventory } from './matcher.js';
import { memoryVulnData } from './testing.js';
import { apk, deb, distro, inventory, pkg, record, rpm } from './testdata/fixtures.js';

const ids = (fs: Finding[]) => fs.map((f) => `${f.id} ${f.package.name}@${f.package.version}`);

describe('OS packages', () => {
  it('Debian: matches by source package and source version (bsdutils from util-linux)', () => {
    const data = memoryVulnData([
      // real: CVE-2024-28085 (WallEscape) fixed in bookworm 2.38.1-5+deb12u1
      record('DEBIAN-CVE-2024-28085', 'Debian:12', 'util-linux', [{ introduced: '0' }, { fixed: '2.38.1-5+deb12u1' }]),
      // real: CVE-2022-0563, open in bookworm (no fixed event)
      record('DEBIAN-CVE-2022-0563', 'Debian:12', 'util-linux', [{ introduced: '0' }]),
      // made up: a fix after deb12u3; the binary version (epoch 1) would wrongly look fixed
      record('DEBIAN-CVE-2099-0001', 'Debian:12', 'util-linux', [{ introduced: '0' }, { fixed: '2.38.1-5+deb12u4' }]),
    ]);
    const bsdutils = deb('bsdutils', '1:2.38.1-5+deb12u3', 'util-linux', '2.38.1-5+deb12u3');
    const out = matchInventory(inventory([bsdutils], distro('debian', '12')), data);
    expect(ids(out).sort()).toEqual(['CVE-2022-0563 bsdutils@1:2.38.1-5+deb12u3', 'CVE-2099-0001 bsdutils@1:2.38.1-5+deb12u3']);
    const f = out.find((x) => x.id === 'CVE-2099-0001')!;
    expect(f.aliases).toEqual(['DEBIAN-CVE-2099-0001']);
    expect(f.match).toMatchObject({
      matcher: 'deb',
      ecosystem: 'Debian:12',
      searchedName: 'util-linux',
      searchedVersion: '2.38.1-5+deb12u3',
      scheme: 'deb',
      matchedRange: '<2.38.1-5+deb12u4',
      advisoryIds: ['DEBIAN-CVE-2099-0001'],
    });
    expect(f.fixState).toBe('fixed');
    expect(f.fixedVersions).toEqual(['2.38.1-5+deb12u4']);
    expect(out.find((x) => x.id === 'CVE-2022-0563')!.fixState).toBe('not-fixed');
    // a package without source metadata is looked up by its own name and version
    const plain = deb('util-linux', '2.38.1-5+deb12u1');
    expect(ids(matchInventory(inventory([plain], distro('debian', '12')), data)).sort()).toEqual([
      'CVE-2022-0563 util-linux@2.38.1-5+deb12u1',
      'CVE-2099-0001 util-linux@2.38.1-5+deb12u1',
    ]);
  });

  it('takes the CVE of a distro record from `upstream`, and CWEs and dates from the records', () => {
    const data = memoryVulnData([
      // real: Debian names its CVE in upstream (CVE-2023-5678, openssl)
      record('DSA-5585-1', 'Debian:12', 'openssl', [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }], { upstream: ['CVE-2023-5678'], modified: '2025-01-10T00:00:00Z', published: '2023-12-20T00:00:00Z' }),
      record('GHSA-x-y-z', 'Debian:12', 'openssl', [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }], { aliases: ['CVE-2023-5678'], database_specific: { cwe_ids: ['CWE-606', 'not-a-cwe'] }, modified: '2024-01-01T00:00:00Z' }),
    ]);
    const out = matchInventory(inventory([deb('libssl3', '3.0.11-1~deb12u2', 'openssl')], distro('debian', '12')), data);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ id: 'CVE-2023-5678', cwes: ['CWE-606'], published: '2023-12-20T00:00:00Z', modified: '2025-01-10T00:00:00Z' });
    expect(out[0]!.match.advisoryIds).toEqual(['DSA-5585-1', 'GHSA-x-y-z']);
  });

  it('Ubuntu: picks the LTS or interim ecosystem of the release; Ubuntu priority is the vendor severity', () => {
    const data = memoryVulnData([
      record('UBUNTU-CVE-2024-28085', 'Ubuntu:22.04:LTS', 'util-linux', [{ introduced: '0' }, { fixed: '2.37.2-4ubuntu3.3' }], {
        severity: [{ type: 'Ubuntu', score: 'medium' }],
      }),
      record('UBUNTU-CVE-2024-28085', 'Ubuntu:23.10', 'util-linux', [{ introduced: '0' }, { fixed: '2.39.1-4ubuntu2.1' }]),
      record('UBUNTU-CVE-2024-28085', 'Ubuntu:Pro:22.04:LTS', 'util-linux', [{ introduced: '0' }]),
    ]);
    const p = deb('libuuid1', '2.37.2-4ubuntu3', 'util-linux', '2.37.2-4ubuntu3');
    const lts = matchInventory(inventory([p], distro('ubuntu', '22.04')), data);
    expect(lts).toHaveLength(1);
    expect(lts[0]!.match.ecosystem).toBe('Ubuntu:22.04:LTS');
    expect(lts[0]!.severity).toBe('medium');
    expect(lts[0]!.severitySource).toBe('vendor:ubuntu');
    const interim = deb('libuuid1', '2.39.1-4ubuntu2', 'util-linux', '2.39.1-4ubuntu2');
    const out = matchInventory(inventory([interim], distro('ubuntu', '23.10')), data);
    expect(out.map((f) => f.match.ecosystem)).toEqual(['Ubuntu:23.10']);
  });

  it('Alpine: origin package, -r revisions', () => {
    // real: CVE-2023-5363 openssl, Alpine 3.18 fixed in 3.1.4-r0
    const data = memoryVulnData([
      record('ALPINE-CVE-2023-5363', 'Alpine:v3.18', 'openssl', [{ introduced: '0' }, { fixed: '3.1.4-r0' }]),
      record('ALPINE-TEST-r1', 'Alpine:v3.18', 'openssl', [{ introduced: '0' }, { fixed: '3.1.4-r1' }], { summary: 'made up: fixed in a revision' }),
    ]);
    const d = distro('alpine', '3.18.4');
    expect(ids(matchInventory(inventory([apk('libcrypto3', '3.1.3-r0', 'openssl')], d), data)).sort()).toEqual([
      'ALPINE-TEST-r1 libcrypto3@3.1.3-r0',
      'CVE-2023-5363 libcrypto3@3.1.3-r0',
    ]);
    expect(ids(matchInventory(inventory([apk('libcrypto3', '3.1.4-r0', 'openssl')], d), data))).toEqual(['ALPINE-TEST-r1 libcrypto3@3.1.4-r0']);
    expect(matchInventory(inventory([apk('libcrypto3', '3.1.4-r1', 'openssl')], d), data)).toEqual([]);
    // another branch's advisories do not apply
    expect(matchInventory(inventory([apk('libcrypto3', '3.1.3-r0', 'openssl')], distro('alpine', '3.19.1')), data)).toEqual([]);
  });

  it('AlmaLinux: rpm epochs (a missing epoch is 0)', () => {
    // real: ALSA-2024:0310 (CVE-2023-5363), openssl-libs fixed in 1:3.0.7-25.el9_3
    const data = memoryVulnData([
      record('ALSA-2024:0310', 'AlmaLinux:9', 'openssl-libs', [{ introduced: '0' }, { fixed: '1:3.0.7-25.el9_3' }], {
        related: ['CVE-2023-5363'],
        summary: 'Moderate: openssl security update',
      }),
    ], { vendorSeverity: { 'ALSA-2024:0310': { severity: 'medium', source: 'almalinux' } } });
    const d = distro('almalinux', '9.3');
    const old = rpm('openssl-libs', '3.0.7', '24.el9', 1);
    const fixed = rpm('openssl-libs', '3.0.7', '25.el9_3', 1);
    const noEpoch = rpm('openssl-libs', '3.0.9', '1.el9');
    const out = matchInventory(inventory([old, fixed, noEpoch], d), data);
    expect(ids(out)).toEqual(['ALSA-2024:0310 openssl-libs@1:3.0.7-24.el9', 'ALSA-2024:0310 openssl-libs@3.0.9-1.el9']);
    expect(out[0]!.severity).toBe('medium');
    expect(out[0]!.severitySource).toBe('vendor:almalinux');
    expect(out[0]!.match.matcher).toBe('rpm');
    expect(out[0]!.aliases).toEqual([]); // related CVEs are other vulnerabilities, not aliases
    // an SBOM-decoded package with epoch only in metadata compares the same way
    const decoded = pkg('rpm', 'openssl-libs', '3.0.7-24.el9', { metadata: { kind: 'rpm', release: '24.el9', epoch: 1 } });
    expect(matchInventory(inventory([decoded], d), data)[0]!.match.searchedVersion).toBe('1:3.0.7-24.el9');
  });

  it('Rocky, Red Hat (several streams), SUSE, openSUSE, Wolfi, Chainguard', () => {
    const data = memoryVulnData([
      record('RLSA-2024:0310', 'Rocky Linux:9', 'openssl-libs', [{ introduced: '0' }, { fixed: '1:3.0.7-25.el9_3' }]),
      record('RHSA-2024:0310', 'Red Hat:enterprise_linux:9::baseos', 'openssl-libs', [{ introduced: '0' }, { fixed: '1:3.0.7-25.el9_3' }], { aliases: ['CVE-2023-5363'] }),
      record('RHSA-2024:0310', 'Red Hat:enterprise_linux:9::appstream', 'openssl-libs', [{ introduced: '0' }, { fixed: '1:3.0.7-25.el9_3' }], { aliases: ['CVE-2023-5363'] }),
      record('RHSA-2024:0311', 'Red Hat:enterprise_linux:8::baseos', 'openssl-libs', [{ introduced: '0' }]),
      record('SUSE-SU-2023:4200-1', 'SUSE:Linux Enterprise Server 15 SP5', 'libopenssl3', [{ introduced: '0' }, { fixed: '3.0.8-150500.5.14.1' }]),
      record('openSUSE-SU-2023:4200-1', 'openSUSE:Leap 15.5', 'libopenssl3', [{ introduced: '0' }, { fixed: '3.0.8-150500.5.14.1' }]),
      record('CGA-test-wolfi', 'Wolfi', 'openssl', [{ introduced: '0' }, { fixed: '3.1.4-r0' }]),
      record('CGA-test-chainguard', 'Chainguard', 'openssl', [{ introduced: '0' }, { fixed: '3.1.4-r0' }]),
    ]);
    const ssl = () => rpm('openssl-libs', '3.0.7', '24.el9', 1);
    expect(ids(matchInventory(inventory([ssl()], distro('rocky', '9.3')), data))).toEqual(['RLSA-2024:0310 openssl-libs@1:3.0.7-24.el9']);
    const rh = matchInventory(inventory([ssl()], distro('rhel', '9.3')), data);
    expect(ids(rh)).toEqual(['CVE-2023-5363 openssl-libs@1:3.0.7-24.el9']); // two streams, one finding
    expect(rh[0]!.match.advisoryIds).toEqual(['RHSA-2024:0310']);
    const suse = rpm('libopenssl3', '3.0.8', '150500.5.11.1');
    expect(ids(matchInventory(inventory([suse], distro('sles', '15.5')), data))).toEqual(['SUSE-SU-2023:4200-1 libopenssl3@3.0.8-150500.5.11.1']);
    expect(ids(matchInventory(inventory([suse], distro('opensuse-leap', '15.5')), data))).toEqual(['openSUSE-SU-2023:4200-1 libopenssl3@3.0.8-150500.5.11.1']);
    expect(ids(matchInventory(inventory([apk('libssl3', '3.1.3-r2', 'openssl')], distro('wolfi', '20230201')), data))).toEqual(['CGA-test-wolfi libssl3@3.1.3-r2']);
    expect(ids(matchInventory(inventory([apk('libssl3', '3.1.3-r2', 'openssl')], distro('chainguard', '20230214')), data))).toEqual([
      'CGA-test-chainguard libssl3@3.1.3-r2',
    ]);
  });

  it('OS packages without a supported distribution are reported once', () => {
    const data = memoryVulnData([]);
    const issues = new IssueLog();
    matchInventory(inventory([rpm('a', '1', '1'), rpm('b', '1', '1')], distro('fedora', '39')), data, { issues });
    expect(issues.issues).toHaveLength(1);
    expect(issues.issues[0]!.code).toBe('ECOSYSTEM_UNSUPPORTED');
    expect(issues.issues[0]!.message).toContain('fedora 39');
  });
});

describe('language packages', () => {
  it('npm (scoped and plain), PyPI (PEP 503 names), crates.io, Hex', () => {
    const data = memoryVulnData([
      // real: GHSA-35jh-r3h4-6jhm lodash (CVE-2021-23337) fixed 4.17.21
      record('GHSA-35jh-r3h4-6jhm', 'npm', 'lodash', [{ introduced: '0' }, { fixed: '4.17.21' }], { aliases: ['CVE-2021-23337'], rangeType: 'SEMVER' }),
      // real: GHSA-67hx-6x53-jw92 @babel/traverse (CVE-2023-45133)
      {
        id: 'GHSA-67hx-6x53-jw92',
        modified: '2024-01-01T00:00:00Z',
        aliases: ['CVE-2023-45133'],
        affected: [
          {
            package: { ecosystem: 'npm', name: '@babel/traverse' },
            ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '7.23.2' }, { introduced: '8.0.0-alpha.0' }, { fixed: '8.0.0-alpha.4' }] }],
          },
        ],
      },
      // real: GHSA-j8r2-6x86-q33q requests (CVE-2023-32681) >=2.3.0, <2.31.0; named with odd case on purpose
      record('GHSA-j8r2-6x86-q33q', 'PyPI', 'Requests', [{ introduced: '2.3.0' }, { fixed: '2.31.0' }], { aliases: ['CVE-2023-32681'] }),
      // real: RUSTSEC-2024-0003 h2, fixed 0.3.24 and 0.4.2
      record('RUSTSEC-2024-0003', 'crates.io', 'h2', [{ introduced: '0' }, { fixed: '0.3.24' }, { introduced: '0.4.0' }, { fixed: '0.4.2' }], { rangeType: 'SEMVER' }),
      record('HEX-TEST-1', 'Hex', 'plug', [{ introduced: '1.0.0' }, { fixed: '1.3.5' }], { summary: 'made up Hex advisory' }),
    ]);
    const inv = inventory([
      pkg('npm', 'lodash', '4.17.20'),
      pkg('npm', 'lodash', '4.17.21'),
      pkg('npm', 'traverse', '7.23.0', { namespace: 'babel' }),
      pkg('npm', 'traverse', '8.0.0-alpha.3', { namespace: 'babel' }),
      pkg('pypi', 'requests', '2.28.1'),
      pkg('cargo', 'h2', '0.3.22'),
      pkg('cargo', 'h2', '0.4.2'),
      pkg('hex', 'plug', '1.3.4'),
    ]);
    expect(ids(matchInventory(inv, data)).sort()).toEqual([
      'CVE-2021-23337 lodash@4.17.20',
      'CVE-2023-32681 requests@2.28.1',
      'CVE-2023-45133 traverse@7.23.0',
      'CVE-2023-45133 traverse@8.0.0-alpha.3',
      'HEX-TEST-1 plug@1.3.4',
      'RUSTSEC-2024-0003 h2@0.3.22',
    ]);
    const req = matchInventory(inv, data).find((f) => f.package.name === 'requests')!;
    expect(req.match).toMatchObject({ matcher: 'language', ecosystem: 'PyPI', searchedName: 'requests', scheme: 'pypi', matchedRange: '>=2.3.0, <2.31.0' });
  });

  it('Maven (group:artifact), RubyGems, NuGet, Packagist', () => {
    const data = memoryVulnData([
      // real: GHSA-jfh8-c2jp-5v3q log4j-core (CVE-2021-44228)
      {
        id: 'GHSA-jfh8-c2jp-5v3q',
        modified: '2024-01-01T00:00:00Z',
        aliases: ['CVE-2021-44228'],
        affected: [
          {
            package: { ecosystem: 'Maven', name: 'org.apache.logging.log4j:log4j-core' },
            ranges: [
              {
                type: 'ECOSYSTEM',
                events: [{ introduced: '2.13.0' }, { fixed: '2.15.0' }, { introduced: '2.0-beta9' }, { fixed: '2.3.1' }, { introduced: '2.4' }, { fixed: '2.12.2' }],
              },
            ],
          },
        ],
      },
      // real: CVE-2022-30123 rack, fixed 2.2.3.1 (four-part gem version)
      record('GHSA-wq4h-7r42-5hrr', 'RubyGems', 'rack', [{ introduced: '2.2.0' }, { fixed: '2.2.3.1' }], { aliases: ['CVE-2022-30123'] }),
      // real: CVE-2021-26701 System.Text.Encodings.Web fixed 4.5.1
      record('GHSA-ghhp-997w-qr28', 'NuGet', 'System.Text.Encodings.Web', [{ introduced: '4.0.0' }, { fixed: '4.5.1' }], { aliases: ['CVE-2021-26701'] }),
      // real: CVE-2022-31042 guzzlehttp/guzzle fixed 7.4.4
      record('GHSA-f2wf-25xc-69c9', 'Packagist', 'guzzlehttp/guzzle', [{ introduced: '7.0.0' }, { fixed: '7.4.4' }], { aliases: ['CVE-2022-31042'] }),
    ]);
    const inv = inventory([
      pkg('maven', 'log4j-core', '2.14.1', { namespace: 'org.apache.logging.log4j' }),
      pkg('maven', 'log4j-core', '2.12.2', { namespace: 'org.apache.logging.log4j' }),
      pkg('maven', 'log4j-core', '2.0-beta9', { namespace: 'org.apache.logging.log4j' }),
      pkg('gem', 'rack', '2.2.3'),
      pkg('gem', 'rack', '2.2.3.1'),
      pkg('nuget', 'System.Text.Encodings.Web', '4.5.0'),
      pkg('composer', 'guzzle', '7.4.3', { namespace: 'guzzlehttp' }),
      pkg('composer', 'guzzle', 'v7.4.4', { namespace: 'guzzlehttp' }),
    ]);
    expect(ids(matchInventory(inv, data)).sort()).toEqual([
      'CVE-2021-26701 System.Text.Encodings.Web@4.5.0',
      'CVE-2021-44228 log4j-core@2.0-beta9',
      'CVE-2021-44228 log4j-core@2.14.1',
      'CVE-2022-30123 rack@2.2.3',
      'CVE-2022-31042 guzzle@7.4.3',
    ]);
  });

  it('Go: every module of a binary and stdlib at its Go version; aliases merge into one finding', () => {
    // real: GO-2023-2102 and its aliases (HTTP/2 rapid reset)
    const go: import('../model/vuln.js').OsvRecord = {
      id: 'GO-2023-2102',
      modified: '2024-01-01T00:00:00Z',
      aliases: ['CVE-2023-39325', 'GHSA-4374-p667-p6c8'],
      summary: 'HTTP/2 rapid reset can cause excessive work in net/http',
      references: [{ type: 'FIX', url: 'https://go.dev/cl/534215' }],
      affected: [
        { package: { ecosystem: 'Go', name: 'stdlib' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.20.10' }, { introduced: '1.21.0-0' }, { fixed: '1.21.3' }] }] },
        { package: { ecosystem: 'Go', name: 'golang.org/x/net' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '0.17.0' }] }] },
      ],
    };
    const ghsa = record('GHSA-4374-p667-p6c8', 'Go', 'golang.org/x/net', [{ introduced: '0' }, { fixed: '0.17.0' }], {
      aliases: ['CVE-2023-39325'],
      rangeType: 'SEMVER',
      severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H' }],
      references: [{ type: 'ADVISORY', url: 'https://github.com/advisories/GHSA-4374-p667-p6c8' }],
    });
    const data = memoryVulnData([go, ghsa], {
      epss: { 'CVE-2023-39325': { score: 0.8, percentile: 0.99, date: '2024-01-01' } },
      kev: { 'CVE-2023-39325': { dateAdded: '2023-10-10' } },
    });
    const meta = { kind: 'golang' as const, goVersion: 'go1.21.1' };
    const inv = inventory([
      pkg('golang', 'stdlib', '1.21.1', { metadata: meta }),
      pkg('golang', 'golang.org/x/net', 'v0.16.0', { metadata: meta }),
      pkg('golang', 'golang.org/x/net', 'v0.17.0', { metadata: meta }),
      pkg('golang', 'example.com/app', '(devel)', { metadata: meta }),
      pkg('golang', 'stdlib', '1.20', { metadata: { kind: 'golang', goVersion: 'go1.20' } }),
    ]);
    const out = matchInventory(inv, data);
    expect(ids(out)).toEqual(['CVE-2023-39325 golang.org/x/net@v0.16.0', 'CVE-2023-39325 stdlib@1.20', 'CVE-2023-39325 stdlib@1.21.1']);
    const net = out[0]!;
    expect(net.aliases).toEqual(['GHSA-4374-p667-p6c8', 'GO-2023-2102']);
    expect(net.match.advisoryIds).toEqual(['GHSA-4374-p667-p6c8', 'GO-2023-2102']);
    expect(net.match.matcher).toBe('go-module');
    expect(net.severity).toBe('high'); // 7.5 from the GHSA's CVSS 3.1 vector
    expect(net.severitySource).toBe('cvss:GHSA-4374-p667-p6c8');
    expect(net.cvss.map((c) => c.score)).toEqual([7.5]);
    expect(net.epss?.score).toBe(0.8);
    expect(net.kev?.dateAdded).toBe('2023-10-10');
    expect(net.urls).toEqual(['https://github.com/advisories/GHSA-4374-p667-p6c8', 'https://go.dev/cl/534215']);
    expect(net.fixedVersions).toEqual(['0.17.0']);
    const std = out.find((f) => f.package.version === '1.21.1')!;
    expect(std.match).toMatchObject({ matcher: 'go-stdlib', searchedName: 'stdlib', searchedVersion: '1.21.1', matchedRange: '>=1.21.0-0, <1.21.3' });
    expect(std.fixedVersions).toEqual(['1.21.3']);
    expect(out.find((f) => f.package.version === '1.20')!.match.searchedVersion).toBe('1.20.0');
  });

  it('packages owned by OS packages: distro only by default, upstream too in comprehensive mode', () => {
    const data = memoryVulnData([
      record('GHSA-j8r2-6x86-q33q', 'PyPI', 'requests', [{ introduced: '2.3.0' }, { fixed: '2.31.0' }], { aliases: ['CVE-2023-32681'] }),
    ]);
    const owned = pkg('pypi', 'requests', '2.28.1', { ownedBy: 'pkg-deb-python3-requests' });
    const inv = inventory([owned], distro('debian', '12'));
    expect(matchInventory(inv, data)).toEqual([]);
    const out = matchInventory(inv, data, { detectionPriority: 'comprehensive' });
    expect(out).toHaveLength(1);
    expect(out[0]!.match.upstream).toBe(true);
    expect(out[0]!.package.ownedBy).toBe('pkg-deb-python3-requests');
  });

  it('unsupported package types are reported once per type', () => {
    const issues = new IssueLog();
    matchInventory(inventory([pkg('pub', 'a', '1.0.0'), pkg('pub', 'b', '1.0.0'), pkg('swift', 'c', '1.0.0')]), memoryVulnData([]), { issues });
    expect(issues.issues.map((i) => i.message).sort()).toEqual([
      'pub packages have no advisory ecosystem; they were not matched',
      'swift packages have no advisory ecosystem; they were not matched',
    ]);
  });
});

describe('advisory handling', () => {
  it('withdrawn advisories never match', () => {
    const data = memoryVulnData([
      record('GHSA-gone', 'npm', 'left-pad', [{ introduced: '0' }], { withdrawn: '2024-02-01T00:00:00Z' }),
      record('GHSA-kept', 'npm', 'left-pad', [{ introduced: '0' }]),
    ]);
    expect(ids(matchInventory(inventory([pkg('npm', 'left-pad', '1.3.0')]), data))).toEqual(['GHSA-kept left-pad@1.3.0']);
  });

  it('an invalid feed version is an issue naming the advisory, for each run that consults it', () => {
    const data = memoryVulnData([
      record('GHSA-broken', 'npm', 'left-pad', [{ introduced: '0' }, { fixed: '1.x.y' }]),
      record('GHSA-good', 'npm', 'left-pad', [{ introduced: '0' }, { fixed: '1.3.1' }]),
    ]);
    const m = new Matcher(data);
    for (let run = 0; run < 2; run++) {
      const issues = new IssueLog();
      const inv = inventory([pkg('npm', 'left-pad', '1.3.0'), pkg('npm', 'left-pad', '1.2.0')]);
      expect(ids(m.match(inv, { issues }))).toEqual(['GHSA-good left-pad@1.2.0', 'GHSA-good left-pad@1.3.0']);
      expect(issues.issues).toHaveLength(1);
      expect(issues.issues[0]).toMatchObject({ code: 'VERSION_INVALID' });
      expect(issues.issues[0]!.message).toContain('GHSA-broken');
    }
  });

  it('an installed version invalid in the scheme is an issue, not a silent pass', () => {
    const data = memoryVulnData([record('GHSA-x', 'npm', 'left-pad', [{ introduced: '0' }, { fixed: '1.3.1' }])]);
    const issues = new IssueLog();
    expect(matchInventory(inventory([pkg('npm', 'left-pad', 'latest')]), data, { issues })).toEqual([]);
    expect(issues.issues[0]!.code).toBe('VERSION_INVALID');
    expect(issues.issues[0]!.message).toContain('left-pad');
  });

  it('fix states: fixed, not-fixed, wont-fix from the feed, unknown for last_affected', () => {
    const data = memoryVulnData([
      record('T-fixed', 'npm', 'a', [{ introduced: '0' }, { fixed: '2.0.0' }]),
      record('T-open', 'npm', 'a', [{ introduced: '0' }]),
      {
        id: 'T-wontfix',
        modified: '2024-01-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'npm', name: 'a' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }], ecosystem_specific: { fix_state: 'Will not fix' } }],
      },
      record('T-last', 'npm', 'a', [{ introduced: '0' }, { last_affected: '1.5.0' }]),
      {
        id: 'T-notaffected',
        modified: '2024-01-01T00:00:00Z',
        affected: [{ package: { ecosystem: 'npm', name: 'a' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }] }], database_specific: { status: 'not-affected' } }],
      },
    ]);
    const out = matchInventory(inventory([pkg('npm', 'a', '1.0.0')]), data);
    expect(Object.fromEntries(out.map((f) => [f.id, f.fixState]))).toEqual({
      'T-fixed': 'fixed',
      'T-open': 'not-fixed',
      'T-wontfix': 'wont-fix',
      'T-last': 'unknown',
    });
  });

  it('severity: record CVSS v4 over v3.1, NVD when the record has none; deterministic order', () => {
    const nvd = { version: '3.1' as const, vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N', score: 5.3, source: 'nvd' };
    const data = memoryVulnData(
      [
        record('GHSA-v4', 'npm', 'b', [{ introduced: '0' }], {
          aliases: ['CVE-2024-0002'],
          severity: [
            { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N' },
            { type: 'CVSS_V4', score: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N' },
          ],
        }),
        record('GHSA-nvd', 'npm', 'b', [{ introduced: '0' }], { aliases: ['CVE-2024-0001'] }),
        record('GHSA-none', 'npm', 'b', [{ introduced: '0' }]),
      ],
      { nvd: { 'CVE-2024-0001': [nvd] } },
    );
    const out = matchInventory(inventory([pkg('npm', 'b', '1.0.0'), pkg('npm', 'a-first', '1.0.0')]), data);
    expect(out.map((f) => [f.id, f.severity, f.severitySource])).toEqual([
      ['CVE-2024-0002', 'critical', 'cvss:GHSA-v4'],
      ['CVE-2024-0001', 'medium', 'cvss:nvd'],
      ['GHSA-none', 'unknown', undefined],
    ]);
  });

  it('findings carry locations and the layer that introduced the package', () => {
    const data = memoryVulnData([record('GHSA-x', 'npm', 'a', [{ introduced: '0' }])]);
    const layer = { index: 2, digest: 'sha256:bbbb', diffId: 'sha256:cccc', createdBy: 'RUN npm install' };
    const p = pkg('npm', 'a', '1.0.0', { introducedBy: layer, purl: 'pkg:npm/a@1.0.0' });
    const f = matchInventory(inventory([p]), data)[0]!;
    expect(f.package).toEqual({ id: p.id, type: 'npm', name: 'a', version: '1.0.0', purl: 'pkg:npm/a@1.0.0', locations: p.locations, introducedBy: layer });
  });
});

describe('Matcher caches', () => {
  it('looks each (ecosystem, name) up once across inventories', () => {
    const data = memoryVulnData([record('GHSA-x', 'npm', 'a', [{ introduced: '0' }, { fixed: '2.0.0' }])]);
    const m = new Matcher(data);
    const inv = () => inventory([pkg('npm', 'a', '1.0.0'), pkg('npm', 'a', '1.5.0'), pkg('npm', 'b', '1.0.0')]);
    expect(m.match(inv())).toHaveLength(2);
    const calls = data.affectedCalls;
    expect(calls).toBe(2);
    expect(m.match(inv())).toHaveLength(2);
    expect(m.match(inventory([pkg('npm', 'a', '1.9.0')]))).toHaveLength(1);
    expect(data.affectedCalls).toBe(calls);
  });
});
