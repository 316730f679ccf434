import { mkdtemp, mkdir, rm, stat, symlink, writeFile, readdir, readFile as fsRead } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IssueLog, type DrydockEvent } from '../core/index.js';
import { LayerCache } from './cache.js';
import { buildImageFilesystem, type ImageFilesystem } from './filesystem.js';
import { fakeImage, layer } from './testdata/fixtures.js';
import { layerVerificationStatus, verifyLayers } from './verify.js';

const open: ImageFilesystem[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
const track = (f: ImageFilesystem) => (open.push(f), f);
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'drydock-layers-test-'));
  dirs.push(d);
  return d;
};

const ALL = [{ id: 'all', version: '1', globs: ['**'] }];

describe('buildImageFilesystem', () => {
  it('streams the squashed view in the order of a sort of full paths', async () => {
    // "/a-c" sorts between "/a" and "/a/b" ('-' < '/' < '0'): a plain per-directory walk gets this wrong
    const names = ['a/', 'a/b/', 'a/b/c', 'a-c', 'a0', 'a/-x', 'a.b/', 'a.b/z', 'A', 'é', 'z/', 'z/y', 'implied/dir/f', 'b c'];
    const l0 = await layer(names.map((name) => (name.endsWith('/') ? { name, type: 'directory' as const } : { name, content: name })));
    const fs = track(await buildImageFilesystem(fakeImage([l0]), {}));
    const streamed = [...fs.squashedEntries()].map((m) => m.path);
    const sorted = [...streamed].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(streamed).toEqual(sorted);
    expect(streamed).toEqual(fs.squashed().map((m) => m.path));
    expect(streamed).toContain('/implied/dir/f');
    expect(streamed.indexOf('/a-c')).toBeGreaterThan(streamed.indexOf('/a'));
    expect(streamed.indexOf('/a-c')).toBeLessThan(streamed.indexOf('/a/b'));
    // re-iterable
    expect([...fs.squashedEntries()].length).toBe(streamed.length);
  });

  it('applies whiteouts, opaque dirs and replacements in layer order', async () => {
    const l0 = await layer([
      { name: 'etc/', type: 'directory' },
      { name: 'etc/a', content: 'a0' },
      { name: 'etc/b', content: 'b0' },
      { name: 'opq/', type: 'directory' },
      { name: 'opq/old', content: 'old' },
      { name: 'opq/sub/deep', content: 'deep' },
      { name: 'd2f/', type: 'directory' },
      { name: 'd2f/child', content: 'c' },
      { name: 'f2d', content: 'file' },
      { name: 'gone/', type: 'directory' },
      { name: 'gone/x', content: 'x' },
    ]);
    const l1 = await layer(
      [
        { name: 'etc/.wh.a' },
        { name: 'etc/b', content: 'b1' },
        { name: 'opq/', type: 'directory' },
        { name: 'opq/.wh..wh..opq' },
        { name: 'opq/new', content: 'new' },
        { name: 'd2f', content: 'now a file' },
        { name: 'f2d/', type: 'directory' },
        { name: 'f2d/inner', content: 'inner' },
        { name: '.wh.gone' },
      ],
      'zstd',
    );
    const l2 = await layer([{ name: 'etc/a', content: 'a2' }], 'none');
    const events: DrydockEvent[] = [];
    const fs = track(await buildImageFilesystem(fakeImage([l0, l1, l2]), { selectors: ALL, events: (e) => events.push(e) }));
    expect(fs.squashed().map((m) => `${m.path}@${m.layer}`)).toEqual([
      '/d2f@1',
      '/etc@0',
      '/etc/a@2',
      '/etc/b@1',
      '/f2d@1',
      '/f2d/inner@1',
      '/opq@1',
      '/opq/new@1',
    ]);
    expect((await fs.readFile('/etc/b'))?.toString()).toBe('b1');
    expect((await fs.readFile('/etc/b', 0))?.toString()).toBe('b0');
    expect((await fs.readFile('/etc/a'))?.toString()).toBe('a2');
    expect(fs.stat('/opq/old')).toBeUndefined();
    expect(fs.stat('/d2f')?.type).toBe('file');
    expect(fs.stat('/f2d')?.type).toBe('dir');

    const all = fs.allLayers().map((e) => `${e.path}@${e.layer}:${e.status}${e.by === undefined ? '' : '>' + e.by}`);
    expect(all).toEqual([
      '/d2f@0:replaced>1',
      '/d2f@1:present',
      '/d2f/child@0:deleted>1',
      '/etc@0:present',
      '/etc/a@0:deleted>1',
      '/etc/a@2:present',
      '/etc/b@0:replaced>1',
      '/etc/b@1:present',
      '/f2d@0:replaced>1',
      '/f2d@1:present',
      '/f2d/inner@1:present',
      '/gone@0:deleted>1',
      '/gone/x@0:deleted>1',
      '/opq@0:replaced>1',
      '/opq@1:present',
      '/opq/new@1:present',
      '/opq/old@0:deleted>1',
      '/opq/sub/deep@0:deleted>1',
    ]);
    expect(events.filter((e) => e.type === 'layer-done').length).toBe(3);
    expect(fs.layers.map((l) => [l.verified, l.cached])).toEqual([
      [true, false],
      [true, false],
      [true, false],
    ]);
  });

  it('resolves symlinks inside the root, detects loops, follows hard links', async () => {
    const l0 = await layer([
      { name: 'usr/lib/os-release', content: 'ID=test\n' },
      { name: 'etc/os-release', type: 'symlink', linkname: '../usr/lib/os-release' },
      { name: 'etc/abs', type: 'symlink', linkname: '/usr/lib/os-release' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'escape', type: 'symlink', linkname: '../../../../usr/lib/os-release' },
      { name: 'outside', type: 'symlink', linkname: '../../../../etc/hostname' },
      { name: 'loop1', type: 'symlink', linkname: 'loop2' },
      { name: 'loop2', type: 'symlink', linkname: '/loop1' },
      { name: 'bin/hard', type: 'link', linkname: 'usr/lib/os-release' },
    ]);
    const issues = new IssueLog();
    const fs = track(await buildImageFilesystem(fakeImage([l0]), { selectors: [{ id: 's', version: '1', basenames: ['os-release'] }], issues }));
    expect((await fs.readFile('/etc/os-release'))?.toString()).toBe('ID=test\n');
    expect((await fs.readFile('/etc/abs'))?.toString()).toBe('ID=test\n');
    expect((await fs.readFile('/lib/os-release'))?.toString()).toBe('ID=test\n');
    expect((await fs.readFile('/escape'))?.toString()).toBe('ID=test\n'); // clamped at the root
    expect(await fs.readFile('/outside')).toBeUndefined(); // /etc/hostname of the image: absent; never the host's
    expect(await fs.readFile('/loop1')).toBeUndefined();
    expect(issues.issues.some((i) => i.code === 'PATH_UNSAFE' && /too many levels/.test(i.message))).toBe(true);
    expect((await fs.readFile('/bin/hard'))?.toString()).toBe('ID=test\n');
    expect(fs.stat('/bin/hard')).toMatchObject({ type: 'hardlink', linkname: '/usr/lib/os-release' });
    expect(fs.selected('s').map((m) => m.path)).toEqual(['/etc/os-release', '/usr/lib/os-release']);
    expect(await fs.readFile('/bin/hard', 0)).toBeDefined();
  });

  it('keeps only selected contents; large selected files spill and read back', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024 + 5, 9);
    const l0 = await layer([
      { name: 'a/package.json', content: '{}' },
      { name: 'a/index.js', content: 'x' },
      { name: 'big/blob.bin', content: big },
    ]);
    const temp = await tmp();
    const fs = track(
      await buildImageFilesystem(fakeImage([l0]), {
        tempDir: temp,
        selectors: [
          { id: 'npm', version: '1', basenames: ['package.json'] },
          { id: 'big', version: '1', paths: ['/big/blob.bin'] },
        ],
      }),
    );
    expect((await fs.readFile('/a/package.json'))?.toString()).toBe('{}');
    expect(await fs.readFile('/a/index.js')).toBeUndefined();
    expect((await fs.readFile('/big/blob.bin'))?.equals(big)).toBe(true);
    expect((await readdir(temp)).length).toBe(1);
    await fs.close();
    expect(await readdir(temp)).toEqual([]);
  });

  it('fails with DIFFID_MISMATCH and leaves nothing behind', async () => {
    const l0 = await layer([{ name: 'a', content: 'x' }]);
    l0.diffId = 'sha256:' + 'f'.repeat(64);
    const temp = await tmp();
    await expect(buildImageFilesystem(fakeImage([l0]), { tempDir: temp })).rejects.toMatchObject({ code: 'DIFFID_MISMATCH' });
    expect(await readdir(temp)).toEqual([]);
  });

  it('LIMIT_EXCEEDED across layers', async () => {
    const l = await layer([{ name: 'z', content: Buffer.alloc(3 * 1024 * 1024) }]);
    await expect(buildImageFilesystem(fakeImage([l, l]), { limits: { maxUncompressedBytes: 5 * 1024 * 1024 } })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
  });

  it('walks dir: images without following symlinks', async () => {
    const root = await tmp();
    await mkdir(join(root, 'etc'));
    await writeFile(join(root, 'etc/os-release'), 'ID=dir\n');
    await symlink('/etc/passwd', join(root, 'etc/passwd-link'));
    const img = { ...fakeImage([]), rootDir: root };
    const fs = track(await buildImageFilesystem(img, { selectors: [{ id: 's', version: '1', globs: ['/etc/*'] }] }));
    expect(fs.squashed().map((m) => `${m.path}:${m.type}`)).toEqual(['/etc:dir', '/etc/os-release:file', '/etc/passwd-link:symlink']);
    expect((await fs.readFile('/etc/os-release'))?.toString()).toBe('ID=dir\n');
    expect(await fs.readFile('/etc/passwd-link')).toBeUndefined(); // /etc/passwd of the image: absent
    expect(fs.layers[0]).toMatchObject({ index: 0, digest: '' });
  });
});

describe('layer cache', () => {
  const sel = [{ id: 'os', version: '1', basenames: ['os-release', 'big'] }];
  const mk = async (binding?: string) =>
    layer([{ name: 'etc/os-release', content: 'ID=cached\n' }, { name: 'big', content: Buffer.alloc(1_500_000, 3) }], 'gzip', binding);

  it('skips reading only with a verification record for the exact binding', async () => {
    const dir = await tmp();
    const l = await mk('file:/x/blob|size=1|mtime=2|ino=3');
    const a = fakeImage([l]);
    track(await buildImageFilesystem(a, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(a.opens).toEqual([1]);

    // a second process: another LayerCache instance over the same directory
    const b = fakeImage([l]);
    const fs = track(await buildImageFilesystem(b, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(b.opens).toEqual([0]);
    expect(fs.layers[0]).toMatchObject({ cached: true, verified: true });
    expect((await fs.readFile('/etc/os-release'))?.toString()).toBe('ID=cached\n');
    expect(fs.squashed().map((m) => m.path)).toEqual(['/big', '/etc', '/etc/os-release']);

    // a different binding (the file changed), no binding, --no-cache, other selectors: read again
    const c = fakeImage([{ ...l, binding: 'file:/x/blob|size=1|mtime=9|ino=3' }]);
    track(await buildImageFilesystem(c, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(c.opens).toEqual([1]);
    const d = fakeImage([{ ...l, binding: undefined }]);
    track(await buildImageFilesystem(d, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(d.opens).toEqual([1]);
    const e = fakeImage([l]);
    track(await buildImageFilesystem(e, { selectors: sel, cache: null }));
    expect(e.opens).toEqual([1]);
    const f = fakeImage([l]);
    track(await buildImageFilesystem(f, { selectors: [{ id: 'os', version: '2', basenames: ['os-release'] }], cache: LayerCache.open(dir) }));
    expect(f.opens).toEqual([1]);
  });

  it('does not trust a record whose diffID differs from the config', async () => {
    const dir = await tmp();
    const l = await mk('b1');
    track(await buildImageFilesystem(fakeImage([l]), { selectors: sel, cache: LayerCache.open(dir) }));
    // same binding and digest, but the config now claims another diffID: must read (and fail)
    const other = fakeImage([{ ...l, diffId: 'sha256:' + 'e'.repeat(64) }]);
    await expect(buildImageFilesystem(other, { selectors: sel, cache: LayerCache.open(dir) })).rejects.toMatchObject({ code: 'DIFFID_MISMATCH' });
    expect(other.opens).toEqual([1]);
  });

  it('treats corrupt entries as misses', async () => {
    const dir = await tmp();
    const l = await mk('b2');
    track(await buildImageFilesystem(fakeImage([l]), { selectors: sel, cache: LayerCache.open(dir) }));
    for (const f of await readdir(join(dir, 'analysis'))) await writeFile(join(dir, 'analysis', f), '{"format":"1","diffId":');
    const a = fakeImage([l]);
    const fs = track(await buildImageFilesystem(a, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(a.opens).toEqual([1]);
    expect((await fs.readFile('/etc/os-release'))?.toString()).toBe('ID=cached\n');
    // corrupt verification record
    for (const f of await readdir(join(dir, 'verify'))) await writeFile(join(dir, 'verify', f), 'garbage');
    const b = fakeImage([l]);
    track(await buildImageFilesystem(b, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(b.opens).toEqual([1]);
    // small contents live in the analysis record: a tampered one makes the record a miss
    for (const f of await readdir(join(dir, 'analysis'))) {
      const p = join(dir, 'analysis', f);
      const rec = await fsRead(p);
      // the file ends with the one inline content, os-release
      expect(rec.subarray(rec.length - 'ID=cached\n'.length).toString()).toBe('ID=cached\n');
      await writeFile(p, Buffer.concat([rec.subarray(0, rec.length - 'ID=cached\n'.length), Buffer.from('ID=tamper\n')]));
    }
    const t = fakeImage([l]);
    const fsT = track(await buildImageFilesystem(t, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(t.opens).toEqual([1]);
    expect((await fsT.readFile('/etc/os-release'))?.toString()).toBe('ID=cached\n');
    // a tampered content blob is refused when read
    for (const f of await readdir(join(dir, 'blobs'))) {
      const p = join(dir, 'blobs', f);
      const data = await fsRead(p);
      data[0] = data[0]! ^ 1;
      await writeFile(p, data);
    }
    const issues = new IssueLog();
    const c = fakeImage([l]);
    const fs2 = track(await buildImageFilesystem(c, { selectors: sel, cache: LayerCache.open(dir), issues }));
    expect(c.opens).toEqual([0]);
    expect((await fs2.readFile('/etc/os-release'))?.toString()).toBe('ID=cached\n');
    expect(await fs2.readFile('/big')).toBeUndefined();
    expect(issues.issues.map((i) => i.code)).toContain('CACHE_ERROR');
  });

  it('an analysis file cut short, grown, or with a header that does not fit its payload is a miss', async () => {
    const dir = await tmp();
    const l = await mk('b3');
    track(await buildImageFilesystem(fakeImage([l]), { selectors: sel, cache: LayerCache.open(dir) }));
    const [name] = await readdir(join(dir, 'analysis'));
    const path = join(dir, 'analysis', name!);
    const good = await fsRead(path);
    const headerLength = good.readUInt32LE(8);
    const header = JSON.parse(good.toString('utf8', 12, 12 + headerLength)) as { endianness: string; columns: number[] };
    const withHeader = (h: object): Buffer => {
      const json = Buffer.from(JSON.stringify(h));
      const n = Buffer.alloc(4);
      n.writeUInt32LE(json.length);
      return Buffer.concat([good.subarray(0, 8), n, json, good.subarray(12 + headerLength)]);
    };
    const bad: [string, Buffer][] = [
      ['cut short', good.subarray(0, good.length - 1)],
      ['a byte more', Buffer.concat([good, Buffer.from([0])])],
      ['another magic', Buffer.concat([Buffer.from('XXLAYER\n'), good.subarray(8)])],
      ['a header longer than the file', Buffer.concat([good.subarray(0, 8), Buffer.from([0xff, 0xff, 0xff, 0x7f]), good.subarray(12)])],
      ['the other byte order', withHeader({ ...header, endianness: header.endianness === 'LE' ? 'BE' : 'LE' })],
      ['a column one byte longer', withHeader({ ...header, columns: header.columns.map((n, i) => (i === 0 ? n + 1 : n)) })],
    ];
    // the unchanged header rebuilt is still a hit: the cases above fail for what they change
    await writeFile(path, withHeader(header));
    const same = fakeImage([l]);
    track(await buildImageFilesystem(same, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(same.opens).toEqual([0]);
    for (const [what, bytes] of bad) {
      await writeFile(path, bytes);
      const img = fakeImage([l]);
      const fs = track(await buildImageFilesystem(img, { selectors: sel, cache: LayerCache.open(dir) }));
      expect(img.opens, what).toEqual([1]);
      expect((await fs.readFile('/etc/os-release'))?.toString(), what).toBe('ID=cached\n');
    }
  });

  it('writes results and analysis records as ASCII and reads back every character', async () => {
    const dir = await tmp();
    const cache = LayerCache.open(dir);
    const value = { names: ['Łukasz Żółw', 'Ærø', 'emoji \u{1f600}', 'lone \ud800 surrogate', 'tab\tquote"', '\u007f\u0080\uffff'] };
    const key = 'a'.repeat(64);
    expect(await cache.putResult(key, value)).toBe(true);
    expect(await cache.getResult(key)).toEqual(value);
    const bytes = await fsRead(join(dir, 'results', `${key}.json`));
    expect([...bytes].every((b) => b < 0x80)).toBe(true);
    // an entry name past ASCII, in an analysis record
    const l = await layer([{ name: 'etc/os-release', content: 'ID=cached\n' }, { name: 'opt/Ærø/ż.txt', content: 'x' }], 'none', 'file:ascii');
    track(await buildImageFilesystem(fakeImage([l]), { selectors: sel, cache }));
    const again = fakeImage([l]);
    const fs = track(await buildImageFilesystem(again, { selectors: sel, cache }));
    expect(again.opens).toEqual([0]);
    expect(fs.stat('/opt/Ærø/ż.txt')?.size).toBe(1);
    for (const f of await readdir(join(dir, 'analysis'))) {
      const rec = await fsRead(join(dir, 'analysis', f));
      expect(rec.includes(Buffer.from('\\u00c6r\\u00f8'))).toBe(true);
    }
  });

  it('a cache that cannot be written warns once, and the run still produces its result', async () => {
    const dir = await tmp();
    await writeFile(join(dir, 'file'), 'x'); // the cache dir would be below a regular file
    const warnings: string[] = [];
    const cache = LayerCache.open(join(dir, 'file', 'layers'), { onWriteError: (m) => warnings.push(m) });
    const fs = track(await buildImageFilesystem(fakeImage([await mk('b1'), await mk('b2')]), { selectors: sel, cache }));
    expect((await fs.readFile('/etc/os-release'))?.toString()).toBe('ID=cached\n');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/\[CACHE_ERROR\].*cannot be written \(ENOTDIR\)/);
  });

  it('verifyLayers records verification; layerVerificationStatus reads nothing', async () => {
    const dir = await tmp();
    const cache = LayerCache.open(dir);
    const l0 = await mk('v0');
    const l1 = await layer([{ name: 'x', content: 'y' }], 'zstd'); // no binding
    const img = fakeImage([l0, l1]);
    expect(await layerVerificationStatus(img, cache)).toEqual([false, false]);
    const r = await verifyLayers(img, { cache });
    expect(r.map((s) => [s.verified, s.cached])).toEqual([
      [true, false],
      [true, false],
    ]);
    expect(img.opens).toEqual([1, 1]);
    expect(await layerVerificationStatus(img, cache)).toEqual([true, false]);
    const again = await verifyLayers(img, { cache });
    expect(again.map((s) => s.cached)).toEqual([true, false]);
    expect(img.opens).toEqual([1, 2]);
    await verifyLayers(img, { cache, force: true });
    expect(img.opens).toEqual([2, 3]);
    const bad = fakeImage([{ ...l1, diffId: 'sha256:' + 'a'.repeat(64) }]);
    await expect(verifyLayers(bad, { cache })).rejects.toMatchObject({ code: 'DIFFID_MISMATCH' });
    const corrupt = fakeImage([{ ...l0, blob: l0.blob.subarray(0, 50) }]);
    await expect(verifyLayers(corrupt, { cache: null })).rejects.toMatchObject({ code: 'DECOMPRESS_FAILED' });
  });
});

describe('implied directories', () => {
  it('lists directories no layer wrote, as unpacking creates them, and keeps them when emptied', async () => {
    const { buildImage, tempDir, writeOciLayout, whiteout } = await import('../../test/testkit/index.js');
    const { openImage } = await import('../image/open.js');
    const img = await buildImage({
      layers: [
        [{ path: '/a/b/c.txt', content: 'c' }, { path: '/d/', type: 'dir', mode: 0o700 }, { path: '/d/e', content: 'e' }],
        [whiteout('/a/b/c.txt'), { path: '/x/y', content: 'y' }],
      ],
    });
    const t = tempDir();
    try {
      writeOciLayout(t.dir, img);
      const image = await openImage(`oci-dir:${t.dir}:latest`);
      const fs = await buildImageFilesystem(image, { cache: null });
      const list = fs.squashed().map((m) => `${m.path} ${m.type} ${m.layer}${m.implied ? ' implied' : ''}`);
      expect(list).toEqual(['/a dir 0 implied', '/a/b dir 0 implied', '/d dir 0', '/d/e file 0', '/x dir 1 implied', '/x/y file 1']);
      expect(fs.stat('/a/b')).toMatchObject({ type: 'dir', implied: true, layer: 0 });
      expect(fs.stat('/d')?.implied).toBeUndefined();
      expect(fs.stat('/nope')).toBeUndefined();
      await fs.close();
      await image.close();
    } finally {
      t.cleanup();
    }
  });
});

describe('readRange', () => {
  // bytes that differ at every offset, so a misplaced range cannot pass
  const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) & 0xff));
  const ranges = (size: number): [number, number][] => [
    [0, 64],
    [1000, 4096],
    [Math.max(0, size - 10), 100], // across the end: fewer bytes
    [size, 10], // at the end: none
    [size + 5, 10],
    [17, 0],
  ];
  const expectSameAsReadFile = async (fs: ImageFilesystem, path: string, layer?: number) => {
    const whole = (await fs.readFile(path, layer))!;
    expect(whole).toBeDefined();
    for (const [o, l] of ranges(whole.length)) {
      const got = await fs.readRange(path, o, l, layer);
      expect(got?.equals(whole.subarray(Math.min(o, whole.length), Math.min(o + l, whole.length))), `${path} ${o}+${l}`).toBe(true);
    }
  };

  it('serves in-memory and spilled contents, through symlinks and hard links, per layer', async () => {
    const big = pattern(2 * 1024 * 1024 + 5);
    const l0 = await layer([
      { name: 'etc/small', content: pattern(5000) },
      { name: 'big/blob.bin', content: big },
      { name: 'hl', type: 'link', linkname: 'big/blob.bin' },
      { name: 'other', content: 'not selected' },
    ]);
    const l1 = await layer([
      { name: 'etc/small', content: 'replaced' },
      { name: 'lnk', type: 'symlink', linkname: '/big/blob.bin' },
    ]);
    const temp = await tmp();
    const issues = new IssueLog();
    const fs = track(
      await buildImageFilesystem(fakeImage([l0, l1]), {
        tempDir: temp,
        issues,
        selectors: [{ id: 's', version: '1', paths: ['/etc/small', '/big/blob.bin', '/lnk', '/hl'] }],
      }),
    );
    await expectSameAsReadFile(fs, '/etc/small');
    await expectSameAsReadFile(fs, '/etc/small', 0);
    expect((await fs.readRange('/etc/small', 0, 100))?.toString()).toBe('replaced');
    expect((await fs.readRange('/etc/small', 0, 5000, 0))?.equals(pattern(5000))).toBe(true);
    await expectSameAsReadFile(fs, '/big/blob.bin');
    await expectSameAsReadFile(fs, '/lnk');
    await expectSameAsReadFile(fs, '/hl');
    expect((await fs.readRange('/big/blob.bin', 1_000_000, 16))?.equals(big.subarray(1_000_000, 1_000_016))).toBe(true);
    expect(await fs.readRange('/other', 0, 4)).toBeUndefined();
    expect(await fs.readRange('/nope', 0, 4)).toBeUndefined();
    await expect(fs.readRange('/etc/small', -1, 4)).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(issues.issues).toEqual([]);

    // a spilled file that lost bytes is refused, and said once
    const [spilled] = (await readdir(temp, { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
    await writeFile(join(spilled!.parentPath, spilled!.name), big.subarray(0, 100));
    expect(await fs.readRange('/big/blob.bin', 0, 10)).toBeUndefined();
    expect(await fs.readRange('/lnk', 0, 10)).toBeUndefined();
    expect(issues.issues.map((i) => [i.code, i.path])).toEqual([['CACHE_ERROR', '/big/blob.bin']]);
  });

  it('checks a cache blob once before serving ranges of it', async () => {
    const dir = await tmp();
    const big = pattern(1_500_000);
    const l = await layer([{ name: 'big', content: big }], 'gzip', 'bind-range');
    const sel = [{ id: 'b', version: '1', basenames: ['big'] }];
    track(await buildImageFilesystem(fakeImage([l]), { selectors: sel, cache: LayerCache.open(dir) }));
    const img = fakeImage([l]);
    const fs = track(await buildImageFilesystem(img, { selectors: sel, cache: LayerCache.open(dir) }));
    expect(img.opens).toEqual([0]);
    await expectSameAsReadFile(fs, '/big');

    for (const f of await readdir(join(dir, 'blobs'))) {
      const p = join(dir, 'blobs', f);
      const data = await fsRead(p);
      data[700_000] = data[700_000]! ^ 1; // same size, other bytes
      await writeFile(p, data);
    }
    const issues = new IssueLog();
    const fs2 = track(await buildImageFilesystem(fakeImage([l]), { selectors: sel, cache: LayerCache.open(dir), issues }));
    expect(await fs2.readRange('/big', 0, 10)).toBeUndefined();
    expect(await fs2.readRange('/big', 10, 10)).toBeUndefined();
    expect(issues.issues.map((i) => i.code)).toEqual(['CACHE_ERROR']);
  });

  it('a spilled file enters the layer cache as a second name, not a copy, and outlives the run', async () => {
    const dir = await tmp();
    const temp = await tmp();
    const big = pattern(1_500_000);
    const l = await layer([{ name: 'big', content: big }], 'gzip', 'link');
    const sel = [{ id: 'b', version: '1', basenames: ['big'] }];
    const fs = await buildImageFilesystem(fakeImage([l]), { selectors: sel, cache: LayerCache.open(dir), tempDir: temp });
    const [blob] = await readdir(join(dir, 'blobs'));
    const [spilled] = (await readdir(temp, { recursive: true, withFileTypes: true })).filter((d) => d.isFile());
    const [a, b] = await Promise.all([stat(join(dir, 'blobs', blob!)), stat(join(spilled!.parentPath, spilled!.name))]);
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
    await fs.close();
    expect((await stat(join(dir, 'blobs', blob!))).nlink).toBe(1);
    const warm = track(await buildImageFilesystem(fakeImage([l]), { selectors: sel, cache: LayerCache.open(dir) }));
    expect((await warm.readFile('/big'))!.equals(big)).toBe(true);
  });

  it('reads files of dir: images from disk, never through a symlink', async () => {
    const root = await tmp();
    await mkdir(join(root, 'bin'));
    await writeFile(join(root, 'bin/tool'), pattern(70_000));
    await symlink('/etc/passwd', join(root, 'bin/link'));
    const img = { ...fakeImage([]), rootDir: root };
    const fs = track(await buildImageFilesystem(img, { selectors: [{ id: 's', version: '1', globs: ['/bin/*'] }] }));
    await expectSameAsReadFile(fs, '/bin/tool');
    await expectSameAsReadFile(fs, '/bin/tool', 0);
    expect(await fs.readRange('/bin/link', 0, 10)).toBeUndefined();
  });
});
