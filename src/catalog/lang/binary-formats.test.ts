import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IssueLog } from '../../core/issues.js';
import type { ImageFilesystem } from '../../layers/filesystem.js';
import type { FileMeta } from '../../layers/types.js';
import type { CatalogContext } from '../types.js';
import { bufferSource, bytesAt, executableLayout, forEachBinary, runOnBuffer, runOnSource, type RangeSource, type Reading } from './binary-formats.js';

/** A source over `b` that counts what it was asked for. */
function counting(b: Buffer): RangeSource & { bytes: number; reads: number } {
  const s = {
    size: b.length,
    bytes: 0,
    reads: 0,
    read: async (offset: number, length: number) => {
      s.reads++;
      const out = b.subarray(offset, Math.min(b.length, offset + length));
      s.bytes += out.length;
      return Buffer.from(out); // a copy, as a file read gives
    },
  };
  return s;
}

const haveReadelf = (() => {
  try {
    execFileSync('readelf', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// real ELF files of this machine and of the corpus (Go binaries: static, with .go.buildinfo)
const ELF_FILES = ['/bin/true', '/usr/bin/go', '/var/tmp/drydock-corpus-ci/work/gobin/esbuild', '/var/tmp/drydock-corpus-ci/work/gobin/kubectl'].filter((p) => existsSync(p));

/** Sections (without NULL and NOBITS) and PT_LOAD segments as `readelf -SW -lW` prints them. */
function readelf(path: string): { sections: string[]; segments: string[] } {
  const text = execFileSync('readelf', ['-SW', '-lW', path], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const sections: string[] = [];
  const segments: string[] = [];
  for (const line of text.split('\n')) {
    const s = /^\s*\[\s*\d+\]\s+(\S+)\s+([A-Z][\w+]*)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line); // the NULL entry has no name: no match
    if (s && s[2] !== 'NULL' && s[2] !== 'NOBITS') sections.push(`${s[1]} ${parseInt(s[3]!, 16)} ${parseInt(s[4]!, 16)}`);
    const p = /^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/.exec(line);
    if (p) segments.push(`${BigInt('0x' + p[2]!)} ${parseInt(p[1]!, 16)} ${parseInt(p[3]!, 16)}`);
  }
  return { sections, segments };
}

describe.skipIf(!haveReadelf || ELF_FILES.length === 0)('executable layout vs readelf', () => {
  it.each(ELF_FILES)('%s', async (path) => {
    const b = readFileSync(path);
    const truth = readelf(path);
    const fromBuffer = runOnBuffer(b, executableLayout(b.length))!;
    // readelf shortens long names with "[...]"; compare those by prefix
    const names = fromBuffer.sections.map((s) => `${s.name} ${s.offset} ${s.size}`);
    expect(names.length).toBe(truth.sections.length);
    names.forEach((n, i) => {
      const t = truth.sections[i]!;
      if (t.includes('[...]')) expect(n.startsWith(t.split('[...]')[0]!)).toBe(true);
      else expect(n).toBe(t);
    });
    expect(fromBuffer.segments.map((s) => `${s.vaddr} ${s.offset} ${s.size}`)).toEqual(truth.segments);

    // by position: the same layout, reading the headers and tables only
    const src = counting(b);
    expect(await runOnSource(src, executableLayout(src.size))).toEqual(fromBuffer);
    expect(src.bytes).toBeLessThan(64 * 1024 + (b.length > 1e6 ? 0 : b.length));
    console.log(`layout of ${path}: ${b.length} bytes, read ${src.bytes} in ${src.reads} reads`);
  });
});

describe('runOnSource', () => {
  const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i & 0xff));
  function* steps(): Reading<string[]> {
    const out: string[] = [];
    for (const [o, l] of [
      [0, 4],
      [2, 8], // inside the first read-ahead: no new read
      [99_990, 100], // across the end: shorter
      [200_000, 4], // past the end: empty
      [50_000, 0],
      [10, 70_000], // large: read as asked
    ] as const) {
      const b = yield* bytesAt(o, l);
      out.push(`${o}:${b.length}:${b[0] ?? '-'}`);
    }
    return out;
  }

  it('answers like a buffer run, widening small reads and reusing them', async () => {
    const src = counting(data);
    const viaSource = await runOnSource(src, steps());
    expect(viaSource).toEqual(runOnBuffer(data, steps()));
    expect(viaSource).toEqual(['0:4:0', '2:8:2', '99990:10:150', '200000:0:-', '50000:0:-', '10:70000:10']);
    expect(src.reads).toBe(3);
  });
});

describe('forEachBinary', () => {
  const files: Record<string, Buffer> = { '/bin/a': Buffer.alloc(100, 1), '/bin/b': Buffer.alloc(5000, 2), '/bin/tiny': Buffer.alloc(10, 3), '/bin/gone': Buffer.alloc(200, 4) };
  const meta = (path: string): FileMeta => ({ path, type: 'file', size: files[path]!.length, mode: 0o755, uid: 0, gid: 0, layer: 0 });
  const listed = [...Object.keys(files).map(meta), { ...meta('/bin/a'), path: '/bin/dir', type: 'dir' as const }];
  const content = (path: string) => (path === '/bin/gone' ? undefined : files[path]);
  const range = (path: string, o: number, l: number) => content(path)?.subarray(o, o + l);
  const base = { issues: new IssueLog(), targetKind: 'oci-dir' as const, files: () => listed, locate: () => ({ path: '', layer: 0 }) };
  const contexts: [string, CatalogContext][] = [
    ['readRange', { ...base, fs: {} as ImageFilesystem, read: async () => undefined, readRange: async (p, o, l) => range(p, o, l) }],
    ['fs.readRange', { ...base, fs: { readRange: async (p: string, o: number, l: number, layer?: number) => (layer === 0 ? range(p, o, l) : undefined) } as ImageFilesystem, read: async () => undefined }],
    ['read', { ...base, fs: {} as ImageFilesystem, read: async (p) => content(p) }],
  ];

  it.each(contexts)('visits the kept files of 64 bytes or more (%s)', async (_name, ctx) => {
    const seen: string[] = [];
    await forEachBinary(ctx, async (f, src) => {
      const b = await src.read(src.size - 3, 10);
      seen.push(`${f.path} ${src.size} ${b.length} ${b[0]}`);
    });
    expect(seen).toEqual(['/bin/a 100 3 1', '/bin/b 5000 3 2']);
  });

  it('passes other errors on', async () => {
    await expect(forEachBinary(contexts[0]![1], async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('bufferSource answers within the buffer', async () => {
    const s = bufferSource(Buffer.from('0123456789'));
    expect((await s.read(8, 5)).toString()).toBe('89');
    expect((await s.read(12, 5)).length).toBe(0);
  });
});
