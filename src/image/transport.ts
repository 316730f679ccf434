/**
 * The raw level under ResolvedImage: read and write manifests and blobs by digest.
 * `drydock copy` works at this level so it keeps digests; every source implements
 * ImageReader, every writable form (registry, oci-dir, oci-archive) implements ImageWriter.
 */
import type { Readable } from 'node:stream';
import type { Descriptor, RawManifest } from './types.js';

export interface ImageReader {
  /** the manifest or index the target names (tag or digest), verified against its digest when it is named by one */
  root(): Promise<RawManifest>;
  /** a manifest or index by digest, verified */
  manifest(digest: string): Promise<RawManifest>;
  /** a blob stream, checked against descriptor digest and size as it streams (errors at the end on mismatch) */
  blob(desc: Descriptor): Promise<Readable>;
  /** true when the reader derived the manifest (docker-archive, engines) */
  readonly derived: boolean;
  /**
   * The identity binding a blob's bytes to this source, for verification records (see
   * ResolvedImage.verificationBinding). Registry: registry/repository@manifest-digest of the verified
   * chain; local files: path, size, mtime and inode of the file that holds the blob. undefined: none.
   */
  blobBinding(desc: Descriptor): Promise<string | undefined>;
  /** a display name for messages: the reference or path:tag */
  readonly name: string;
  close(): Promise<void>;
}

export interface ImageWriter {
  hasBlob(desc: Descriptor): Promise<boolean>;
  /** writes the stream; verifies digest and size before the blob becomes visible */
  putBlob(desc: Descriptor, data: Readable): Promise<void>;
  /** a chance to mount a blob from another repository of the same registry; false when not possible */
  mountBlob?(desc: Descriptor, fromRepository: string): Promise<boolean>;
  /** stores a manifest or index; `tag` also tags it (the root of a copy) */
  putManifest(manifest: RawManifest, tag?: string): Promise<void>;
  /** finishes the write (oci-archive: writes the tar; registry: no-op) */
  commit(): Promise<void>;
  /** drops partial output */
  abort(): Promise<void>;
}
