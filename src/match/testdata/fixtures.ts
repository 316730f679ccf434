/**
 * Small builders for matcher tests: packages, inventories and OSV records. Records marked "real" copy the
 * facts (ids, aliases, package names, range bounds) of published advisories; the others are made up to
 * exercise one rule and say so in their id or summary.
 */
import type { Distro, Inventory, Package, PackageMetadata, PackageType } from '../../model/package.js';
import type { OsvEvent, OsvRecord } from '../../model/vuln.js';

let n = 0;

export function pkg(type: PackageType, name: string, version: string, extra: Partial<Package> = {}): Package {
  n++;
  return {
    id: `pkg-${type}-${name}-${version}-${n}`,
    type,
    name,
    version,
    locations: [{ path: `/fixture/${type}/${name}`, layer: 0, layerDigest: 'sha256:aaaa' }],
    foundBy: 'fixture',
    ...extra,
  };
}

export function deb(name: string, version: string, source?: string, sourceVersion?: string): Package {
  const metadata: PackageMetadata = { kind: 'dpkg' };
  if (source) metadata.source = source;
  if (sourceVersion) metadata.sourceVersion = sourceVersion;
  return pkg('deb', name, version, { metadata });
}

export function apk(name: string, version: string, origin?: string): Package {
  return pkg('apk', name, version, { metadata: origin ? { kind: 'apk', origin } : { kind: 'apk' } });
}

export function rpm(name: string, version: string, release: string, epoch?: number): Package {
  const metadata: PackageMetadata = epoch === undefined ? { kind: 'rpm', release } : { kind: 'rpm', release, epoch };
  // what the rpm cataloger writes: epoch:version-release
  return pkg('rpm', name, `${epoch !== undefined ? `${epoch}:` : ''}${version}-${release}`, { metadata });
}

export function inventory(packages: Package[], distro?: Distro): Inventory {
  const inv: Inventory = { source: { target: 'fixture', kind: 'dir', name: 'fixture', layers: [] }, packages, relationships: [], issues: [] };
  if (distro) inv.distro = distro;
  return inv;
}

export const distro = (id: string, versionId?: string, extra: Partial<Distro> = {}): Distro => {
  const d: Distro = { id, idLike: [], ...extra };
  if (versionId) d.versionId = versionId;
  return d;
};

/** One-package record with one range (type ECOSYSTEM unless given). */
export function record(
  id: string,
  ecosystem: string,
  name: string,
  events: OsvEvent[],
  extra: Partial<OsvRecord> & { rangeType?: 'ECOSYSTEM' | 'SEMVER' | 'GIT'; versions?: string[] } = {},
): OsvRecord {
  const { rangeType, versions, ...rest } = extra;
  const affected: NonNullable<OsvRecord['affected']>[number] = { package: { ecosystem, name } };
  if (events.length) affected.ranges = [{ type: rangeType ?? 'ECOSYSTEM', events }];
  if (versions) affected.versions = versions;
  return { id, modified: '2024-01-01T00:00:00Z', affected: [affected], ...rest };
}
