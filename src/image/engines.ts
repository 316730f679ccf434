/**
 * Local container engines. podman: `podman image save --format oci-archive` into a private
 * temporary directory, read with the oci-archive reader. Docker: the Engine API over its unix
 * socket (GET /images/{name}/get) streamed into a temporary file, read as a docker-archive.
 * The temporary files are deleted when the reader is closed.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DrydockError } from '../core/errors.js';
import { defaultTempDir } from '../core/paths.js';
import type { ImageReader } from './transport.js';
import { OciArchiveReader } from './oci-archive.js';
import { DockerArchiveReader } from './docker-archive.js';

export interface EngineOptions {
  tempDir?: string;
  signal?: AbortSignal;
  maxManifestBytes?: number;
  /** podman binary; default $DRYDOCK_PODMAN or "podman" */
  podman?: string;
  /** extra global podman arguments (e.g. --root); default $DRYDOCK_PODMAN_ARGS split at spaces */
  podmanArgs?: string[];
  /** Docker host; default $DOCKER_HOST or unix:///var/run/docker.sock */
  dockerHost?: string;
}

async function privateTemp(opts: EngineOptions, prefix: string): Promise<string> {
  try {
    return await mkdtemp(join(opts.tempDir ?? defaultTempDir(), prefix));
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot create a temporary directory (${(e as Error).message})`, { cause: e });
  }
}

function run(cmd: string, args: string[], signal?: AbortSignal): Promise<{ code: number; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { signal, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        resolve({ code: -1, stdout, stderr, spawnError: err as NodeJS.ErrnoException });
        return;
      }
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Reads `podman:REF`: saves the image as an oci-archive into a private temp dir. */
export async function openPodmanReader(ref: string, opts: EngineOptions = {}): Promise<ImageReader> {
  const bin = opts.podman ?? process.env.DRYDOCK_PODMAN ?? 'podman';
  const globalArgs = opts.podmanArgs ?? (process.env.DRYDOCK_PODMAN_ARGS ?? '').split(' ').filter((a) => a !== '');
  if (ref.startsWith('-')) throw new DrydockError('TARGET_INVALID', `invalid podman image reference ${JSON.stringify(ref)}`);
  const dir = await privateTemp(opts, 'drydock-podman-');
  const file = join(dir, 'image.oci.tar');
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const r = await run(bin, [...globalArgs, 'image', 'save', '--format', 'oci-archive', '-o', file, ref], opts.signal);
    if (r.spawnError) {
      if (r.spawnError.code === 'ENOENT') throw new DrydockError('RUNTIME_UNAVAILABLE', `podman is not installed (no ${bin} on PATH)`, { cause: r.spawnError });
      if (r.spawnError.code === 'ABORT_ERR') throw r.spawnError;
      throw new DrydockError('RUNTIME_UNAVAILABLE', `podman could not be run (${r.spawnError.message})`, { cause: r.spawnError });
    }
    if (r.code !== 0) {
      const msg = r.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 500);
      if (/no such image|image not known|not found|does not exist/i.test(msg)) {
        throw new DrydockError('IMAGE_NOT_FOUND', `podman:${ref}: no such image in the podman store (${msg})`);
      }
      throw new DrydockError('RUNTIME_UNAVAILABLE', `podman:${ref}: podman image save failed: ${msg}`);
    }
    const reader = new OciArchiveReader(file, undefined, opts, `podman:${ref}`);
    await reader.init();
    reader.onClose = cleanup;
    return reader;
  } catch (e) {
    await cleanup();
    throw e;
  }
}

interface DockerEndpoint {
  socketPath?: string;
  host?: string;
  port?: number;
}

export function dockerEndpoint(hostSetting?: string): DockerEndpoint {
  const h = hostSetting ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  if (h.startsWith('unix://')) return { socketPath: h.slice('unix://'.length) };
  if (h.startsWith('/')) return { socketPath: h };
  const m = /^(?:tcp|http):\/\/([^:/]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(h);
  if (m) return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: m[2] ? Number(m[2]) : 2375 };
  throw new DrydockError('RUNTIME_UNAVAILABLE', `DOCKER_HOST ${JSON.stringify(h)} is not supported (unix:// or tcp:// without TLS)`);
}

function dockerGet(ep: DockerEndpoint, path: string, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const o: RequestOptions = { method: 'GET', path, headers: { host: 'docker' } };
    if (ep.socketPath) o.socketPath = ep.socketPath;
    else {
      o.host = ep.host;
      o.port = ep.port;
    }
    if (signal) o.signal = signal;
    const req = request(o, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Reads `docker:REF` through the Docker Engine API. */
export async function openDockerReader(ref: string, opts: EngineOptions = {}): Promise<ImageReader> {
  const ep = dockerEndpoint(opts.dockerHost);
  const where = ep.socketPath ?? `${ep.host}:${ep.port}`;
  let res: IncomingMessage;
  try {
    res = await dockerGet(ep, `/images/${encodeURIComponent(ref)}/get`, opts.signal);
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new DrydockError('RUNTIME_UNAVAILABLE', `docker:${ref}: no docker daemon answers at ${where} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
  }
  if (res.statusCode !== 200) {
    const chunks: Buffer[] = [];
    for await (const c of res) if (chunks.length < 64) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8').slice(0, 500);
    if (res.statusCode === 404) throw new DrydockError('IMAGE_NOT_FOUND', `docker:${ref}: no such image in the docker daemon (${body.trim()})`);
    throw new DrydockError('RUNTIME_UNAVAILABLE', `docker:${ref}: the docker daemon answered ${res.statusCode} (${body.trim()})`);
  }
  const dir = await privateTemp(opts, 'drydock-docker-');
  const file = join(dir, 'image.docker.tar');
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await pipeline(res, createWriteStream(file, { mode: 0o600 }));
    const reader = new DockerArchiveReader(file, undefined, opts, `docker:${ref}`);
    await reader.init();
    reader.onClose = cleanup;
    return reader;
  } catch (e) {
    await cleanup();
    if (e instanceof DrydockError) throw e;
    throw new DrydockError('IO_ERROR', `docker:${ref}: cannot save the image (${(e as Error).message})`, { cause: e });
  }
}
