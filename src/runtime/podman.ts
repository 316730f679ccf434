/**
 * podman as a container runtime. Through its REST API over a unix socket when one is configured
 * (`podman system service unix://PATH`; the Docker-compatible endpoints /containers/json,
 * /containers/{id}/json and /images/{id}/json), else through its command-line client
 * (`podman ps --format json`, `podman inspect`). `via` tells which one a caller got.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { DrydockError } from '../core/errors.js';
import { procRoot } from './procfs.js';
import type { ContainerMount, ContainerRuntime, RunningContainer } from './types.js';
import { byString } from '../core/compare.js';

export interface PodmanOptions {
  /** unix:///run/podman/podman.sock or a socket path; default $DRYDOCK_PODMAN_SOCKET, then $CONTAINER_HOST (unix:// only) */
  socket?: string;
  /** podman binary for the CLI fallback; default $DRYDOCK_PODMAN or "podman" */
  podman?: string;
  /** extra global podman arguments; default $DRYDOCK_PODMAN_ARGS split at spaces */
  podmanArgs?: string[];
  /** one request or command; default 30 s */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** JSON answers larger than this are refused (a runtime with thousands of containers stays far below). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** The socket path a configuration names, or undefined for the CLI fallback. */
export function podmanSocketOf(opts: PodmanOptions = {}): string | undefined {
  const env = opts.env ?? process.env;
  const s = opts.socket ?? (env.DRYDOCK_PODMAN_SOCKET || undefined) ?? (env.CONTAINER_HOST?.startsWith('unix://') ? env.CONTAINER_HOST : undefined);
  if (s === undefined || s === '') return undefined;
  if (s.startsWith('unix://')) return s.slice('unix://'.length);
  if (s.startsWith('/')) return s;
  throw new DrydockError('USAGE', `podman socket ${JSON.stringify(s)} is not supported (unix:///PATH or an absolute path)`);
}

/** podman (or Docker) compat names carry a leading slash. */
function cleanName(n: unknown): string {
  return typeof n === 'string' ? n.replace(/^\//, '') : '';
}

function labelsOf(x: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (x && typeof x === 'object') for (const [k, v] of Object.entries(x as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => byString(a, b)));
}

function mountsOf(x: unknown): ContainerMount[] {
  if (!Array.isArray(x)) return [];
  const out: ContainerMount[] = [];
  for (const m of x as Record<string, unknown>[]) {
    if (!m || typeof m.Destination !== 'string') continue;
    out.push({ destination: m.Destination, ...(typeof m.Source === 'string' && m.Source ? { source: m.Source } : {}), ...(typeof m.Type === 'string' && m.Type ? { type: m.Type } : {}) });
  }
  return out.sort((a, b) => byString(a.destination, b.destination));
}

function withSha(id: unknown): string | undefined {
  if (typeof id !== 'string' || id === '') return undefined;
  return id.includes(':') ? id : `sha256:${id}`;
}

function digestOfRepoDigests(list: string[]): string | undefined {
  for (const r of list) {
    const at = r.lastIndexOf('@');
    if (at > 0) return r.slice(at + 1);
  }
  return undefined;
}

/**
 * A container from an inspect document: podman's own (`podman inspect`: ImageName, ImageDigest)
 * or the Docker-compatible one (`/containers/{id}/json`: Config.Image), plus the image's RepoDigests.
 */
export function containerFromInspect(doc: Record<string, unknown>, repoDigests: string[] = []): RunningContainer {
  const state = (doc.State ?? {}) as Record<string, unknown>;
  const config = (doc.Config ?? {}) as Record<string, unknown>;
  const pid = typeof state.Pid === 'number' && state.Pid > 0 ? state.Pid : undefined;
  const running = state.Running === true || state.Status === 'running';
  const imageRef = (typeof doc.ImageName === 'string' && doc.ImageName) || (typeof config.Image === 'string' && config.Image) || '';
  const imageId = withSha(doc.Image);
  const rd = [...new Set(repoDigests)].sort();
  const imageDigest = (typeof doc.ImageDigest === 'string' && doc.ImageDigest) || digestOfRepoDigests(rd);
  const startedAt = typeof state.StartedAt === 'string' && !state.StartedAt.startsWith('0001-') ? state.StartedAt : undefined;
  return {
    runtime: 'podman',
    id: String(doc.Id ?? ''),
    name: cleanName(doc.Name),
    image: imageRef,
    ...(imageId ? { imageId } : {}),
    ...(imageDigest ? { imageDigest } : {}),
    repoDigests: rd,
    ...(startedAt ? { startedAt } : {}),
    state: typeof state.Status === 'string' ? state.Status : running ? 'running' : 'unknown',
    labels: labelsOf(config.Labels),
    ...(pid !== undefined && running ? { pid, rootfs: procRoot(pid) } : {}),
    mounts: mountsOf(doc.Mounts),
  };
}

function byName(a: RunningContainer, b: RunningContainer): number {
  return byString(a.name, b.name) || byString(a.id, b.id);
}

function notFound(idOrName: string, detail: string): DrydockError {
  return new DrydockError('CONTAINER_NOT_FOUND', `podman://${idOrName}: no such container (${detail})`);
}

function checkRef(idOrName: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(idOrName)) throw new DrydockError('TARGET_INVALID', `invalid podman container id or name ${JSON.stringify(idOrName)}`);
}

/**
 * The REST API over a unix socket. podman's compatibility API and the Docker Engine API answer the same
 * container and image routes, so `flavor: 'docker'` serves a Docker daemon (DOCKER_HOST).
 */
export class PodmanApiRuntime implements ContainerRuntime {
  readonly name: 'podman' | 'docker';
  readonly via = 'api' as const;
  constructor(
    readonly socketPath: string,
    readonly timeoutMs = 30_000,
    flavor: 'podman' | 'docker' = 'podman',
  ) {
    this.name = flavor;
  }

  get(path: string): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socketPath, path, method: 'GET', headers: { host: 'podman' }, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > MAX_ANSWER_BYTES) {
            req.destroy(new DrydockError('RUNTIME_UNAVAILABLE', `podman at ${this.socketPath}: answer to ${path} is larger than ${MAX_ANSWER_BYTES} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // an error page: kept as text
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('timeout', () => req.destroy(new DrydockError('TIMEOUT', `podman at ${this.socketPath}: no answer to ${path} within ${this.timeoutMs} ms`)));
      req.on('error', (e) => {
        if (e instanceof DrydockError) reject(e);
        else reject(new DrydockError('RUNTIME_UNAVAILABLE', `podman: no API answers at ${this.socketPath} (${(e as NodeJS.ErrnoException).code ?? e.message})`, { cause: e }));
      });
      req.end();
    });
  }

  async #json(path: string): Promise<unknown> {
    const r = await this.get(path);
    if (r.status !== 200) throw new DrydockError('RUNTIME_UNAVAILABLE', `podman at ${this.socketPath}: ${path} answered ${r.status} (${JSON.stringify(r.body).slice(0, 300)})`);
    return r.body;
  }

  async #repoDigests(imageId: string | undefined): Promise<string[]> {
    if (!imageId) return [];
    const r = await this.get(`/images/${encodeURIComponent(imageId.replace(/^sha256:/, ''))}/json`);
    if (r.status !== 200 || !r.body || typeof r.body !== 'object') return [];
    const list = (r.body as Record<string, unknown>).RepoDigests;
    return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
  }

  async list(): Promise<RunningContainer[]> {
    const body = await this.#json('/containers/json');
    if (!Array.isArray(body)) throw new DrydockError('RUNTIME_UNAVAILABLE', `podman at ${this.socketPath}: /containers/json is not a list`);
    const out: RunningContainer[] = [];
    for (const c of body as Record<string, unknown>[]) {
      if (typeof c.Id !== 'string') continue;
      try {
        out.push(await this.inspect(c.Id));
      } catch (e) {
        // a container that stopped between the list and its inspect is no longer running
        if (e instanceof DrydockError && e.code === 'CONTAINER_NOT_FOUND') continue;
        throw e;
      }
    }
    return out.filter((c) => c.pid !== undefined).sort(byName);
  }

  async inspect(idOrName: string): Promise<RunningContainer> {
    checkRef(idOrName);
    const r = await this.get(`/containers/${encodeURIComponent(idOrName)}/json`);
    if (r.status === 404) throw notFound(idOrName, JSON.stringify(r.body).slice(0, 200));
    if (r.status !== 200 || !r.body || typeof r.body !== 'object') throw new DrydockError('RUNTIME_UNAVAILABLE', `podman at ${this.socketPath}: inspect of ${idOrName} answered ${r.status}`);
    const doc = r.body as Record<string, unknown>;
    return containerFromInspect(doc, await this.#repoDigests(withSha(doc.Image)));
  }

  imageTarget(c: RunningContainer): string {
    return `${this.name}:${(c.imageId ?? c.image).replace(/^sha256:/, '')}`;
  }

  containerTarget(c: RunningContainer): string {
    return `${this.name}://${c.id}`;
  }
}

/** A Docker daemon through its Engine API: DOCKER_HOST (unix:// only) or /var/run/docker.sock. */
export function dockerRuntime(opts: { host?: string; timeoutMs?: number } = {}): PodmanApiRuntime {
  const h = opts.host ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const socket = h.startsWith('unix://') ? h.slice('unix://'.length) : h.startsWith('/') ? h : undefined;
  if (!socket) throw new DrydockError('RUNTIME_UNAVAILABLE', `DOCKER_HOST ${JSON.stringify(h)}: only unix:// sockets are supported for running containers`);
  return new PodmanApiRuntime(socket, opts.timeoutMs, 'docker');
}

/** The command-line client. */
export class PodmanCliRuntime implements ContainerRuntime {
  readonly name = 'podman';
  readonly via = 'cli' as const;
  readonly #bin: string;
  readonly #args: string[];
  readonly #timeoutMs: number;

  constructor(opts: PodmanOptions = {}) {
    const env = opts.env ?? process.env;
    this.#bin = opts.podman ?? env.DRYDOCK_PODMAN ?? 'podman';
    this.#args = opts.podmanArgs ?? (env.DRYDOCK_PODMAN_ARGS ?? '').split(' ').filter((a) => a !== '');
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
  }

  #run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(this.#bin, [...this.#args, ...args], { maxBuffer: MAX_ANSWER_BYTES, encoding: 'utf8', timeout: this.#timeoutMs }, (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        if (e && typeof e.code === 'string') {
          reject(new DrydockError('RUNTIME_UNAVAILABLE', e.code === 'ENOENT' ? `podman is not installed (no ${this.#bin} on PATH)` : `podman could not be run (${e.message})`, { cause: e }));
          return;
        }
        if (e?.killed) {
          reject(new DrydockError('TIMEOUT', `podman ${args[0]} did not finish within ${this.#timeoutMs} ms`));
          return;
        }
        resolve({ code: e ? ((e as unknown as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  async #inspectMany(ids: string[]): Promise<Record<string, unknown>[]> {
    const r = await this.#run(['container', 'inspect', '--format', 'json', ...ids]);
    let docs: unknown;
    try {
      docs = JSON.parse(r.stdout || 'null');
    } catch (e) {
      throw new DrydockError('RUNTIME_UNAVAILABLE', `podman inspect printed no JSON: ${r.stderr.trim().slice(0, 300)}`, { cause: e });
    }
    if (r.code !== 0 && (!Array.isArray(docs) || docs.length === 0)) {
      const msg = r.stderr.trim().split('\n').slice(-2).join(' ').slice(0, 300);
      if (/no such (container|object)|not known/i.test(msg)) throw notFound(ids.join(' '), msg);
      throw new DrydockError('RUNTIME_UNAVAILABLE', `podman inspect failed: ${msg}`);
    }
    return Array.isArray(docs) ? (docs as Record<string, unknown>[]) : [];
  }

  async list(): Promise<RunningContainer[]> {
    const r = await this.#run(['ps', '--format', 'json', '--no-trunc']);
    if (r.code !== 0) throw new DrydockError('RUNTIME_UNAVAILABLE', `podman ps failed: ${r.stderr.trim().slice(0, 300)}`);
    let rows: unknown;
    try {
      rows = JSON.parse(r.stdout || '[]');
    } catch (e) {
      throw new DrydockError('RUNTIME_UNAVAILABLE', 'podman ps printed no JSON', { cause: e });
    }
    const ids = Array.isArray(rows) ? (rows as Record<string, unknown>[]).map((x) => x.Id).filter((x): x is string => typeof x === 'string') : [];
    if (ids.length === 0) return [];
    // containers that stopped in between drop out of inspect's answer or show no pid
    let docs: Record<string, unknown>[];
    try {
      docs = await this.#inspectMany(ids);
    } catch (e) {
      if (!(e instanceof DrydockError && e.code === 'CONTAINER_NOT_FOUND')) throw e;
      docs = [];
    }
    return docs.map((d) => containerFromInspect(d)).filter((c) => c.pid !== undefined).sort(byName);
  }

  async inspect(idOrName: string): Promise<RunningContainer> {
    checkRef(idOrName);
    const docs = await this.#inspectMany([idOrName]);
    if (!docs[0]) throw notFound(idOrName, 'podman inspect returned nothing');
    return containerFromInspect(docs[0]);
  }

  imageTarget(c: RunningContainer): string {
    return `${this.name}:${(c.imageId ?? c.image).replace(/^sha256:/, '')}`;
  }

  containerTarget(c: RunningContainer): string {
    return `${this.name}://${c.id}`;
  }
}

/** podman through its API when a socket is configured, else through its CLI. */
export function podmanRuntime(opts: PodmanOptions = {}): ContainerRuntime {
  const socket = podmanSocketOf(opts);
  return socket !== undefined ? new PodmanApiRuntime(socket, opts.timeoutMs) : new PodmanCliRuntime(opts);
}
