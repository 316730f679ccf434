/**
 * `drift`: a running container against the image it was started from. Orchestration only: the
 * runtime names the process and the image, rootfs.ts walks the running root, layers/ builds the
 * image's squashed view (warm from the layer cache), compare.ts finds and classifies the differences,
 * and the catalogers inventory both sides when a file they read drifted.
 */
import { createHash } from 'node:crypto';
import { DrydockError } from '../core/errors.js';
import { IssueLog } from '../core/issues.js';
import type { EventSink } from '../core/events.js';
import { DISTRO_SELECTOR, detectDistro } from '../catalog/distro.js';
import { allCatalogers } from '../catalog/registry.js';
import { selectorOf, type Cataloger, type CatalogContext } from '../catalog/types.js';
import { openImage } from '../image/open.js';
import type { OpenImageOptions, TargetKind } from '../image/types.js';
import { buildImageFilesystem, type ImageFilesystem } from '../layers/filesystem.js';
import { compileSelectors } from '../layers/selectors.js';
import type { FileSelector, Limits } from '../layers/types.js';
import type { Package, Relationship } from '../model/package.js';
import { openCache } from '../scan/inspect.js';
import { postProcess, selectCatalogers } from '../scan/sbom.js';
import { classify, compareTrees, diffInventories, ownersOf, PACKAGE_DB_GLOBS, PACKAGE_DB_PATHS, settlePending, type HashBudget } from './compare.js';
import { containerdRuntime, type ContainerdOptions } from './containerd.js';
import { dockerRuntime, podmanRuntime, type PodmanOptions } from './podman.js';
import { parsePid, procRoot, readMounts, rootDevice } from './procfs.js';
import { hashWalked, RunningFilesystem, walkRoot, type RootWalkLimits } from './rootfs.js';
import type { ContainerRuntime, DriftReport, RunningContainer } from './types.js';

/** Largest image content kept for a comparison by digest. */
const MAX_KEPT = 512 * 1024 * 1024;

/** The image contents drift compares by digest: every executable and the package databases. */
export const DRIFT_SELECTOR: FileSelector = {
  id: 'drift',
  version: '1',
  executables: true,
  paths: PACKAGE_DB_PATHS,
  globs: PACKAGE_DB_GLOBS,
  maxSize: MAX_KEPT,
};

/** More same-size files of another mtime than this are not settled by a second read of the image. */
const MAX_PENDING = 10_000;

export interface DriftOptions {
  /** the image to compare with (a target string); required for proc://, default for podman:// the container's image */
  image?: string;
  /** the runtime for podman:// and containerd:// targets (default: podman through its socket when configured, else its CLI; containerd through ctr) */
  runtime?: ContainerRuntime;
  podman?: PodmanOptions;
  containerd?: ContainerdOptions;
  /** catalogers for the inventories, as `sbom --catalogers` */
  catalogers?: string | string[];
  /** cache directory; null disables the layer cache */
  cacheDir?: string | null;
  imageOptions?: OpenImageOptions;
  imageLimits?: Partial<Limits>;
  walkLimits?: Partial<RootWalkLimits>;
  hashBudget?: Partial<HashBudget>;
  issues?: IssueLog;
  events?: EventSink;
  tempDir?: string;
  signal?: AbortSignal;
  /** the catalogers to choose from (default: allCatalogers()) */
  available?: Cataloger[];
}

export interface DriftSubject {
  target: string;
  runtime: string;
  container: RunningContainer;
  pid: number;
  imageTarget: string;
  /** deletes what was made to read the image (a containerd export) */
  cleanup?: () => Promise<void>;
}

/** The runtime `ps --runtime NAME` asks. */
export function runtimeNamed(name: string, opts: { podman?: PodmanOptions; containerd?: ContainerdOptions; docker?: { host?: string } } = {}): ContainerRuntime {
  if (name === 'podman') return podmanRuntime(opts.podman);
  if (name === 'containerd') return containerdRuntime(opts.containerd);
  if (name === 'docker') return dockerRuntime(opts.docker);
  throw new DrydockError('USAGE', `unsupported runtime ${JSON.stringify(name)}; use podman, containerd or docker`);
}

/** Resolves `podman://ID|NAME`, `containerd://NAMESPACE/ID`, `docker://ID|NAME` or `proc://PID` to a process and the image to compare with. */
export async function resolveDriftTarget(target: string, opts: DriftOptions = {}): Promise<DriftSubject> {
  const m = /^([a-z]+):\/\/(.+)$/.exec(target);
  if (!m) throw new DrydockError('TARGET_INVALID', `invalid container ${JSON.stringify(target)}; use podman://ID|NAME, containerd://NAMESPACE/ID, docker://ID|NAME or proc://PID`);
  const [, scheme, rest] = m as unknown as [string, string, string];
  if (scheme === 'podman') {
    const rt = opts.runtime ?? podmanRuntime(opts.podman);
    const c = await rt.inspect(rest);
    if (c.pid === undefined) throw new DrydockError('CONTAINER_NOT_FOUND', `podman://${rest}: the container is not running (state ${c.state})`);
    return { target, runtime: rt.name, container: c, pid: c.pid, imageTarget: opts.image ?? rt.imageTarget(c) };
  }
  if (scheme === 'docker') {
    const rt = opts.runtime?.name === 'docker' ? opts.runtime : dockerRuntime();
    const c = await rt.inspect(rest);
    if (c.pid === undefined) throw new DrydockError('CONTAINER_NOT_FOUND', `docker://${rest}: the container is not running (state ${c.state})`);
    return { target, runtime: rt.name, container: c, pid: c.pid, imageTarget: opts.image ?? rt.imageTarget(c) };
  }
  if (scheme === 'containerd') {
    const rt = opts.runtime?.name === 'containerd' ? opts.runtime : containerdRuntime(opts.containerd);
    const c = await rt.inspect(rest);
    if (c.pid === undefined) throw new DrydockError('CONTAINER_NOT_FOUND', `containerd://${rest}: the container is not running (state ${c.state})`);
    if (opts.image || !rt.openImageTarget) return { target, runtime: rt.name, container: c, pid: c.pid, imageTarget: opts.image ?? rt.imageTarget(c) };
    const img = await rt.openImageTarget(c, opts.tempDir);
    return { target, runtime: rt.name, container: c, pid: c.pid, imageTarget: img.target, cleanup: img.cleanup };
  }
  if (scheme === 'proc') {
    const pid = parsePid(rest);
    if (!opts.image) throw new DrydockError('USAGE', `${target}: name the image to compare with (--image TARGET)`);
    const c: RunningContainer = { runtime: 'proc', id: String(pid), name: String(pid), image: opts.image, repoDigests: [], state: 'running', labels: {}, pid, rootfs: procRoot(pid), mounts: [] };
    return { target, runtime: 'proc', container: c, pid, imageTarget: opts.image };
  }
  throw new DrydockError('TARGET_INVALID', `unsupported container scheme ${scheme}:// in ${JSON.stringify(target)}; use podman://, containerd://, docker:// or proc://`);
}

function locate(fs: ImageFilesystem) {
  return (path: string, role?: NonNullable<ReturnType<CatalogContext['locate']>['role']>) => {
    const layer = fs.stat(path)?.layer ?? -1;
    const info = layer >= 0 ? fs.layers[layer] : undefined;
    return { path, layer, ...(info?.digest ? { layerDigest: info.digest } : {}), ...(info?.diffId ? { diffId: info.diffId } : {}), ...(role ? { role } : {}) };
  };
}

/** The packages the catalogers find in a filesystem (an image's squashed view or the running root). */
async function catalogFilesystem(fs: ImageFilesystem, catalogers: Cataloger[], kind: TargetKind, issues: IssueLog, where: string): Promise<Package[]> {
  const distro = await detectDistro((p) => fs.readFile(p));
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  for (const c of catalogers) {
    const ctx: CatalogContext = {
      fs,
      distro,
      issues,
      targetKind: kind,
      files: () => fs.selected(c.name),
      read: (p) => fs.readFile(p),
      readRange: (p, o, l) => fs.readRange(p, o, l),
      locate: locate(fs),
    };
    try {
      const r = await c.catalog(ctx);
      packages.push(...r.packages.map((p) => ({ ...p, foundBy: p.foundBy || c.name })));
      relationships.push(...(r.relationships ?? []));
    } catch (e) {
      issues.record({ code: 'INTERNAL', severity: 'error', message: `cataloger ${c.name} failed on ${where}: ${e instanceof Error ? e.message : String(e)}` });
    }
  }
  return postProcess(packages, relationships, []).packages;
}

async function sha256Of(fs: ImageFilesystem, path: string, size: number): Promise<string | undefined> {
  const h = createHash('sha256');
  const chunk = 4 * 1024 * 1024;
  for (let off = 0; off < size || off === 0; off += chunk) {
    const b = await fs.readRange(path, off, chunk);
    if (b === undefined) return undefined;
    h.update(b);
    if (b.length < chunk) break;
  }
  return h.digest('hex');
}

/** Compares a running container with its image. */
export async function driftContainer(target: string, opts: DriftOptions = {}): Promise<DriftReport> {
  const started = Date.now();
  const issues = opts.issues ?? new IssueLog();
  const subject = await resolveDriftTarget(target, opts);
  try {
    return await driftSubject(subject, target, opts, issues, started);
  } finally {
    await subject.cleanup?.();
  }
}

async function driftSubject(subject: DriftSubject, target: string, opts: DriftOptions, issues: IssueLog, started: number): Promise<DriftReport> {
  const { pid } = subject;
  const root = procRoot(pid);
  const [mounts, rootId] = await Promise.all([readMounts(pid), rootDevice(pid)]);
  const walked = await walkRoot({ root, rootDev: rootId.dev, mounts, issues, ...(opts.walkLimits ? { limits: opts.walkLimits } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });

  const imageOpts: OpenImageOptions = {
    ...opts.imageOptions,
    issues,
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.tempDir ? { tempDir: opts.tempDir } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  const image = await openImage(subject.imageTarget, imageOpts);
  try {
    const catalogers = selectCatalogers(opts.catalogers, image.target.kind, opts.available ?? allCatalogers());
    const catalogerSelectors = [DISTRO_SELECTOR, ...catalogers.map(selectorOf)];
    const cache = openCache(opts.cacheDir, opts.events);
    const common = {
      issues,
      ...(opts.imageLimits ? { limits: opts.imageLimits } : {}),
      ...(opts.events ? { events: opts.events } : {}),
      ...(opts.tempDir ? { tempDir: opts.tempDir } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    };
    const fs = await buildImageFilesystem(image, { ...common, selectors: [...catalogerSelectors, DRIFT_SELECTOR], cache });
    try {
      const cmp = await compareTrees({
        running: walked.entries,
        complete: walked.complete,
        image: fs.squashedEntries(),
        imageStat: (p) => fs.stat(p),
        excluded: walked.excluded,
        hashRunning: async (e) => (await hashWalked(root, e))?.sha256,
        hashImage: async (p) => {
          const st = fs.stat(p);
          return st ? sha256Of(fs, p, st.size) : undefined;
        },
        ...(opts.hashBudget ? { budget: opts.hashBudget } : {}),
        issues,
      });
      // same size, another mtime, content not kept: read those paths from the image once more
      if (cmp.pending.length) {
        const digests = new Map<string, string>();
        if (cmp.pending.length <= MAX_PENDING) {
          // the image stays open: its layers are read once more, keeping only these paths
          const extra = await buildImageFilesystem(image, { ...common, selectors: [{ id: 'drift-pending', version: '1', paths: cmp.pending.map((f) => f.path), maxSize: MAX_KEPT }], cache: null });
          try {
            for (const f of cmp.pending) {
              const h = await sha256Of(extra, f.path, f.imageSize ?? 0);
              if (h !== undefined) digests.set(f.path, h);
            }
          } finally {
            await extra.close();
          }
        } else {
          issues.record({ code: 'LIMIT_EXCEEDED', message: `${cmp.pending.length} files differ only by mtime; over ${MAX_PENDING}, their content is not compared` });
        }
        settlePending(cmp, (p) => digests.get(p));
      }

      // the inventories: when a file a cataloger reads drifted (packages), or any file changed (ownership)
      const sel = compileSelectors(catalogerSelectors);
      const touchesCatalogers = cmp.files.some((f) => sel.match(f.path, f.path.slice(f.path.lastIndexOf('/') + 1), f.type === 'file' ? (f.mode ?? f.imageMode) : undefined) !== null);
      const needOwners = cmp.files.some((f) => f.status !== 'added');
      let packages: DriftReport['packages'] = [];
      let imageOwners: Map<string, string> | undefined;
      let runningOwners: Map<string, string> | undefined;
      if (touchesCatalogers || needOwners) {
        const imagePackages = await catalogFilesystem(fs, catalogers, image.target.kind, issues, `image ${subject.imageTarget}`);
        imageOwners = ownersOf(imagePackages);
        if (touchesCatalogers) {
          const running = new RunningFilesystem(root, walked.entries, catalogerSelectors, issues);
          const runningPackages = await catalogFilesystem(running, catalogers, image.target.kind, issues, `${target}`);
          runningOwners = ownersOf(runningPackages);
          packages = diffInventories(imagePackages, runningPackages);
        }
      }
      const findings = classify({ files: cmp.files, packages, ...(imageOwners ? { imageOwners } : {}), ...(runningOwners ? { runningOwners } : {}) });
      const c = subject.container;
      return {
        container: {
          target,
          runtime: subject.runtime,
          id: c.id,
          name: c.name,
          pid,
          rootfs: root,
          image: c.image,
          ...(c.imageDigest ? { imageDigest: c.imageDigest } : {}),
        },
        image: { target: subject.imageTarget, ...(image.digest ? { digest: image.digest } : {}) },
        excluded: walked.excluded,
        files: cmp.files,
        packages,
        findings,
        stats: {
          entries: walked.entries.size,
          imageEntries: cmp.imageEntries,
          hashedFiles: cmp.hashedFiles,
          hashedBytes: cmp.hashedBytes,
          cataloged: touchesCatalogers,
          elapsedMs: Date.now() - started,
        },
        issues: issues.sorted(),
      };
    } finally {
      await fs.close();
    }
  } finally {
    await image.close();
  }
}
