import { describe, expect, it } from 'vitest';
import { compileSelectors, globToRegExpSource, selectorsKey } from './selectors.js';

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

  it('prefilters globs without changing what matches', () => {
    const globs = [
      '/var/lib/dpkg/status.d/*', '/usr/share/doc/*/copyright', '**/node_modules/**/package.json', '**/*.dist-info/METADATA',
      '**/*.jar', '**/bin/python3*', '**/libssl.so*', '**/go/VERSION', '**/release', 'opt/*/x?', '**/{a,b/c}.txt', '**/*',
    ];
    const paths = [
      '/var/lib/dpkg/status.d/libc6', '/var/lib/dpkg/status.d', '/usr/share/doc/curl/copyright', '/usr/share/doc/copyright',
      '/app/node_modules/a/b/package.json', '/app/package.json', '/node_modules/package.json', '/x/y.dist-info/METADATA',
      '/a.jar', '/lib/x.jar.bak', '/usr/bin/python3.11', '/usr/lib/libssl.so.3', '/usr/local/go/VERSION', '/etc/release',
      '/opt/p/xy', '/opt/p/q/xy', '/q/a.txt', '/q/b/c.txt', '/q/c.txt', '/plain',
    ];
    const plain = globs.slice(0, -2); // without the open-ended ones that switch the prefilter off
    const sets = [globs, plain, ...plain.map((_, k) => plain.filter((_, j) => j !== k))];
    for (const set of sets) {
      const s = compileSelectors(set.map((g, i) => ({ id: `g${String(i).padStart(2, '0')}`, version: '1', globs: [g] })));
      for (const p of paths) {
        const want = set.flatMap((g, i) => (new RegExp(`^${globToRegExpSource(g)}$`, 's').test(p) ? [i] : []));
        const got = (s.match(p, p.slice(p.lastIndexOf('/') + 1)) ?? []).map((i) => Number(s.list[i]!.id.slice(1)));
        expect([p, got]).toEqual([p, want]);
      }
    }
  });
});
