/**
 * The neutral inventory model: packages, where they were found (path + layer), how they
 * relate, and the distribution. SBOM encoders and decoders translate it; nothing here knows a format.
 */
import type { Issue } from '../core/issues.js';

/** Package types, named as package-URL types (purl-spec) where one exists. */
export type PackageType =
  | 'deb' | 'apk' | 'rpm' | 'npm' | 'pypi' | 'maven' | 'golang' | 'cargo' | 'gem' | 'composer' | 'nuget'
  | 'hex' | 'pub' | 'swift' | 'conan' | 'generic' | 'binary';

export interface Location {
  /** absolute path inside the image (or relative to a dir: target) */
  path: string;
  /** layer index that wrote this file (squashed view); -1 when unknown (dir:, decoded SBOM) */
  layer: number;
  layerDigest?: string;
  diffId?: string;
  /** what the file was to the cataloger: the package database, a manifest, the binary... */
  role?: 'database' | 'manifest' | 'lockfile' | 'binary' | 'archive' | 'owned-file' | 'evidence';
}

/** The layer that brought in the version present in the squashed image. */
export interface LayerRef {
  index: number;
  digest: string;
  diffId: string;
  createdBy?: string;
}

export interface PackageMetadataDpkg {
  kind: 'dpkg';
  source?: string;
  sourceVersion?: string;
  architecture?: string;
  maintainer?: string;
  installedSize?: number;
  depends?: string[];
  preDepends?: string[];
  provides?: string[];
  files?: { path: string; digest?: string }[];
}
export interface PackageMetadataApk {
  kind: 'apk';
  origin?: string;
  architecture?: string;
  maintainer?: string;
  depends?: string[];
  provides?: string[];
  files?: { path: string; digest?: string }[];
}
export interface PackageMetadataRpm {
  kind: 'rpm';
  epoch?: number;
  release: string;
  architecture?: string;
  sourceRpm?: string;
  vendor?: string;
  modularityLabel?: string;
  files?: { path: string; digest?: string }[];
}
export interface PackageMetadataGo {
  kind: 'golang';
  goVersion: string;
  mainModule?: string;
  /** build settings (vcs.revision, GOOS, ...) */
  settings?: Record<string, string>;
  h1Digest?: string;
  replacedBy?: { path: string; version?: string };
}
export interface PackageMetadataJava {
  kind: 'java';
  groupId?: string;
  artifactId?: string;
  /** nested path: outer.jar!/BOOT-INF/lib/inner.jar */
  virtualPath?: string;
  manifest?: Record<string, string>;
  sha1?: string;
}
export interface PackageMetadataGeneric {
  kind: 'generic';
  [key: string]: unknown;
}
export type PackageMetadata =
  | PackageMetadataDpkg | PackageMetadataApk | PackageMetadataRpm | PackageMetadataGo | PackageMetadataJava | PackageMetadataGeneric;

export interface Package {
  /** stable, content-derived id (see packageId) */
  id: string;
  type: PackageType;
  /** namespace where the ecosystem has one: Maven group, npm scope (without @), distro for OS packages */
  namespace?: string;
  name: string;
  version: string;
  purl?: string;
  cpes?: string[];
  /** SPDX license expressions where they parse, else the declared strings */
  licenses?: string[];
  /** the files that prove the package (database, manifest, binary) */
  locations: Location[];
  introducedBy?: LayerRef;
  /** the cataloger that found it */
  foundBy: string;
  /** true when an OS package owns the files this (language) package was found in */
  ownedBy?: string;
  /** for classifier findings: what identified it */
  evidence?: string[];
  metadata?: PackageMetadata;
}

export type RelationshipType = 'depends-on' | 'contains' | 'owns-files-of' | 'dev-depends-on' | 'optional-depends-on';

export interface Relationship {
  from: string;
  to: string;
  type: RelationshipType;
}

export interface Distro {
  /** os-release ID: debian, ubuntu, alpine, rhel, ... */
  id: string;
  versionId?: string;
  versionCodename?: string;
  idLike: string[];
  prettyName?: string;
  name?: string;
  cpeName?: string;
  /** which file told us */
  source?: string;
}

export interface InventorySource {
  /** the target as given */
  target: string;
  kind: string;
  name: string;
  digest?: string;
  configDigest?: string;
  platform?: string;
  layers: LayerRef[];
}

export interface Inventory {
  source: InventorySource;
  distro?: Distro;
  packages: Package[];
  relationships: Relationship[];
  issues: Issue[];
  /** the tool and options that produced it (reproducibility) */
  descriptor?: { name: string; version: string; options?: Record<string, unknown> };
}
