/** Test helpers for src/layers: build layer tars in memory and wrap them in a minimal ResolvedImage. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { Compression, LayerInfo, ResolvedImage } from '../../image/types.js';

export interface TarEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
}

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(Buffer.from(c as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = type === 'file' ? Buffer.from(e.content ?? '') : undefined;
    await new Promise<void>((resolve, reject) => {
      const h = { name: e.name, type, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), mtime: new Date(1_700_000_000_000), linkname: e.linkname, size: content?.length ?? 0 };
      if (content) pack.entry(h, content, (err) => (err ? reject(err) : resolve()));
      else pack.entry(h, (err) => (err ? reject(err) : resolve())).end(undefined as never);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function compress(tarBytes: Buffer, c: Compression): Buffer {
  if (c === 'gzip') return gzipSync(tarBytes);
  if (c === 'zstd') return execFileSync('zstd', ['-q', '-c'], { input: tarBytes });
  return tarBytes;
}

export interface FakeLayer {
  blob: Buffer;
  compression: Compression;
  diffId: string;
  /** binding for verification records; undefined → none */
  binding?: string;
}

export async function layer(entries: TarEntry[], compression: Compression = 'gzip', binding?: string): Promise<FakeLayer> {
  const t = await makeTar(entries);
  return { blob: compress(t, compression), compression, diffId: sha256(t), binding };
}

export type FakeImage = ResolvedImage & { opens: number[] };

/** A minimal ResolvedImage over in-memory blobs; `opens` counts openLayer calls per layer. */
export function fakeImage(layers: FakeLayer[], chunk = 16 * 1024): FakeImage {
  const infos: LayerInfo[] = layers.map((l, index) => ({
    index,
    digest: sha256(l.blob),
    diffId: l.diffId,
    size: l.blob.length,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    compression: l.compression,
  }));
  const opens = layers.map(() => 0);
  const img: FakeImage = {
    opens,
    target: { kind: 'oci-dir', input: 'test', path: '/nonexistent' },
    name: 'test',
    digest: 'sha256:' + '0'.repeat(64),
    manifestDerived: false,
    manifest: { bytes: Buffer.from('{}'), mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: 'sha256:' + '0'.repeat(64) },
    config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) } },
    configDigest: 'sha256:' + '1'.repeat(64),
    configBytes: Buffer.from('{}'),
    platform: { os: 'linux', architecture: 'amd64' },
    layers: infos,
    async openLayer(i: number) {
      opens[i]!++;
      const blob = layers[i]!.blob;
      const parts: Buffer[] = [];
      for (let o = 0; o < blob.length; o += chunk) parts.push(blob.subarray(o, o + chunk));
      return Readable.from(parts, { objectMode: false });
    },
    async verificationBinding(i: number) {
      return layers[i]!.binding;
    },
    async close() {},
  };
  return img;
}
