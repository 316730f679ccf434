/**
 * Where signatures live next to an image: a registry repository (tags and the referrers API with its
 * tag-schema fallback, through image/registry/client.ts) or an OCI image layout (`oci-dir:`), where the
 * tagged objects are index.json entries named by org.opencontainers.image.ref.name (plus cosign's
 * `kind` annotation, which `cosign verify --local-image` looks for) and referrers are index.json
 * entries with an artifactType. Only manifests and small blobs are read: never image layers.
 */
import { isAttachedEntry } from '../../image/oci-layout.js';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join, resolve as resolvePath } from 'node:path';
import { digestOf, isDigest, verifyBytes } from '../../core/digest.js';
import { DrydockError } from '../../core/errors.js';
import { parseReference, referenceSelector, type Reference } from '../../image/reference.js';
import { RegistryClient, referrersTag } from '../../image/registry/client.js';
import { parseTarget } from '../../image/target.js';
import { INDEX_MEDIA_TYPES, MediaType, type Descriptor, type RawManifest, type RegistryOptions, type Target } from '../../image/types.js';
import { CONTAINERD_NAME_ANNOTATION, REF_NAME_ANNOTATION, blobRelPath, mediaTypeOfJson, parseLayoutIndex, selectLayoutRoot } from '../../image/oci-layout.js';
import { dockerReferenceOf } from './payload.js';

const MAX_SMALL = 4 * 1024 * 1024;
/** cosign's layout annotation for the kind of an index.json entry (cosign pkg/oci/layout) */
export const COSIGN_KIND_ANNOTATION = 'kind';
export const COSIGN_KIND_SIGS = 'dev.cosignproject.cosign/sigs';
export const COSIGN_KIND_ATTS = 'dev.cosignproject.cosign/atts';

/** Names of attached objects in a layout, never images: sha256-<hex>[.sig|.att|.sbom]. */

export interface SignatureStore {
  /** display name: registry/repository or the layout path */
  readonly name: string;
  /** the docker-reference to write into payloads */
  readonly dockerReference: string;
  /** the manifest or index the target names (verified against its digest) */
  root(): Promise<RawManifest>;
  /** a manifest by digest, verified */
  manifest(digest: string): Promise<RawManifest>;
  /** the manifest behind a tag, or undefined */
  tagged(tag: string): Promise<RawManifest | undefined>;
  /** a small blob, verified against digest and size (DIGEST_MISMATCH / SIZE_MISMATCH otherwise) */
  blob(desc: Descriptor): Promise<Buffer>;
  putBlob(desc: Descriptor, bytes: Buffer): Promise<void>;
  putTagged(tag: string, manifest: RawManifest, kindAnnotation?: string): Promise<void>;
  referrers(subject: string): Promise<Descriptor[]>;
  pushReferrer(manifest: RawManifest): Promise<void>;
  /** removes a tag and the manifest it names */
  deleteTagged(tag: string, digest: string): Promise<void>;
  /** removes a referrer manifest (and its entry in the fallback index) */
  deleteReferrer(subject: string, digest: string): Promise<void>;
  close(): Promise<void>;
}

function notFound(e: unknown): boolean {
  return e instanceof DrydockError && (e.code === 'IMAGE_NOT_FOUND' || e.code === 'BLOB_NOT_FOUND');
}

class RegistryStore implements SignatureStore {
  readonly name: string;
  readonly dockerReference: string;
  readonly #ref: Reference;
  readonly #client: RegistryClient;

  constructor(ref: Reference, client: RegistryClient) {
    this.#ref = ref;
    this.#client = client;
    this.name = `${ref.registry}/${ref.repository}`;
    this.dockerReference = dockerReferenceOf(ref);
  }

  root(): Promise<RawManifest> {
    return this.#client.getManifest(this.#ref, referenceSelector(this.#ref));
  }

  manifest(digest: string): Promise<RawManifest> {
    return this.#client.getManifest(this.#ref, digest);
  }

  async tagged(tag: string): Promise<RawManifest | undefined> {
    try {
      return await this.#client.getManifest(this.#ref, tag, { accept: [MediaType.ociManifest, MediaType.dockerManifest] });
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  blob(desc: Descriptor): Promise<Buffer> {
    return this.#client.getBlobBytes(this.#ref, desc, { maxBytes: MAX_SMALL });
  }

  async putBlob(desc: Descriptor, bytes: Buffer): Promise<void> {
    if (await this.#client.hasBlob(this.#ref, desc)) return;
    await this.#client.putBlob(this.#ref, desc, bytes);
  }

  async putTagged(tag: string, manifest: RawManifest): Promise<void> {
    await this.#client.putManifest(this.#ref, tag, manifest);
  }

  referrers(subject: string): Promise<Descriptor[]> {
    return this.#client.referrers(this.#ref, subject);
  }

  async pushReferrer(manifest: RawManifest): Promise<void> {
    await this.#client.pushReferrer(this.#ref, manifest);
  }

  async deleteTagged(_tag: string, digest: string): Promise<void> {
    // the distribution registry removes the tags of a deleted manifest with it
    await this.#client.deleteManifest(this.#ref, digest);
  }

  async deleteReferrer(subject: string, digest: string): Promise<void> {
    try {
      await this.#client.deleteManifest(this.#ref, digest);
    } catch (e) {
      if (!notFound(e)) throw e;
    }
    // the referrers tag schema: drop the entry from the fallback index, or the index when it empties
    const tag = referrersTag(subject);
    let index: RawManifest;
    try {
      index = await this.#client.getManifest(this.#ref, tag, { accept: [MediaType.ociIndex] });
    } catch (e) {
      if (notFound(e)) return;
      throw e;
    }
    if (!INDEX_MEDIA_TYPES.includes(index.mediaType)) return;
    const doc = JSON.parse(index.bytes.toString('utf8')) as { manifests?: Descriptor[] };
    const rest = (doc.manifests ?? []).filter((d) => d.digest !== digest);
    if (rest.length === (doc.manifests ?? []).length) return;
    if (rest.length === 0) {
      await this.#client.deleteManifest(this.#ref, index.digest);
      return;
    }
    const bytes = Buffer.from(JSON.stringify({ ...doc, manifests: rest }));
    await this.#client.putManifest(this.#ref, tag, { bytes, mediaType: MediaType.ociIndex, digest: digestOf(bytes) });
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

function tmpName(): string {
  return `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`;
}

class LayoutStore implements SignatureStore {
  readonly name: string;
  readonly dockerReference: string;
  readonly #dir: string;
  readonly #ref: string | undefined;

  constructor(dir: string, ref: string | undefined, dockerReference: string) {
    this.#dir = dir;
    this.#ref = ref;
    this.name = ref === undefined ? dir : `${dir}:${ref}`;
    this.dockerReference = dockerReference;
  }

  async #index(): Promise<{ doc: Record<string, unknown>; manifests: Descriptor[] }> {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(this.#dir, 'index.json'));
    } catch (e) {
      throw new DrydockError('IMAGE_NOT_FOUND', `${this.#dir}: not an oci image layout (no index.json)`, { cause: e });
    }
    const idx = parseLayoutIndex(bytes, this.#dir);
    return { doc: idx as unknown as Record<string, unknown>, manifests: idx.manifests };
  }

  async #writeIndex(doc: Record<string, unknown>, manifests: Descriptor[]): Promise<void> {
    const tmp = join(this.#dir, tmpName());
    try {
      await writeFile(tmp, JSON.stringify({ ...doc, schemaVersion: 2, mediaType: doc.mediaType ?? MediaType.ociIndex, manifests }));
      await rename(tmp, join(this.#dir, 'index.json'));
    } catch (e) {
      await rm(tmp, { force: true });
      throw new DrydockError('IO_ERROR', `${this.#dir}: cannot write index.json (${(e as Error).message})`, { cause: e });
    }
  }

  async root(): Promise<RawManifest> {
    const { doc, manifests } = await this.#index();
    // attached objects are not candidates: a signed layout still names one image without a tag
    const images = manifests.filter((d) => !isAttachedEntry(d));
    const sel = selectLayoutRoot(Buffer.from(JSON.stringify({ ...doc, manifests: images })), this.#ref, this.name);
    if ('synthetic' in sel) {
      throw new DrydockError('IMAGE_AMBIGUOUS', `${this.name}: the layout holds several images; add :TAG or @DIGEST to the target`);
    }
    const m = await this.manifest(sel.descriptor.digest);
    return { ...m, mediaType: sel.descriptor.mediaType || m.mediaType };
  }

  async manifest(digest: string): Promise<RawManifest> {
    const bytes = await this.#read(digest, `manifest ${digest}`);
    return { bytes, mediaType: mediaTypeOfJson(bytes), digest };
  }

  async #read(digest: string, what: string): Promise<Buffer> {
    const path = join(this.#dir, blobRelPath(digest));
    let bytes: Buffer;
    try {
      const st = await stat(path);
      if (st.size > MAX_SMALL) throw new DrydockError('MANIFEST_INVALID', `${this.name}: ${what} is ${st.size} bytes, more than ${MAX_SMALL}`);
      bytes = await readFile(path);
    } catch (e) {
      if (e instanceof DrydockError) throw e;
      throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: ${what} is missing`, { cause: e });
    }
    verifyBytes(bytes, digest, `${this.name}: ${what}`);
    return bytes;
  }

  async tagged(tag: string): Promise<RawManifest | undefined> {
    const { manifests } = await this.#index();
    const d = manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === tag);
    return d ? this.manifest(d.digest) : undefined;
  }

  async blob(desc: Descriptor): Promise<Buffer> {
    const bytes = await this.#read(desc.digest, `blob ${desc.digest}`);
    if (bytes.length !== desc.size) throw new DrydockError('SIZE_MISMATCH', `${this.name}: blob ${desc.digest} is ${bytes.length} bytes, its descriptor declares ${desc.size}`);
    return bytes;
  }

  async putBlob(desc: Descriptor, bytes: Buffer): Promise<void> {
    verifyBytes(bytes, desc.digest, `blob ${desc.digest}`);
    const final = join(this.#dir, blobRelPath(desc.digest));
    const have = await stat(final).then((s) => s.size === bytes.length, () => false);
    if (have) return;
    const tmp = join(this.#dir, tmpName());
    try {
      await mkdir(join(final, '..'), { recursive: true });
      await writeFile(tmp, bytes);
      await rename(tmp, final);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new DrydockError('IO_ERROR', `${this.#dir}: cannot write blob ${desc.digest} (${(e as Error).message})`, { cause: e });
    }
  }

  async putTagged(tag: string, manifest: RawManifest, kindAnnotation?: string): Promise<void> {
    await this.putBlob({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length }, manifest.bytes);
    const { doc, manifests } = await this.#index();
    const rest = manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] !== tag);
    const annotations: Record<string, string> = { [REF_NAME_ANNOTATION]: tag };
    if (kindAnnotation) annotations[COSIGN_KIND_ANNOTATION] = kindAnnotation;
    rest.push({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length, annotations });
    await this.#writeIndex(doc, rest);
  }

  async referrers(subject: string): Promise<Descriptor[]> {
    const { manifests } = await this.#index();
    const out: Descriptor[] = [];
    for (const d of manifests) {
      if (d.artifactType === undefined) continue;
      let m: RawManifest;
      try {
        m = await this.manifest(d.digest);
      } catch {
        // a damaged entry still shows up; verification reports it
        out.push(d);
        continue;
      }
      const doc = JSON.parse(m.bytes.toString('utf8')) as { subject?: { digest?: string } };
      if (doc.subject?.digest === subject) out.push(d);
    }
    return out;
  }

  async pushReferrer(manifest: RawManifest): Promise<void> {
    await this.putBlob({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length }, manifest.bytes);
    const doc = JSON.parse(manifest.bytes.toString('utf8')) as { artifactType?: string; config?: { mediaType?: string }; annotations?: Record<string, string> };
    const { doc: idx, manifests } = await this.#index();
    if (manifests.some((d) => d.digest === manifest.digest)) return;
    const entry: Descriptor = { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length, artifactType: doc.artifactType ?? doc.config?.mediaType ?? MediaType.ociEmpty };
    if (doc.annotations) entry.annotations = doc.annotations;
    await this.#writeIndex(idx, [...manifests, entry]);
  }

  async deleteTagged(tag: string, digest: string): Promise<void> {
    const { doc, manifests } = await this.#index();
    await this.#writeIndex(doc, manifests.filter((d) => !(d.digest === digest && d.annotations?.[REF_NAME_ANNOTATION] === tag)));
    // blobs stay: other entries may share them (a layout has no garbage collector)
  }

  async deleteReferrer(_subject: string, digest: string): Promise<void> {
    const { doc, manifests } = await this.#index();
    await this.#writeIndex(doc, manifests.filter((d) => !(d.digest === digest && d.artifactType !== undefined)));
  }

  async close(): Promise<void> {}
}

export interface StoreOptions {
  registry?: RegistryOptions;
  /** docker-reference for payloads of layout images (default: the containerd name, else localhost/<dir name>) */
  dockerReference?: string;
}

function layoutDockerReference(dir: string, entries: Descriptor[]): string {
  for (const d of entries) {
    const name = d.annotations?.[CONTAINERD_NAME_ANNOTATION];
    if (name) {
      try {
        return dockerReferenceOf(parseReference(name));
      } catch {
        // not a reference: fall through
      }
    }
  }
  const base = basename(resolvePath(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return `localhost/${base || 'image'}`;
}

/** Opens the signature store of a registry or oci-dir target. */
export async function openSignatureStore(target: Target | string, opts: StoreOptions = {}): Promise<SignatureStore> {
  const t = typeof target === 'string' ? parseTarget(target) : target;
  if (t.kind === 'registry') {
    const ref = parseReference(t.ref ?? '');
    return new RegistryStore(ref, new RegistryClient({ ...(opts.registry ?? {}) }));
  }
  if (t.kind === 'oci-dir') {
    const dir = t.path ?? '';
    try {
      const st = await stat(join(dir, 'oci-layout'));
      if (!st.isFile()) throw new Error('not a file');
    } catch (e) {
      throw new DrydockError('IMAGE_NOT_FOUND', `${dir}: not an oci image layout (no oci-layout file)`, { cause: e });
    }
    let ref = t.ref;
    // oci-dir:PATH@sha256:... names an image by digest
    if (ref === undefined && dir.includes('@')) {
      const at = dir.lastIndexOf('@');
      if (isDigest(dir.slice(at + 1))) return openSignatureStore({ kind: 'oci-dir', input: t.input, path: dir.slice(0, at), ref: dir.slice(at + 1) }, opts);
    }
    const entries = parseLayoutIndex(await readFile(join(dir, 'index.json')), dir).manifests;
    if (ref !== undefined && ref.includes('@')) ref = ref.slice(ref.indexOf('@') + 1);
    return new LayoutStore(dir, ref, opts.dockerReference ?? layoutDockerReference(dir, entries));
  }
  throw new DrydockError('USAGE', `cannot sign or verify ${t.input}: signatures live in a registry or an oci-dir: layout`);
}

export { isAttachedEntry };
