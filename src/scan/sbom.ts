/**
 * `sbom`: the inventory of an image. Orchestration only: image/ resolves, layers/ reads each
 * layer once keeping the files the selected catalogers asked for, catalog/ turns them into
 * packages; then a generic post-processing pass (layer attribution, file ownership, dedupe,
 * deterministic order) produces the neutral Inventory that sbom/ encodes.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { DrydockError } from '../core/errors.js';
import { IssueLog, type Issue } from '../core/issues.js';
import { DISTRO_SELECTOR, detectDistro } from '../catalog/distro.js';
import { addDerivedCpes } from '../catalog/cpe.js';
import { allCatalogers } from '../catalog/registry.js';
import { selectorOf, type CatalogContext, type Cataloger, type CatalogerTag } from '../catalog/types.js';
import { openImage } from '../image/open.js';
import { formatPlatform } from '../image/platform.js';
import { parseTarget } from '../image/target.js';
import type { OpenImageOptions, ResolvedImage, Target, TargetKind } from '../image/types.js';
import { buildImageFilesystem, type ImageFilesystem } from '../layers/filesystem.js';
import { compileSelectors } from '../layers/selectors.js';
import { normaliseQueryPath } from '../layers/paths.js';
import type { FileMeta } from '../layers/types.js';
import { comparePackages, uniqueRelationships } from '../model/ids.js';
import type { Distro, Inventory, LayerRef, Location, Package, Relationship } from '../model/package.js';
import { openCache, type ScanCommonOptions } from './inspect.js';
import { preloadPackageUrl } from '../model/purl.js';
import { byString } from '../core/compare.js';

export interface SbomOptions extends ScanCommonOptions {
  /** "+name,-name" (adjust the default set), "a,b" (replace it), names or tags; or a list of such tokens */
  catalogers?: string | string[];
  /** squashed (default): the final filesystem; all-layers: also packages whose files later layers deleted or replaced */
  scope?: 'squashed' | 'all-layers';
  /** tool identity written into the descriptor (default drydock / 0.0.0) */
  tool?: { name: string; version: string };
  /** the catalogers to choose from (default: allCatalogers()) */
  available?: Cataloger[];
  /**
   * Whether OS packages keep the lists of their installed files (`metadata.files`; default true).
   * The CycloneDX, SPDX and table encoders do not write them: a caller that only encodes one of
   * those can say false, and a warm run then reads about a third as much of the cache.
   */
  fileLists?: boolean;
}

const IMAGE_DEFAULT_TAGS: readonly CatalogerTag[] = ['installed', 'os', 'binary', 'image'];
const DIR_DEFAULT_TAGS: readonly CatalogerTag[] = ['installed', 'os', 'binary', 'declared', 'directory'];

export function isDirKind(kind: TargetKind): boolean {
  return kind === 'dir';
}

/** Whether a cataloger runs by default for images (dir: false) or directories (dir: true). */
export function selectedByDefault(c: Cataloger, dir: boolean): boolean {
  const tags = dir ? DIR_DEFAULT_TAGS : IMAGE_DEFAULT_TAGS;
  if (!dir && c.tags.includes('declared') && !c.tags.includes('installed') && !c.tags.includes('image')) return false;
  if (dir && c.tags.includes('image') && !c.tags.includes('directory') && !c.tags.some((t) => t === 'installed' || t === 'declared' || t === 'os' || t === 'binary')) return false;
  return c.tags.some((t) => tags.includes(t));
}

function tokens(spec: string | string[] | undefined): string[] {
  if (spec === undefined) return [];
  const list = Array.isArray(spec) ? spec : [spec];
  return list.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}

/**
 * The catalogers to run, in registry order. Syntax as syft's --select-catalogers: `+x` adds,
 * `-x` removes, bare names replace the default set; `x` is a cataloger name, a tag, or `all`.
 */
export function selectCatalogers(spec: string | string[] | undefined, kind: TargetKind, available: Cataloger[] = allCatalogers()): Cataloger[] {
  const dir = isDirKind(kind);
  const resolve = (t: string): Cataloger[] => {
    const key = t.toLowerCase();
    if (key === 'all') return available;
    const byName = available.filter((c) => c.name.toLowerCase() === key);
    if (byName.length) return byName;
    const byTag = available.filter((c) => c.tags.some((tag) => tag === key));
    if (byTag.length) return byTag;
    const known = ['all', ...available.map((c) => c.name), ...new Set(available.flatMap((c) => c.tags))];
    throw new DrydockError('USAGE', `unknown cataloger or tag ${JSON.stringify(t)}; known: ${[...new Set(known)].join(', ')}`);
  };
  const toks = tokens(spec);
  const bare = toks.filter((t) => !t.startsWith('+') && !t.startsWith('-'));
  const chosen = new Set<Cataloger>(bare.length ? bare.flatMap(resolve) : available.filter((c) => selectedByDefault(c, dir)));
  for (const t of toks) {
    if (t.startsWith('+')) for (const c of resolve(t.slice(1))) chosen.add(c);
    else if (t.startsWith('-')) for (const c of resolve(t.slice(1))) chosen.delete(c);
  }
  return available.filter((c) => chosen.has(c));
}

export interface CatalogerInfo {
  name: string;
  version: string;
  tags: CatalogerTag[];
  defaultForImages: boolean;
  defaultForDirs: boolean;
}

/** Every cataloger with whether it runs by default, for `drydock catalogers`. */
export function catalogerList(available: Cataloger[] = allCatalogers()): CatalogerInfo[] {
  return available
    .map((c) => ({
      name: c.name,
      version: c.version,
      tags: [...c.tags].sort(),
      defaultForImages: selectedByDefault(c, false),
      defaultForDirs: selectedByDefault(c, true),
    }))
    .sort((a, b) => byString(a.name, b.name));
}

function imageOptions(opts: ScanCommonOptions): OpenImageOptions {
  return {
    ...opts.image,
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.issues ? { issues: opts.issues } : {}),
    ...(opts.tempDir ? { tempDir: opts.tempDir } : {}),
  };
}

function layerRefs(fs: ImageFilesystem, image: ResolvedImage): LayerRef[] {
  if (image.rootDir !== undefined) return [];
  return fs.layers.map((l) => ({ index: l.index, digest: l.digest, diffId: l.diffId, ...(l.createdBy ? { createdBy: l.createdBy } : {}) }));
}

function locationIn(fs: ImageFilesystem, path: string, layer: number, role: Location['role'] | undefined): Location {
  const info = layer >= 0 ? fs.layers[layer] : undefined;
  const loc: Location = { path, layer };
  if (info?.digest) loc.layerDigest = info.digest;
  if (info?.diffId) loc.diffId = info.diffId;
  if (role) loc.role = role;
  return loc;
}

/** `found`: the packages the catalogers before this one returned (OS catalogers run first) */
function squashedContext(c: Cataloger, fs: ImageFilesystem, issues: IssueLog, distro: Distro | undefined, targetKind: TargetKind, found: readonly Package[]): CatalogContext {
  return {
    fs,
    distro,
    issues,
    targetKind,
    files: () => fs.selected(c.name),
    read: (path) => fs.readFile(path),
    locate: (path, role) => locationIn(fs, path, fs.stat(path)?.layer ?? -1, role),
    ownedByOsPackages: (paths) => new Set(osFileOwners(found, new Set(paths)).keys()),
  };
}

/** A context over what one layer wrote and later layers deleted or replaced (scope all-layers). */
function hiddenLayerContext(c: Cataloger, fs: ImageFilesystem, issues: IssueLog, distro: Distro | undefined, targetKind: TargetKind, layer: number, files: FileMeta[]): CatalogContext {
  const byPath = new Set(files.map((f) => f.path));
  return {
    fs,
    distro,
    issues,
    targetKind,
    files: () => files,
    // the layer's own copy for its hidden files; anything else (an owner database...) from the layer, then the squashed view
    read: async (path) => (byPath.has(path) ? fs.readFile(path, layer) : ((await fs.readFile(path, layer)) ?? fs.readFile(path))),
    locate: (path, role) => locationIn(fs, path, byPath.has(path) ? layer : (fs.stat(path)?.layer ?? -1), role),
  };
}

/**
 * What a warm run reuses when every layer is verified for its source: the catalog results of the
 * image, its packages without their file lists (kept apart: FileLists).
 */
interface CachedInventory {
  distro?: Distro;
  packages: Package[];
  relationships: Relationship[];
  /** issues recorded while reading layers and cataloging */
  issues: Issue[];
  /** entries per layer, for the progress events */
  entries: number[];
}

/** The file lists of a cached inventory's packages: [index in CachedInventory.packages, files]. */
type FileLists = [number, unknown[]][];

/** Bump when the cached inventory's shape or its post-processing changes. */
const INVENTORY_CACHE_FORMAT = 'sbom-inventory/4';

/** The cache key of the file lists that go with the cached inventory under `resultKey`. */
function fileListsKey(resultKey: string): string {
  return createHash('sha256').update(`${resultKey}\0file-lists`).digest('hex');
}

/** Packages without `metadata.files`, and the lists taken off (shallow copies where one was taken). */
function splitFileLists(packages: readonly Package[]): { packages: Package[]; lists: FileLists } {
  const lists: FileLists = [];
  const out = packages.map((p, i) => {
    const files = p.metadata && 'files' in p.metadata ? p.metadata.files : undefined;
    if (!Array.isArray(files)) return p;
    lists.push([i, files]);
    const { files: _f, ...metadata } = p.metadata as { files: unknown };
    return { ...p, metadata: metadata as Package['metadata'] };
  });
  return { packages: out, lists };
}

/** Puts file lists back on (copies of) the packages they were taken from; undefined when they do not fit. */
function joinFileLists(packages: Package[], lists: unknown): Package[] | undefined {
  if (!Array.isArray(lists)) return undefined;
  const out = [...packages];
  for (const entry of lists as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2) return undefined;
    const [i, files] = entry as [unknown, unknown];
    const p = typeof i === 'number' ? out[i] : undefined;
    if (!p?.metadata || !Array.isArray(files)) return undefined;
    out[i as number] = { ...p, metadata: { ...p.metadata, files } as Package['metadata'] };
  }
  return out;
}

const OS_TYPES = new Set(['deb', 'apk', 'rpm']);

/**
 * path → id of the first OS package among `packages` that lists it as one of its files, for the
 * paths in `wanted` only (OS packages list tens of thousands of files).
 */
function osFileOwners(packages: readonly Package[], wanted: ReadonlySet<string>): Map<string, string> {
  const owner = new Map<string, string>();
  if (wanted.size === 0) return owner;
  for (const p of packages) {
    if (!OS_TYPES.has(p.type) || !p.metadata || !('files' in p.metadata) || !Array.isArray(p.metadata.files)) continue;
    for (const f of p.metadata.files as { path: string }[]) {
      const path = normaliseQueryPath(f.path.charCodeAt(0) === 47 ? f.path : '/' + f.path);
      if (wanted.has(path) && !owner.has(path)) owner.set(path, p.id);
    }
  }
  return owner;
}

/** Layer attribution, file ownership, derived CPEs, dedupe and order: the same for every ecosystem. */
export function postProcess(packages: Package[], relationships: Relationship[], layers: LayerRef[]): { packages: Package[]; relationships: Relationship[] } {
  // dedupe: the id is derived from type, namespace, name, version and the first path
  const byId = new Map<string, Package>();
  for (const p of packages) {
    const seen = byId.get(p.id);
    if (!seen) {
      byId.set(p.id, { ...p, locations: [...p.locations] });
      continue;
    }
    for (const l of p.locations) if (!seen.locations.some((x) => x.path === l.path && x.layer === l.layer)) seen.locations.push(l);
  }
  const remap = new Map<string, string>();
  const out = mergeEmbeddedSbomPackages([...byId.values()], remap);

  for (const p of out) {
    // a cataloger may know better (dpkg: the layer of the package's .list file); fill in what it left out
    if (p.introducedBy) {
      const ref = layers[p.introducedBy.index];
      if (ref && (!p.introducedBy.digest || ref.digest === p.introducedBy.digest)) p.introducedBy = { ...ref, ...p.introducedBy, ...(ref.createdBy && !p.introducedBy.createdBy ? { createdBy: ref.createdBy } : {}) };
      continue;
    }
    const l = p.locations[0];
    const ref = l && l.layer >= 0 ? layers[l.layer] : undefined;
    if (ref) p.introducedBy = { ...ref };
  }

  // ownership: an OS package listing the file a language package (or a classifier finding) was found in
  const wanted = new Set<string>();
  for (const p of out) if (!OS_TYPES.has(p.type)) for (const l of p.locations) wanted.add(l.path);
  const owner = osFileOwners(out, wanted);
  // a runtime found by a file classifier in a file an OS package installed is that package,
  // already reported with better data: drop the classifier finding (the classifier cataloger skips
  // the files the OS packages cataloged before it own: CatalogContext.ownedByOsPackages)
  const isClassifierFinding = (p: Package) => p.metadata?.kind === 'generic' && typeof (p.metadata as { classifier?: unknown }).classifier === 'string';
  for (let i = out.length - 1; i >= 0; i--) {
    const p = out[i]!;
    if (isClassifierFinding(p) && p.locations.some((l) => owner.has(l.path))) out.splice(i, 1);
  }
  const rels = relationships.map((r) => (remap.has(r.from) || remap.has(r.to) ? { ...r, from: remap.get(r.from) ?? r.from, to: remap.get(r.to) ?? r.to } : r));
  if (owner.size) {
    for (const p of out) {
      if (OS_TYPES.has(p.type)) continue;
      for (const l of p.locations) {
        const o = owner.get(l.path);
        if (o === undefined || o === p.id) continue;
        p.ownedBy ??= o;
        rels.push({ from: o, to: p.id, type: 'owns-files-of' });
      }
    }
  }

  addDerivedCpes(out);
  out.sort(comparePackages);
  const ids = new Set(out.map((p) => p.id));
  return { packages: out, relationships: uniqueRelationships(rels.filter((r) => ids.has(r.from) && ids.has(r.to))) };
}

/**
 * A package that an SBOM shipped inside the image lists and that a cataloger found too is one package:
 * the catalogued one is kept (it has better data) and gains the SBOM file as evidence; `remap` records the
 * dropped ids so relationships follow.
 */
function mergeEmbeddedSbomPackages(packages: Package[], remap: Map<string, string>): Package[] {
  const key = (p: Package) => `${p.type}\u0000${p.namespace ?? ''}\u0000${p.name}\u0000${p.version}`;
  const catalogued = new Map<string, Package>();
  for (const p of packages) if (p.foundBy !== 'embedded-sbom' && !catalogued.has(key(p))) catalogued.set(key(p), p);
  if (catalogued.size === 0) return packages;
  return packages.filter((p) => {
    if (p.foundBy !== 'embedded-sbom') return true;
    const keep = catalogued.get(key(p));
    if (!keep) return true;
    remap.set(p.id, keep.id);
    for (const l of p.locations) if (!keep.locations.some((x) => x.path === l.path && x.layer === l.layer)) keep.locations.push(l);
    keep.evidence = [...new Set([...(keep.evidence ?? []), ...(p.evidence ?? p.locations.map((l) => l.path))])];
    return false;
  });
}

async function runCataloger(c: Cataloger, ctx: CatalogContext, issues: IssueLog, where: string): Promise<{ packages: Package[]; relationships: Relationship[] }> {
  try {
    const r = await c.catalog(ctx);
    return { packages: r.packages.map((p) => ({ ...p, foundBy: p.foundBy || c.name })), relationships: r.relationships ?? [] };
  } catch (e) {
    issues.record({
      code: 'INTERNAL',
      severity: 'error',
      message: `cataloger ${c.name} failed${where}: ${e instanceof Error ? e.message : String(e)}`,
    });
    return { packages: [], relationships: [] };
  }
}

/** The inventory of an image: packages with their locations and layers, relationships, distro, issues. */
export async function sbomImage(target: string | Target, opts: SbomOptions = {}): Promise<Inventory> {
  // a stored SBOM (sbom:PATH) is decoded, not cataloged
  const parsed = typeof target === 'string' ? parseTarget(target) : target;
  if (parsed.kind === 'sbom') {
    // the SBOM decoders load only for sbom: targets
    const { inventoryFromSbomFile } = await import('./sbom-file.js');
    return inventoryFromSbomFile(parsed.path ?? '', opts.issues ? { issues: opts.issues } : {});
  }
  const scope = opts.scope ?? 'squashed';
  const fileLists = opts.fileLists ?? true;
  const issues = opts.issues ?? new IssueLog();
  const image = await openImage(target, imageOptions({ ...opts, issues }));
  preloadPackageUrl(); // needed by every cataloger and encoder; loaded while the first layer arrives
  try {
    const catalogers = selectCatalogers(opts.catalogers, image.target.kind, opts.available ?? allCatalogers());
    const selectors = [DISTRO_SELECTOR, ...catalogers.map(selectorOf)];
    const cache = openCache(opts.cacheDir, opts.events);
    const kind = image.target.kind;
    const tool = opts.tool ?? { name: 'drydock', version: '0.0.0' };
    const finish = (distro: Distro | undefined, layers: LayerRef[], done: { packages: Package[]; relationships: Relationship[] }): Inventory => ({
      source: {
        target: image.target.input,
        kind,
        name: image.name,
        ...(image.rootDir === undefined && image.digest ? { digest: image.digest } : {}),
        ...(image.rootDir === undefined && image.configDigest ? { configDigest: image.configDigest } : {}),
        ...(image.rootDir === undefined ? { platform: formatPlatform(image.platform) } : {}),
        layers,
      },
      ...(distro ? { distro } : {}),
      packages: done.packages,
      relationships: done.relationships,
      issues: issues.sorted(),
      descriptor: {
        name: tool.name,
        version: tool.version,
        options: {
          catalogers: catalogers.map((c) => `${c.name}@${c.version}`),
          scope,
          ...(opts.image?.platform ? { platform: typeof opts.image.platform === 'string' ? opts.image.platform : formatPlatform(opts.image.platform) } : {}),
        },
      },
    });

    // The inventory of an image whose every layer is verified for this source (the layer cache's
    // security rule) is a function of the layers (diffIDs, digests, history), the selectors, the
    // catalogers and the options: a warm run reuses it without reading any layer.
    let resultKey: string | undefined;
    if (cache && image.rootDir === undefined && image.layers.length > 0) {
      const refs = image.layers.map((l) => ({ index: l.index, digest: l.digest, diffId: l.diffId, ...(l.createdBy ? { createdBy: l.createdBy } : {}) }));
      resultKey = createHash('sha256')
        .update(
          JSON.stringify({
            format: INVENTORY_CACHE_FORMAT,
            kind,
            scope,
            layers: refs,
            selectors: compileSelectors(selectors).key,
            catalogers: catalogers.map((c) => `${c.name}@${c.version}`),
          }),
        )
        .digest('hex');
      let verified = true;
      for (let i = 0; i < image.layers.length && verified; i++) {
        const l = image.layers[i]!;
        verified = await cache.isVerified(await image.verificationBinding(i), l.digest, l.diffId);
      }
      const hit = verified ? await cache.getResult<CachedInventory>(resultKey) : undefined;
      // the file lists are read only when asked for; a hit without them is a miss
      const packages =
        hit && Array.isArray(hit.packages) ? (fileLists ? joinFileLists(hit.packages, await cache.getResult(fileListsKey(resultKey))) : hit.packages) : undefined;
      if (hit && packages && Array.isArray(hit.relationships) && Array.isArray(hit.issues) && Array.isArray(hit.entries)) {
        const events = opts.events;
        image.layers.forEach((l, i) => {
          events?.({ type: 'layer-start', index: i, digest: l.digest, size: l.size });
          events?.({ type: 'layer-done', index: i, digest: l.digest, entries: hit.entries[i] ?? 0, cached: true });
        });
        for (const is of hit.issues) issues.record(is);
        return finish(hit.distro, refs, { packages, relationships: hit.relationships });
      }
    }
    const issuesBefore = issues.issues.length;
    const fs = await buildImageFilesystem(image, {
      selectors,
      cache,
      scope,
      issues,
      ...(opts.limits ? { limits: opts.limits } : {}),
      ...(opts.events ? { events: opts.events } : {}),
      ...(opts.tempDir ? { tempDir: opts.tempDir } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.image?.signal ? { signal: opts.image.signal } : {}),
    });
    try {
      const distro = await detectDistro((p) => fs.readFile(p));
      const packages: Package[] = [];
      const relationships: Relationship[] = [];
      for (const c of catalogers) {
        const r = await runCataloger(c, squashedContext(c, fs, issues, distro, kind, packages), issues, '');
        packages.push(...r.packages);
        relationships.push(...r.relationships);
      }
      if (scope === 'all-layers' && image.rootDir === undefined) {
        const hidden = fs.allLayers().filter((e) => e.status !== 'present' && e.type === 'file');
        for (const c of catalogers) {
          const sel = compileSelectors([selectorOf(c)]);
          const perLayer = new Map<number, FileMeta[]>();
          for (const e of hidden) {
            if (!sel.match(e.path, posix.basename(e.path), e.mode)) continue;
            const { status: _s, by: _b, ...meta } = e;
            const list = perLayer.get(e.layer) ?? [];
            list.push(meta);
            perLayer.set(e.layer, list);
          }
          for (const [layer, files] of [...perLayer.entries()].sort((a, b) => a[0] - b[0])) {
            const ctx = hiddenLayerContext(c, fs, issues, distro, kind, layer, files);
            const r = await runCataloger(c, ctx, issues, ` on layer ${layer}`);
            packages.push(...r.packages);
            relationships.push(...r.relationships);
          }
        }
      }
      const layers = layerRefs(fs, image);
      const done = postProcess(packages, relationships, layers);
      const newIssues = issues.issues.slice(issuesBefore);
      const split = splitFileLists(done.packages);
      // a run with errors (a cataloger that threw, unreadable stored content) is not worth repeating
      if (cache && resultKey && !newIssues.some((i) => i.severity === 'error')) {
        const value: CachedInventory = {
          ...(distro ? { distro } : {}),
          packages: split.packages,
          relationships: done.relationships,
          issues: newIssues,
          entries: fs.layers.map((l) => l.entries),
        };
        // the file lists first: an inventory in the cache always has its lists beside it
        if (await cache.putResult(fileListsKey(resultKey), split.lists)) await cache.putResult(resultKey, value);
      }
      return finish(distro, layers, fileLists ? done : { packages: split.packages, relationships: done.relationships });
    } finally {
      await fs.close();
    }
  } finally {
    await image.close();
  }
}
