import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, opaque, rawTar, sampleImage, sha256, tempDir, whiteout } from './index.js';
import { indexTar, resolveMember } from '../../src/image/oci-archive.js';

const { dir: tmp, cleanup } = tempDir('drydock-testkit-');
afterAll(cleanup);

async function listTar(buf: Buffer): Promise<{ name: string; type: string; linkname?: string | null; size: number }[]> {
  const ex = tarStream.extract();
  const out: { name: string; type: string; linkname?: string | null; size: number }[] = [];
  ex.on('entry', (h, stream, next) => {
    out.push({ name: h.name, type: String(h.type), linkname: h.linkname, size: h.size ?? 0 });
    stream.on('end', () => next());
    stream.resume();
  });
  const done = new Promise<void>((resolve, reject) => {
    ex.on('finish', () => resolve());
    ex.on('error', reject);
  });
  Readable.from([buf]).pipe(ex);
  await done;
  return out;
}

describe('testkit', () => {
  it('is deterministic', async () => {
    const a = await sampleImage();
    const b = await sampleImage();
    expect(a.manifest.digest).toBe(b.manifest.digest);
    expect(a.manifest.digest).toBe(sha256(a.manifest.bytes));
  });

  it('writes long names with pax, whiteouts, opaque markers, links and devices', async () => {
    const long = `/opt/${'d'.repeat(90)}/${'f'.repeat(90)}.txt`;
    const img = await buildImage({
      layers: [
        {
          compression: 'zstd',
          entries: [
            { path: long, content: 'x' },
            whiteout('/etc/gone'),
            opaque('/var/lib'),
            { path: '/l', type: 'hardlink', linkname: long },
            { path: '/dev/null', type: 'char', devmajor: 1, devminor: 3 },
          ],
        },
      ],
    });
    const layer = img.layers[0]!;
    expect(layer.blob.subarray(0, 4)).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    expect(sha256(execFileSync('zstd', ['-q', '-d', '-c'], { input: layer.blob }))).toBe(layer.diffId);
    const names = await listTar(layer.tar);
    expect(names.map((n) => n.name)).toEqual([long.slice(1), 'etc/.wh.gone', 'var/lib/.wh..wh..opq', 'l', 'dev/null']);
    expect(names[3]).toMatchObject({ type: 'link', linkname: long.slice(1) });
  });

  it('rawTar keeps hostile names as given', async () => {
    const t = await rawTar([
      { path: '../../etc/passwd', content: 'x' },
      { path: '/abs', content: 'y' },
      { path: 'loop', type: 'symlink', linkname: 'loop' },
    ]);
    expect((await listTar(t)).map((e) => e.name)).toEqual(['../../etc/passwd', '/abs', 'loop']);
  });

  it('gzip layers decompress to their diffID', async () => {
    const img = await sampleImage();
    for (const l of img.layers) expect(sha256(gunzipSync(l.blob))).toBe(l.diffId);
  });
});

describe('tar member index', () => {
  it('indexes pax long names, GNU long names and links', async () => {
    const long = `${'a'.repeat(120)}/${'b'.repeat(120)}`;
    const f = join(tmp, 'pax.tar');
    writeFileSync(f, await rawTar([{ path: long, content: 'hello' }, { path: 'ln', type: 'symlink', linkname: long }]));
    const idx = await indexTar(f);
    expect(idx.members.get(long)?.size).toBe(5);
    expect(resolveMember(idx, 'ln')?.name).toBe(long);

    const src = join(tmp, 'gnu-src');
    const deep = join(src, 'x'.repeat(80), 'y'.repeat(80));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'z'.repeat(60)), 'gnu');
    const g = join(tmp, 'gnu.tar');
    execFileSync('tar', ['--format=gnu', '-cf', g, '-C', src, '.']);
    const gi = await indexTar(g);
    const m = gi.members.get(`${'x'.repeat(80)}/${'y'.repeat(80)}/${'z'.repeat(60)}`);
    expect(m?.size).toBe(3);
  });
});
