/**
 * From an ImageReader to a verified, platform-resolved ResolvedImage: pick the platform of an
 * index (nested indexes allowed), refuse schema 1, validate the manifest and the config, and
 * describe the layers.
 */
import { withProgress } from './progress.js';
import { addAbortSignal } from 'node:stream';
import { DrydockError } from '../core/errors.js';
import type { ImageReader } from './transport.js';
import type { Descriptor, ImageConfig, LayerInfo, OpenImageOptions, Platform, RawManifest, ResolvedImage, Target } from './types.js';
import {
  CONFIG_MEDIA_TYPES,
  DEFAULT_MAX_MANIFEST_BYTES,
  isIndexMediaType,
  layerCompression,
  layerCreatedBy,
  parseImageConfig,
  parseManifestJson,
  readLimited,
} from './manifest.js';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectFromIndex } from './platform.js';

export { isIndexMediaType, parseManifestJson };

const MAX_INDEX_DEPTH = 4;

export function wantedPlatform(opts: OpenImageOptions): Platform {
  if (opts.platform === undefined) return hostPlatform();
  return typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
}

function checkSize(raw: RawManifest, max: number): void {
  if (raw.bytes.length > max) {
    throw new DrydockError('MANIFEST_INVALID', `manifest ${raw.digest}: ${raw.bytes.length} bytes, larger than the limit of ${max}`);
  }
}

export async function resolveImage(reader: ImageReader, target: Target, opts: OpenImageOptions): Promise<ResolvedImage> {
  const max = opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
  const want = wantedPlatform(opts);
  let raw = await reader.root();
  checkSize(raw, max);
  let parsed = parseManifestJson(raw, raw.digest);
  let index: RawManifest | undefined;
  let selected: Descriptor | undefined;
  for (let depth = 0; parsed.kind === 'index'; depth++) {
    if (depth >= MAX_INDEX_DEPTH) {
      throw new DrydockError('MANIFEST_INVALID', `manifest ${raw.digest}: indexes nested more than ${MAX_INDEX_DEPTH} deep`);
    }
    index = raw;
    selected = selectFromIndex(parsed.index, want, reader.name);
    if (selected.size > max) {
      throw new DrydockError('MANIFEST_INVALID', `manifest ${selected.digest}: ${selected.size} bytes, larger than the limit of ${max}`);
    }
    raw = await reader.manifest(selected.digest);
    checkSize(raw, max);
    if (raw.bytes.length !== selected.size) {
      throw new DrydockError('SIZE_MISMATCH', `manifest ${selected.digest}: ${raw.bytes.length} bytes, its descriptor declares ${selected.size}`);
    }
    // the descriptor's media type is authoritative when the manifest omits its own
    if (!raw.mediaType || raw.mediaType === 'application/octet-stream') raw = { ...raw, mediaType: selected.mediaType };
    parsed = parseManifestJson(raw, raw.digest);
  }
  const manifest = parsed.manifest;
  const cfgDesc = manifest.config;
  if (!CONFIG_MEDIA_TYPES.includes(cfgDesc.mediaType)) {
    throw new DrydockError('MANIFEST_UNSUPPORTED', `manifest ${raw.digest}: config media type ${cfgDesc.mediaType} is not a container image config (an artifact?)`);
  }
  if (cfgDesc.size > max) {
    throw new DrydockError('MANIFEST_INVALID', `image config ${cfgDesc.digest}: ${cfgDesc.size} bytes, larger than the limit of ${max}`);
  }
  const configBytes = await readLimited(await reader.blob(cfgDesc), max, `image config ${cfgDesc.digest}`);
  const config: ImageConfig = parseImageConfig(configBytes, cfgDesc.digest);
  const diffIds = config.rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new DrydockError('MANIFEST_INVALID', `manifest ${raw.digest}: ${manifest.layers.length} layers but the config ${cfgDesc.digest} lists ${diffIds.length} diff_ids`);
  }
  const createdBy = layerCreatedBy(config, manifest.layers.length);
  const layers: LayerInfo[] = manifest.layers.map((d, i) => {
    const compression = layerCompression(d.mediaType);
    if (compression === undefined) {
      throw new DrydockError('MEDIA_TYPE_UNSUPPORTED', `manifest ${raw.digest}: layer ${i} (${d.digest}) has media type ${d.mediaType}, which drydock cannot read`);
    }
    const info: LayerInfo = { index: i, digest: d.digest, diffId: diffIds[i] as string, size: d.size, mediaType: d.mediaType, compression };
    const cb = createdBy[i];
    if (cb !== undefined) info.createdBy = cb;
    return info;
  });
  const platform: Platform = { os: config.os, architecture: config.architecture };
  if (config.variant) platform.variant = config.variant;
  else if (selected?.platform?.variant) platform.variant = selected.platform.variant;
  if (config['os.version']) platform['os.version'] = config['os.version'];
  if (index === undefined && opts.platform !== undefined && !platformMatches(want, platform)) {
    opts.issues?.record({
      code: 'PLATFORM_NOT_FOUND',
      message: `${reader.name}: the image is ${formatPlatform(platform)}, not the requested ${formatPlatform(want)} (single-platform image used as is)`,
    });
  }
  const descs = manifest.layers;
  const layerDesc = (i: number): Descriptor => {
    const d = descs[i];
    if (!Number.isInteger(i) || d === undefined) throw new DrydockError('INTERNAL', `layer index ${i} out of range 0..${descs.length - 1}`);
    return d;
  };
  const reference = referenceOf(target, reader);
  const resolved: ResolvedImage = {
    target,
    name: reader.name,
    digest: raw.digest,
    manifestDerived: reader.derived,
    manifest: raw,
    config,
    configDigest: cfgDesc.digest,
    configBytes,
    platform,
    layers,
    openLayer: async (i, o) => {
      o?.signal?.throwIfAborted();
      const desc = layerDesc(i);
      const s = withProgress(await reader.blob(desc), desc, 'layer', opts.events);
      return o?.signal ? addAbortSignal(o.signal, s) : s;
    },
    verificationBinding: (i) => reader.blobBinding(layerDesc(i)),
    close: () => reader.close(),
  };
  if (index) resolved.index = index;
  if (reference !== undefined) resolved.reference = reference;
  return resolved;
}

function referenceOf(target: Target, reader: ImageReader): string | undefined {
  const fromReader = (reader as { reference?: unknown }).reference;
  if (typeof fromReader === 'string') return fromReader;
  if (target.kind === 'registry' || target.kind === 'podman' || target.kind === 'docker') return target.ref;
  return undefined;
}
