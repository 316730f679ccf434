/**
 * Local container engines. podman: its overlay storage read directly when it is readable (see
 * PodmanStorageReader below), else `podman image save --format oci-archive` into a private
 * temporary directory, read with the oci-archive reader. Docker: the Engine API over its unix
 * socket (GET /images/{name}/get) streamed into a temporary file, read as a docker-archive.
 * The temporary files are deleted when the reader is closed.
 */
import { execFile } from 'node:child_process';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, open, readFile, stat } from 'node:fs/promises';
import { request, type IncomingMessage, type RequestOptions } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DrydockError } from '../core/errors.js';
import { digestOf, DigestStream } from '../core/digest.js';
import { defaultTempDir } from '../core/paths.js';
import { tempDirectory, type TempDirectory } from '../core/temp.js';
import type { ImageReader } from './transport.js';
import { MediaType, type Descriptor, type RawManifest } from './types.js';
import { normalizeReference } from './target.js';
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
  /**
   * podman's storage root (overlay driver) read directly; "off" always runs `podman image save`.
   * Default $DRYDOCK_PODMAN_STORAGE, else `--root` of the podman arguments, else podman's default.
   */
  podmanStorage?: string;
  /** Docker host; default $DOCKER_HOST or unix:///var/run/docker.sock */
  dockerHost?: string;
}

function privateTemp(opts: EngineOptions, prefix: string): Promise<TempDirectory> {
  return tempDirectory(opts.tempDir ?? defaultTempDir(), prefix);
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
  const direct = await openPodmanStorageReader(ref, opts);
  if (direct) return direct;
  const tmp = await privateTemp(opts, 'drydock-podman-');
  const file = join(tmp.path, 'image.oci.tar');
  const cleanup = tmp.remove;
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
  const tmp = await privateTemp(opts, 'drydock-docker-');
  const file = join(tmp.path, 'image.docker.tar');
  const cleanup = tmp.remove;
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

// ---------------------------------------------------------------------------------------------
// podman's containers-storage, read directly (overlay driver). images.json and layers.json name an
// image's config (a "big data" item of the image) and its layer chain; a layer's uncompressed tar is
// rebuilt byte for byte from its tar-split record (headers and padding) and the files of its diff
// directory, so its digest is the layer's diff digest (the config's diff_id). The manifest is
// derived (uncompressed OCI layers), as `podman image save` derives one.
// ---------------------------------------------------------------------------------------------

interface StorageImage {
  id: string;
  names: string[];
  /** the top layer id */
  layer?: string;
  digest?: string;
}

interface StorageLayer {
  id: string;
  parent?: string;
  diffDigest?: string;
  diffSize?: number;
}

/** The tar-split entries: type 1 a file (its content read from the diff directory), type 2 raw bytes. */
interface TarSplitEntry {
  type: number;
  name?: string;
  name_raw?: string;
  size?: number;
  payload?: string | null;
}

/** graphroot of /etc/containers/storage.conf (root) when it names one; undefined otherwise. */
async function configuredGraphRoot(): Promise<string | undefined> {
  try {
    const text = await readFile('/etc/containers/storage.conf', 'utf8');
    const m = /^\s*graphroot\s*=\s*"([^"]+)"/m.exec(text);
    return m?.[1];
  } catch {
    return undefined;
  }
}

/**
 * podman's storage root: opts.podmanStorage, $DRYDOCK_PODMAN_STORAGE, `--root DIR` of the podman
 * arguments, the graphroot of /etc/containers/storage.conf, then podman's defaults. undefined: off.
 */
export async function podmanStorageRoot(opts: EngineOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const set = opts.podmanStorage ?? (env.DRYDOCK_PODMAN_STORAGE || undefined);
  if (set === 'off') return undefined;
  if (set !== undefined) return set;
  const args = opts.podmanArgs ?? (env.DRYDOCK_PODMAN_ARGS ?? '').split(' ').filter((a) => a !== '');
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--root' && args[i + 1]) return args[i + 1];
    if (a.startsWith('--root=')) return a.slice('--root='.length);
    // another storage driver or options: leave it to podman
    if (a === '--storage-driver' || a.startsWith('--storage-driver=') || a === '--storage-opt' || a.startsWith('--storage-opt=')) return undefined;
  }
  if (process.getuid?.() === 0) return (await configuredGraphRoot()) ?? '/var/lib/containers/storage';
  const data = env.XDG_DATA_HOME || (env.HOME ? join(env.HOME, '.local', 'share') : undefined);
  return data ? join(data, 'containers', 'storage') : undefined;
}

async function readJsonArray(file: string): Promise<Record<string, unknown>[] | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as Record<string, unknown>[]) : undefined;
  } catch {
    return undefined;
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The names a short or full reference can have in podman's store (podman adds localhost/ to unqualified local names). */
function nameCandidates(ref: string): Set<string> {
  const out = new Set<string>([ref]);
  const n = normalizeReference(ref);
  if (n) out.add(n);
  const first = ref.split('/')[0] ?? '';
  if (!ref.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')) {
    const l = normalizeReference(`localhost/${ref}`);
    if (l) out.add(l);
  }
  return out;
}

/** The image `ref` names in the store: an id, a unique id prefix (at least 3 characters) or a name; undefined when not exactly one. */
export function findStorageImage(images: StorageImage[], ref: string): StorageImage | undefined {
  const id = ref.replace(/^sha256:/, '');
  if (/^[0-9a-f]{3,64}$/.test(id)) {
    const hits = images.filter((i) => i.id.startsWith(id));
    if (hits.length === 1) return hits[0];
    if (hits.length > 1) return undefined;
  }
  const want = nameCandidates(ref);
  const hits = images.filter((i) => i.names.some((n) => want.has(n) || want.has(normalizeReference(n) ?? n)));
  if (hits.length === 1) return hits[0];
  // name@digest: the stored manifest digest
  const at = ref.lastIndexOf('@');
  if (hits.length === 0 && at > 0) {
    const d = ref.slice(at + 1);
    const byDigest = images.filter((i) => i.digest === d);
    if (byDigest.length === 1) return byDigest[0];
  }
  return undefined;
}

/** Big-data items of an image are stored as files named "=" + base64(key) (containers/storage). */
function bigDataFile(root: string, imageId: string, key: string): string {
  return join(root, 'overlay-images', imageId, `=${Buffer.from(key, 'utf8').toString('base64')}`);
}

/** A tar path from tar-split, made relative to a layer's diff directory; undefined when it leaves it. */
function diffPath(name: string): string | undefined {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') return undefined;
    parts.push(p);
  }
  return parts.length ? parts.join('/') : undefined;
}

async function* tarFromSplit(splitFile: string, diffDir: string, what: string): AsyncGenerator<Buffer> {
  const lines = createInterface({ input: createReadStream(splitFile).pipe(createGunzip()), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    let e: TarSplitEntry;
    try {
      e = JSON.parse(line) as TarSplitEntry;
    } catch (err) {
      throw new DrydockError('ARCHIVE_CORRUPT', `${what}: tar-split record is not valid json`, { cause: err });
    }
    if (e.type === 2) {
      if (typeof e.payload === 'string' && e.payload !== '') yield Buffer.from(e.payload, 'base64');
      continue;
    }
    if (e.type !== 1) throw new DrydockError('ARCHIVE_CORRUPT', `${what}: unknown tar-split entry type ${String(e.type)}`);
    const size = typeof e.size === 'number' ? e.size : 0;
    if (size === 0) continue;
    const name = typeof e.name_raw === 'string' ? Buffer.from(e.name_raw, 'base64').toString('latin1') : (e.name ?? '');
    const rel = diffPath(name);
    if (rel === undefined) throw new DrydockError('ARCHIVE_CORRUPT', `${what}: tar-split names ${JSON.stringify(name)} outside the layer`);
    let fh;
    try {
      fh = await open(join(diffDir, rel), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw new DrydockError('ARCHIVE_CORRUPT', `${what}: ${rel} is missing from the layer's diff directory`, { cause: err });
    }
    try {
      let left = size;
      while (left > 0) {
        const buf = Buffer.allocUnsafe(Math.min(left, 1024 * 1024));
        const { bytesRead } = await fh.read(buf, 0, buf.length, size - left);
        if (bytesRead === 0) throw new DrydockError('ARCHIVE_CORRUPT', `${what}: ${rel} is shorter than the ${size} bytes the layer recorded`);
        left -= bytesRead;
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
    } finally {
      await fh.close();
    }
  }
}

export class PodmanStorageReader implements ImageReader {
  readonly derived = true;
  readonly name: string;
  reference: string | undefined;
  readonly #root: string;
  readonly #imageId: string;
  readonly #config: Buffer;
  readonly #manifest: RawManifest;
  /** diff digest → layer */
  readonly #layers = new Map<string, StorageLayer>();

  constructor(root: string, ref: string, image: StorageImage, config: Buffer, chain: StorageLayer[]) {
    this.#root = root;
    this.#imageId = image.id;
    this.#config = config;
    this.name = `podman:${ref}`;
    const want = nameCandidates(ref);
    this.reference = image.names.find((n) => want.has(n) || want.has(normalizeReference(n) ?? n)) ?? image.names[0];
    for (const l of chain) this.#layers.set(l.diffDigest as string, l);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: `sha256:${image.id}`, size: config.length },
      layers: chain.map((l) => ({ mediaType: MediaType.ociLayer, digest: l.diffDigest as string, size: l.diffSize as number })),
    };
    const bytes = Buffer.from(JSON.stringify(manifest), 'utf8');
    this.#manifest = { bytes, mediaType: MediaType.ociManifest, digest: digestOf(bytes) };
  }

  async root(): Promise<RawManifest> {
    return this.#manifest;
  }

  async manifest(digest: string): Promise<RawManifest> {
    if (digest === this.#manifest.digest) return this.#manifest;
    throw new DrydockError('IMAGE_NOT_FOUND', `${this.name}: no manifest ${digest} in podman's storage`);
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const check = new DigestStream({ expected: desc.digest, expectedSize: desc.size, what: `${this.name} blob ${desc.digest}` });
    if (desc.digest === `sha256:${this.#imageId}`) return Readable.from([this.#config]).pipe(check);
    const l = this.#layers.get(desc.digest);
    if (!l) throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: no blob ${desc.digest} in podman's storage`);
    const src = Readable.from(tarFromSplit(this.#splitFile(l), join(this.#root, 'overlay', l.id, 'diff'), `${this.name} layer ${l.id}`));
    src.on('error', (e) => check.destroy(e));
    return src.pipe(check);
  }

  #splitFile(l: StorageLayer): string {
    return join(this.#root, 'overlay-layers', `${l.id}.tar-split.gz`);
  }

  /** the layer id and diff digest, and the identity of its tar-split record and diff directory */
  async blobBinding(desc: Descriptor): Promise<string | undefined> {
    const l = this.#layers.get(desc.digest);
    if (!l) return undefined;
    try {
      const [s, d] = await Promise.all([stat(this.#splitFile(l), { bigint: true }), stat(join(this.#root, 'overlay', l.id, 'diff'), { bigint: true })]);
      return `podman-storage:${this.#root}:${l.id}:${desc.digest}:${s.size}:${s.mtimeNs}:${s.ino}:${d.mtimeNs}:${d.ino}`;
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {}
}

/**
 * Opens `podman:REF` from podman's overlay storage, or returns undefined when that is not possible
 * (no readable storage, another driver, no unique image of that name, a layer without tar-split data)
 * so the caller falls back to `podman image save`.
 */
export async function openPodmanStorageReader(ref: string, opts: EngineOptions = {}): Promise<PodmanStorageReader | undefined> {
  const root = await podmanStorageRoot(opts);
  if (root === undefined) return undefined;
  const [imgs, lays] = await Promise.all([readJsonArray(join(root, 'overlay-images', 'images.json')), readJsonArray(join(root, 'overlay-layers', 'layers.json'))]);
  if (!imgs || !lays) return undefined;
  const images: StorageImage[] = [];
  for (const o of imgs) {
    const id = str(o.id);
    if (!id) continue;
    const layer = str(o.layer);
    const digest = str(o.digest);
    images.push({ id, names: Array.isArray(o.names) ? o.names.filter((n): n is string => typeof n === 'string') : [], ...(layer ? { layer } : {}), ...(digest ? { digest } : {}) });
  }
  const image = findStorageImage(images, ref);
  if (!image) return undefined;
  const byId = new Map<string, StorageLayer>();
  for (const o of lays) {
    const id = str(o.id);
    if (!id) continue;
    const parent = str(o.parent);
    const diffDigest = str(o['diff-digest']);
    const diffSize = typeof o['diff-size'] === 'number' ? o['diff-size'] : undefined;
    byId.set(id, { id, ...(parent ? { parent } : {}), ...(diffDigest ? { diffDigest } : {}), ...(diffSize !== undefined ? { diffSize } : {}) });
  }
  const chain: StorageLayer[] = [];
  for (let id = image.layer; id !== undefined; ) {
    const l = byId.get(id);
    if (!l || !l.diffDigest || l.diffSize === undefined || chain.length > 1000) return undefined;
    chain.unshift(l);
    id = l.parent;
  }
  let config: Buffer;
  try {
    config = await readFile(bigDataFile(root, image.id, `sha256:${image.id}`));
  } catch {
    return undefined;
  }
  if (digestOf(config) !== `sha256:${image.id}`) return undefined;
  // the chain must be the config's diff_ids, and every layer must have its tar-split record
  try {
    const cfg = JSON.parse(config.toString('utf8')) as { rootfs?: { diff_ids?: unknown } };
    const ids = cfg.rootfs?.diff_ids;
    if (!Array.isArray(ids) || ids.length !== chain.length || ids.some((d, i) => d !== chain[i]?.diffDigest)) return undefined;
    await Promise.all(chain.map((l) => access(join(root, 'overlay-layers', `${l.id}.tar-split.gz`), constants.R_OK)));
    await Promise.all(chain.map((l) => access(join(root, 'overlay', l.id, 'diff'), constants.R_OK)));
  } catch {
    return undefined;
  }
  return new PodmanStorageReader(root, ref, image, config, chain);
}
