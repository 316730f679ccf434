/**
 * The layer-aware filesystem view. One streaming pass per layer; consumers declare which
 * paths they need (selectors) and only those contents are kept, large ones spilled to a
 * temporary content-addressed store.
 */
import type { LayerInfo } from '../image/types.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface FileMeta {
  /** absolute, normalised: "/usr/bin/curl" */
  path: string;
  type: EntryType;
  size: number;
  /** permission bits and setuid/setgid/sticky (no type bits) */
  mode: number;
  uid: number;
  gid: number;
  mtime?: number;
  /** symlink target as written, or the absolute path a hard link points at */
  linkname?: string;
  /** index of the layer that wrote this entry */
  layer: number;
  /** a directory no layer wrote, present because entries below it exist (layer: the first such layer) */
  implied?: boolean;
}

export type LayerEntryStatus = 'present' | 'deleted' | 'replaced';

export interface LayerEntry extends FileMeta {
  status: LayerEntryStatus;
  /** for deleted/replaced: the layer index that deleted or replaced it */
  by?: number;
}

/** A cataloger's declaration of the files it needs (ARCHITECTURE habit 1). */
export interface FileSelector {
  /** stable name (cataloger name) */
  id: string;
  /** bump when what is selected changes: goes into the layer-cache key */
  version: string;
  /** exact absolute paths */
  paths?: string[];
  /** basenames, e.g. "package.json", "METADATA" */
  basenames?: string[];
  /** path globs: "**" matches any number of segments, "*" within one segment */
  globs?: string[];
  /** every regular file with an execute bit (binaries: Go build info, Rust audit data, classifiers) */
  executables?: boolean;
  /**
   * With `executables`: an executable matched by nothing else of this selector is kept (and listed)
   * only when its bytes contain one of these strings (latin1), looked for while the layer streams.
   * For catalogers that find nothing in a file without such a marker (Go build info, cargo-auditable).
   */
  contentMarkers?: string[];
  /** files larger than this are not kept (an issue is recorded) */
  maxSize?: number;
}

export interface LayerSummary extends LayerInfo {
  /** true once the layer's bytes were read and hashed, now or in a recorded earlier run */
  verified: boolean;
  /** served from the layer cache this run */
  cached: boolean;
  entries: number;
  /** uncompressed size, once known */
  uncompressedSize?: number;
}

export interface Limits {
  /** total uncompressed bytes over all layers; default 32 GiB */
  maxUncompressedBytes: number;
  /** total tar entries over all layers; default 5 million */
  maxEntries: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxUncompressedBytes: 32 * 1024 ** 3,
  maxEntries: 5_000_000,
};
