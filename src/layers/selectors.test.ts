import { describe, expect, it } from 'vitest';
import { compileSelectors, selectorsKey } from './selectors.js';

describe('selectors', () => {
  const sel = compileSelectors([
    { id: 'dpkg', version: '1', paths: ['/var/lib/dpkg/status'], globs: ['/var/lib/dpkg/status.d/*'] },
    { id: 'npm', version: '1', basenames: ['package.json'] },
    { id: 'go', version: '1', executables: true, maxSize: 1 << 20 },
  ]);
  const ids = (r: number[] | null) => (r ?? []).map((i) => sel.list[i]!.id);

  it('matches paths, basenames and globs', () => {
    expect(ids(sel.match('/var/lib/dpkg/status', 'status'))).toEqual(['dpkg']);
    expect(ids(sel.match('/var/lib/dpkg/status.d/libc6', 'libc6'))).toEqual(['dpkg']);
    expect(ids(sel.match('/var/lib/dpkg/status.d/x/y', 'y'))).toEqual([]);
    expect(ids(sel.match('/app/node_modules/a/package.json', 'package.json'))).toEqual(['npm']);
  });

  it('selects regular files with an execute bit only when asked for executables', () => {
    expect(ids(sel.match('/usr/local/bin/esbuild', 'esbuild', 0o755))).toEqual(['go']);
    expect(ids(sel.match('/usr/local/bin/readme', 'readme', 0o644))).toEqual([]);
    expect(ids(sel.match('/usr/local/bin/dir', 'dir'))).toEqual([]);
    expect(ids(sel.match('/x/package.json', 'package.json', 0o755))).toEqual(['go', 'npm']);
    expect(compileSelectors([{ id: 'a', version: '1', paths: ['/a'] }]).match('/bin/sh', 'sh', 0o755)).toBeNull();
  });

  it('changes the cache key when a selector changes', () => {
    const a = selectorsKey([{ id: 'go', version: '1', executables: true }]);
    expect(selectorsKey([{ id: 'go', version: '1' }])).not.toBe(a);
    expect(selectorsKey([{ id: 'go', version: '2', executables: true }])).not.toBe(a);
    expect(selectorsKey([{ id: 'go', version: '1', executables: true, contentMarkers: ['x'] }])).not.toBe(a);
  });

  it('reports executables wanted only for their content markers as conditional', () => {
    const s = compileSelectors([
      { id: 'go', version: '1', executables: true, contentMarkers: ['\xff Go buildinf:'] },
      { id: 'node', version: '1', globs: ['**/bin/node'] },
      { id: 'rust', version: '1', executables: true, contentMarkers: ['.dep-v0'], basenames: ['tool'] },
    ]);
    const cond: number[] = [];
    const names = (r: number[] | null) => (r ?? []).map((i) => s.list[i]!.id);
    expect(names(s.match('/usr/bin/x', 'x', 0o755, cond))).toEqual(['go', 'node', 'rust'].filter((n) => n !== 'node'));
    expect(names(cond)).toEqual(['go', 'rust']);
    expect(names(s.match('/usr/bin/node', 'node', 0o755, cond))).toEqual(['go', 'node', 'rust']);
    expect(names(cond)).toEqual(['go', 'rust']);
    expect(names(s.match('/usr/bin/tool', 'tool', 0o755, cond))).toEqual(['go', 'rust']);
    expect(names(cond)).toEqual(['go']);
    expect(s.match('/usr/bin/tool', 'tool', 0o644, cond)).toEqual([s.indexOf('rust')]);
    expect(cond).toEqual([]);
    expect(s.markers(s.indexOf('go'))[0]?.toString('latin1')).toBe('\xff Go buildinf:');
  });
});
