/**
 * The entry points from a target to a reader, a writer, or a resolved image.
 */
import { stat } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { DrydockError } from '../core/errors.js';
import { digestOf } from '../core/digest.js';
import type { EventSink } from '../core/events.js';
import type { ImageReader, ImageWriter } from './transport.js';
import { MediaType, type ImageConfig, type OpenImageOptions, type RegistryOptions, type ResolvedImage, type Target } from './types.js';
import { parseTarget } from './target.js';
import { openOciLayoutReader, openOciLayoutWriter } from './oci-layout.js';
import { openOciArchiveReader, openOciArchiveWriter } from './oci-archive.js';
import { openDockerArchiveReader } from './docker-archive.js';
import { resolveImage } from './resolve.js';
import { hostPlatform } from './platform.js';

/** What open.ts needs of the registry transport (./registry/transport.ts). */
interface RegistryTransport {
  openRegistryReader(ref: string, opts: { registry?: RegistryOptions; events?: EventSink; signal?: AbortSignal }): Promise<ImageReader>;
  openRegistryWriter(ref: string, opts: { registry?: RegistryOptions; events?: EventSink; signal?: AbortSignal }): Promise<ImageWriter>;
}

async function registryTransport(): Promise<RegistryTransport> {
  // loaded lazily: local targets never pay for the registry client
  return import('./registry/transport.js');
}

function toTarget(t: Target | string): Target {
  return typeof t === 'string' ? parseTarget(t) : t;
}

function need(t: Target, field: 'path' | 'ref'): string {
  const v = t[field];
  if (v === undefined || v === '') throw new DrydockError('TARGET_INVALID', `invalid target ${JSON.stringify(t.input)}: ${t.kind} needs a ${field}`);
  return v;
}

function registryOpts(opts: OpenImageOptions): { registry?: RegistryOptions; events?: EventSink; signal?: AbortSignal } {
  const o: { registry?: RegistryOptions; events?: EventSink; signal?: AbortSignal } = {};
  if (opts.registry) o.registry = opts.registry;
  if (opts.events) o.events = opts.events;
  if (opts.signal) o.signal = opts.signal;
  return o;
}

function archiveOpts(opts: OpenImageOptions): { maxManifestBytes?: number; tempDir?: string; signal?: AbortSignal } {
  const o: { maxManifestBytes?: number; tempDir?: string; signal?: AbortSignal } = {};
  if (opts.maxManifestBytes !== undefined) o.maxManifestBytes = opts.maxManifestBytes;
  if (opts.tempDir !== undefined) o.tempDir = opts.tempDir;
  if (opts.signal !== undefined) o.signal = opts.signal;
  return o;
}

export async function openReader(target: Target | string, opts: OpenImageOptions = {}): Promise<ImageReader> {
  const t = toTarget(target);
  switch (t.kind) {
    case 'registry':
      return (await registryTransport()).openRegistryReader(need(t, 'ref'), registryOpts(opts));
    case 'oci-dir':
      return openOciLayoutReader(need(t, 'path'), t.ref, archiveOpts(opts));
    case 'oci-archive':
      return openOciArchiveReader(need(t, 'path'), t.ref, archiveOpts(opts));
    case 'docker-archive':
      return openDockerArchiveReader(need(t, 'path'), t.ref, archiveOpts(opts));
    case 'podman':
      return (await import('./engines.js')).openPodmanReader(need(t, 'ref'), archiveOpts(opts));
    case 'docker':
      return (await import('./engines.js')).openDockerReader(need(t, 'ref'), archiveOpts(opts));
    case 'dir':
      throw new DrydockError('USAGE', `cannot read ${t.input} as an image: dir: targets have no manifest or blobs (scan them instead)`);
    case 'sbom':
      throw new DrydockError('USAGE', `cannot read ${t.input} as an image: sbom: targets hold an inventory, not an image (use them with drydock sbom or drydock convert)`);
  }
}

export async function openWriter(target: Target | string, opts: OpenImageOptions = {}): Promise<ImageWriter> {
  const t = toTarget(target);
  switch (t.kind) {
    case 'registry':
      return (await registryTransport()).openRegistryWriter(need(t, 'ref'), registryOpts(opts));
    case 'oci-dir':
      return openOciLayoutWriter(need(t, 'path'));
    case 'oci-archive':
      return openOciArchiveWriter(need(t, 'path'), archiveOpts(opts));
    case 'sbom':
      throw new DrydockError('USAGE', `cannot write an image to ${t.input}: sbom: targets hold an inventory, not an image (writable: registry, oci-dir, oci-archive)`);
    default:
      throw new DrydockError('USAGE', `cannot write to ${t.input}: ${t.kind} targets are read-only (writable: registry, oci-dir, oci-archive)`);
  }
}

export async function openImage(target: Target | string, opts: OpenImageOptions = {}): Promise<ResolvedImage> {
  const t = toTarget(target);
  if (t.kind === 'dir') return openDir(t);
  const reader = await openReader(t, opts);
  try {
    return await resolveImage(reader, t, opts);
  } catch (e) {
    await reader.close().catch(() => {});
    throw e;
  }
}

/** A `dir:` target: a root file system with a synthetic config and no layers. */
async function openDir(t: Target): Promise<ResolvedImage> {
  const path = need(t, 'path');
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw new DrydockError('IMAGE_NOT_FOUND', `${path}: no such directory`, { cause: e });
  }
  if (!st.isDirectory()) throw new DrydockError('IMAGE_NOT_FOUND', `${path}: not a directory`);
  const platform = hostPlatform();
  const config: ImageConfig = { architecture: platform.architecture, os: platform.os, rootfs: { type: 'layers', diff_ids: [] } };
  if (platform.variant) config.variant = platform.variant;
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = digestOf(configBytes);
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers: [],
    }),
  );
  const digest = digestOf(manifestBytes);
  return {
    target: t,
    name: path,
    digest,
    manifestDerived: true,
    manifest: { bytes: manifestBytes, mediaType: MediaType.ociManifest, digest },
    config,
    configDigest,
    configBytes,
    platform,
    layers: [],
    rootDir: resolvePath(path),
    openLayer: async (i) => {
      throw new DrydockError('INTERNAL', `${path}: a dir: target has no layer ${i}`);
    },
    verificationBinding: async () => undefined,
    close: async () => {},
  };
}
