/**
 * Running containers and drift: the neutral shapes. A runtime (podman today; containerd and
 * Docker later) lists and inspects containers; drift compares a running root filesystem with the
 * squashed view of the image it was started from.
 */
import type { Issue } from '../core/issues.js';

/** A mount of a running container, as the runtime declares it or /proc/PID/mountinfo shows it. */
export interface ContainerMount {
  /** path inside the container */
  destination: string;
  source?: string;
  type?: string;
}

export interface RunningContainer {
  /** runtime name: "podman", "containerd", "proc" */
  runtime: string;
  id: string;
  /** podman: the container name; containerd: NAMESPACE/ID */
  name: string;
  /** containerd: the namespace */
  namespace?: string;
  /** the image reference the container was started from, as the runtime recorded it */
  image: string;
  /** the runtime's image id (the config digest for podman and Docker), "sha256:..." */
  imageId?: string;
  /** the image manifest digest the runtime knows ("sha256:..."); from ImageDigest or RepoDigests */
  imageDigest?: string;
  /** NAME@sha256:... references of the image */
  repoDigests: string[];
  /** RFC 3339 */
  startedAt?: string;
  state: string;
  labels: Record<string, string>;
  /** host PID of the container's first process; undefined when it does not run */
  pid?: number;
  /** the container's root filesystem as the host sees it: /proc/PID/root */
  rootfs?: string;
  mounts: ContainerMount[];
  /** containerd: the snapshotter and snapshot key of the root filesystem */
  snapshotter?: string;
  snapshotKey?: string;
}

export interface ContainerRuntime {
  readonly name: string;
  /** how the runtime is reached: its REST API over a socket, or its command-line client */
  readonly via: 'api' | 'cli';
  /** running containers, sorted by name then id */
  list(): Promise<RunningContainer[]>;
  /** one container by id, id prefix or name (RUNTIME_UNAVAILABLE / IMAGE_NOT_FOUND when absent) */
  inspect(idOrName: string): Promise<RunningContainer>;
  /** a target string (image/target.ts grammar) that reads the container's image */
  imageTarget(c: RunningContainer): string;
  /** the container as a drift target (runtime/drift.ts grammar): podman://ID, docker://ID, containerd://NAMESPACE/ID */
  containerTarget(c: RunningContainer): string;
  /**
   * For runtimes whose image store is no target of its own (containerd): makes the image readable
   * (an export into tempDir) and names it as a target; cleanup deletes what was made.
   */
  openImageTarget?(c: RunningContainer, tempDir?: string): Promise<{ target: string; cleanup: () => Promise<void> }>;
}

export type DriftSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const DRIFT_SEVERITIES: readonly DriftSeverity[] = ['critical', 'high', 'medium', 'low', 'info'];

export type DriftKind =
  | 'modified-package-binary'
  | 'new-executable'
  | 'package-db-tampered'
  | 'package-installed-at-runtime'
  | 'package-changed-at-runtime'
  | 'package-removed'
  | 'file-added'
  | 'file-changed'
  | 'file-deleted';

export const DRIFT_KIND_SEVERITY: Record<DriftKind, DriftSeverity> = {
  'modified-package-binary': 'critical',
  'new-executable': 'high',
  'package-db-tampered': 'high',
  'package-installed-at-runtime': 'medium',
  'package-changed-at-runtime': 'medium',
  'package-removed': 'low',
  'file-added': 'info',
  'file-changed': 'info',
  'file-deleted': 'info',
};

/** What differs about a path present in both the image and the running container. */
export type FileChange = 'type' | 'size' | 'mode' | 'owner' | 'content' | 'link-target' | 'mtime';

export interface FileDrift {
  path: string;
  status: 'added' | 'changed' | 'deleted';
  type: string;
  /** for changed: what differs; "mtime" alone never makes a change (content compared instead) */
  changes?: FileChange[];
  size?: number;
  imageSize?: number;
  mode?: number;
  imageMode?: number;
  sha256?: string;
  imageSha256?: string;
  /** the content could not be compared (budget exhausted, unreadable): metadata only */
  contentUnknown?: boolean;
  executable?: boolean;
  /** the OS package of the image that owns the path */
  ownedBy?: string;
  /** the layer of the image that wrote the path (changed, deleted) */
  layer?: number;
}

export interface PackageDrift {
  status: 'installed' | 'removed' | 'changed';
  type: string;
  name: string;
  version?: string;
  imageVersion?: string;
  purl?: string;
}

export interface DriftFinding {
  kind: DriftKind;
  severity: DriftSeverity;
  /** the path or the package (type/name) the finding is about */
  subject: string;
  message: string;
  path?: string;
  package?: { type: string; name: string; version?: string; imageVersion?: string };
}

/** A path left out of the comparison, with the reason. */
export interface Excluded {
  path: string;
  reason: 'virtual' | 'mount' | 'other-filesystem' | 'runtime-file';
  /** the filesystem type from mountinfo */
  fstype?: string;
}

export interface DriftReport {
  container: {
    target: string;
    runtime: string;
    id: string;
    name: string;
    pid: number;
    rootfs: string;
    image: string;
    imageDigest?: string;
  };
  /** the image compared with, as a target string, and its manifest digest as read */
  image: { target: string; digest?: string };
  excluded: Excluded[];
  files: FileDrift[];
  packages: PackageDrift[];
  findings: DriftFinding[];
  stats: {
    entries: number;
    imageEntries: number;
    hashedFiles: number;
    hashedBytes: number;
    /** whether the running filesystem was cataloged (a package database or a cataloged file changed) */
    cataloged: boolean;
    elapsedMs: number;
  };
  issues: Issue[];
}
