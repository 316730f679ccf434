/**
 * `docker save` archives, read without extracting. manifest.json lists the images
 * ({Config, RepoTags, Layers, LayerSources}); Drydock derives a Docker schema 2 manifest from it.
 *
 * Layer digests: an uncompressed layer's blob digest equals its diffID, so diff_ids[i] is used
 * without reading the member (the DigestStream verifies it when the layer is read). Compressed
 * members (rare) are hashed when the archive is opened.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DrydockError } from '../core/errors.js';
import { digestOf } from '../core/digest.js';
import type { ImageReader } from './transport.js';
import { MediaType, type Compression, type Descriptor, type RawManifest } from './types.js';
import {
  DEFAULT_MAX_MANIFEST_BYTES,
  dockerLayerMediaType,
  parseImageConfig,
  sniffCompression,
  validateDescriptor,
} from './manifest.js';
import { archiveBinding, indexTar, memberStream, readMember, readMemberBytes, resolveMember, type ArchiveOptions, type TarIndex, type TarMember } from './oci-archive.js';
import { normalizeReference } from './target.js';

interface ArchiveImage {
  Config: string;
  RepoTags: string[];
  Layers: string[];
  LayerSources?: Record<string, Descriptor>;
}

function parseArchiveManifest(bytes: Buffer, file: string): ArchiveImage[] {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new DrydockError('MANIFEST_INVALID', `${file}: manifest.json is not valid json`, { cause: e });
  }
  if (!Array.isArray(v)) throw new DrydockError('MANIFEST_INVALID', `${file}: manifest.json is not an array`);
  return v.map((x, i) => {
    const o = x as Record<string, unknown> | null;
    if (!o || typeof o !== 'object' || typeof o.Config !== 'string' || !Array.isArray(o.Layers) || !o.Layers.every((l) => typeof l === 'string')) {
      throw new DrydockError('MANIFEST_INVALID', `${file}: manifest.json entry ${i} lacks Config or Layers`);
    }
    const tags = Array.isArray(o.RepoTags) ? o.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    const img: ArchiveImage = { Config: o.Config, RepoTags: tags, Layers: o.Layers as string[] };
    if (o.LayerSources && typeof o.LayerSources === 'object') {
      img.LayerSources = {};
      for (const [k, d] of Object.entries(o.LayerSources as Record<string, unknown>)) {
        img.LayerSources[k] = validateDescriptor(d, `${file}: manifest.json LayerSources ${k}`);
      }
    }
    return img;
  });
}

/** Tags from the legacy `repositories` file ({repo: {tag: topLayerId}}) for images without RepoTags. */
function legacyTags(repositories: Buffer | undefined, img: ArchiveImage): string[] {
  if (!repositories) return [];
  let v: unknown;
  try {
    v = JSON.parse(repositories.toString('utf8'));
  } catch {
    return [];
  }
  const last = img.Layers[img.Layers.length - 1];
  if (!last || !v || typeof v !== 'object') return [];
  const topId = last.split('/')[0];
  const out: string[] = [];
  for (const [repo, tags] of Object.entries(v as Record<string, unknown>)) {
    if (!tags || typeof tags !== 'object') continue;
    for (const [tag, id] of Object.entries(tags as Record<string, unknown>)) if (id === topId) out.push(`${repo}:${tag}`);
  }
  return out;
}

function refMatches(repoTag: string, ref: string): boolean {
  if (repoTag === ref) return true;
  const a = normalizeReference(repoTag);
  const b = normalizeReference(ref);
  return a !== undefined && a === b;
}

interface LayerSource {
  descriptor: Descriptor;
  member?: TarMember;
}

export class DockerArchiveReader implements ImageReader {
  readonly derived = true;
  name: string;
  readonly #file: string;
  readonly #ref: string | undefined;
  readonly #max: number;
  #index: TarIndex | undefined;
  #root: RawManifest | undefined;
  /** blob digest → where it comes from */
  readonly #blobs = new Map<string, LayerSource>();
  /** the repo tag the image was selected by, or its first tag */
  reference: string | undefined;
  onClose: (() => Promise<void>) | undefined;

  constructor(file: string, ref: string | undefined, opts: ArchiveOptions = {}, displayName?: string) {
    this.#file = file;
    this.#ref = ref;
    this.#max = opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.name = displayName ?? (ref === undefined ? file : `${file}:${ref}`);
  }

  get #idx(): TarIndex {
    if (!this.#index) throw new DrydockError('INTERNAL', 'docker archive reader used before init()');
    return this.#index;
  }

  async init(): Promise<void> {
    const idx = (this.#index = await indexTar(this.#file));
    const mj = await readMember(idx, 'manifest.json', this.#max, `${this.#file}: manifest.json`);
    if (mj === undefined) {
      if (idx.members.has('repositories')) {
        throw new DrydockError('MANIFEST_UNSUPPORTED', `${this.#file}: a pre-1.10 docker archive (no manifest.json); re-save the image with a current docker`);
      }
      throw new DrydockError('IMAGE_NOT_FOUND', `${this.#file}: not a docker archive (no manifest.json member)`);
    }
    const images = parseArchiveManifest(mj, this.#file);
    if (images.length === 0) throw new DrydockError('IMAGE_NOT_FOUND', `${this.#file}: the archive holds no image`);
    const repositories = await readMember(idx, 'repositories', this.#max, `${this.#file}: repositories`).catch(() => undefined);
    for (const img of images) if (img.RepoTags.length === 0) img.RepoTags = legacyTags(repositories, img);
    const allTags = images.flatMap((i) => i.RepoTags);
    let image: ArchiveImage;
    if (this.#ref !== undefined) {
      const ref = this.#ref;
      const byIndex = /^@(\d+)$/.exec(ref);
      const found = byIndex ? images[Number(byIndex[1])] : images.find((i) => i.RepoTags.some((t) => refMatches(t, ref)));
      if (!found) {
        throw new DrydockError('IMAGE_NOT_FOUND', `${this.#file}: no image ${JSON.stringify(ref)}; the archive holds ${allTags.length ? allTags.join(', ') : `${images.length} untagged image(s)`}`, {
          details: { available: allTags },
        });
      }
      image = found;
      this.reference = byIndex ? image.RepoTags[0] : (image.RepoTags.find((t) => refMatches(t, ref)) ?? ref);
    } else {
      if (images.length > 1) {
        throw new DrydockError('IMAGE_AMBIGUOUS', `${this.#file}: the archive holds ${images.length} images (${allTags.length ? allTags.join(', ') : 'untagged'}); add :REF to the target`, {
          details: { available: allTags },
        });
      }
      image = images[0] as ArchiveImage;
      this.reference = image.RepoTags[0];
    }
    await this.#derive(image);
  }

  async #derive(image: ArchiveImage): Promise<void> {
    const idx = this.#idx;
    const configMember = resolveMember(idx, image.Config);
    if (!configMember) throw new DrydockError('BLOB_NOT_FOUND', `${this.#file}: config ${image.Config} is missing`);
    if (configMember.size > this.#max) {
      throw new DrydockError('MANIFEST_INVALID', `${this.#file}: config ${image.Config} is larger than the limit of ${this.#max} bytes`);
    }
    const configBytes = await readMemberBytes(idx, configMember, this.#max, `${this.#file}: config`);
    const configDigest = digestOf(configBytes);
    const config = parseImageConfig(configBytes, `${this.#file}: ${image.Config}`);
    const diffIds = config.rootfs.diff_ids;
    if (diffIds.length !== image.Layers.length) {
      throw new DrydockError('MANIFEST_INVALID', `${this.#file}: manifest.json lists ${image.Layers.length} layers, the config ${configDigest} has ${diffIds.length} diff_ids`);
    }
    const configDesc: Descriptor = { mediaType: MediaType.dockerConfig, digest: configDigest, size: configBytes.length };
    this.#blobs.set(configDigest, { descriptor: configDesc, member: configMember });
    const layers: Descriptor[] = [];
    for (let i = 0; i < image.Layers.length; i++) {
      const path = image.Layers[i] as string;
      const diffId = diffIds[i] as string;
      const member = resolveMember(idx, path);
      const foreign = image.LayerSources?.[diffId];
      if (!member) {
        if (foreign) {
          layers.push(foreign);
          this.#blobs.set(foreign.digest, { descriptor: foreign });
          continue;
        }
        throw new DrydockError('BLOB_NOT_FOUND', `${this.#file}: layer ${i} (${path}) is missing`);
      }
      const head = await readMemberBytes(idx, { ...member, size: Math.min(member.size, 4) }, 4, 'layer head');
      const compression: Compression = sniffCompression(head);
      let digest: string;
      if (compression === 'none') {
        digest = diffId;
      } else {
        const h = createHash('sha256');
        for await (const c of memberStream(idx, member)) h.update(c as Buffer);
        digest = `sha256:${h.digest('hex')}`;
      }
      const d: Descriptor = { mediaType: dockerLayerMediaType(compression), digest, size: member.size };
      layers.push(d);
      this.#blobs.set(digest, { descriptor: d, member });
    }
    const manifest = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: configDesc, layers };
    const bytes = Buffer.from(JSON.stringify(manifest));
    this.#root = { bytes, mediaType: MediaType.dockerManifest, digest: digestOf(bytes) };
  }

  async root(): Promise<RawManifest> {
    if (!this.#root) throw new DrydockError('INTERNAL', 'docker archive reader used before init()');
    return this.#root;
  }

  async manifest(digest: string): Promise<RawManifest> {
    const root = await this.root();
    if (digest === root.digest) return root;
    throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: manifest ${digest} is not in the archive`);
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const src = this.#blobs.get(desc.digest);
    if (!src) throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: blob ${desc.digest} (${desc.mediaType}) is missing`);
    if (!src.member) {
      throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: blob ${desc.digest} is a foreign layer not stored in the archive`);
    }
    return memberStream(this.#idx, src.member, { digest: desc.digest, size: desc.size, what: `blob ${desc.digest}` });
  }

  async blobBinding(desc: Descriptor): Promise<string | undefined> {
    const src = this.#blobs.get(desc.digest);
    return src?.member ? archiveBinding(this.#idx, src.member.name) : undefined;
  }

  async close(): Promise<void> {
    const f = this.onClose;
    this.onClose = undefined;
    if (f) await f();
  }
}

export async function openDockerArchiveReader(file: string, ref: string | undefined, opts: ArchiveOptions = {}, displayName?: string): Promise<DockerArchiveReader> {
  const r = new DockerArchiveReader(file, ref, opts, displayName);
  await r.init();
  return r;
}
