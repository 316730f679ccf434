/**
 * containerd as a container runtime, through its own command-line client `ctr` (Debian's
 * `containerd` package): `ctr namespaces ls`, `ctr -n NS tasks ls` (running tasks and their PIDs),
 * `ctr -n NS containers info ID` (image, labels, snapshotter, the OCI runtime spec with the mounts)
 * and `ctr -n NS images ls` (the image's manifest digest). The image of a container is read by
 * exporting it from containerd's content store (`ctr images export`, an OCI archive) into a private
 * temporary directory. `ctr` honours $CONTAINERD_ADDRESS; `address` overrides it.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DrydockError } from '../core/errors.js';
import { defaultTempDir } from '../core/paths.js';
import { tempDirectory } from '../core/temp.js';
import { procRoot } from './procfs.js';
import type { ContainerMount, ContainerRuntime, RunningContainer } from './types.js';
import { byString } from '../core/compare.js';

export interface ContainerdOptions {
  /** the containerd socket; default $DRYDOCK_CONTAINERD_ADDRESS, then ctr's own $CONTAINERD_ADDRESS (/run/containerd/containerd.sock) */
  address?: string;
  /** ctr binary; default $DRYDOCK_CTR or "ctr" */
  ctr?: string;
  /** the namespaces to list; default every namespace containerd has */
  namespaces?: string[];
  /** one command; default 30 s (an image export: 10 minutes) */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Splits `NAMESPACE/ID` (or `ID`, in the "default" namespace). */
export function parseContainerdRef(ref: string): { namespace: string; id: string } {
  const slash = ref.indexOf('/');
  const namespace = slash < 0 ? 'default' : ref.slice(0, slash);
  const id = slash < 0 ? ref : ref.slice(slash + 1);
  if (!NAME_RE.test(namespace) || !NAME_RE.test(id)) throw new DrydockError('TARGET_INVALID', `invalid containerd container ${JSON.stringify(ref)}; use NAMESPACE/ID`);
  return { namespace, id };
}

/** The rows of a `ctr ... ls` table: whitespace-separated columns under a header line. */
export function parseTable(text: string): Record<string, string>[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift()?.trim().split(/\s+/) ?? [];
  return lines.map((l) => {
    const cols = l.trim().split(/\s+/);
    return Object.fromEntries(header.map((h, i) => [h, cols[i] ?? '']));
  });
}

function sortedLabels(x: unknown): Record<string, string> {
  const out: [string, string][] = [];
  if (x && typeof x === 'object') for (const [k, v] of Object.entries(x as Record<string, unknown>)) if (typeof v === 'string') out.push([k, v]);
  return Object.fromEntries(out.sort(([a], [b]) => byString(a, b)));
}

/** The mounts of an OCI runtime spec (config.md "mounts"). */
function specMounts(spec: unknown): ContainerMount[] {
  const list = (spec as { mounts?: unknown } | undefined)?.mounts;
  if (!Array.isArray(list)) return [];
  const out: ContainerMount[] = [];
  for (const m of list as Record<string, unknown>[]) {
    if (!m || typeof m.destination !== 'string') continue;
    out.push({ destination: m.destination, ...(typeof m.source === 'string' && m.source ? { source: m.source } : {}), ...(typeof m.type === 'string' && m.type ? { type: m.type } : {}) });
  }
  return out.sort((a, b) => byString(a.destination, b.destination));
}

/** A container from `ctr containers info` and its task's PID; the digest from `ctr images ls`. */
export function containerFromInfo(namespace: string, info: Record<string, unknown>, task: { pid?: number; status: string }, imageDigest?: string): RunningContainer {
  const id = String(info.ID ?? '');
  const running = task.status === 'RUNNING' && task.pid !== undefined && task.pid > 0;
  return {
    runtime: 'containerd',
    id,
    name: `${namespace}/${id}`,
    namespace,
    image: typeof info.Image === 'string' ? info.Image : '',
    ...(imageDigest ? { imageDigest } : {}),
    repoDigests: [],
    state: task.status ? task.status.toLowerCase() : 'created',
    labels: sortedLabels(info.Labels),
    ...(running ? { pid: task.pid as number, rootfs: procRoot(task.pid as number) } : {}),
    mounts: specMounts(info.Spec),
    ...(typeof info.Snapshotter === 'string' ? { snapshotter: info.Snapshotter } : {}),
    ...(typeof info.SnapshotKey === 'string' ? { snapshotKey: info.SnapshotKey } : {}),
  };
}

/** When a process started, from /proc/PID/stat (field 22, clock ticks since boot) and the boot time. */
async function processStart(pid: number): Promise<string | undefined> {
  try {
    const [stat, sys] = await Promise.all([readFile(`/proc/${pid}/stat`, 'utf8'), readFile('/proc/stat', 'utf8')]);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    const btime = Number(/^btime (\d+)$/m.exec(sys)?.[1]);
    if (!Number.isFinite(ticks) || !Number.isFinite(btime)) return undefined;
    // USER_HZ is 100 on every Linux architecture Node runs on
    return new Date(btime * 1000 + ticks * 10).toISOString();
  } catch {
    return undefined;
  }
}

export class ContainerdRuntime implements ContainerRuntime {
  readonly name = 'containerd';
  readonly via = 'cli' as const;
  readonly #bin: string;
  readonly #address: string | undefined;
  readonly #namespaces: string[] | undefined;
  readonly #timeoutMs: number;

  constructor(opts: ContainerdOptions = {}) {
    const env = opts.env ?? process.env;
    this.#bin = opts.ctr ?? (env.DRYDOCK_CTR || 'ctr');
    this.#address = opts.address ?? (env.DRYDOCK_CONTAINERD_ADDRESS || undefined);
    this.#namespaces = opts.namespaces;
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** runs ctr with the address and namespace; rejects with RUNTIME_UNAVAILABLE when it cannot run or fails */
  ctr(namespace: string | undefined, args: string[], timeoutMs = this.#timeoutMs): Promise<string> {
    const full = [...(this.#address ? ['--address', this.#address] : []), ...(namespace ? ['--namespace', namespace] : []), ...args];
    return new Promise((resolve, reject) => {
      execFile(this.#bin, full, { maxBuffer: MAX_ANSWER_BYTES, encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        if (e && typeof e.code === 'string') {
          reject(new DrydockError('RUNTIME_UNAVAILABLE', e.code === 'ENOENT' ? `containerd's client is not installed (no ${this.#bin} on PATH)` : `ctr could not be run (${e.message})`, { cause: e }));
          return;
        }
        if (e?.killed) {
          reject(new DrydockError('TIMEOUT', `ctr ${args.slice(0, 2).join(' ')} did not finish within ${timeoutMs} ms`));
          return;
        }
        if (e) {
          const msg = stderr.trim().split('\n').slice(-2).join(' ').slice(0, 400);
          if (/not found/i.test(msg) && args[0] === 'containers') reject(new DrydockError('CONTAINER_NOT_FOUND', `containerd://${namespace ?? 'default'}/${args[args.length - 1]}: no such container (${msg})`));
          else reject(new DrydockError('RUNTIME_UNAVAILABLE', `ctr ${args.slice(0, 2).join(' ')} failed${this.#address ? ` at ${this.#address}` : ''}: ${msg}`));
          return;
        }
        resolve(stdout);
      });
    });
  }

  async #tasks(namespace: string): Promise<Map<string, { pid?: number; status: string }>> {
    const out = new Map<string, { pid?: number; status: string }>();
    for (const r of parseTable(await this.ctr(namespace, ['tasks', 'ls']))) {
      const pid = Number(r.PID);
      if (r.TASK) out.set(r.TASK, { ...(Number.isInteger(pid) && pid > 0 ? { pid } : {}), status: r.STATUS ?? '' });
    }
    return out;
  }

  async #images(namespace: string): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const r of parseTable(await this.ctr(namespace, ['images', 'ls']))) if (r.REF && r.DIGEST?.startsWith('sha256:')) out.set(r.REF, r.DIGEST);
    return out;
  }

  async #info(namespace: string, id: string): Promise<Record<string, unknown>> {
    const text = await this.ctr(namespace, ['containers', 'info', id]);
    try {
      const v = JSON.parse(text) as unknown;
      if (v && typeof v === 'object') return v as Record<string, unknown>;
    } catch (e) {
      throw new DrydockError('RUNTIME_UNAVAILABLE', `ctr containers info ${id} printed no JSON`, { cause: e });
    }
    throw new DrydockError('RUNTIME_UNAVAILABLE', `ctr containers info ${id} printed no object`);
  }

  async #container(namespace: string, id: string, tasks: Map<string, { pid?: number; status: string }>, images: Map<string, string>): Promise<RunningContainer> {
    const info = await this.#info(namespace, id);
    const c = containerFromInfo(namespace, info, tasks.get(id) ?? { status: '' }, images.get(String(info.Image ?? '')));
    if (c.pid !== undefined) {
      const startedAt = await processStart(c.pid);
      if (startedAt) c.startedAt = startedAt;
    }
    return c;
  }

  async namespaces(): Promise<string[]> {
    if (this.#namespaces) return [...this.#namespaces];
    return (await this.ctr(undefined, ['namespaces', 'ls', '--quiet'])).split('\n').map((s) => s.trim()).filter((s) => NAME_RE.test(s)).sort();
  }

  async list(): Promise<RunningContainer[]> {
    const out: RunningContainer[] = [];
    for (const ns of await this.namespaces()) {
      const tasks = await this.#tasks(ns);
      const running = [...tasks].filter(([, t]) => t.status === 'RUNNING' && t.pid !== undefined).map(([id]) => id);
      if (running.length === 0) continue;
      const images = await this.#images(ns);
      for (const id of running) {
        try {
          out.push(await this.#container(ns, id, tasks, images));
        } catch (e) {
          // removed between the task list and its info
          if (e instanceof DrydockError && e.code === 'CONTAINER_NOT_FOUND') continue;
          throw e;
        }
      }
    }
    return out.filter((c) => c.pid !== undefined).sort((a, b) => byString(a.name, b.name));
  }

  /** `NAMESPACE/ID` or `ID` (namespace "default") */
  async inspect(ref: string): Promise<RunningContainer> {
    const { namespace, id } = parseContainerdRef(ref);
    const [tasks, images] = await Promise.all([this.#tasks(namespace), this.#images(namespace)]);
    return this.#container(namespace, id, tasks, images);
  }

  /** The image reference as containerd recorded it; openImageTarget reads it from containerd's content store. */
  imageTarget(c: RunningContainer): string {
    return c.image;
  }

  /** its name is NAMESPACE/ID */
  containerTarget(c: RunningContainer): string {
    return `containerd://${c.name}`;
  }

  /** Exports the container's image (its platform only) as an OCI archive into a private temporary directory. */
  async openImageTarget(c: RunningContainer, tempDir?: string): Promise<{ target: string; cleanup: () => Promise<void> }> {
    if (!c.image) throw new DrydockError('IMAGE_NOT_FOUND', `containerd://${c.name}: the container names no image`);
    const tmp = await tempDirectory(tempDir ?? defaultTempDir(), 'drydock-containerd-');
    const cleanup = tmp.remove;
    const file = join(tmp.path, 'image.oci.tar');
    try {
      await this.ctr(c.namespace ?? 'default', ['images', 'export', file, c.image], 600_000);
    } catch (e) {
      await cleanup();
      if (e instanceof DrydockError && e.code === 'RUNTIME_UNAVAILABLE' && /not found/i.test(e.message)) {
        throw new DrydockError('IMAGE_NOT_FOUND', `containerd://${c.name}: image ${c.image} is not in containerd's content store`, { cause: e });
      }
      throw e;
    }
    return { target: `oci-archive:${file}`, cleanup };
  }
}

export function containerdRuntime(opts: ContainerdOptions = {}): ContainerdRuntime {
  return new ContainerdRuntime(opts);
}
