/**
 * Testkit: builds OCI/Docker images from a short file spec, deterministically (fixed mtimes,
 * sorted output), and writes them as OCI layouts, OCI archives and docker-save archives.
 *
 *   const img = await buildImage({ layers: [{ entries: [{ path: '/etc/os-release', content: 'ID=debian\n' }] }] });
 *   await writeOciLayout(dir, [{ image: img, tag: 'latest' }]);
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface EntrySpec {
  path: string;
  type?: EntryType;
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  /** seconds since the epoch or a Date; default FIXED_MTIME */
  mtime?: number | Date;
  devmajor?: number;
  devminor?: number;
  uname?: string;
  gname?: string;
  /** extra PAX records (e.g. SCHILY.xattr.*) */
  pax?: Record<string, string>;
}

export interface LayerSpec {
  entries: EntrySpec[];
  compression?: 'gzip' | 'zstd' | 'none';
  createdBy?: string;
  /** override the layer media type in the manifest (e.g. to test unknown media types) */
  mediaType?: string;
}

export interface ImageSpec {
  /** layers; a bare array of entries is a layer with default options */
  layers: (LayerSpec | EntrySpec[])[];
  /** 'oci' (default) or 'docker' media types */
  format?: 'oci' | 'docker';
  platform?: { os: string; architecture: string; variant?: string };
  config?: {
    env?: string[];
    cmd?: string[];
    entrypoint?: string[];
    labels?: Record<string, string>;
    user?: string;
    exposedPorts?: string[];
    workingDir?: string;
    volumes?: string[];
    stopSignal?: string;
  };
  /** full history override; default one entry per layer (createdBy) */
  history?: { created_by?: string; empty_layer?: boolean; comment?: string; created?: string }[];
  /** extra top-level config fields (merged last) */
  configExtra?: Record<string, unknown>;
  created?: string;
  annotations?: Record<string, string>;
}

export interface BuiltLayer {
  /** the uncompressed tar */
  tar: Buffer;
  /** the blob as stored (compressed or not) */
  blob: Buffer;
  digest: string;
  diffId: string;
  mediaType: string;
  compression: 'gzip' | 'zstd' | 'none';
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string; variant?: string };
}

export interface RawManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface BuiltImage {
  manifest: RawManifest;
  config: Buffer;
  configDigest: string;
  /** every blob of the image (config and layers), by digest */
  blobs: Map<string, Buffer>;
  diffIds: string[];
  layers: BuiltLayer[];
  platform: { os: string; architecture: string; variant?: string };
  format: 'oci' | 'docker';
}

/** An index over images: a RawManifest that also carries its children. */
export interface BuiltIndex extends RawManifest {
  children: BuiltImage[];
}

export const FIXED_MTIME = 1_700_000_000;
export const FIXED_CREATED = '2024-01-01T00:00:00Z';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
} as const;

export function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** Whiteout entry deleting `path` in lower layers: /x/name → /x/.wh.name */
export function whiteout(path: string): EntrySpec {
  const p = posix.normalize(`/${path}`);
  return { path: posix.join(posix.dirname(p), `.wh.${posix.basename(p)}`), content: '' };
}

/** Opaque-directory marker: /dir/.wh..wh..opq */
export function opaque(dir: string): EntrySpec {
  return { path: posix.join(posix.normalize(`/${dir}`), '.wh..wh..opq'), content: '' };
}

type TarType = 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
const TAR_TYPE: Record<EntryType, TarType> = {
  file: 'file',
  dir: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
};

function mtimeOf(m: number | Date | undefined): Date {
  if (m instanceof Date) return m;
  return new Date((m ?? FIXED_MTIME) * 1000);
}

/** Layer-style name: "/usr/bin/x" → "usr/bin/x", dirs get a trailing "/". */
function layerName(e: EntrySpec, type: EntryType): string {
  let n = e.path.replace(/^\/+/, '');
  if (n === '') n = '.';
  if (type === 'dir' && !n.endsWith('/')) n += '/';
  return n;
}

async function packTar(entries: EntrySpec[], normalise: boolean): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => { chunks.push(c as Buffer); });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type: EntryType = e.type ?? (e.linkname !== undefined ? 'symlink' : 'file');
    const content = e.content === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.content) ? e.content : Buffer.from(e.content);
    const name = normalise ? layerName(e, type) : e.path;
    const header: Partial<tarStream.Header> & { name: string } = {
      name,
      type: TAR_TYPE[type],
      mode: e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: mtimeOf(e.mtime),
      uname: e.uname ?? '',
      gname: e.gname ?? '',
    };
    if (type === 'file') header.size = content.length;
    if (e.linkname !== undefined) {
      header.linkname = normalise && type === 'hardlink' ? e.linkname.replace(/^\/+/, '') : e.linkname;
    }
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax) header.pax = e.pax;
    await new Promise<void>((resolve, reject) => {
      if (type === 'file') pack.entry(header, content, (err) => (err ? reject(err) : resolve()));
      else pack.entry(header, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A layer tar from entry specs (paths made relative, dirs with trailing slash). */
export function layerTar(entries: EntrySpec[]): Promise<Buffer> {
  return packTar(entries, true);
}

/** A tar with names exactly as given (for hostile tars: "../x", "/abs", link loops). */
export function rawTar(entries: EntrySpec[]): Promise<Buffer> {
  return packTar(entries, false);
}

export function zstdCompress(data: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', '--no-check'], { input: data, maxBuffer: 1 << 30 });
}

export function gzipCompress(data: Buffer): Buffer {
  return gzipSync(data, { level: 6 });
}

function layerMediaType(format: 'oci' | 'docker', c: 'gzip' | 'zstd' | 'none'): string {
  if (format === 'oci') return c === 'gzip' ? MT.ociLayerGzip : c === 'zstd' ? MT.ociLayerZstd : MT.ociLayer;
  return c === 'gzip' ? MT.dockerLayerGzip : c === 'zstd' ? MT.dockerLayerZstd : MT.dockerLayer;
}

export async function buildImage(spec: ImageSpec): Promise<BuiltImage> {
  const format = spec.format ?? 'oci';
  const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
  const layers: BuiltLayer[] = [];
  const layerSpecs: LayerSpec[] = spec.layers.map((l) => (Array.isArray(l) ? { entries: l } : l));
  for (const l of layerSpecs) {
    const tar = await layerTar(l.entries);
    const compression = l.compression ?? 'gzip';
    const blob = compression === 'gzip' ? gzipCompress(tar) : compression === 'zstd' ? zstdCompress(tar) : tar;
    layers.push({ tar, blob, digest: sha256(blob), diffId: sha256(tar), mediaType: l.mediaType ?? layerMediaType(format, compression), compression });
  }
  const c = spec.config ?? {};
  const cc: Record<string, unknown> = {};
  if (c.user !== undefined) cc.User = c.user;
  if (c.exposedPorts) cc.ExposedPorts = Object.fromEntries(c.exposedPorts.map((p) => [p, {}]));
  cc.Env = c.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
  if (c.entrypoint) cc.Entrypoint = c.entrypoint;
  if (c.cmd) cc.Cmd = c.cmd;
  if (c.volumes) cc.Volumes = Object.fromEntries(c.volumes.map((p) => [p, {}]));
  if (c.workingDir !== undefined) cc.WorkingDir = c.workingDir;
  if (c.labels) cc.Labels = c.labels;
  if (c.stopSignal) cc.StopSignal = c.stopSignal;
  const history =
    spec.history ??
    layerSpecs.map((l, i) => ({ created: spec.created ?? FIXED_CREATED, created_by: l.createdBy ?? `testkit layer ${i}` }));
  const config: Record<string, unknown> = {
    created: spec.created ?? FIXED_CREATED,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: cc,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history,
    ...(spec.configExtra ?? {}),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  const manifestObj: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MT.ociManifest : MT.dockerManifest,
    config: { mediaType: format === 'oci' ? MT.ociConfig : MT.dockerConfig, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
  };
  if (spec.annotations) manifestObj.annotations = spec.annotations;
  const mbytes = Buffer.from(JSON.stringify(manifestObj));
  const blobs = new Map<string, Buffer>([[configDigest, configBytes]]);
  for (const l of layers) blobs.set(l.digest, l.blob);
  return {
    manifest: { bytes: mbytes, mediaType: manifestObj.mediaType as string, digest: sha256(mbytes) },
    config: configBytes,
    configDigest,
    blobs,
    diffIds: layers.map((l) => l.diffId),
    layers,
    platform,
    format,
  };
}

/** A multi-platform index over images (OCI index, or a Docker manifest list when all are docker). */
export function buildIndex(images: BuiltImage[], opts: { format?: 'oci' | 'docker'; extra?: Descriptor[] } = {}): BuiltIndex {
  const format = opts.format ?? (images.every((i) => i.format === 'docker') && images.length > 0 ? 'docker' : 'oci');
  const manifests: Descriptor[] = images.map((i) => ({
    mediaType: i.manifest.mediaType,
    digest: i.manifest.digest,
    size: i.manifest.bytes.length,
    platform: { ...i.platform },
  }));
  manifests.push(...(opts.extra ?? []));
  const obj = { schemaVersion: 2, mediaType: format === 'oci' ? MT.ociIndex : MT.dockerManifestList, manifests };
  const bytes = Buffer.from(JSON.stringify(obj));
  return { bytes, mediaType: obj.mediaType, digest: sha256(bytes), children: images };
}

export interface LayoutEntry {
  image: BuiltImage | BuiltIndex;
  tag?: string;
}

export interface LayoutOptions {
  /** digests whose blobs are left out (to test BLOB_NOT_FOUND) */
  omitBlobs?: string[];
  /** extra blobs (e.g. a hand-made manifest) */
  extraBlobs?: Map<string, Buffer> | RawManifest[];
  /** annotation used for the tag; default org.opencontainers.image.ref.name */
  tagAnnotation?: string;
}

function isIndex(x: BuiltImage | BuiltIndex): x is BuiltIndex {
  return 'children' in x;
}

function collectBlobs(x: BuiltImage | BuiltIndex, out: Map<string, Buffer>): void {
  if (isIndex(x)) {
    out.set(x.digest, x.bytes);
    for (const c of x.children) collectBlobs(c, out);
    return;
  }
  out.set(x.manifest.digest, x.manifest.bytes);
  for (const [d, b] of x.blobs) out.set(d, b);
}

function normaliseEntries(images: LayoutEntry[] | BuiltImage | BuiltIndex, defaultTag = 'latest'): LayoutEntry[] {
  if (Array.isArray(images)) return images;
  return [{ image: images, tag: defaultTag }];
}

/** Writes an OCI image layout directory. A single image is tagged "latest". */
export function writeOciLayout(dir: string, images: LayoutEntry[] | BuiltImage | BuiltIndex, opts: LayoutOptions = {}): void {
  const entries = normaliseEntries(images);
  const blobs = new Map<string, Buffer>();
  for (const e of entries) collectBlobs(e.image, blobs);
  if (opts.extraBlobs) {
    if (Array.isArray(opts.extraBlobs)) for (const m of opts.extraBlobs) blobs.set(m.digest, m.bytes);
    else for (const [d, b] of opts.extraBlobs) blobs.set(d, b);
  }
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const omit = new Set(opts.omitBlobs ?? []);
  for (const [d, b] of [...blobs].sort(([a], [b2]) => a.localeCompare(b2))) {
    if (omit.has(d)) continue;
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice('sha256:'.length)), b);
  }
  const manifests = entries.map((e) => {
    const raw = isIndex(e.image) ? e.image : e.image.manifest;
    const d: Descriptor = { mediaType: raw.mediaType, digest: raw.digest, size: raw.bytes.length };
    if (e.tag !== undefined) d.annotations = { [opts.tagAnnotation ?? 'org.opencontainers.image.ref.name']: e.tag };
    return d;
  });
  writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests }));
}

/** Writes a tar of the given directory tree (sorted, fixed mtimes). */
async function tarTree(files: { name: string; data?: Buffer }[]): Promise<Buffer> {
  return rawTar(
    files.map((f) =>
      f.data === undefined ? { path: f.name.endsWith('/') ? f.name : `${f.name}/`, type: 'dir' as const } : { path: f.name, content: f.data },
    ),
  );
}

/** Writes an OCI archive (a tar of an OCI layout). */
export async function writeOciArchive(file: string, images: LayoutEntry[] | BuiltImage | BuiltIndex, opts: LayoutOptions = {}): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'testkit-oci-'));
  try {
    writeOciLayout(tmp, images, opts);
    const { readdirSync, readFileSync } = await import('node:fs');
    const files: { name: string; data?: Buffer }[] = [
      { name: 'blobs/' },
      { name: 'blobs/sha256/' },
      ...readdirSync(join(tmp, 'blobs', 'sha256'))
        .sort()
        .map((n) => ({ name: `blobs/sha256/${n}`, data: readFileSync(join(tmp, 'blobs', 'sha256', n)) })),
      { name: 'index.json', data: readFileSync(join(tmp, 'index.json')) },
      { name: 'oci-layout', data: readFileSync(join(tmp, 'oci-layout')) },
    ];
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, await tarTree(files));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface DockerArchiveOptions {
  /** 'legacy' (<id>/layer.tar, <hex>.json) or 'blobs' (blobs/sha256/..., docker 25+); default legacy */
  layout?: 'legacy' | 'blobs';
  /** store layers as built (compressed) instead of uncompressed tars */
  keepCompression?: boolean;
  /** also write the legacy `repositories` file */
  repositories?: boolean;
  /** leave RepoTags out of manifest.json (null) */
  omitRepoTags?: boolean;
}

/** Writes a `docker save` style archive holding the images with their RepoTags. */
export async function writeDockerArchive(
  file: string,
  images: { image: BuiltImage; repoTags: string[] }[],
  opts: DockerArchiveOptions = {},
): Promise<void> {
  const files = new Map<string, Buffer | undefined>();
  const manifest: Record<string, unknown>[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, repoTags } of images) {
    const hex = image.configDigest.slice('sha256:'.length);
    const configName = opts.layout === 'blobs' ? `blobs/sha256/${hex}` : `${hex}.json`;
    if (opts.layout === 'blobs') {
      files.set('blobs/', undefined);
      files.set('blobs/sha256/', undefined);
    }
    files.set(configName, image.config);
    const layerNames: string[] = [];
    for (const l of image.layers) {
      const data = opts.keepCompression ? l.blob : l.tar;
      const id = sha256(data).slice('sha256:'.length);
      let name: string;
      if (opts.layout === 'blobs') name = `blobs/sha256/${id}`;
      else {
        files.set(`${id}/`, undefined);
        name = `${id}/layer.tar`;
      }
      files.set(name, data);
      layerNames.push(name);
    }
    manifest.push({ Config: configName, RepoTags: opts.omitRepoTags ? null : repoTags, Layers: layerNames });
    const top = layerNames[layerNames.length - 1]?.split('/')[0];
    for (const t of repoTags) {
      const i = t.lastIndexOf(':');
      const repo = t.slice(0, i);
      (repositories[repo] ??= {})[t.slice(i + 1)] = top ?? '';
    }
  }
  files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
  if (opts.repositories) files.set('repositories', Buffer.from(JSON.stringify(repositories)));
  const list = [...files].sort(([a], [b]) => a.localeCompare(b)).map(([name, data]) => (data === undefined ? { name } : { name, data }));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, await tarTree(list));
}

/** A fresh temporary directory; remove it with the returned cleanup. */
export function tempDir(prefix = 'drydock-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A small ready-made image: a Debian-like base with os-release, a dpkg status file, a symlink and a whiteout. */
export async function sampleImage(overrides: Partial<ImageSpec> = {}): Promise<BuiltImage> {
  return buildImage({
    layers: [
      {
        createdBy: 'ADD rootfs.tar /',
        entries: [
          { path: '/etc', type: 'dir' },
          { path: '/etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
          { path: '/bin', type: 'dir' },
          { path: '/bin/sh', content: '#!fake shell\n', mode: 0o755 },
          { path: '/tmp', type: 'dir', mode: 0o1777 },
          { path: '/tmp/junk', content: 'junk' },
        ],
      },
      {
        createdBy: 'RUN rm /tmp/junk && ln -s /bin/sh /bin/bash',
        entries: [whiteout('/tmp/junk'), { path: '/bin/bash', type: 'symlink', linkname: '/bin/sh' }],
      },
    ],
    config: { cmd: ['/bin/sh'], labels: { 'org.example': 'testkit' } },
    ...overrides,
  });
}
