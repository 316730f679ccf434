/**
 * `inspect`: what an image is (manifest, config, layers) and, with files, what it holds.
 * Orchestration only: image/ resolves, layers/ reads and verifies.
 */
import { join } from 'node:path';
import { defaultCacheDir } from '../core/paths.js';
import type { EventSink } from '../core/events.js';
import type { IssueLog } from '../core/issues.js';
import { openImage } from '../image/open.js';
import { formatPlatform } from '../image/platform.js';
import type { OpenImageOptions, ResolvedImage, Target } from '../image/types.js';
import { LayerCache } from '../layers/cache.js';
import { buildImageFilesystem } from '../layers/filesystem.js';
import type { LayerSummary, Limits } from '../layers/types.js';
import { lazyFilesResult, type FilesResult, type InspectResult } from '../report/inspect.js';

export type { FilesResult, InspectResult } from '../report/inspect.js';
import { layerVerificationStatus, verifyLayers } from '../layers/verify.js';

export interface ScanCommonOptions {
  image?: OpenImageOptions;
  /** cache directory; null disables the cache */
  cacheDir?: string | null;
  limits?: Partial<Limits>;
  events?: EventSink;
  issues?: IssueLog;
  tempDir?: string;
  concurrency?: number;
}

/** The layer cache under `cacheDir` (null: none); the first failed write becomes a warning event. */
export function openCache(cacheDir: string | null | undefined, events?: EventSink): LayerCache | null {
  if (cacheDir === null) return null;
  return LayerCache.open(join(cacheDir ?? defaultCacheDir(), 'layers'), {
    ...(events ? { onWriteError: (message: string) => events({ type: 'log', level: 'warn', message }) } : {}),
  });
}

function imageOptions(opts: ScanCommonOptions): OpenImageOptions {
  return {
    ...opts.image,
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.issues ? { issues: opts.issues } : {}),
    ...(opts.tempDir ? { tempDir: opts.tempDir } : {}),
  };
}

function describe(image: ResolvedImage, verified: boolean[]): InspectResult {
  const c = image.config.config ?? {};
  return {
    name: image.name,
    reference: image.reference ?? null,
    digest: image.digest,
    manifestDerived: image.manifestDerived,
    mediaType: image.manifest.mediaType,
    indexDigest: image.index?.digest ?? null,
    platform: formatPlatform(image.platform),
    configDigest: image.configDigest,
    created: image.config.created ?? null,
    config: {
      user: c.User || null,
      workingDir: c.WorkingDir || null,
      entrypoint: c.Entrypoint ?? null,
      cmd: c.Cmd ?? null,
      env: c.Env ?? [],
      labels: c.Labels ?? {},
      exposedPorts: Object.keys(c.ExposedPorts ?? {}).sort(),
      volumes: Object.keys(c.Volumes ?? {}).sort(),
      stopSignal: c.StopSignal ?? null,
    },
    history: (image.config.history ?? []).map((h) => ({
      created: h.created ?? null,
      createdBy: h.created_by ?? null,
      comment: h.comment ?? null,
      emptyLayer: h.empty_layer === true,
    })),
    layers: image.layers.map((l, i) => ({
      index: l.index,
      digest: l.digest,
      diffId: l.diffId,
      size: l.size,
      mediaType: l.mediaType,
      createdBy: l.createdBy ?? null,
      verified: verified[i] ?? false,
    })),
  };
}

/**
 * Describes an image. Without `verify` no layer is read: `verified` comes from verification
 * records. With `verify` every layer is read and its diffID computed.
 */
export async function inspectImage(target: string | Target, opts: ScanCommonOptions & { verify?: boolean } = {}): Promise<InspectResult> {
  const image = await openImage(target, imageOptions(opts));
  try {
    const cache = openCache(opts.cacheDir, opts.events);
    let verified: boolean[];
    if (opts.verify) {
      const summaries: LayerSummary[] = await verifyLayers(image, {
        cache,
        force: true,
        ...(opts.events ? { events: opts.events } : {}),
        ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
        ...(opts.limits ? { limits: opts.limits } : {}),
      });
      verified = summaries.map((s) => s.verified);
    } else {
      verified = cache ? await layerVerificationStatus(image, cache) : image.layers.map(() => false);
    }
    return describe(image, verified);
  } finally {
    await image.close();
  }
}

/** Every path of the image with the layer that wrote it. */
export async function listImageFiles(
  target: string | Target,
  opts: ScanCommonOptions & { scope?: 'squashed' | 'all-layers' } = {},
): Promise<FilesResult> {
  const scope = opts.scope ?? 'squashed';
  const image = await openImage(target, imageOptions(opts));
  try {
    const fs = await buildImageFilesystem(image, {
      selectors: [],
      cache: openCache(opts.cacheDir, opts.events),
      scope,
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.issues ? { issues: opts.issues } : {}),
      ...(opts.events ? { events: opts.events } : {}),
      ...(opts.tempDir ? { tempDir: opts.tempDir } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
    });
    try {
      // squashed: streamed by the renderers from the in-memory index (which outlives fs.close():
      // it reads no content), so 300k files never exist as one array
      return lazyFilesResult(
        {
          name: image.name,
          digest: image.digest,
          platform: formatPlatform(image.platform),
          scope,
          layers: fs.layers.map((l) => ({ index: l.index, digest: l.digest, diffId: l.diffId, createdBy: l.createdBy ?? null })),
        },
        scope === 'squashed' ? fs.squashedEntries() : fs.allLayers(),
      );
    } finally {
      await fs.close();
    }
  } finally {
    await image.close();
  }
}
