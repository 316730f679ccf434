/**
 * OCI image layout directories (image-layout.md): `oci-layout`, `index.json`, `blobs/<alg>/<hex>`.
 * The reader verifies every blob as it streams; the writer makes blobs and index.json visible
 * only after they are complete and verified (temp file in the layout + rename).
 */
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DrydockError } from '../core/errors.js';
import { DigestStream, digestOf, parseDigest, verifyBytes } from '../core/digest.js';
import { openRegularFile, readRegularFile } from '../core/files.js';
import { verifiedRangeStream } from '../core/range-reader.js';
import type { ImageReader, ImageWriter } from './transport.js';
import { MediaType, type Descriptor, type ImageIndex, type RawManifest } from './types.js';
import { DEFAULT_MAX_MANIFEST_BYTES, isIndexMediaType, parseJsonObject, readLimited, validateDescriptor } from './manifest.js';

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';
const OCI_LAYOUT_CONTENT = '{"imageLayoutVersion":"1.0.0"}';

/**
 * Blob reads (layouts and archive members): 1 MiB per read, a quarter of the callbacks and hash
 * updates of 256 KiB now that reading, inflating and parsing overlap (cold sbom of the corpus app
 * docker-archive 1.26 -> 1.06 s; docs/benchmarks.md, "inflate overlap, chunk sizes").
 */
export const READ_CHUNK = 1024 * 1024;

export interface LayoutOptions {
  maxManifestBytes?: number;
}

/** The names an index.json entry is known by (ref.name, containerd image name). */
export function entryNames(d: Descriptor): string[] {
  const out: string[] = [];
  const a = d.annotations ?? {};
  if (a[REF_NAME_ANNOTATION]) out.push(a[REF_NAME_ANNOTATION]);
  if (a[CONTAINERD_NAME_ANNOTATION]) out.push(a[CONTAINERD_NAME_ANNOTATION]);
  return out;
}

function nameMatches(d: Descriptor, ref: string): boolean {
  const a = d.annotations ?? {};
  if (a[REF_NAME_ANNOTATION] === ref) return true;
  const c = a[CONTAINERD_NAME_ANNOTATION];
  if (c === undefined) return false;
  if (c === ref) return true;
  // containerd names are full references: docker.io/library/alpine:3.19 matches tag "3.19"
  return c.endsWith(`:${ref}`) && !ref.includes('/');
}

/** Parses index.json bytes. */
export function parseLayoutIndex(bytes: Buffer, name: string): ImageIndex {
  const o = parseJsonObject(bytes, `${name}: index.json`);
  if (o.schemaVersion !== 2 || !Array.isArray(o.manifests)) {
    throw new DrydockError('MANIFEST_INVALID', `${name}: index.json is not an image index (schemaVersion 2 with manifests)`);
  }
  const manifests = o.manifests.map((d, i) => validateDescriptor(d, `${name}: index.json manifests[${i}]`));
  return { ...(o as object), schemaVersion: 2, manifests } as ImageIndex;
}

/**
 * What a layout's `ref` names: a descriptor from index.json, or (no ref, several untagged
 * entries, or several entries with the same name) an index synthesised from them.
 */
export function selectLayoutRoot(
  indexBytes: Buffer,
  ref: string | undefined,
  name: string,
): { descriptor: Descriptor } | { synthetic: RawManifest } {
  const index = parseLayoutIndex(indexBytes, name);
  // signatures, attestations and SBOMs stored beside an image (cosign's sha256-<hex>.sig/.att/.sbom
  // entries, OCI 1.1 referrers with an artifactType) are not images: a target never picks them by default
  const all = ref !== undefined && /^sha(256|512)-[0-9a-f]+/.test(ref) ? index.manifests : index.manifests.filter((d) => !isAttachedEntry(d));
  if (all.length === 0) throw new DrydockError('IMAGE_NOT_FOUND', `${name}: the layout holds no image`);
  const names = [...new Set(all.flatMap(entryNames))].sort();
  let picked: Descriptor[];
  if (ref !== undefined) {
    if (ref.includes(':') && /^sha(256|512):/.test(ref)) picked = all.filter((d) => d.digest === ref);
    else picked = all.filter((d) => nameMatches(d, ref));
    if (picked.length === 0) {
      throw new DrydockError('IMAGE_NOT_FOUND', `${name}: no image tagged ${JSON.stringify(ref)}; the layout holds ${names.length ? names.join(', ') : 'only untagged images'}`, {
        details: { available: names },
      });
    }
  } else {
    const digests = new Set(all.map((d) => d.digest));
    if (digests.size === 1) {
      picked = [all[0] as Descriptor];
    } else if (names.length <= 1 && all.every((d) => d.platform !== undefined)) {
      // one (or no) name, several platforms: an implicit index of all of them
      picked = all;
    } else {
      throw new DrydockError('IMAGE_AMBIGUOUS', `${name}: the layout holds several images (${names.length ? names.join(', ') : `${all.length} untagged`}); add :TAG to the target`, {
        details: { available: names },
      });
    }
  }
  const unique = [...new Map(picked.map((d) => [d.digest, d])).values()];
  if (unique.length === 1) return { descriptor: unique[0] as Descriptor };
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: unique }));
  return { synthetic: { bytes, mediaType: MediaType.ociIndex, digest: digestOf(bytes) } };
}

const ATTACHED_TAG = /^sha(256|512)-[0-9a-f]+(\.(sig|att|sbom))?$/;

/** An index entry that holds something attached to an image rather than an image. */
export function isAttachedEntry(d: Descriptor): boolean {
  const a = d.annotations ?? {};
  const refName = a['org.opencontainers.image.ref.name'];
  if (refName !== undefined && ATTACHED_TAG.test(refName)) return true;
  if (a.kind === 'dev.cosignproject.cosign/sigs' || a.kind === 'dev.cosignproject.cosign/atts' || a.kind === 'dev.cosignproject.cosign/sboms') return true;
  return typeof (d as { artifactType?: unknown }).artifactType === 'string';
}

/** The path of a blob under a layout root, after validating the digest (no path escapes). */
export function blobRelPath(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

function notFound(name: string, desc: Descriptor, e?: unknown): DrydockError {
  return new DrydockError('BLOB_NOT_FOUND', `${name}: blob ${desc.digest} (${desc.mediaType}) is missing`, e === undefined ? {} : { cause: e });
}

export class OciLayoutReader implements ImageReader {
  readonly derived = false;
  readonly name: string;
  readonly #dir: string;
  readonly #ref: string | undefined;
  readonly #max: number;
  readonly #manifests = new Map<string, RawManifest>();
  #root: RawManifest | undefined;

  constructor(dir: string, ref: string | undefined, opts: LayoutOptions = {}) {
    this.#dir = dir;
    this.#ref = ref;
    this.#max = opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.name = ref === undefined ? dir : `${dir}:${ref}`;
  }

  async init(): Promise<void> {
    let st;
    try {
      st = await stat(this.#dir);
    } catch (e) {
      throw new DrydockError('IMAGE_NOT_FOUND', `${this.#dir}: no such oci layout directory`, { cause: e });
    }
    if (!st.isDirectory()) throw new DrydockError('IMAGE_NOT_FOUND', `${this.#dir}: not a directory`);
    let layout: Buffer;
    try {
      layout = await readRegularFile(join(this.#dir, 'oci-layout'));
    } catch (e) {
      throw new DrydockError('IMAGE_NOT_FOUND', `${this.#dir}: not an oci image layout (no oci-layout file)`, { cause: e });
    }
    const o = parseJsonObject(layout, `${this.#dir}/oci-layout`);
    if (typeof o.imageLayoutVersion !== 'string') {
      throw new DrydockError('MANIFEST_INVALID', `${this.#dir}/oci-layout: no imageLayoutVersion`);
    }
  }

  async root(): Promise<RawManifest> {
    if (this.#root) return this.#root;
    let indexBytes: Buffer;
    try {
      const fh = await openRegularFile(join(this.#dir, 'index.json'));
      try {
        indexBytes = await readLimited(fh.createReadStream({ autoClose: false }), this.#max, `${this.#dir}/index.json`);
      } finally {
        await fh.close();
      }
    } catch (e) {
      if (e instanceof DrydockError) throw e;
      throw new DrydockError('IMAGE_NOT_FOUND', `${this.#dir}: no index.json`, { cause: e });
    }
    const sel = selectLayoutRoot(indexBytes, this.#ref, this.name);
    this.#root = 'synthetic' in sel ? sel.synthetic : await this.#readManifest(sel.descriptor);
    return this.#root;
  }

  async #readManifest(desc: Descriptor): Promise<RawManifest> {
    const cached = this.#manifests.get(desc.digest);
    if (cached) return cached;
    if (desc.size > this.#max) {
      throw new DrydockError('MANIFEST_INVALID', `manifest ${desc.digest}: ${desc.size} bytes, larger than the limit of ${this.#max}`);
    }
    const bytes = await readLimited(await this.blob(desc), this.#max, `manifest ${desc.digest}`);
    const raw: RawManifest = { bytes, mediaType: desc.mediaType, digest: desc.digest };
    this.#manifests.set(desc.digest, raw);
    return raw;
  }

  async manifest(digest: string): Promise<RawManifest> {
    const cached = this.#manifests.get(digest);
    if (cached) return cached;
    const path = join(this.#dir, blobRelPath(digest));
    let bytes: Buffer;
    try {
      const st = await stat(path);
      if (st.size > this.#max) {
        throw new DrydockError('MANIFEST_INVALID', `manifest ${digest}: ${st.size} bytes, larger than the limit of ${this.#max}`);
      }
      bytes = await readRegularFile(path);
    } catch (e) {
      if (e instanceof DrydockError) throw e;
      throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: manifest ${digest} is missing`, { cause: e });
    }
    verifyBytes(bytes, digest, `manifest ${digest}`);
    const mediaType = mediaTypeOfJson(bytes);
    const raw: RawManifest = { bytes, mediaType, digest };
    this.#manifests.set(digest, raw);
    return raw;
  }

  /** The blob's path; a symlinked blob must stay inside the layout (PATH_UNSAFE otherwise). */
  async #blobPath(desc: Descriptor): Promise<string> {
    const path = join(this.#dir, blobRelPath(desc.digest));
    const st = await lstat(path).catch((e: unknown) => {
      throw notFound(this.name, desc, e);
    });
    if (st.isSymbolicLink()) {
      const [real, root] = await Promise.all([realpath(path).catch((e: unknown) => { throw notFound(this.name, desc, e); }), realpath(this.#dir)]);
      if (!real.startsWith(root + sep)) {
        throw new DrydockError('PATH_UNSAFE', `${this.name}: blob ${desc.digest} is a symbolic link out of the layout`);
      }
    } else if (!st.isFile()) {
      throw notFound(this.name, desc);
    }
    return path;
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const path = await this.#blobPath(desc);
    const fh = await openRegularFile(path).catch((e: unknown) => {
      throw notFound(this.name, desc, e);
    });
    // to the end of the file: a blob longer than its descriptor says is refused
    return verifiedRangeStream(() => Promise.resolve(fh), 0, Infinity, READ_CHUNK, { digest: desc.digest, size: desc.size, what: `blob ${desc.digest}`, file: path });
  }

  async blobBinding(desc: Descriptor): Promise<string | undefined> {
    const path = join(this.#dir, blobRelPath(desc.digest));
    try {
      return fileBinding(path, await stat(path));
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {}
}

export function fileBinding(path: string, st: { size: number; mtimeMs: number; ino: number }): string {
  return `file:${path}:${st.size}:${st.mtimeMs}:${st.ino}`;
}

/** The media type a manifest declares in its JSON, or the OCI manifest/index by shape. */
export function mediaTypeOfJson(bytes: Buffer): string {
  try {
    const o = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (typeof o.mediaType === 'string') return o.mediaType;
    return Array.isArray(o.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    return MediaType.ociManifest;
  }
}

export async function openOciLayoutReader(dir: string, ref: string | undefined, opts: LayoutOptions = {}): Promise<OciLayoutReader> {
  const r = new OciLayoutReader(dir, ref, opts);
  await r.init();
  return r;
}

function tmpName(): string {
  return `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`;
}

/** Writes into an OCI image layout directory, creating it when missing. */
export class OciLayoutWriter implements ImageWriter {
  readonly dir: string;
  readonly #temps = new Set<string>();
  #indexLock: Promise<void> = Promise.resolve();
  /** the top-most directory this writer created (removed again on abort), if any */
  #createdRoot: string | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  async init(): Promise<void> {
    try {
      this.#createdRoot = await mkdir(this.dir, { recursive: true });
      await mkdir(join(this.dir, 'blobs'), { recursive: true });
      const layoutFile = join(this.dir, 'oci-layout');
      const existing = await readFile(layoutFile, 'utf8').catch(() => undefined);
      if (existing === undefined) await this.#atomicWrite(layoutFile, Buffer.from(OCI_LAYOUT_CONTENT));
      const indexFile = join(this.dir, 'index.json');
      const idx = await readFile(indexFile).catch(() => undefined);
      if (idx === undefined) {
        await this.#atomicWrite(indexFile, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] })));
      } else {
        parseLayoutIndex(idx, this.dir);
      }
    } catch (e) {
      if (e instanceof DrydockError) throw e;
      throw new DrydockError('IO_ERROR', `${this.dir}: cannot create the oci layout (${(e as Error).message})`, { cause: e });
    }
  }

  async #atomicWrite(path: string, data: Buffer): Promise<void> {
    const tmp = join(this.dir, tmpName());
    this.#temps.add(tmp);
    try {
      await writeFile(tmp, data);
      await rename(tmp, path);
    } finally {
      this.#temps.delete(tmp);
      await rm(tmp, { force: true });
    }
  }

  async hasBlob(desc: Descriptor): Promise<boolean> {
    try {
      const st = await stat(join(this.dir, blobRelPath(desc.digest)));
      return st.isFile() && st.size === desc.size;
    } catch {
      return false;
    }
  }

  async putBlob(desc: Descriptor, data: Readable): Promise<void> {
    const rel = blobRelPath(desc.digest);
    const final = join(this.dir, rel);
    const tmp = join(this.dir, tmpName());
    this.#temps.add(tmp);
    try {
      await mkdir(join(this.dir, 'blobs', parseDigest(desc.digest).algorithm), { recursive: true });
      // a source stream that already verifies this digest and size (every reader's blob()) fails
      // before its end on bad bytes, and pipeline() resolves only after the end: hash once
      const out = createWriteStream(tmp, { highWaterMark: 1 << 20 });
      if (data instanceof DigestStream && data.verifies(desc.digest, desc.size)) await pipeline(data, out);
      else await pipeline(data, new DigestStream({ expected: desc.digest, expectedSize: desc.size, what: `blob ${desc.digest}` }), out);
      await rename(tmp, final);
    } catch (e) {
      if (e instanceof DrydockError) throw e;
      throw new DrydockError('IO_ERROR', `${this.dir}: cannot write blob ${desc.digest} (${(e as Error).message})`, { cause: e });
    } finally {
      this.#temps.delete(tmp);
      await rm(tmp, { force: true });
    }
  }

  async putManifest(manifest: RawManifest, tag?: string): Promise<void> {
    verifyBytes(manifest.bytes, manifest.digest, `manifest ${manifest.digest}`);
    const desc: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length };
    if (!(await this.hasBlob(desc))) await this.putBlob(desc, Readable.from([manifest.bytes]));
    // serialise index.json updates of concurrent putManifest calls
    const run = this.#indexLock.then(() => this.#updateIndex(desc, tag));
    this.#indexLock = run.catch(() => {});
    await run;
  }

  async #updateIndex(desc: Descriptor, tag: string | undefined): Promise<void> {
    const indexFile = join(this.dir, 'index.json');
    const index = parseLayoutIndex(await readFile(indexFile), this.dir);
    let manifests = index.manifests;
    if (tag !== undefined) {
      manifests = manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag);
      manifests.push({ ...desc, annotations: { [REF_NAME_ANNOTATION]: tag } });
    } else if (!manifests.some((d) => d.digest === desc.digest)) {
      manifests.push(desc);
    }
    const out = { ...index, schemaVersion: 2, mediaType: index.mediaType ?? MediaType.ociIndex, manifests };
    await this.#atomicWrite(indexFile, Buffer.from(JSON.stringify(out)));
  }

  async commit(): Promise<void> {
    await this.#indexLock;
  }

  async abort(): Promise<void> {
    await Promise.all([...this.#temps].map((t) => rm(t, { force: true })));
    // a layout this writer created holds nothing but this failed copy: leave no empty layout behind
    if (this.#createdRoot !== undefined) await rm(this.#createdRoot, { recursive: true, force: true });
  }
}

export async function openOciLayoutWriter(dir: string): Promise<OciLayoutWriter> {
  const w = new OciLayoutWriter(dir);
  await w.init();
  return w;
}

/** index.json entries, for listing a layout's images. */
export async function listLayout(dir: string): Promise<Descriptor[]> {
  return parseLayoutIndex(await readFile(join(dir, 'index.json')), dir).manifests;
}

export { isIndexMediaType };
