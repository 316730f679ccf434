import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { IssueLog, isDrydockError } from '../core/index.js';
import { rangeStream } from '../core/range-reader.js';
import { decompressStream, sniffCompression } from './decompress.js';
import { normaliseEntryPath } from './paths.js';
import { compileSelectors, globToRegExpSource, type CompiledSelectors } from './selectors.js';
import { SpillStore } from './spill.js';
import { compress, makeTar, sha256 } from './testdata/fixtures.js';
import { createLimitCounter, walkLayer, type WalkOptions, type WalkResult } from './walk.js';

/** incompressible enough that a gzip of many of them spans many chunks */
const randomish = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
};

const streamOf = (b: Buffer, chunk = 7000) => {
  const parts: Buffer[] = [];
  for (let o = 0; o < b.length; o += chunk) parts.push(b.subarray(o, o + chunk));
  return Readable.from(parts);
};

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isDrydockError(e)) return e.code;
    throw e;
  }
}

describe('paths', () => {
  it('normalises entry names', () => {
    expect(normaliseEntryPath('./usr/bin/x')).toBe('/usr/bin/x');
    expect(normaliseEntryPath('usr//bin/./x/')).toBe('/usr/bin/x');
    expect(normaliseEntryPath('/etc/passwd')).toBe('/etc/passwd');
    expect(normaliseEntryPath('./')).toBe('/');
    expect(normaliseEntryPath('a/../b')).toBe('/b');
    expect(normaliseEntryPath('../etc/passwd')).toBeNull();
    expect(normaliseEntryPath('a/../../b')).toBeNull();
  });
  it('compiles globs', () => {
    const re = (g: string) => new RegExp(`^${globToRegExpSource(g)}$`);
    expect(re('**/package.json').test('/a/b/package.json')).toBe(true);
    expect(re('**/package.json').test('/package.json')).toBe(true);
    expect(re('/usr/lib/*/METADATA').test('/usr/lib/x/METADATA')).toBe(true);
    expect(re('/usr/lib/*/METADATA').test('/usr/lib/x/y/METADATA')).toBe(false);
    expect(re('/var/lib/dpkg/**').test('/var/lib/dpkg/status')).toBe(true);
    expect(re('/etc/{os,lsb}-release').test('/etc/lsb-release')).toBe(true);
  });
});

describe('decompress', () => {
  it('sniffs', () => {
    expect(sniffCompression(Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip');
    expect(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).toBe('zstd');
    expect(sniffCompression(Buffer.from('ustar'))).toBe('none');
  });
  it('handles concatenated gzip members and zstd', async () => {
    const a = Buffer.from('hello '.repeat(1000));
    const b = Buffer.from('world '.repeat(1000));
    const collect = async (blob: Buffer, c: 'gzip' | 'zstd') => {
      const out: Buffer[] = [];
      for await (const x of streamOf(blob, 100).pipe(decompressStream(c))) out.push(x as Buffer);
      return Buffer.concat(out);
    };
    expect((await collect(Buffer.concat([gzipSync(a), gzipSync(b)]), 'gzip')).equals(Buffer.concat([a, b]))).toBe(true);
    expect((await collect(compress(Buffer.concat([a, b]), 'zstd'), 'zstd')).equals(Buffer.concat([a, b]))).toBe(true);
  });
});

describe('walkLayer', () => {
  const entries = [
    { name: './', type: 'directory' as const },
    { name: './etc/', type: 'directory' as const },
    { name: './etc/os-release', content: 'ID=debian\n' },
    { name: 'usr/lib/os-release', content: 'x' },
    { name: './etc/.wh.gone' },
    { name: './var/.wh..wh..opq' },
    { name: 'bin/sh', type: 'symlink' as const, linkname: 'busybox' },
    { name: 'bin/ln', type: 'link' as const, linkname: './etc/os-release' },
    { name: 'dev/null', type: 'character-device' as const },
    { name: 'run/fifo', type: 'fifo' as const },
    { name: 'x/' + 'a'.repeat(120) + '/' + 'b'.repeat(150) + '/file', content: 'long' },
    { name: 'y/' + 'c'.repeat(90), content: 'long2' },
  ];

  for (const c of ['gzip', 'zstd', 'none'] as const) {
    it(`reads a ${c} layer, computes the diffID, records whiteouts and types`, async () => {
      const t = await makeTar(entries);
      const issues = new IssueLog();
      const r = await walkLayer(streamOf(compress(t, c)), {
        layerDigest: 'sha256:l',
        compression: c,
        expectedDiffId: sha256(t),
        selectors: compileSelectors([{ id: 'os', version: '1', basenames: ['os-release'], paths: ['/bin/ln'] }]),
        issues,
      });
      expect(r.diffId).toBe(sha256(t));
      expect(r.uncompressedSize).toBe(t.length);
      const paths = Array.from({ length: r.table.count }, (_, i) => r.table.pathOf(i));
      expect(paths).toContain('/etc/os-release');
      expect(paths).toContain('/x/' + 'a'.repeat(120) + '/' + 'b'.repeat(150) + '/file');
      expect(paths).toContain('/y/' + 'c'.repeat(90));
      expect(paths).not.toContain('/');
      expect(r.table.whiteouts).toEqual(['/etc/gone']);
      expect(r.table.opaques).toEqual(['/var']);
      const meta = (p: string) => r.table.meta(paths.indexOf(p), 0);
      expect(meta('/bin/sh')).toMatchObject({ type: 'symlink', linkname: 'busybox' });
      expect(meta('/bin/ln')).toMatchObject({ type: 'hardlink', linkname: '/etc/os-release' });
      expect(meta('/dev/null').type).toBe('char');
      expect(meta('/run/fifo').type).toBe('fifo');
      expect(meta('/etc/os-release')).toMatchObject({ type: 'file', size: 10, mode: 0o644 });
      // only selected contents are kept
      const kept = [...r.table.contents.keys()].map((i) => r.table.pathOf(i)).sort();
      expect(kept).toEqual(['/etc/os-release', '/usr/lib/os-release']);
      expect(issues.issues).toEqual([]);
    });
  }

  it('skips unsafe paths with PATH_UNSAFE issues', async () => {
    const t = await makeTar([
      { name: '../evil', content: 'x' },
      { name: '/abs/ok', content: 'y' },
      { name: 'a/../../evil2', content: 'x' },
      { name: 'hl', type: 'link', linkname: '../../etc/shadow' },
      { name: 'fine', content: 'z' },
    ]);
    const issues = new IssueLog();
    const r = await walkLayer(streamOf(t), { layerDigest: 'sha256:l', compression: 'none', expectedDiffId: sha256(t), issues });
    expect(Array.from({ length: r.table.count }, (_, i) => r.table.pathOf(i))).toEqual(['/abs/ok', '/fine']);
    expect(issues.issues.map((i) => i.code)).toEqual(['PATH_UNSAFE', 'PATH_UNSAFE', 'PATH_UNSAFE']);
    expect(issues.issues.every((i) => i.layer === 'sha256:l')).toBe(true);
  });

  it('DIFFID_MISMATCH names the layer', async () => {
    const t = await makeTar([{ name: 'a', content: 'x' }]);
    const p = walkLayer(streamOf(gzipSync(t)), { layerDigest: 'sha256:layerx', compression: 'gzip', expectedDiffId: sha256(Buffer.from('other')) });
    await expect(p).rejects.toMatchObject({ code: 'DIFFID_MISMATCH', message: expect.stringContaining('sha256:layerx') });
  });

  it('corrupt and truncated gzip → DECOMPRESS_FAILED; truncated tar → ARCHIVE_CORRUPT', async () => {
    const t = await makeTar([{ name: 'a', content: Buffer.alloc(200_000, 7) }, { name: 'b', content: 'x'.repeat(5000) }]);
    const gz = gzipSync(t);
    const corrupt = Buffer.from(gz);
    for (let i = 100; i < 140; i++) corrupt[i] = corrupt[i]! ^ 0xff;
    expect(await codeOf(walkLayer(streamOf(corrupt), { layerDigest: 'sha256:l', compression: 'gzip' }))).toBe('DECOMPRESS_FAILED');
    expect(await codeOf(walkLayer(streamOf(gz.subarray(0, gz.length - 20)), { layerDigest: 'sha256:l', compression: 'gzip' }))).toBe('DECOMPRESS_FAILED');
    const zs = compress(t, 'zstd');
    expect(await codeOf(walkLayer(streamOf(zs.subarray(0, zs.length - 10)), { layerDigest: 'sha256:l', compression: 'zstd' }))).toBe('DECOMPRESS_FAILED');
    expect(await codeOf(walkLayer(streamOf(gzipSync(t.subarray(0, 100_000))), { layerDigest: 'sha256:l', compression: 'gzip' }))).toBe('ARCHIVE_CORRUPT');
    await expect(walkLayer(streamOf(gzipSync(t.subarray(0, 100_000))), { layerDigest: 'sha256:lz', compression: 'gzip' })).rejects.toThrow(/sha256:lz/);
  });

  it('decompression bomb → LIMIT_EXCEEDED; entry limit shared across layers', async () => {
    const t = await makeTar([{ name: 'zeros', content: Buffer.alloc(64 * 1024 * 1024) }]);
    const gz = gzipSync(t, { level: 9 });
    expect(gz.length).toBeLessThan(200_000);
    const counter = createLimitCounter({ maxUncompressedBytes: 4 * 1024 * 1024 });
    expect(await codeOf(walkLayer(streamOf(gz), { layerDigest: 'sha256:l', compression: 'gzip', counter }))).toBe('LIMIT_EXCEEDED');

    const small = await makeTar([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
    const shared = createLimitCounter({ maxEntries: 5 });
    expect(await codeOf(walkLayer(streamOf(small), { layerDigest: 'sha256:1', compression: 'none', counter: shared }))).toBe('ok');
    expect(await codeOf(walkLayer(streamOf(small), { layerDigest: 'sha256:2', compression: 'none', counter: shared }))).toBe('LIMIT_EXCEEDED');
  });

  it('spills large selected files and honours maxSize', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const t = await makeTar([
      { name: 'big/data.bin', content: big },
      { name: 'big/other.bin', content: big },
      { name: 'small/limited.txt', content: 'x'.repeat(100) },
    ]);
    const spill = await SpillStore.create();
    const issues = new IssueLog();
    try {
      const r = await walkLayer(streamOf(gzipSync(t), 65536), {
        layerDigest: 'sha256:l',
        compression: 'gzip',
        expectedDiffId: sha256(t),
        spill,
        issues,
        selectors: compileSelectors([
          { id: 'a', version: '1', paths: ['/big/data.bin'] },
          { id: 'b', version: '1', globs: ['/small/*'], maxSize: 10 },
        ]),
      });
      expect(r.table.contents.size).toBe(1);
      const ref = r.table.contents.get(0)!;
      expect(ref.kind).toBe('file');
      expect((await spill.read((ref as { sha256: string }).sha256)).equals(big)).toBe(true);
      expect(issues.issues.map((i) => i.code)).toEqual(['LIMIT_EXCEEDED']);
    } finally {
      await spill.close();
    }
  });

  /** Walks `blob` read from a file in 4 KiB chunks; counts the chunks and the buffers they came in. */
  async function walkFromFile(blob: Buffer, opts: Omit<WalkOptions, 'layerDigest'>) {
    const dir = await mkdtemp(join(tmpdir(), 'drydock-walk-range-'));
    try {
      const file = join(dir, 'layer');
      await writeFile(file, blob);
      const stream = rangeStream(() => open(file), 0, blob.length, 4096);
      const buffers = new Set<ArrayBufferLike>();
      let chunks = 0;
      stream.on('data', (c: Buffer) => {
        chunks++;
        buffers.add(c.buffer);
      });
      const result = await walkLayer(stream, { layerDigest: 'sha256:l', ...opts });
      return { result, chunks, buffers: buffers.size };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  /** Walks the uncompressed `tar` from a file with a spill store, then runs `check` before the store is closed. */
  async function walkSpilling(
    tar: Buffer,
    inlineMax: number,
    selectors: CompiledSelectors,
    check: (w: Awaited<ReturnType<typeof walkFromFile>>, spill: SpillStore) => Promise<void>,
    compression: 'none' | 'gzip' = 'none',
  ) {
    const spill = await SpillStore.create();
    try {
      const blob = compression === 'gzip' ? gzipSync(tar, { level: 1 }) : tar;
      await check(await walkFromFile(blob, { compression, expectedDiffId: sha256(tar), spill, inlineMax, selectors }), spill);
    } finally {
      await spill.close();
    }
  }
  const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + (i >> 8)) & 0xff));
  const contentRef = (r: WalkResult, path: string) => r.table.contents.get([...r.table.contents.keys()].find((k) => r.table.pathOf(k) === path)!)!;

  it('hands chunks of a file range back for reuse only when no sink keeps a slice of them', async () => {
    const inMemory = pattern(20_000, 7); // five 4 KiB chunks: kept until the entry ends
    const spilled = pattern(100_000, 13); // over inlineMax: written to the spill store as it arrives
    const fillers = Array.from({ length: 40 }, (_, i) => ({ name: `filler/${i}.bin`, content: pattern(9000, 17 + i) }));
    const tar = await makeTar([...fillers.slice(0, 20), { name: 'keep/mem.bin', content: inMemory }, ...fillers.slice(20), { name: 'keep/spill.bin', content: spilled }, ...fillers]);
    await walkSpilling(tar, 32_000, compileSelectors([{ id: 'k', version: '1', globs: ['/keep/*'] }]), async ({ result: r, chunks, buffers }, spill) => {
      expect((contentRef(r, '/keep/mem.bin') as { data: Buffer }).data.equals(inMemory)).toBe(true);
      expect((await spill.read((contentRef(r, '/keep/spill.bin') as { sha256: string }).sha256)).equals(spilled)).toBe(true);
      // the unselected chunks went back and were read into again
      expect(buffers).toBeLessThan(chunks / 2);
    });
  });

  it('hands kept chunks back once every sink is done with them, and what was kept stays intact', async () => {
    const marker = Buffer.from('\xff drydock marker:', 'latin1');
    const selectors = compileSelectors([
      { id: 'k', version: '1', globs: ['/keep/*'] },
      { id: 'm', version: '1', executables: true, contentMarkers: [marker.toString('latin1')] },
    ]);
    for (const compression of ['none', 'gzip'] as const) {
      // held in memory until its marker shows; through gzip, for longer than zlib's output buffers last
      const withMarker = compression === 'none' ? pattern(40_000, 29) : randomish(3_000_000, 29);
      marker.copy(withMarker, withMarker.length - 30_000);
      // every entry is kept: in memory (spanning two or three chunks), spilled, or held until its marker
      // shows; the fillers make the tar span several of zlib's 1 MiB output buffers
      const entries = [
        ...Array.from({ length: 30 }, (_, i) => ({ name: `keep/${i}.bin`, content: pattern(6000 + i * 37, 3 + i) })),
        ...Array.from({ length: 3 }, (_, i) => ({ name: `keep/big${i}.bin`, content: pattern(50_000, 41 + i) })),
        { name: 'bin/marked', content: withMarker, mode: 0o755 },
        { name: 'bin/plain', content: pattern(30_000, 53), mode: 0o755 },
      ];
      const filler = (i: number) => ({ name: `filler/${i}.bin`, content: randomish(300_000, i) });
      const tar = await makeTar([...entries.slice(0, 15), filler(1), entries[33]!, filler(2), ...entries.slice(15, 31), filler(3), entries[34]!, filler(4), ...entries.slice(31, 33), filler(5)]);
      await walkSpilling(
        tar,
        16_000,
        selectors,
        async ({ result: r, chunks, buffers }, spill) => {
          for (const e of entries) {
            const path = `/${e.name}`;
            if (path === '/bin/plain') {
              expect([...r.table.contents.keys()].map((k) => r.table.pathOf(k))).not.toContain(path);
              continue;
            }
            const ref = contentRef(r, path);
            const got = ref.kind === 'mem' ? ref.data : await spill.read((ref as { sha256: string }).sha256);
            expect(got.equals(e.content), `${compression} ${path}`).toBe(true);
          }
          // a handful of buffers for the whole range: the kept chunks came back too
          if (compression === 'none') {
            expect(chunks).toBeGreaterThan(300);
            expect(buffers).toBeLessThan(16);
          }
        },
        compression,
      );
    }
  });

  it('hands compressed chunks back once zlib has consumed them', async () => {
    const entries = Array.from({ length: 60 }, (_, i) => ({ name: `d/${i}.bin`, content: randomish(20_000, i) }));
    const tar = await makeTar(entries);
    const { result: r, chunks, buffers } = await walkFromFile(gzipSync(tar, { level: 1 }), {
      compression: 'gzip',
      expectedDiffId: sha256(tar),
      selectors: compileSelectors([{ id: 'k', version: '1', paths: ['/d/7.bin'] }]),
    });
    expect(r.diffId).toBe(sha256(tar));
    expect((contentRef(r, '/d/7.bin') as { data: Buffer }).data.equals(entries[7]!.content)).toBe(true);
    expect(chunks).toBeGreaterThan(50);
    expect(buffers).toBeLessThan(chunks / 2);
  });
});
