/**
 * ImageReader / ImageWriter over a registry repository (see ../transport.ts).
 */
import type { Readable } from 'node:stream';
import { DrydockError } from '../../core/errors.js';
import type { EventSink } from '../../core/events.js';
import { formatReference, parseReference, referenceSelector, type Reference } from '../reference.js';
import type { ImageReader, ImageWriter } from '../transport.js';
import { type Descriptor, type RawManifest, type RegistryOptions } from '../types.js';
import { RegistryClient } from './client.js';

export interface RegistryTransportOptions {
  registry?: RegistryOptions;
  events?: EventSink;
  signal?: AbortSignal;
}

function toReference(ref: Reference | string): Reference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

/** Digests a manifest or index names directly (config, layers, child manifests). */
function children(m: RawManifest): string[] {
  let doc: { config?: { digest?: unknown }; layers?: unknown; manifests?: unknown };
  try {
    doc = JSON.parse(m.bytes.toString('utf8')) as typeof doc;
  } catch {
    return [];
  }
  const out: string[] = [];
  if (doc.config && typeof doc.config.digest === 'string') out.push(doc.config.digest);
  for (const list of [doc.layers, doc.manifests]) {
    if (Array.isArray(list)) for (const d of list as { digest?: unknown }[]) if (d && typeof d.digest === 'string') out.push(d.digest);
  }
  return out;
}

class RegistryReader implements ImageReader {
  readonly derived = false;
  readonly name: string;
  readonly #ref: Reference;
  readonly #client: RegistryClient;
  readonly #signal: AbortSignal | undefined;
  #root: RawManifest | undefined;
  /** digests reachable from the verified root through verified manifests */
  readonly #reachable = new Set<string>();
  /** manifests fetched and verified, reachable from the root */
  readonly #expanded = new Set<string>();

  constructor(ref: Reference, client: RegistryClient, signal: AbortSignal | undefined) {
    this.#ref = ref;
    this.#client = client;
    this.#signal = signal;
    this.name = formatReference(ref);
  }

  #note(m: RawManifest): void {
    if (!this.#reachable.has(m.digest) || this.#expanded.has(m.digest)) return;
    this.#expanded.add(m.digest);
    for (const d of children(m)) this.#reachable.add(d);
  }

  async root(): Promise<RawManifest> {
    if (!this.#root) {
      const m = await this.#client.getManifest(this.#ref, referenceSelector(this.#ref), this.#signal ? { signal: this.#signal } : {});
      this.#root = m;
      this.#reachable.add(m.digest);
      this.#note(m);
    }
    return this.#root;
  }

  async manifest(digest: string): Promise<RawManifest> {
    if (this.#root && this.#root.digest === digest) return this.#root;
    const m = await this.#client.getManifest(this.#ref, digest, this.#signal ? { signal: this.#signal } : {});
    this.#note(m);
    return m;
  }

  async blob(desc: Descriptor): Promise<Readable> {
    return this.#client.getBlob(this.#ref, desc, this.#signal ? { signal: this.#signal } : {});
  }

  async blobBinding(desc: Descriptor): Promise<string | undefined> {
    if (!this.#root || !this.#reachable.has(desc.digest)) return undefined;
    return `registry:${this.#ref.registry}/${this.#ref.repository}@${this.#root.digest}`;
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}

class RegistryWriter implements ImageWriter {
  readonly #ref: Reference;
  readonly #client: RegistryClient;

  constructor(ref: Reference, client: RegistryClient) {
    this.#ref = ref;
    this.#client = client;
  }

  hasBlob(desc: Descriptor): Promise<boolean> {
    return this.#client.hasBlob(this.#ref, desc);
  }

  putBlob(desc: Descriptor, data: Readable): Promise<void> {
    return this.#client.limit(() => this.#client.putBlob(this.#ref, desc, data));
  }

  mountBlob(desc: Descriptor, fromRepository: string): Promise<boolean> {
    return this.#client.mountBlob(this.#ref, desc, fromRepository);
  }

  async putManifest(manifest: RawManifest, tag?: string): Promise<void> {
    await this.#client.putManifest(this.#ref, manifest.digest, manifest);
    if (tag) await this.#client.putManifest(this.#ref, tag, manifest);
  }

  async commit(): Promise<void> {
    await this.#client.close();
  }

  async abort(): Promise<void> {
    await this.#client.close();
  }
}

/** Opens a registry image for reading (root() fetches the tag or digest of the reference). */
export async function openRegistryReader(ref: Reference | string, opts: RegistryTransportOptions): Promise<ImageReader> {
  const r = toReference(ref);
  const client = new RegistryClient({ ...(opts.registry ?? {}), ...(opts.events ? { events: opts.events } : {}) });
  return new RegistryReader(r, client, opts.signal);
}

/** Opens a registry repository for writing. The tag to write is given to putManifest. */
export async function openRegistryWriter(ref: Reference | string, opts: RegistryTransportOptions): Promise<ImageWriter> {
  const r = toReference(ref);
  if (!r.repository) throw new DrydockError('REFERENCE_INVALID', `invalid reference ${formatReference(r)}: no repository`);
  const client = new RegistryClient({ ...(opts.registry ?? {}), ...(opts.events ? { events: opts.events } : {}) });
  return new RegistryWriter(r, client);
}
