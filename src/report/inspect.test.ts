import { describe, expect, it } from 'vitest';
import type { FileMeta, LayerEntry } from '../layers/types.js';
import { filesJson, filesTable, lazyFilesResult, type FilesResult } from './inspect.js';

const layers = [
  { index: 0, digest: 'sha256:aa', diffId: 'sha256:bb', createdBy: 'RUN "x"' },
  { index: 1, digest: 'sha256:cc', diffId: 'sha256:dd', createdBy: null },
];
const files: (FileMeta | LayerEntry)[] = [
  { path: '/a', type: 'dir', size: 0, mode: 0o755, uid: 0, gid: 0, layer: 0, implied: true },
  { path: '/a/"quoted"\\back\tslash\u0001', type: 'file', size: 12, mode: 0o644, uid: 1000, gid: 1000, layer: 1, mtime: 5 },
  { path: '/ünï/✓/\ud800', type: 'symlink', size: 0, mode: 0o777, uid: 4294967295, gid: 2, layer: 0, linkname: '../ü"x' },
  { path: '/del', type: 'file', size: 1e21, mode: 0o4755, uid: 0, gid: 0, layer: 0, status: 'deleted', by: 1 } as LayerEntry,
  { path: '/rep', type: 'hardlink', size: 0, mode: 0, uid: 0, gid: 0, layer: 7, linkname: '/a', status: 'present' } as LayerEntry,
];

/** the writer as it was before it wrote JSON by hand */
function reference(r: FilesResult): string {
  const { files: all, ...head } = r;
  const digests = r.layers.map((l) => l.digest);
  const one = (f: FileMeta | LayerEntry) => {
    const o: Record<string, unknown> = { path: f.path, type: f.type, size: f.size, mode: f.mode.toString(8).padStart(4, '0'), uid: f.uid, gid: f.gid };
    if (f.linkname !== undefined) o.linkname = f.linkname;
    o.layer = f.layer;
    o.layerDigest = digests[f.layer] ?? '';
    if (f.implied) o.implied = true;
    const e = f as LayerEntry;
    if (e.status !== undefined) {
      o.status = e.status;
      if (e.by !== undefined) o.by = e.by;
    }
    return JSON.stringify(o);
  };
  const headJson = JSON.stringify(head, null, 2);
  return `${headJson.slice(0, -2)},\n  "files": [${all.map((f, i) => `${i === 0 ? '' : ','}\n    ${one(f)}`).join('')}${all.length ? '\n  ' : ''}]\n}\n`;
}

const head = { name: 'img', digest: 'sha256:ee', platform: 'linux/amd64', scope: 'all-layers' as const, layers };

describe('filesJson', () => {
  it('writes the same bytes as JSON.stringify of each file, and valid JSON', () => {
    for (const list of [files, [], files.slice(0, 1)]) {
      const r: FilesResult = { ...head, files: list };
      const out = [...filesJson(r)].join('');
      expect(out).toBe(reference(r));
      expect(JSON.parse(out).files).toHaveLength(list.length);
    }
  });

  it('streams a lazy result without materialising it, and materialises on access', () => {
    let iterations = 0;
    const iterable = {
      *[Symbol.iterator]() {
        iterations++;
        yield* files;
      },
    };
    const r = lazyFilesResult(head, iterable);
    expect([...filesJson(r)].join('')).toBe(reference({ ...head, files }));
    expect([...filesTable(r)].join('')).toBe([...filesTable({ ...head, files })].join(''));
    expect(iterations).toBe(2);
    expect(r.files).toEqual(files);
    expect(r.files).toBe(r.files);
    expect(Object.keys(r)).toEqual(['name', 'digest', 'platform', 'scope', 'layers', 'files']);
  });
});
