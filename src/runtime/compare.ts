/**
 * The comparison itself, on data: a walked running root against the squashed view of an image
 * (files added, changed, deleted), two inventories against each other (packages installed,
 * removed, changed), and the findings with kinds and severities those differences make.
 * Hashing is injected, so the rules are tested without a container.
 */
import type { IssueLog } from '../core/issues.js';
import type { FileMeta } from '../layers/types.js';
import type { Package } from '../model/package.js';
import type { RunningEntry } from './rootfs.js';
import {
  DRIFT_KIND_SEVERITY,
  DRIFT_SEVERITIES,
  type DriftFinding,
  type DriftKind,
  type DriftSeverity,
  type Excluded,
  type FileChange,
  type FileDrift,
  type PackageDrift,
} from './types.js';
import { byString } from '../core/compare.js';

/** Package databases whose change means a package operation (or tampering). */
export const PACKAGE_DB_PATHS = [
  '/var/lib/dpkg/status',
  '/lib/apk/db/installed',
  '/var/lib/rpm/Packages',
  '/var/lib/rpm/Packages.db',
  '/var/lib/rpm/rpmdb.sqlite',
  '/usr/lib/sysimage/rpm/Packages',
  '/usr/lib/sysimage/rpm/Packages.db',
  '/usr/lib/sysimage/rpm/rpmdb.sqlite',
];
/** distroless keeps one status file per package */
export const PACKAGE_DB_GLOBS = ['/var/lib/dpkg/status.d/*'];
/** Directories of package manager bookkeeping (file lists, checksums, logs of the database). */
export const PACKAGE_DB_DIRS = ['/var/lib/dpkg', '/var/lib/rpm', '/usr/lib/sysimage/rpm', '/lib/apk/db'];

export function isPackageDb(path: string): boolean {
  return PACKAGE_DB_PATHS.includes(path) || path.startsWith('/var/lib/dpkg/status.d/');
}

function inPackageDbDir(path: string): boolean {
  return PACKAGE_DB_DIRS.some((d) => path.startsWith(d + '/'));
}

export function isExecutable(mode: number): boolean {
  return (mode & 0o111) !== 0;
}

/** A file that is code: executable, or a shared object. */
function isBinaryLike(path: string, mode: number): boolean {
  return isExecutable(mode) || /\.so(\.[0-9]+)*$/.test(path);
}

function under(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix + '/');
}

export interface HashBudget {
  /** total bytes hashed on the running side; default 2 GiB */
  maxHashBytes: number;
  /** largest file hashed; default 512 MiB */
  maxHashFileBytes: number;
}
export const DEFAULT_HASH_BUDGET: HashBudget = { maxHashBytes: 2 * 1024 ** 3, maxHashFileBytes: 512 * 1024 ** 2 };

const HASH_CONCURRENCY = 4;

export interface CompareInput {
  running: Map<string, RunningEntry>;
  /** false when the walk stopped early: nothing is reported deleted */
  complete: boolean;
  /** the image's squashed view, sorted by path */
  image: Iterable<FileMeta>;
  /** an image entry by path (for hard link targets) */
  imageStat(path: string): FileMeta | undefined;
  excluded: Excluded[];
  /** sha256 of a running file; undefined when it cannot be read as walked */
  hashRunning(e: RunningEntry): Promise<string | undefined>;
  /** sha256 of the image's content at path; undefined when the image view did not keep it */
  hashImage(path: string): Promise<string | undefined>;
  budget?: Partial<HashBudget>;
  issues: IssueLog;
}

export interface CompareResult {
  files: FileDrift[];
  /**
   * Regular files of the same size and another mtime whose content the image view did not keep:
   * settled by `settlePending` once the image's digests of those paths are known.
   */
  pending: FileDrift[];
  hashedFiles: number;
  hashedBytes: number;
  imageEntries: number;
}

/**
 * Files added, changed and deleted. A regular file is hashed when its size or mtime differ, or when
 * it is an executable or a package database; an mtime that differs alone is not a change when the
 * content is the same.
 */
export async function compareTrees(input: CompareInput): Promise<CompareResult> {
  const budget = { ...DEFAULT_HASH_BUDGET, ...input.budget };
  const skip = input.excluded.map((e) => e.path);
  const isSkipped = (p: string) => skip.some((s) => under(p, s));
  const files: FileDrift[] = [];
  const pending: FileDrift[] = [];
  const tasks: (() => Promise<void>)[] = [];
  const seen = new Set<string>();
  let hashedFiles = 0;
  let hashedBytes = 0;
  let overBudget = 0;
  let imageEntries = 0;

  const hashRunning = async (e: RunningEntry): Promise<string | undefined> => {
    if (e.size > budget.maxHashFileBytes || hashedBytes + e.size > budget.maxHashBytes) {
      overBudget++;
      return undefined;
    }
    hashedBytes += e.size;
    const h = await input.hashRunning(e);
    if (h !== undefined) hashedFiles++;
    else hashedBytes -= e.size;
    return h;
  };

  for (const img0 of input.image) {
    if (img0.path === '/' || isSkipped(img0.path)) continue;
    imageEntries++;
    const run = input.running.get(img0.path);
    if (!run) {
      if (input.complete) files.push({ path: img0.path, status: 'deleted', type: img0.type, ...(img0.type === 'file' ? { imageSize: img0.size } : {}), layer: img0.layer });
      continue;
    }
    seen.add(img0.path);
    // a hard link of the image is the file it points at
    const target = img0.type === 'hardlink' && img0.linkname ? input.imageStat(img0.linkname) : undefined;
    const img: FileMeta = target ? { ...target, path: img0.path, layer: img0.layer } : img0;
    const changes: FileChange[] = [];
    const fd: FileDrift = { path: img.path, status: 'changed', type: run.type, layer: img.layer };
    if (img.type !== run.type) changes.push('type');
    if ((img.mode & 0o7777) !== run.mode) changes.push('mode');
    if (img.uid !== run.uid || img.gid !== run.gid) changes.push('owner');
    if (run.type === 'symlink' && img.type === 'symlink' && (img.linkname ?? '') !== (run.linkname ?? '')) changes.push('link-target');
    tasks.push(async () => {
    let isPending = false;
    if (run.type === 'file') {
      const sizeDiffers = img.type === 'file' && img.size !== run.size;
      if (sizeDiffers) changes.push('size');
      const mtimeDiffers = img.mtime !== undefined && run.mtime !== undefined && img.mtime !== run.mtime;
      const wanted = sizeDiffers || mtimeDiffers || isExecutable(run.mode) || isPackageDb(run.path) || changes.includes('type');
      fd.size = run.size;
      if (img.type === 'file') fd.imageSize = img.size;
      fd.executable = isExecutable(run.mode);
      if (wanted) {
        const both = img.type === 'file' && !sizeDiffers;
        const [rh, ih] = await Promise.all([hashRunning(run), both ? input.hashImage(img.path) : undefined]);
        if (rh !== undefined) fd.sha256 = rh;
        if (both) {
          if (ih !== undefined) fd.imageSha256 = ih;
          if (rh !== undefined && ih !== undefined) {
            if (rh !== ih) changes.push('content');
          } else if (rh !== undefined && mtimeDiffers) isPending = true;
          else if (mtimeDiffers || rh === undefined) fd.contentUnknown = true;
        }
      }
    }
    fd.mode = run.mode;
    fd.imageMode = img.mode & 0o7777;
    fd.changes = changes;
    if (isPending) pending.push(fd);
    else if (changes.length || fd.contentUnknown) files.push(fd);
    });
  }
  for (const run of input.running.values()) {
    if (seen.has(run.path) || run.path === '/' || isSkipped(run.path)) continue;
    const fd: FileDrift = { path: run.path, status: 'added', type: run.type, mode: run.mode };
    if (run.type === 'file') {
      fd.size = run.size;
      fd.executable = isExecutable(run.mode);
      tasks.push(async () => {
        const rh = await hashRunning(run);
        if (rh !== undefined) fd.sha256 = rh;
        else fd.contentUnknown = true;
      });
    }
    files.push(fd);
  }
  // reads overlap: the two sides and several files at once
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(HASH_CONCURRENCY, tasks.length) }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
  pending.sort((a, b) => byString(a.path, b.path));
  if (overBudget) {
    input.issues.record({
      code: 'LIMIT_EXCEEDED',
      message: `${overBudget} file${overBudget === 1 ? '' : 's'} not hashed: over the budget of ${budget.maxHashBytes} bytes in all or ${budget.maxHashFileBytes} bytes per file; compared by metadata`,
    });
  }
  files.sort((a, b) => byString(a.path, b.path));
  return { files, pending, hashedFiles, hashedBytes, imageEntries };
}

/** Settles pending files with the image's digests of their paths (undefined: still unknown). */
export function settlePending(result: CompareResult, imageSha256: (path: string) => string | undefined): void {
  for (const fd of result.pending) {
    const ih = imageSha256(fd.path);
    if (ih !== undefined) {
      fd.imageSha256 = ih;
      if (ih === fd.sha256) {
        if (!fd.changes?.length) continue;
      } else fd.changes = [...(fd.changes ?? []), 'content'];
    } else fd.contentUnknown = true;
    result.files.push(fd);
  }
  result.pending = [];
  result.files.sort((a, b) => byString(a.path, b.path));
}

const OS_TYPES = new Set(['deb', 'rpm', 'apk']);

function pkgKey(p: Package): string {
  // one package per name and place (two copies of an npm package in two folders are two packages)
  return `${p.type}\u0000${p.namespace ?? ''}\u0000${p.name}\u0000${p.locations[0]?.path ?? ''}`;
}

/** Packages installed, removed and changed between the image's inventory and the running one. */
export function diffInventories(image: Package[], running: Package[]): PackageDrift[] {
  const before = new Map<string, Package>();
  for (const p of image) if (!before.has(pkgKey(p))) before.set(pkgKey(p), p);
  const after = new Map<string, Package>();
  for (const p of running) if (!after.has(pkgKey(p))) after.set(pkgKey(p), p);
  const out: PackageDrift[] = [];
  for (const [k, p] of after) {
    const b = before.get(k);
    if (!b) out.push({ status: 'installed', type: p.type, name: p.name, version: p.version, ...(p.purl ? { purl: p.purl } : {}) });
    else if (b.version !== p.version) out.push({ status: 'changed', type: p.type, name: p.name, version: p.version, imageVersion: b.version, ...(p.purl ? { purl: p.purl } : {}) });
  }
  for (const [k, b] of before) {
    if (!after.has(k)) out.push({ status: 'removed', type: b.type, name: b.name, imageVersion: b.version, ...(b.purl ? { purl: b.purl } : {}) });
  }
  return out.sort((a, b) => byString(a.type, b.type) || byString(a.name, b.name) || byString(a.status, b.status));
}

/** path → name of the OS package that lists the file (dpkg .list, rpm and apk file lists). */
export function ownersOf(packages: Package[]): Map<string, string> {
  const owner = new Map<string, string>();
  for (const p of packages) {
    if (!OS_TYPES.has(p.type) || !p.metadata || !('files' in p.metadata) || !Array.isArray(p.metadata.files)) continue;
    for (const f of p.metadata.files as { path: string }[]) {
      const path = ('/' + f.path).replace(/\/{2,}/g, '/');
      if (!owner.has(path)) owner.set(path, p.name);
    }
  }
  return owner;
}

export const SEVERITY_RANK: Record<DriftSeverity, number> = Object.fromEntries(DRIFT_SEVERITIES.map((s, i) => [s, DRIFT_SEVERITIES.length - i])) as Record<DriftSeverity, number>;

function finding(kind: DriftKind, subject: string, message: string, extra: Partial<DriftFinding> = {}): DriftFinding {
  return { kind, severity: DRIFT_KIND_SEVERITY[kind], subject, message, ...extra };
}

export interface ClassifyInput {
  files: FileDrift[];
  packages: PackageDrift[];
  /** owners from the image's inventory (changed and deleted files) */
  imageOwners?: Map<string, string>;
  /** owners from the running inventory (added files) */
  runningOwners?: Map<string, string>;
}

/**
 * Findings from the differences. One finding per path, of its most telling kind; package database
 * bookkeeping that a package operation explains is left to the package findings; a package database
 * that changed while no OS package did is tampering.
 */
export function classify(input: ClassifyInput): DriftFinding[] {
  const out: DriftFinding[] = [];
  const osPackagesChanged = input.packages.some((p) => OS_TYPES.has(p.type));
  let dbChanged: string | undefined;
  for (const f of input.files) {
    if (f.status === 'added' && input.runningOwners?.has(f.path)) f.ownedBy = input.runningOwners.get(f.path)!;
    if (f.status !== 'added' && input.imageOwners?.has(f.path)) f.ownedBy = input.imageOwners.get(f.path)!;
    if (isPackageDb(f.path)) dbChanged ??= f.path;
    if (inPackageDbDir(f.path) && osPackagesChanged) continue;
    const by = f.ownedBy ? ` (package ${f.ownedBy})` : '';
    if (f.status === 'added') {
      if (f.type === 'file' && f.executable) out.push(finding('new-executable', f.path, `new executable ${f.path}${by}`, { path: f.path }));
      else out.push(finding('file-added', f.path, `${f.type} ${f.path} added${by}`, { path: f.path }));
    } else if (f.status === 'deleted') {
      out.push(finding('file-deleted', f.path, `${f.type} ${f.path} deleted${by}`, { path: f.path }));
    } else {
      const what = (f.changes ?? []).join(', ') || 'content unknown';
      const contentChanged = (f.changes ?? []).some((c) => c === 'content' || c === 'size' || c === 'type');
      const becameExecutable = f.type === 'file' && f.executable === true && (f.imageMode === undefined || !isExecutable(f.imageMode) || (f.changes ?? []).includes('type'));
      if (f.ownedBy && contentChanged && f.type === 'file' && isBinaryLike(f.path, f.mode ?? 0)) {
        out.push(finding('modified-package-binary', f.path, `${f.path} of package ${f.ownedBy} was modified (${what})`, { path: f.path }));
      } else if (becameExecutable) out.push(finding('new-executable', f.path, `${f.path} became executable (${what})${by}`, { path: f.path }));
      else out.push(finding('file-changed', f.path, `${f.path} changed (${what})${by}`, { path: f.path }));
    }
  }
  for (const p of input.packages) {
    const subject = `${p.type}/${p.name}`;
    const pk = { type: p.type, name: p.name, ...(p.version ? { version: p.version } : {}), ...(p.imageVersion ? { imageVersion: p.imageVersion } : {}) };
    if (p.status === 'installed') out.push(finding('package-installed-at-runtime', subject, `${p.type} package ${p.name} ${p.version ?? ''} was installed after the container started`.trimEnd(), { package: pk }));
    else if (p.status === 'removed') out.push(finding('package-removed', subject, `${p.type} package ${p.name} ${p.imageVersion ?? ''} was removed after the container started`.replace(/ +was/, ' was'), { package: pk }));
    else out.push(finding('package-changed-at-runtime', subject, `${p.type} package ${p.name} changed from ${p.imageVersion} to ${p.version} after the container started`, { package: pk }));
  }
  if (dbChanged && !osPackagesChanged) {
    out.push(finding('package-db-tampered', dbChanged, `package database ${dbChanged} changed but no package was installed, removed or changed`, { path: dbChanged }));
  }
  return out.sort(
    (a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || byString(a.kind, b.kind) || byString(a.subject, b.subject),
  );
}

/** Whether a finding reaches a --fail-on threshold (vulnerability words negligible and unknown mean info). */
export function reachesThreshold(findings: DriftFinding[], threshold: string): DriftFinding[] {
  const t = (DRIFT_SEVERITIES as readonly string[]).includes(threshold) ? (threshold as DriftSeverity) : 'info';
  return findings.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[t]);
}
