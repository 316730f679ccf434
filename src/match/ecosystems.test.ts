import { describe, expect, it } from 'vitest';
import { distroEcosystems, goToolchainSemver, languagePackageQuery, rangeScheme } from './ecosystems.js';
import { distroStatus } from './eol.js';
import { bestCvss, severityFromCvss } from './severity.js';
import { distro, pkg } from './testdata/fixtures.js';

describe('distribution ecosystems', () => {
  const available = [
    'Ubuntu:22.04:LTS',
    'Ubuntu:Pro:22.04:LTS',
    'Ubuntu:23.10',
    'Red Hat:enterprise_linux:9::appstream',
    'Red Hat:enterprise_linux:9::baseos',
    'Red Hat:enterprise_linux:8::baseos',
    'Red Hat:rhel_eus:9.2::baseos',
    'SUSE:Linux Enterprise Server 15 SP5',
    'SUSE:Linux Enterprise Module for Basesystem 15 SP5',
    'SUSE:Linux Enterprise Server 15 SP4',
  ];
  it.each([
    [distro('debian', '12'), ['Debian:12']],
    [distro('ubuntu', '22.04'), ['Ubuntu:22.04:LTS']],
    [distro('ubuntu', '23.10'), ['Ubuntu:23.10']],
    [distro('ubuntu', '24.04'), ['Ubuntu:24.04:LTS']], // not in the database: the LTS spelling is assumed
    [distro('alpine', '3.19.1'), ['Alpine:v3.19']],
    [distro('almalinux', '9.3'), ['AlmaLinux:9']],
    [distro('rocky', '8.9'), ['Rocky Linux:8']],
    [distro('rhel', '9.3'), ['Red Hat:enterprise_linux:9::appstream', 'Red Hat:enterprise_linux:9::baseos']],
    [distro('centos', '7'), ['Red Hat:enterprise_linux:7']],
    [distro('sles', '15.5'), ['SUSE:Linux Enterprise Module for Basesystem 15 SP5', 'SUSE:Linux Enterprise Server 15 SP5']],
    [distro('opensuse-leap', '15.5'), ['openSUSE:Leap 15.5']],
    [distro('wolfi', '20230201'), ['Wolfi']],
    [distro('chainguard'), ['Chainguard']],
  ])('%o', (d, expected) => {
    expect(distroEcosystems(d, available)?.ecosystems).toEqual(expected);
  });
  it('unsupported distributions', () => {
    expect(distroEcosystems(distro('fedora', '39'), available)).toBeUndefined();
    expect(distroEcosystems(distro('debian'), available)).toBeUndefined(); // sid: no release number
  });
});

describe('language lookups', () => {
  it('names and schemes', () => {
    expect(languagePackageQuery(pkg('npm', 'core', '7.0.0', { namespace: 'babel' }))?.name).toBe('@babel/core');
    expect(languagePackageQuery(pkg('maven', 'guava', '31.0-jre', { namespace: 'com.google.guava' }))?.name).toBe('com.google.guava:guava');
    expect(languagePackageQuery(pkg('composer', 'guzzle', '7.4.3', { namespace: 'guzzlehttp' }))?.name).toBe('guzzlehttp/guzzle');
    expect(languagePackageQuery(pkg('pypi', 'Zope.Interface', '5.0'))?.name).toBe('zope-interface');
    expect(languagePackageQuery(pkg('golang', 'example.com/m', '(devel)'))).toBeUndefined();
    expect(languagePackageQuery(pkg('pub', 'x', '1.0.0'))).toBeUndefined();
    expect(rangeScheme('Go', 'SEMVER')).toBe('go');
    expect(rangeScheme('npm', 'SEMVER')).toBe('semver');
    expect(rangeScheme('npm', 'ECOSYSTEM')).toBe('npm');
    expect(rangeScheme('Packagist', 'ECOSYSTEM')).toBe('pypi');
    expect(rangeScheme('Go', 'GIT')).toBeUndefined();
  });
  it('Go toolchain versions as SemVer', () => {
    expect(goToolchainSemver('1.21.5')).toBe('1.21.5');
    expect(goToolchainSemver('1.20')).toBe('1.20.0');
    expect(goToolchainSemver('go1.21rc2')).toBe('1.21.0-rc.2');
    expect(goToolchainSemver('devel +abc')).toBeUndefined();
  });
});

describe('severity', () => {
  it('CVSS qualitative scale per version', () => {
    const s = (version: '2.0' | '3.1', score: number) => severityFromCvss({ version, score, vector: '', source: 'x' });
    expect([s('3.1', 0), s('3.1', 3.9), s('3.1', 4), s('3.1', 6.9), s('3.1', 7), s('3.1', 8.9), s('3.1', 9), s('2.0', 10)]).toEqual([
      'negligible', 'low', 'medium', 'medium', 'high', 'high', 'critical', 'high',
    ]);
    const best = bestCvss([
      { version: '3.1', score: 9.8, vector: 'a', source: 'x' },
      { version: '4.0', score: 5.0, vector: 'b', source: 'x' },
      { version: '2.0', score: 10, vector: 'c', source: 'x' },
    ]);
    expect(best?.version).toBe('4.0');
  });
});

describe('end of life', () => {
  const at = (d: string) => new Date(`${d}T12:00:00Z`);
  it('Debian, Ubuntu, Alpine, RHEL family, CentOS', () => {
    expect(distroStatus(distro('debian', '10'), at('2025-01-01'))).toMatchObject({ ecosystem: 'Debian:10', supported: false, eolDate: '2024-06-30' });
    expect(distroStatus(distro('debian', '12'), at('2025-01-01'))).toMatchObject({ supported: true, eolDate: '2028-06-30' });
    expect(distroStatus(distro('ubuntu', '23.10'), at('2024-07-11')).supported).toBe(true); // the last day still counts
    expect(distroStatus(distro('ubuntu', '23.10'), at('2024-07-12')).supported).toBe(false);
    expect(distroStatus(distro('ubuntu', '22.04'), at('2025-01-01'))).toMatchObject({ ecosystem: 'Ubuntu:22.04:LTS', supported: true, eolDate: '2027-04-30' });
    expect(distroStatus(distro('alpine', '3.17.2'), at('2025-01-01'))).toMatchObject({ ecosystem: 'Alpine:v3.17', supported: false, eolDate: '2024-11-22' });
    expect(distroStatus(distro('rhel', '7.9'), at('2025-01-01')).supported).toBe(false);
    expect(distroStatus(distro('almalinux', '9.3'), at('2025-01-01')).eolDate).toBe('2032-05-31');
    expect(distroStatus(distro('rocky', '8.9'), at('2025-01-01')).eolDate).toBe('2029-05-31');
    expect(distroStatus(distro('centos', '8'), at('2025-01-01'))).toMatchObject({ supported: false, eolDate: '2021-12-31' });
    expect(distroStatus(distro('centos', '9', { name: 'CentOS Stream' }), at('2025-01-01'))).toMatchObject({ supported: true, eolDate: '2027-05-31' });
    const eol = distroStatus(distro('debian', '9'), at('2025-01-01'));
    expect(eol.message).toContain('end of life');
  });
  it('unknown releases are not claimed to be end of life', () => {
    const s = distroStatus(distro('debian', '14'), at('2025-01-01'));
    expect(s.supported).toBe(true);
    expect(s.eolDate).toBeUndefined();
    expect(s.message).toContain('no end-of-life date known');
  });
});
