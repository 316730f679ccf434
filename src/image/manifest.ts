/**
 * Parsing and validation helpers for manifests, indexes, configs and layer media types.
 * Pure functions (plus a bounded stream reader); every source and resolve.ts share them.
 */
import type { Readable } from 'node:stream';
import { DrydockError } from '../core/errors.js';
import { digestOf, isDigest } from '../core/digest.js';
import {
  INDEX_MEDIA_TYPES,
  MANIFEST_MEDIA_TYPES,
  MediaType,
  type Compression,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type RawManifest,
} from './types.js';

export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export const SCHEMA1_MEDIA_TYPES: readonly string[] = [MediaType.dockerSchema1, MediaType.dockerSchema1Signed];
export const SCHEMA1_MESSAGE = 'docker schema 1 manifests are not supported; re-push the image with a current client';

export const CONFIG_MEDIA_TYPES: readonly string[] = [MediaType.ociConfig, MediaType.dockerConfig];

/** Layer media types Drydock reads, with their compression. */
const LAYER_MEDIA_TYPES: ReadonlyMap<string, Compression> = new Map<string, Compression>([
  [MediaType.ociLayer, 'none'],
  [MediaType.ociLayerGzip, 'gzip'],
  [MediaType.ociLayerZstd, 'zstd'],
  [MediaType.ociLayerNondistributable, 'none'],
  [MediaType.ociLayerNondistributableGzip, 'gzip'],
  [MediaType.ociLayerNondistributableZstd, 'zstd'],
  [MediaType.dockerLayer, 'none'],
  [MediaType.dockerLayerGzip, 'gzip'],
  [MediaType.dockerLayerForeignGzip, 'gzip'],
  [MediaType.dockerLayerZstd, 'zstd'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar', 'none'],
]);

/** The compression of a layer media type, or undefined when Drydock cannot read it. */
export function layerCompression(mediaType: string): Compression | undefined {
  return LAYER_MEDIA_TYPES.get(mediaType);
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_MEDIA_TYPES.includes(mediaType);
}

export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_MEDIA_TYPES.includes(mediaType);
}

export function isSchema1MediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && SCHEMA1_MEDIA_TYPES.includes(mediaType);
}

/** Sniffs the compression of a blob from its first bytes. */
export function sniffCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

export function dockerLayerMediaType(c: Compression): string {
  return c === 'gzip' ? MediaType.dockerLayerGzip : c === 'zstd' ? MediaType.dockerLayerZstd : MediaType.dockerLayer;
}

/** Reads a whole stream into memory, refusing more than `max` bytes (MANIFEST_INVALID). */
export async function readLimited(stream: Readable, max: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      total += b.length;
      if (total > max) {
        throw new DrydockError('MANIFEST_INVALID', `${what}: larger than the limit of ${max} bytes`);
      }
      chunks.push(b);
    }
  } finally {
    if (!stream.destroyed) stream.destroy();
  }
  return Buffer.concat(chunks);
}

export function rawManifestOf(bytes: Buffer, mediaType: string): RawManifest {
  return { bytes, mediaType, digest: digestOf(bytes) };
}

/** JSON.parse that maps syntax errors to MANIFEST_INVALID naming the object. */
export function parseJsonObject(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: not valid json (${(e as Error).message})`, { cause: e });
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: not a json object`);
  }
  return v as Record<string, unknown>;
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/** Validates the shape of a descriptor (descriptor.md). */
export function validateDescriptor(v: unknown, what: string): Descriptor {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: descriptor is not an object`);
  }
  const d = v as Record<string, unknown>;
  if (typeof d.mediaType !== 'string' || d.mediaType === '') {
    throw new DrydockError('MANIFEST_INVALID', `${what}: descriptor without a mediaType`);
  }
  if (typeof d.digest !== 'string' || !isDigest(d.digest)) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: descriptor digest ${JSON.stringify(String(d.digest).slice(0, 160))} is not a valid digest`);
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: descriptor ${d.digest} has an invalid size`);
  }
  if (d.annotations !== undefined && !isStringRecord(d.annotations)) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: descriptor ${d.digest} has invalid annotations`);
  }
  if (d.urls !== undefined && !(Array.isArray(d.urls) && d.urls.every((u) => typeof u === 'string'))) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: descriptor ${d.digest} has invalid urls`);
  }
  if (d.platform !== undefined) {
    const p = d.platform as Record<string, unknown> | null;
    if (p === null || typeof p !== 'object' || typeof p.os !== 'string' || typeof p.architecture !== 'string') {
      throw new DrydockError('MANIFEST_INVALID', `${what}: descriptor ${d.digest} has an invalid platform`);
    }
  }
  return d as unknown as Descriptor;
}

export type ParsedManifest =
  | { kind: 'index'; index: ImageIndex }
  | { kind: 'manifest'; manifest: ImageManifest };

/**
 * Parses and validates a manifest or an index. `name` names the object in messages (usually
 * its digest). Refuses Docker schema 1 (MANIFEST_UNSUPPORTED); malformed → MANIFEST_INVALID.
 */
export function parseManifestJson(raw: RawManifest, name: string): ParsedManifest {
  const what = `manifest ${name}`;
  if (isSchema1MediaType(raw.mediaType)) throw new DrydockError('MANIFEST_UNSUPPORTED', `${what}: ${SCHEMA1_MESSAGE}`);
  const o = parseJsonObject(raw.bytes, what);
  if (o.schemaVersion === 1 || isSchema1MediaType(o.mediaType as string | undefined)) {
    throw new DrydockError('MANIFEST_UNSUPPORTED', `${what}: ${SCHEMA1_MESSAGE}`);
  }
  if (o.schemaVersion !== 2) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: schemaVersion ${JSON.stringify(o.schemaVersion)} is not 2`);
  }
  if (o.mediaType !== undefined && typeof o.mediaType !== 'string') {
    throw new DrydockError('MANIFEST_INVALID', `${what}: mediaType is not a string`);
  }
  const declared = (o.mediaType as string | undefined) ?? '';
  const isIndex =
    isIndexMediaType(declared) ||
    isIndexMediaType(raw.mediaType) ||
    (!isManifestMediaType(declared) && !isManifestMediaType(raw.mediaType) && Array.isArray(o.manifests));
  if (declared && !isIndexMediaType(declared) && !isManifestMediaType(declared)) {
    throw new DrydockError('MANIFEST_UNSUPPORTED', `${what}: media type ${declared} is neither an image manifest nor an index`);
  }
  if (o.annotations !== undefined && !isStringRecord(o.annotations)) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: invalid annotations`);
  }
  if (isIndex) {
    if (!Array.isArray(o.manifests)) throw new DrydockError('MANIFEST_INVALID', `${what}: index without a manifests array`);
    const manifests = o.manifests.map((d, i) => validateDescriptor(d, `${what} manifests[${i}]`));
    return { kind: 'index', index: { ...(o as object), schemaVersion: 2, manifests } as ImageIndex };
  }
  if (!Array.isArray(o.layers)) throw new DrydockError('MANIFEST_INVALID', `${what}: manifest without a layers array`);
  const config = validateDescriptor(o.config, `${what} config`);
  const layers = o.layers.map((d, i) => validateDescriptor(d, `${what} layers[${i}]`));
  return { kind: 'manifest', manifest: { ...(o as object), schemaVersion: 2, config, layers } as ImageManifest };
}

/** Validates an image config (config.md): os, architecture and rootfs.diff_ids. */
export function parseImageConfig(bytes: Buffer, name: string): ImageConfig {
  const what = `image config ${name}`;
  const o = parseJsonObject(bytes, what);
  if (typeof o.architecture !== 'string' || typeof o.os !== 'string') {
    throw new DrydockError('MANIFEST_INVALID', `${what}: missing os or architecture`);
  }
  const rootfs = o.rootfs as Record<string, unknown> | undefined;
  if (!rootfs || typeof rootfs !== 'object' || !Array.isArray(rootfs.diff_ids)) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: missing rootfs.diff_ids`);
  }
  for (const d of rootfs.diff_ids) {
    if (typeof d !== 'string' || !isDigest(d)) {
      throw new DrydockError('MANIFEST_INVALID', `${what}: rootfs.diff_ids holds an invalid digest ${JSON.stringify(String(d).slice(0, 160))}`);
    }
  }
  if (o.history !== undefined && !Array.isArray(o.history)) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: history is not an array`);
  }
  if (o.config !== undefined && o.config !== null && (typeof o.config !== 'object' || Array.isArray(o.config))) {
    throw new DrydockError('MANIFEST_INVALID', `${what}: config is not an object`);
  }
  return o as unknown as ImageConfig;
}

/** created_by of the history entries that produced layers (empty_layer entries skipped), by layer index. */
export function layerCreatedBy(config: ImageConfig, layerCount: number): (string | undefined)[] {
  const out: (string | undefined)[] = new Array<string | undefined>(layerCount).fill(undefined);
  let i = 0;
  for (const h of config.history ?? []) {
    if (h === null || typeof h !== 'object') continue;
    if (h.empty_layer === true) continue;
    if (i >= layerCount) break;
    out[i] = typeof h.created_by === 'string' ? h.created_by : undefined;
    i++;
  }
  return out;
}
