/**
 * Copies an image between forms at the raw level (manifests and blobs by digest), so the
 * manifest digest is kept wherever the destination stores manifests as bytes. Blobs the
 * destination already holds are skipped; within a registry, blobs are mounted across
 * repositories when possible.
 */
import type { EventSink } from '../core/events.js';
import { DrydockError } from '../core/errors.js';
import { hostPlatform, parsePlatform, selectFromIndex } from './platform.js';
import { withProgress } from './progress.js';
import type { ImageReader, ImageWriter } from './transport.js';
import { INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, type Descriptor, type ImageIndex, type ImageManifest, type Platform, type RawManifest } from './types.js';

export interface CopyOptions {
  /** copy every manifest of an index (else pick one platform) */
  all?: boolean;
  platform?: string | Platform;
  /** tag to give the root at the destination */
  tag?: string;
  /** repository on the same registry to mount blobs from */
  mountFrom?: string;
  concurrency?: number;
  events?: EventSink;
}

export interface CopyResult {
  /** digest of the root written at the destination */
  digest: string;
  mediaType: string;
  manifestDerived: boolean;
  manifests: number;
  blobsCopied: number;
  blobsSkipped: number;
  bytesCopied: number;
}

function parseJson(raw: RawManifest, name: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(raw.bytes.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new DrydockError('MANIFEST_INVALID', `${name}: manifest ${raw.digest} is not a JSON object`);
}

function kindOf(raw: RawManifest, doc: Record<string, unknown>): 'index' | 'manifest' {
  const mt = (typeof doc.mediaType === 'string' ? doc.mediaType : raw.mediaType) || '';
  if (INDEX_MEDIA_TYPES.includes(mt) || Array.isArray(doc.manifests)) return 'index';
  if (MANIFEST_MEDIA_TYPES.includes(mt) || (doc.config && Array.isArray(doc.layers))) return 'manifest';
  throw new DrydockError('MANIFEST_UNSUPPORTED', `manifest ${raw.digest} has unsupported media type ${JSON.stringify(mt)}`);
}

async function pool<T>(items: T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(workers);
}

export async function copyImage(reader: ImageReader, writer: ImageWriter, opts: CopyOptions = {}): Promise<CopyResult> {
  const result: CopyResult = {
    digest: '',
    mediaType: '',
    manifestDerived: reader.derived,
    manifests: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    bytesCopied: 0,
  };
  const seenBlobs = new Set<string>();

  const copyBlob = async (desc: Descriptor) => {
    if (seenBlobs.has(desc.digest)) return;
    seenBlobs.add(desc.digest);
    if (await writer.hasBlob(desc)) {
      result.blobsSkipped++;
      return;
    }
    if (opts.mountFrom && writer.mountBlob && (await writer.mountBlob(desc, opts.mountFrom))) {
      result.blobsSkipped++;
      return;
    }
    const stream = withProgress(await reader.blob(desc), desc, 'blob', opts.events);
    // a small bad blob can fail before the writer attaches its pipeline; the pipeline still sees
    // the stored error (stream.errored), so this listener only keeps it from being "unhandled"
    stream.on('error', () => {});
    await writer.putBlob(desc, stream);
    result.blobsCopied++;
    result.bytesCopied += desc.size;
  };

  const copyManifest = async (raw: RawManifest, tag: string | undefined, depth: number): Promise<void> => {
    if (depth > 4) throw new DrydockError('MANIFEST_INVALID', `${reader.name}: indexes nested more than 4 deep`);
    const doc = parseJson(raw, reader.name);
    if (kindOf(raw, doc) === 'index') {
      const index = doc as unknown as ImageIndex;
      for (const child of index.manifests) {
        await copyManifest(await reader.manifest(child.digest), undefined, depth + 1);
      }
    } else {
      const m = doc as unknown as ImageManifest;
      if (!m.config || !Array.isArray(m.layers)) {
        throw new DrydockError('MANIFEST_INVALID', `${reader.name}: manifest ${raw.digest} lacks config or layers`);
      }
      await copyBlob(m.config);
      await pool(m.layers, opts.concurrency ?? 4, copyBlob);
    }
    await writer.putManifest(raw, tag);
    result.manifests++;
  };

  try {
    let root = await reader.root();
    const doc = parseJson(root, reader.name);
    if (kindOf(root, doc) === 'index' && !opts.all) {
      const want = opts.platform === undefined ? hostPlatform() : typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
      const desc = selectFromIndex(doc as unknown as ImageIndex, want, reader.name);
      root = await reader.manifest(desc.digest);
    }
    await copyManifest(root, opts.tag, 0);
    await writer.commit();
    result.digest = root.digest;
    result.mediaType = root.mediaType;
    if (reader.derived) {
      opts.events?.({ type: 'log', level: 'warn', message: `${reader.name} stores no manifest; Drydock derived one (${root.digest}); compare such images by config digest and diffIDs` });
    }
    return result;
  } catch (e) {
    await writer.abort().catch(() => {});
    throw e;
  }
}
