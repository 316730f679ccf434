/**
 * Which advisory ecosystem (OSV spelling, https://ossf.github.io/osv-schema/#affectedpackage-field)
 * and which version scheme apply to a distribution and to each package of an inventory, and which
 * name and version a package is looked up under.
 */
import type { Distro, Package, PackageType } from '../model/package.js';
import { normalizePackageName } from '../model/vuln.js';
import type { VersionScheme } from '../version/index.js';

/** The version scheme of an ecosystem's ECOSYSTEM ranges, keyed by the part before the first ':'. */
const ECOSYSTEM_SCHEMES: Record<string, VersionScheme> = {
  Debian: 'deb',
  Ubuntu: 'deb',
  Alpine: 'apk',
  Wolfi: 'apk',
  Chainguard: 'apk',
  AlmaLinux: 'rpm',
  'Rocky Linux': 'rpm',
  'Red Hat': 'rpm',
  SUSE: 'rpm',
  openSUSE: 'rpm',
  npm: 'npm',
  PyPI: 'pypi',
  Maven: 'maven',
  Go: 'go',
  'crates.io': 'semver',
  RubyGems: 'gem',
  NuGet: 'nuget',
  // Composer versions ("v1.2", "1.0.0.0", "2.0.0-beta1", "1.0-RC1") are not SemVer. PEP 440 is the most
  // lenient scheme we have that orders them like Composer does: "v" prefix accepted, 2 to 4 release parts
  // with zero padding, dev < alpha < beta < RC < release.
  Packagist: 'pypi',
  // Hex (Elixir) versions are SemVer 2.0 (Elixir's Version module)
  Hex: 'semver',
};

/** The ecosystem's base name: "Debian:12" → "Debian", "Rocky Linux:9" → "Rocky Linux". */
export function ecosystemBase(ecosystem: string): string {
  const i = ecosystem.indexOf(':');
  return i < 0 ? ecosystem : ecosystem.slice(0, i);
}

/** The scheme of an ecosystem's ECOSYSTEM ranges; undefined when Drydock cannot compare its versions. */
export function ecosystemScheme(ecosystem: string): VersionScheme | undefined {
  return ECOSYSTEM_SCHEMES[ecosystemBase(ecosystem)];
}

/**
 * The scheme a range is evaluated in. OSV: SEMVER ranges use SemVer 2.0 precedence in every ecosystem;
 * Go writes them without the "v" its module versions carry, which the go scheme accepts in both forms.
 */
export function rangeScheme(ecosystem: string, rangeType: string): VersionScheme | undefined {
  if (rangeType === 'SEMVER') return ecosystemBase(ecosystem) === 'Go' ? 'go' : 'semver';
  if (rangeType === 'ECOSYSTEM') return ecosystemScheme(ecosystem);
  return undefined;
}

/** Language package types and their ecosystem. */
const LANGUAGE_ECOSYSTEMS: Partial<Record<PackageType, string>> = {
  npm: 'npm',
  pypi: 'PyPI',
  maven: 'Maven',
  golang: 'Go',
  cargo: 'crates.io',
  gem: 'RubyGems',
  nuget: 'NuGet',
  composer: 'Packagist',
  hex: 'Hex',
};

export function languageEcosystem(type: PackageType): string | undefined {
  return LANGUAGE_ECOSYSTEMS[type];
}

/** The advisory ecosystems that cover a distribution's OS packages. */
export interface DistroEcosystems {
  /** every ecosystem to look packages up in (Red Hat and SUSE split a release into several) */
  ecosystems: string[];
  /** the one to name the distribution by (reports, EOL status) */
  primary: string;
  scheme: VersionScheme;
  /** the OS package type this distribution's packages have */
  packageType: 'deb' | 'apk' | 'rpm';
}

const major = (v: string | undefined): string | undefined => /^(\d+)/.exec(v ?? '')?.[1];

/** "15.5" → "15 SP5", "15" → "15", "12.0" → "12" */
function suseServicePack(versionId: string): string {
  const [maj, sp] = versionId.split('.');
  return sp && sp !== '0' ? `${maj} SP${sp}` : maj!;
}

/**
 * The ecosystems of a distribution. `available` is the database's ecosystem list (VulnerabilityData.ecosystems());
 * where a distribution's releases are split into several feed ecosystems (Ubuntu LTS/interim, Red Hat streams,
 * SUSE products) the fitting ones are picked from it. Undefined when the distribution is not supported.
 */
export function distroEcosystems(distro: Distro, available: readonly string[]): DistroEcosystems | undefined {
  const v = distro.versionId;
  const maj = major(v);
  const one = (eco: string, scheme: VersionScheme, packageType: DistroEcosystems['packageType']): DistroEcosystems => ({
    ecosystems: [eco],
    primary: eco,
    scheme,
    packageType,
  });
  switch (distro.id) {
    case 'debian':
      return maj ? one(`Debian:${maj}`, 'deb', 'deb') : undefined;
    case 'ubuntu': {
      if (!v || !/^\d+\.\d+$/.test(v)) return undefined;
      // OSV spells LTS releases "Ubuntu:22.04:LTS" and interim ones "Ubuntu:23.10"; Pro/FIPS streams are skipped
      const fits = available.filter((e) => e === `Ubuntu:${v}` || e === `Ubuntu:${v}:LTS`).sort();
      const lts = /^\d*[02468]\.04$/.test(v);
      const primary = fits[0] ?? (lts ? `Ubuntu:${v}:LTS` : `Ubuntu:${v}`);
      return { ecosystems: fits.length ? fits : [primary], primary, scheme: 'deb', packageType: 'deb' };
    }
    case 'alpine': {
      const m = /^(\d+)\.(\d+)/.exec(v ?? '');
      return m ? one(`Alpine:v${m[1]}.${m[2]}`, 'apk', 'apk') : undefined;
    }
    case 'wolfi':
      return one('Wolfi', 'apk', 'apk');
    case 'chainguard':
      return one('Chainguard', 'apk', 'apk');
    case 'almalinux':
      return maj ? one(`AlmaLinux:${maj}`, 'rpm', 'rpm') : undefined;
    case 'rocky':
      return maj ? one(`Rocky Linux:${maj}`, 'rpm', 'rpm') : undefined;
    case 'rhel':
    case 'centos': {
      // CentOS has no feed of its own: it is built from RHEL sources and matched against Red Hat's advisories.
      // Red Hat's ecosystems name a product stream and the major release: "Red Hat:enterprise_linux:9::appstream".
      if (!maj) return undefined;
      const fits = available
        .filter((e) => {
          const p = e.split(':');
          return p[0] === 'Red Hat' && p[1] === 'enterprise_linux' && major(p[2]) === maj;
        })
        .sort();
      const primary = fits[0] ?? `Red Hat:enterprise_linux:${maj}`;
      return { ecosystems: fits.length ? fits : [primary], primary, scheme: 'rpm', packageType: 'rpm' };
    }
    case 'sles':
    case 'sled':
    case 'sle-micro': {
      if (!v) return undefined;
      const rel = suseServicePack(v);
      const suffix = ` ${rel}`;
      // the server product plus the modules of the same service pack ("SUSE:Linux Enterprise Module for Basesystem 15 SP5")
      const fits = available.filter((e) => e.startsWith('SUSE:Linux Enterprise') && e.endsWith(suffix)).sort();
      const primary = `SUSE:Linux Enterprise Server ${rel}`;
      return { ecosystems: fits.length ? fits : [primary], primary, scheme: 'rpm', packageType: 'rpm' };
    }
    case 'opensuse-leap':
    case 'opensuse':
      return v ? one(`openSUSE:Leap ${v}`, 'rpm', 'rpm') : undefined;
    case 'opensuse-tumbleweed':
      return one('openSUSE:Tumbleweed', 'rpm', 'rpm');
    default:
      return undefined;
  }
}

/** "go1.21rc2" / "1.21rc2" → "1.21.0-rc.2", "1.20" → "1.20.0" (how the Go toolchain's versions map to SemVer). */
export function goToolchainSemver(v: string): string | undefined {
  const m = /^(?:go)?(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta|alpha)(\d+))?$/.exec(v.trim());
  if (!m) return undefined;
  const base = `${m[1]}.${m[2]}.${m[3] ?? '0'}`;
  return m[4] ? `${base}-${m[4]}.${m[5]}` : base;
}

/** A package's name as its ecosystem's advisories spell it. */
export function ecosystemPackageName(pkg: Package): string {
  const ns = pkg.namespace;
  switch (pkg.type) {
    case 'npm':
      return ns ? `${ns.startsWith('@') ? ns : `@${ns}`}/${pkg.name}` : pkg.name;
    case 'maven':
      return ns ? `${ns}:${pkg.name}` : pkg.name;
    case 'composer':
      return ns ? `${ns}/${pkg.name}` : pkg.name;
    default:
      return pkg.name;
  }
}

/**
 * The rpm EVR a package is compared as. The rpm cataloger already writes "epoch:version-release" into
 * Package.version; packages decoded from SBOMs may carry only version[-release] with the epoch in metadata.
 */
export function rpmEvr(pkg: Package): string {
  let v = pkg.version;
  const meta = pkg.metadata?.kind === 'rpm' ? pkg.metadata : undefined;
  if (!meta) return v;
  if (meta.release && !v.includes('-')) v = `${v}-${meta.release}`;
  if (meta.epoch !== undefined && !/^\d+:/.test(v)) v = `${meta.epoch}:${v}`;
  return v;
}

/** One lookup: a package asked for under an ecosystem, name and version. */
export interface PackageQuery {
  ecosystem: string;
  /** normalised with normalizePackageName, as VulnerabilityData.affected expects */
  name: string;
  version: string;
  matcher: string;
  upstream?: boolean;
}

/**
 * The lookup for an OS package of the distribution. Debian and Ubuntu advisories name source packages:
 * match by the source name and source version, else the binary's. Alpine advisories name the origin package.
 */
export function osPackageQuery(pkg: Package, ecosystem: string): PackageQuery {
  const meta = pkg.metadata;
  if (pkg.type === 'deb') {
    if (meta?.kind === 'dpkg' && meta.source)
      return { ecosystem, name: meta.source, version: meta.sourceVersion || pkg.version, matcher: 'deb' };
    return { ecosystem, name: pkg.name, version: pkg.version, matcher: 'deb' };
  }
  if (pkg.type === 'apk') {
    const origin = meta?.kind === 'apk' && meta.origin ? meta.origin : pkg.name;
    return { ecosystem, name: origin, version: pkg.version, matcher: 'apk' };
  }
  return { ecosystem, name: pkg.name, version: rpmEvr(pkg), matcher: 'rpm' };
}

/**
 * The lookup for a language package; undefined when it has none (unsupported type, a Go main module
 * built from a checkout "(devel)", a Go toolchain version that is not a release).
 */
export function languagePackageQuery(pkg: Package): PackageQuery | undefined {
  const ecosystem = languageEcosystem(pkg.type);
  if (!ecosystem) return undefined;
  if (pkg.type === 'golang') {
    if (pkg.name === 'stdlib') {
      // the Go cataloger emits "stdlib" at the binary's Go version without the "go" prefix
      const v = goToolchainSemver(pkg.version);
      return v ? { ecosystem, name: 'stdlib', version: v, matcher: 'go-stdlib' } : undefined;
    }
    if (pkg.version === '(devel)' || pkg.version === '') return undefined;
    return { ecosystem, name: pkg.name, version: pkg.version, matcher: 'go-module' };
  }
  return { ecosystem, name: normalizePackageName(ecosystem, ecosystemPackageName(pkg)), version: pkg.version, matcher: 'language' };
}
