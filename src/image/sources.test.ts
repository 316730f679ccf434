import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDrydockError, type ErrorCode } from '../core/errors.js';
import { digestOf } from '../core/digest.js';
import {
  buildImage,
  buildIndex,
  sampleImage,
  sha256,
  tempDir,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  type BuiltImage,
} from '../../test/testkit/index.js';
import { indexTar, readMemberBytes } from './oci-archive.js';
import { openImage, openReader, openWriter } from './open.js';
import type { ResolvedImage } from './types.js';

const { dir: tmp, cleanup } = tempDir('drydock-sources-');
afterAll(cleanup);

async function drain(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function expectCode(p: Promise<unknown>, code: ErrorCode, msg?: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (!isDrydockError(e, code)) throw e;
    if (msg) expect((e as Error).message).toMatch(msg);
    return e as Error;
  }
  throw new Error(`expected ${code}`);
}

let img: BuiltImage;
let img2: BuiltImage;
let arm: BuiltImage;

beforeAll(async () => {
  img = await sampleImage();
  img2 = await buildImage({
    layers: [
      { entries: [{ path: '/a', content: 'a' }], compression: 'zstd', createdBy: 'COPY a /' },
      { entries: [{ path: '/b', content: 'b' }], compression: 'none', createdBy: 'COPY b /' },
    ],
    history: [
      { created_by: 'ARG X', empty_layer: true },
      { created_by: 'COPY a /' },
      { created_by: 'ENV Y=1', empty_layer: true },
      { created_by: 'COPY b /' },
    ],
  });
  arm = await buildImage({ layers: [[{ path: '/arm', content: 'arm' }]], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
});

async function checkImage(r: ResolvedImage, want: BuiltImage): Promise<void> {
  expect(r.configDigest).toBe(want.configDigest);
  expect(r.layers.map((l) => l.diffId)).toEqual(want.diffIds);
  for (let i = 0; i < r.layers.length; i++) {
    const bytes = await drain(await r.openLayer(i));
    expect(digestOf(bytes)).toBe(r.layers[i]?.digest);
    expect(await r.verificationBinding(i)).toMatch(/^file:/);
  }
}

describe('oci-dir', () => {
  it('reads a single image with and without tag', async () => {
    const dir = join(tmp, 'single');
    writeOciLayout(dir, img);
    for (const t of [`oci-dir:${dir}`, `oci-dir:${dir}:latest`, `oci:${dir}`]) {
      const r = await openImage(t, { platform: 'linux/amd64' });
      expect(r.digest).toBe(img.manifest.digest);
      expect(r.manifestDerived).toBe(false);
      expect(r.platform).toEqual({ os: 'linux', architecture: 'amd64' });
      expect(r.layers.map((l) => l.createdBy)).toEqual(['ADD rootfs.tar /', 'RUN rm /tmp/junk && ln -s /bin/sh /bin/bash']);
      expect(r.layers.map((l) => l.compression)).toEqual(['gzip', 'gzip']);
      await checkImage(r, img);
      await r.close();
    }
  });

  it('walks history skipping empty layers, zstd and plain layers', async () => {
    const dir = join(tmp, 'img2');
    writeOciLayout(dir, img2);
    const r = await openImage(`oci-dir:${dir}`, {});
    expect(r.layers.map((l) => [l.compression, l.createdBy])).toEqual([
      ['zstd', 'COPY a /'],
      ['none', 'COPY b /'],
    ]);
    await checkImage(r, img2);
  });

  it('several images: ambiguous without tag, not found with a wrong tag', async () => {
    const dir = join(tmp, 'multi');
    writeOciLayout(dir, [
      { image: img, tag: 'one' },
      { image: img2, tag: 'two' },
    ]);
    expect((await openImage(`oci-dir:${dir}:two`, {})).configDigest).toBe(img2.configDigest);
    await expectCode(openImage(`oci-dir:${dir}`, {}), 'IMAGE_AMBIGUOUS', /one, two/);
    await expectCode(openImage(`oci-dir:${dir}:three`, {}), 'IMAGE_NOT_FOUND', /one, two/);
  });

  it('accepts containerd image names', async () => {
    const dir = join(tmp, 'containerd');
    writeOciLayout(dir, [{ image: img, tag: 'docker.io/library/sample:1.0' }], { tagAnnotation: 'io.containerd.image.name' });
    expect((await openImage(`oci-dir:${dir}:1.0`, {})).digest).toBe(img.manifest.digest);
  });

  it('multi-arch index: picks the platform, lists platforms when absent', async () => {
    const dir = join(tmp, 'index');
    const index = buildIndex([img, arm]);
    writeOciLayout(dir, [{ image: index, tag: 'multi' }]);
    const a = await openImage(`oci-dir:${dir}`, { platform: 'linux/arm64' });
    expect(a.configDigest).toBe(arm.configDigest);
    expect(a.index?.digest).toBe(index.digest);
    expect(a.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    const b = await openImage(`oci-dir:${dir}:multi`, { platform: 'linux/amd64' });
    expect(b.configDigest).toBe(img.configDigest);
    await expectCode(openImage(`oci-dir:${dir}`, { platform: 'linux/s390x' }), 'PLATFORM_NOT_FOUND', /linux\/amd64, linux\/arm64\/v8/);
  });

  it('nested index', async () => {
    const dir = join(tmp, 'nested');
    const inner = buildIndex([img, arm]);
    const outerBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: inner.mediaType, digest: inner.digest, size: inner.bytes.length }],
      }),
    );
    const outer = { bytes: outerBytes, mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(outerBytes), children: [] };
    writeOciLayout(dir, [{ image: outer, tag: 'n' }], { extraBlobs: [inner, img.manifest, arm.manifest, ...[...img.blobs, ...arm.blobs].map(([d, b]) => ({ digest: d, bytes: b, mediaType: '' }))] });
    const r = await openImage(`oci-dir:${dir}`, { platform: 'linux/arm64/v8' });
    expect(r.configDigest).toBe(arm.configDigest);
  });

  it('a blob altered by one byte fails with DIGEST_MISMATCH when streamed', async () => {
    const dir = join(tmp, 'altered');
    writeOciLayout(dir, img);
    const layer = img.layers[0]!;
    const p = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
    const b = readFileSync(p);
    b[b.length - 5] = (b[b.length - 5]! + 1) & 0xff;
    writeFileSync(p, b);
    const r = await openImage(`oci-dir:${dir}`, {});
    await expectCode(drain(await r.openLayer(0)), 'DIGEST_MISMATCH');
  });

  it('missing blob → BLOB_NOT_FOUND; missing config too', async () => {
    const dir = join(tmp, 'missing');
    writeOciLayout(dir, img, { omitBlobs: [img.layers[1]!.digest] });
    const r = await openImage(`oci-dir:${dir}`, {});
    await expectCode(r.openLayer(1), 'BLOB_NOT_FOUND', new RegExp(img.layers[1]!.digest));
    const dir2 = join(tmp, 'missing-config');
    writeOciLayout(dir2, img, { omitBlobs: [img.configDigest] });
    await expectCode(openImage(`oci-dir:${dir2}`, {}), 'BLOB_NOT_FOUND');
  });

  it('a blob symlinked out of the layout → PATH_UNSAFE; an aborted signal stops openLayer', async () => {
    const { symlinkSync, unlinkSync, copyFileSync } = await import('node:fs');
    const dir = join(tmp, 'symlinked');
    writeOciLayout(dir, img);
    const layer = img.layers[0]!;
    const p = join(dir, 'blobs', 'sha256', layer.digest.slice(7));
    const outside = join(tmp, 'outside-blob');
    copyFileSync(p, outside);
    unlinkSync(p);
    symlinkSync(outside, p);
    const r = await openImage(`oci-dir:${dir}`, {});
    await expectCode(r.openLayer(0), 'PATH_UNSAFE');
    const ac = new AbortController();
    ac.abort();
    await expect(r.openLayer(1, { signal: ac.signal })).rejects.toThrow();
  });

  it('a FIFO where a layout file or blob should be is refused at once, never waited on', async () => {
    const { unlinkSync, symlinkSync } = await import('node:fs');
    const fifo = (p: string): void => {
      unlinkSync(p);
      execFileSync('mkfifo', [p]);
    };
    const dir = join(tmp, 'fifo-index');
    writeOciLayout(dir, img);
    fifo(join(dir, 'index.json'));
    await expectCode(openImage(`oci-dir:${dir}`, {}), 'IMAGE_NOT_FOUND');
    const dir2 = join(tmp, 'fifo-manifest');
    writeOciLayout(dir2, img);
    fifo(join(dir2, 'blobs', 'sha256', img.manifest.digest.slice(7)));
    await expectCode(openImage(`oci-dir:${dir2}`, {}), 'BLOB_NOT_FOUND');
    // a layer blob: a symlink inside the layout to a FIFO (lstat alone sees a link)
    const dir3 = join(tmp, 'fifo-layer');
    writeOciLayout(dir3, img);
    const blob = join(dir3, 'blobs', 'sha256', img.layers[0]!.digest.slice(7));
    unlinkSync(blob);
    execFileSync('mkfifo', [join(dir3, 'blobs', 'pipe')]);
    symlinkSync('../pipe', blob);
    const r = await openImage(`oci-dir:${dir3}`, {});
    await expectCode(r.openLayer(0), 'BLOB_NOT_FOUND');
  });

  it('manifest too large → MANIFEST_INVALID', async () => {
    const dir = join(tmp, 'large');
    writeOciLayout(dir, img);
    await expectCode(openImage(`oci-dir:${dir}`, { maxManifestBytes: 100 }), 'MANIFEST_INVALID', /limit/);
  });

  function handMade(name: string, manifest: object): string {
    const dir = join(tmp, name);
    const bytes = Buffer.from(JSON.stringify(manifest));
    const m = { bytes, digest: sha256(bytes), mediaType: (manifest as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json' };
    const fake = { ...img, manifest: m };
    writeOciLayout(dir, fake);
    return dir;
  }

  it('refuses docker schema 1', async () => {
    const dir = handMade('schema1', { schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] });
    await expectCode(openImage(`oci-dir:${dir}`, {}), 'MANIFEST_UNSUPPORTED', /schema 1.*re-push/);
    const dir2 = handMade('schema1mt', { schemaVersion: 1, mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws' });
    await expectCode(openImage(`oci-dir:${dir2}`, {}), 'MANIFEST_UNSUPPORTED');
  });

  it('unknown layer media type → MEDIA_TYPE_UNSUPPORTED; bad shapes → MANIFEST_INVALID', async () => {
    const m = JSON.parse(img.manifest.bytes.toString()) as { layers: { mediaType: string }[] };
    m.layers[0]!.mediaType = 'application/vnd.example.weird';
    await expectCode(openImage(`oci-dir:${handMade('weird', m)}`, {}), 'MEDIA_TYPE_UNSUPPORTED', /weird/);
    const m2 = JSON.parse(img.manifest.bytes.toString()) as { layers: unknown[] };
    m2.layers.pop();
    await expectCode(openImage(`oci-dir:${handMade('difflen', m2)}`, {}), 'MANIFEST_INVALID', /diff_ids/);
    const e = await expectCode(openImage(`oci-dir:${handMade('noconfig', { schemaVersion: 2, layers: [] })}`, {}), 'MANIFEST_INVALID');
    expect(e.message).toMatch(/sha256:/);
  });

  it('round trip through the writer; umoci and skopeo accept the result', async () => {
    const src = join(tmp, 'rt-src');
    writeOciLayout(src, [{ image: img, tag: 'v1' }]);
    const dst = join(tmp, 'rt-dst');
    await copy(`oci-dir:${src}:v1`, `oci-dir:${dst}`, 'v1');
    // writing the same tag again replaces the entry
    await copy(`oci-dir:${src}:v1`, `oci-dir:${dst}`, 'v1');
    const idx = JSON.parse(readFileSync(join(dst, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(idx.manifests).toHaveLength(1);
    expect(readdirSync(dst).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    const r = await openImage(`oci-dir:${dst}:v1`, {});
    expect(r.digest).toBe(img.manifest.digest);
    await checkImage(r, img);
    expect(execFileSync('umoci', ['ls', '--layout', dst], { encoding: 'utf8' }).trim()).toBe('v1');
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${dst}:v1`], { encoding: 'utf8' })) as { Digest: string; Layers: string[] };
    expect(inspect.Digest).toBe(img.manifest.digest);
    expect(inspect.Layers).toEqual(img.layers.map((l) => l.digest));
  });

  it('the writer refuses a blob whose digest does not match', async () => {
    const { Readable } = await import('node:stream');
    const w = await openWriter(`oci-dir:${join(tmp, 'bad-write')}`, {});
    await expectCode(w.putBlob({ mediaType: 'x', digest: sha256('a'), size: 1 }, Readable.from([Buffer.from('b')])), 'DIGEST_MISMATCH');
    expect(await w.hasBlob({ mediaType: 'x', digest: sha256('a'), size: 1 })).toBe(false);
    await w.abort();
  });

  it('the writer hashes once when the source verifies the same digest, and still refuses bad bytes', async () => {
    const { Readable } = await import('node:stream');
    const { DigestStream } = await import('../core/digest.js');
    const w = await openWriter(`oci-dir:${join(tmp, 'bad-write-verified')}`, {});
    const d = { mediaType: 'x', digest: sha256('a'), size: 1 };
    // a verifying source with the wrong bytes fails at its end, so the blob never appears
    const bad = Readable.from([Buffer.from('b')]).pipe(new DigestStream({ expected: d.digest, expectedSize: d.size, what: 'src' }));
    bad.on('error', () => {}); // it may fail before putBlob attaches its pipeline
    await expectCode(w.putBlob(d, bad), 'DIGEST_MISMATCH');
    expect(await w.hasBlob(d)).toBe(false);
    // a source that verifies another digest is checked by the writer itself
    const other = Readable.from([Buffer.from('b')]).pipe(new DigestStream({ expected: sha256('b'), expectedSize: 1, what: 'src' }));
    await expectCode(w.putBlob(d, other), 'DIGEST_MISMATCH');
    const good = Readable.from([Buffer.from('a')]).pipe(new DigestStream({ expected: d.digest, expectedSize: d.size, what: 'src' }));
    await w.putBlob(d, good);
    expect(await w.hasBlob(d)).toBe(true);
    await w.abort();
  });

  it('abort removes a layout the writer created, and keeps one that existed before', async () => {
    const { existsSync } = await import('node:fs');
    const fresh = join(tmp, 'fresh-parent', 'layout');
    const w = await openWriter(`oci-dir:${fresh}`, {});
    expect(existsSync(join(fresh, 'oci-layout'))).toBe(true);
    await w.abort();
    expect(existsSync(join(tmp, 'fresh-parent'))).toBe(false);
    const kept = join(tmp, 'kept-layout');
    await (await openWriter(`oci-dir:${kept}`, {})).commit();
    const again = await openWriter(`oci-dir:${kept}`, {});
    await again.abort();
    expect(existsSync(join(kept, 'index.json'))).toBe(true);
  });

  it('refuses to write to read-only kinds', async () => {
    await expectCode(openWriter(`docker-archive:${join(tmp, 'x.tar')}`, {}), 'USAGE', /cannot write to/);
    await expectCode(openWriter('dir:/tmp', {}), 'USAGE');
  });
});

async function copy(from: string, to: string, tag: string): Promise<void> {
  const r = await openReader(from, {});
  const w = await openWriter(to, {});
  const root = await r.root();
  const m = JSON.parse(root.bytes.toString()) as { config: { digest: string; size: number; mediaType: string }; layers: { digest: string; size: number; mediaType: string }[] };
  for (const d of [m.config, ...m.layers]) {
    if (!(await w.hasBlob(d))) await w.putBlob(d, await r.blob(d));
  }
  await w.putManifest(root, tag);
  await w.commit();
  await r.close();
}

describe('oci-archive', () => {
  it('reads single and multi-image archives', async () => {
    const f = join(tmp, 'single.oci.tar');
    await writeOciArchive(f, img);
    const r = await openImage(`oci-archive:${f}`, {});
    expect(r.digest).toBe(img.manifest.digest);
    await checkImage(r, img);
    expect(await r.verificationBinding(0)).toContain(`${f}:`);
    const m = join(tmp, 'multi.oci.tar');
    await writeOciArchive(m, [
      { image: img, tag: 'one' },
      { image: img2, tag: 'two' },
    ]);
    expect((await openImage(`oci-archive:${m}:two`, {})).configDigest).toBe(img2.configDigest);
    await expectCode(openImage(`oci-archive:${m}`, {}), 'IMAGE_AMBIGUOUS', /one, two/);
    await expectCode(openImage(`oci-archive:${m}:nope`, {}), 'IMAGE_NOT_FOUND');
  });

  it('an archive path that is a FIFO is IMAGE_NOT_FOUND at once (oci and docker), never waited on', async () => {
    const f = join(tmp, 'pipe.tar');
    execFileSync('mkfifo', [f]);
    await expectCode(openImage(`oci-archive:${f}`, {}), 'IMAGE_NOT_FOUND', /not a regular file/);
    await expectCode(openImage(`docker-archive:${f}`, {}), 'IMAGE_NOT_FOUND', /not a regular file/);
  });

  it('reads an archive with long (pax) member names and a skopeo-written archive', async () => {
    const dir = join(tmp, 'for-skopeo');
    writeOciLayout(dir, [{ image: img2, tag: 't' }]);
    const f = join(tmp, 'skopeo.oci.tar');
    execFileSync('skopeo', ['copy', '-q', `oci:${dir}:t`, `oci-archive:${f}:t`]);
    const r = await openImage(`oci-archive:${f}:t`, {});
    await checkImage(r, img2);
  });

  it('a corrupted member fails with DIGEST_MISMATCH; garbage fails with ARCHIVE_CORRUPT', async () => {
    const f = join(tmp, 'corrupt.oci.tar');
    await writeOciArchive(f, img);
    const buf = readFileSync(f);
    const layerBlob = img.layers[0]!.blob;
    const at = buf.indexOf(layerBlob);
    expect(at).toBeGreaterThan(0);
    buf[at + 20] = (buf[at + 20]! ^ 1) & 0xff;
    writeFileSync(f, buf);
    const r = await openImage(`oci-archive:${f}`, {});
    await expectCode(drain(await r.openLayer(0)), 'DIGEST_MISMATCH');
    const g = join(tmp, 'garbage.tar');
    writeFileSync(g, Buffer.alloc(2000, 7));
    await expectCode(openImage(`oci-archive:${g}`, {}), 'ARCHIVE_CORRUPT');
  });

  it('the manifest member is checked against its descriptor; a member cut short by a change of the file is ARCHIVE_CORRUPT', async () => {
    const f = join(tmp, 'manifest-checks.oci.tar');
    await writeOciArchive(f, img);
    const good = readFileSync(f);
    const at = good.indexOf(img.manifest.bytes);
    expect(at).toBeGreaterThan(0);
    // one byte of the manifest changed: its digest no longer matches index.json's descriptor
    const bad = Buffer.from(good);
    bad[at + 5] = bad[at + 5] === 0x20 ? 0x09 : 0x20;
    writeFileSync(f, bad);
    await expectCode(openImage(`oci-archive:${f}`, {}), 'DIGEST_MISMATCH', new RegExp(img.manifest.digest));
    // the index reads, then the archive shrinks below the manifest before it is read
    writeFileSync(f, good);
    const index = await indexTar(f);
    const member = [...index.members.values()].find((m) => m.offset === at)!;
    expect(member.size).toBe(img.manifest.bytes.length);
    writeFileSync(f, good.subarray(0, at + 10));
    await expectCode(readMemberBytes(index, member, 1 << 20, 'manifest'), 'ARCHIVE_CORRUPT', /ends early/);
    await expectCode(readMemberBytes(index, member, 10, 'manifest'), 'MANIFEST_INVALID', /larger than the limit of 10/);
  });

  it('writer round trip: tar on commit, umoci accepts the unpacked result via skopeo', async () => {
    const src = join(tmp, 'arc-src');
    writeOciLayout(src, [{ image: img, tag: 'v2' }]);
    const out = join(tmp, 'written.oci.tar');
    await copy(`oci-dir:${src}:v2`, `oci-archive:${out}`, 'v2');
    expect(readdirSync(tmp).filter((n) => n.startsWith('.drydock-oci-'))).toEqual([]);
    const r = await openImage(`oci-archive:${out}:v2`, {});
    await checkImage(r, img);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${out}:v2`], { encoding: 'utf8' })) as { Digest: string };
    expect(inspect.Digest).toBe(img.manifest.digest);
  });

  it('writing to a directory or a full device is IO_ERROR, and the temporary layout is gone', async () => {
    const src = join(tmp, 'arc-src-full');
    writeOciLayout(src, [{ image: img, tag: 'v3' }]);
    const dir = join(tmp, 'a-directory');
    mkdirSync(dir);
    await expectCode(copy(`oci-dir:${src}:v3`, `oci-archive:${dir}`, 'v3'), 'IO_ERROR', /is a directory/);
    await expectCode(copy(`oci-dir:${src}:v3`, 'oci-archive:/dev/full', 'v3'), 'IO_ERROR', /ENOSPC/);
    expect(readdirSync(tmp).filter((n) => n.startsWith('.drydock-oci-'))).toEqual([]);
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });
});

describe('docker-archive', () => {
  it('reads a testkit archive (legacy and blobs layouts), matching normalised references', async () => {
    for (const layout of ['legacy', 'blobs'] as const) {
      const f = join(tmp, `d-${layout}.tar`);
      await writeDockerArchive(f, [{ image: img, repoTags: ['sample:1'] }], { layout });
      for (const t of [`docker-archive:${f}`, `docker-archive:${f}:sample:1`, `docker-archive:${f}:docker.io/library/sample:1`]) {
        const r = await openImage(t, {});
        expect(r.manifestDerived).toBe(true);
        expect(r.configDigest).toBe(img.configDigest);
        expect(r.layers.map((l) => l.compression)).toEqual(['none', 'none']);
        expect(r.layers.map((l) => l.digest)).toEqual(img.diffIds);
        expect(r.reference).toBe('sample:1');
        expect(r.manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
        await checkImage(r, img);
      }
    }
  });

  it('several images: ambiguous, selection, not found; compressed members hashed', async () => {
    const f = join(tmp, 'd-multi.tar');
    await writeDockerArchive(f, [
      { image: img, repoTags: ['one:1', 'one:latest'] },
      { image: img2, repoTags: ['registry.example/two:2'] },
    ]);
    await expectCode(openImage(`docker-archive:${f}`, {}), 'IMAGE_AMBIGUOUS', /one:1, one:latest, registry.example\/two:2/);
    expect((await openImage(`docker-archive:${f}:registry.example/two:2`, {})).configDigest).toBe(img2.configDigest);
    expect((await openImage(`docker-archive:${f}:one`, {})).configDigest).toBe(img.configDigest);
    await expectCode(openImage(`docker-archive:${f}:three:3`, {}), 'IMAGE_NOT_FOUND', /one:1/);
    const c = join(tmp, 'd-compressed.tar');
    await writeDockerArchive(c, [{ image: img2, repoTags: ['c:1'] }], { keepCompression: true });
    const r = await openImage(`docker-archive:${c}`, {});
    expect(r.layers.map((l) => l.compression)).toEqual(['zstd', 'none']);
    expect(r.layers.map((l) => l.digest)).toEqual(img2.layers.map((l) => l.digest));
    await checkImage(r, img2);
  });

  it('legacy repositories file supplies tags', async () => {
    const f = join(tmp, 'd-repos.tar');
    await writeDockerArchive(f, [{ image: img, repoTags: ['legacy:9'] }], { omitRepoTags: true, repositories: true });
    expect((await openImage(`docker-archive:${f}:legacy:9`, {})).configDigest).toBe(img.configDigest);
  });

  it('an altered uncompressed layer is caught by the diffID-as-digest check', async () => {
    const f = join(tmp, 'd-altered.tar');
    await writeDockerArchive(f, [{ image: img, repoTags: ['x:1'] }]);
    const buf = readFileSync(f);
    const at = buf.indexOf(Buffer.from('ID=debian'));
    buf[at] = 'J'.charCodeAt(0);
    writeFileSync(f, buf);
    const r = await openImage(`docker-archive:${f}`, {});
    await expectCode(drain(await r.openLayer(0)), 'DIGEST_MISMATCH');
  });

  it('an archive written by skopeo gives the same diffIDs and config digest', async () => {
    const dir = join(tmp, 'for-skopeo-docker');
    writeOciLayout(dir, [{ image: img, tag: 'tag' }]);
    const f = join(tmp, 'skopeo.docker.tar');
    execFileSync('skopeo', ['copy', '-q', `oci:${dir}:tag`, `docker-archive:${f}:name:tag`]);
    const r = await openImage(`docker-archive:${f}:name:tag`, {});
    expect(r.configDigest).toBe(img.configDigest);
    expect(r.layers.map((l) => l.diffId)).toEqual(img.diffIds);
    for (let i = 0; i < r.layers.length; i++) await drain(await r.openLayer(i));
  });
});

describe('dir and engines', () => {
  it('dir: gives a layerless image with a root dir', async () => {
    const r = await openImage(`dir:${tmp}`, {});
    expect(r.rootDir).toBe(tmp);
    expect(r.layers).toEqual([]);
    expect(r.manifestDerived).toBe(true);
    expect(r.digest).toBe(digestOf(r.manifest.bytes));
    expect(r.config.rootfs.diff_ids).toEqual([]);
    await expectCode(openImage(`dir:${join(tmp, 'nope')}`, {}), 'IMAGE_NOT_FOUND');
  });

  it('docker: without a daemon → RUNTIME_UNAVAILABLE', async () => {
    const old = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${join(tmp, 'no-docker.sock')}`;
    try {
      await expectCode(openImage('docker:alpine:3', {}), 'RUNTIME_UNAVAILABLE', /no docker daemon/);
    } finally {
      if (old === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = old;
    }
  });

  it('podman: missing binary → RUNTIME_UNAVAILABLE', async () => {
    const old = process.env.DRYDOCK_PODMAN;
    process.env.DRYDOCK_PODMAN = join(tmp, 'no-podman');
    try {
      await expectCode(openImage('podman:alpine', {}), 'RUNTIME_UNAVAILABLE');
    } finally {
      if (old === undefined) delete process.env.DRYDOCK_PODMAN;
      else process.env.DRYDOCK_PODMAN = old;
    }
  });
});

