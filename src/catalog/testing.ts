/**
 * Test helper: runs one cataloger over an image (a testkit BuiltImage or any ResolvedImage),
 * with the same context the scan builds: the cataloger's selector, the squashed filesystem,
 * distro detection, an issue log. Used by cataloger unit tests; not part of the public API.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { IssueLog, type Issue } from '../core/issues.js';
import { openImage } from '../image/open.js';
import type { Compression, LayerInfo, ResolvedImage } from '../image/types.js';
import { buildImageFilesystem, type ImageFilesystem } from '../layers/filesystem.js';
import type { Distro, Location, Package, Relationship } from '../model/package.js';
import { DISTRO_SELECTOR, detectDistro } from './distro.js';
import { selectorOf, type CatalogContext, type Cataloger } from './types.js';

/** The parts of a testkit BuiltImage this helper needs (structural: no import from test/). */
export interface BuiltImageLike {
  layers: { blob: Buffer; digest: string; diffId: string; mediaType: string; compression: Compression }[];
  manifest: { bytes: Buffer; mediaType: string; digest: string };
  config: Buffer;
  configDigest: string;
  platform: { os: string; architecture: string; variant?: string };
}

export interface CatalogerRun {
  packages: Package[];
  relationships: Relationship[];
  issues: Issue[];
  distro?: Distro;
  fs: { layers: ImageFilesystem['layers'] };
}

export interface RunOptions {
  /** a fixed distro, or undefined to detect it from the image (default) */
  distro?: Distro;
  issues?: IssueLog;
  /** wraps the context the cataloger gets (to answer ownedByOsPackages, or watch reads) */
  wrap?: (ctx: CatalogContext) => CatalogContext;
}

function isResolved(i: ResolvedImage | BuiltImageLike): i is ResolvedImage {
  return typeof (i as ResolvedImage).openLayer === 'function';
}

/** A ResolvedImage over the in-memory blobs of a testkit image. */
export function resolvedFromBuilt(img: BuiltImageLike): ResolvedImage {
  const layers: LayerInfo[] = img.layers.map((l, index) => ({
    index,
    digest: l.digest,
    diffId: l.diffId,
    size: l.blob.length,
    mediaType: l.mediaType,
    compression: l.compression,
  }));
  return {
    target: { kind: 'oci-dir', input: 'testkit', path: '/nonexistent' },
    name: 'testkit',
    digest: img.manifest.digest,
    manifestDerived: false,
    manifest: img.manifest,
    config: JSON.parse(img.config.toString('utf8')) as ResolvedImage['config'],
    configDigest: img.configDigest,
    configBytes: img.config,
    platform: img.platform,
    layers,
    async openLayer(i: number) {
      return Readable.from([img.layers[i]!.blob]);
    },
    async verificationBinding() {
      return undefined;
    },
    async close() {},
  } as ResolvedImage;
}

/** Builds the CatalogContext a scan would give `cataloger` over `fs`. */
export function catalogContext(cataloger: Cataloger, fs: ImageFilesystem, issues: IssueLog, distro: Distro | undefined, targetKind: ResolvedImage['target']['kind'] = 'oci-dir'): CatalogContext {
  return {
    fs,
    distro,
    issues,
    targetKind,
    files: () => fs.selected(cataloger.name).filter((f) => fs.stat(f.path) !== undefined),
    read: (path) => fs.readFile(path),
    locate(path: string, role?: Location['role']): Location {
      const st = fs.stat(path);
      const layer = st?.layer ?? -1;
      const info = layer >= 0 ? fs.layers[layer] : undefined;
      const loc: Location = { path, layer };
      if (info?.digest) loc.layerDigest = info.digest;
      if (info?.diffId) loc.diffId = info.diffId;
      if (role) loc.role = role;
      return loc;
    },
  };
}

export async function runCatalogerOnImage(cataloger: Cataloger, image: ResolvedImage | BuiltImageLike, opts: RunOptions = {}): Promise<CatalogerRun> {
  const resolved = isResolved(image) ? image : resolvedFromBuilt(image);
  const issues = opts.issues ?? new IssueLog();
  const fs = await buildImageFilesystem(resolved, { selectors: [selectorOf(cataloger), DISTRO_SELECTOR], cache: null, issues });
  try {
    const distro = opts.distro ?? (await detectDistro((p) => fs.readFile(p)));
    const base = catalogContext(cataloger, fs, issues, distro, resolved.target.kind);
    const ctx = opts.wrap ? opts.wrap(base) : base;
    const r = await cataloger.catalog(ctx);
    return { packages: r.packages, relationships: r.relationships ?? [], issues: [...issues.issues], distro, fs: { layers: fs.layers } };
  } finally {
    await fs.close();
  }
}

/**
 * Writes `files` (paths relative to a fresh temporary directory) and runs `cataloger` over that
 * directory opened as a `dir:` target; the directory is removed afterwards.
 */
export async function runCatalogerOnDir(cataloger: Cataloger, files: Record<string, string | Buffer>, opts: RunOptions = {}): Promise<CatalogerRun> {
  const root = mkdtempSync(join(tmpdir(), 'drydock-lang-'));
  try {
    for (const [p, body] of Object.entries(files)) {
      mkdirSync(dirname(join(root, p)), { recursive: true });
      writeFileSync(join(root, p), body);
    }
    const img = await openImage(`dir:${root}`);
    try {
      return await runCatalogerOnImage(cataloger, img, opts);
    } finally {
      await img.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
