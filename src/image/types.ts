/**
 * Image-level types shared by every source (registry, OCI layout, archives, engines).
 * Shapes follow the OCI image spec (manifest.md, image-index.md, config.md, descriptor.md)
 * and Docker's image manifest v2 schema 2, whose fields are the same.
 */
import type { Readable } from 'node:stream';
import type { EventSink } from '../core/events.js';
import type { IssueLog } from '../core/issues.js';

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];

export type Compression = 'none' | 'gzip' | 'zstd';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  data?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** OCI image config (config.md); Docker's container config uses the same field names. */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object>;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
  };
  rootfs: { type: string; diff_ids: string[] };
  history?: HistoryEntry[];
}

/** What one layer is, as the manifest and the config describe it. */
export interface LayerInfo {
  index: number;
  /** digest of the blob as stored (compressed) */
  digest: string;
  /** digest of the uncompressed tar, from the config's rootfs.diff_ids */
  diffId: string;
  size: number;
  mediaType: string;
  compression: Compression;
  /** history created_by of the non-empty history entry that produced this layer */
  createdBy?: string;
}

/** `sbom` names a stored SBOM document (no image): only commands that need an inventory accept it. */
export type TargetKind = 'registry' | 'oci-dir' | 'oci-archive' | 'docker-archive' | 'dir' | 'podman' | 'docker' | 'sbom';

/** A parsed target string (see image/target.ts for the grammar). */
export interface Target {
  kind: TargetKind;
  /** the string as the user wrote it */
  input: string;
  /** file system path for oci-dir, oci-archive, docker-archive, dir, sbom */
  path?: string;
  /** tag/reference inside a layout or archive, or the image reference for registry, podman, docker */
  ref?: string;
}

/** Manifest (or index) bytes with their digest; the bytes are verified against the digest. */
export interface RawManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

/**
 * A verified, platform-resolved image. Sources produce it; layers/ and everything after
 * consume it without knowing where it came from.
 */
export interface ResolvedImage {
  target: Target;
  /** human name: the reference, path:tag, ... */
  name: string;
  /** registry-style reference when there is one (docker.io/library/alpine:3.19) */
  reference?: string;
  /** digest of the image manifest */
  digest: string;
  /** true when the source stores no manifest (docker-archive, engines) and Drydock derived one */
  manifestDerived: boolean;
  manifest: RawManifest;
  /** the index the manifest was picked from, if any */
  index?: RawManifest;
  config: ImageConfig;
  configDigest: string;
  configBytes: Buffer;
  platform: Platform;
  layers: LayerInfo[];
  /** for `dir:` targets: the root directory; such images have no layers */
  rootDir?: string;
  /**
   * The layer blob as stored (compressed), streamed. Digest and size are checked as it
   * streams: on mismatch the stream errors (DIGEST_MISMATCH / SIZE_MISMATCH) instead of ending,
   * so nothing from a bad blob can be accepted by a consumer that waits for the end.
   */
  openLayer(index: number, opts?: { signal?: AbortSignal }): Promise<Readable>;
  /**
   * The identity that binds this layer's bytes to this source for verification records
   * (registry: registry/repository@manifest-digest, whose chain is verified; local files:
   * path, size, mtime and inode of the file holding the blob). undefined: never skip reading.
   */
  verificationBinding(index: number): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface RegistryOptions {
  /** hosts (host or host:port) reached over plain HTTP or TLS without verification */
  insecure?: string[];
  caFile?: string;
  username?: string;
  password?: string;
  /** path of a docker config.json; default $DOCKER_CONFIG/config.json or ~/.docker/config.json */
  dockerConfig?: string;
  timeoutMs?: number;
  retries?: number;
  concurrency?: number;
}

export interface OpenImageOptions {
  /** os/arch[/variant] or a Platform; default: the host platform */
  platform?: string | Platform;
  registry?: RegistryOptions;
  events?: EventSink;
  issues?: IssueLog;
  tempDir?: string;
  signal?: AbortSignal;
  /** upper bound on manifest/index/config JSON sizes (bytes); default 4 MiB */
  maxManifestBytes?: number;
}
