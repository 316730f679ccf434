import { describe, expect, it } from 'vitest';
import type { Package } from '../../model/package.js';
import { runCatalogerOnDir, runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { dotnetDepsCataloger, dotnetLockCataloger } from './dotnet.js';

const nv = (p: Package) => `${p.name}@${p.version}`;
const pj = (o: unknown) => JSON.stringify(o);

const DEPS = {
  runtimeTarget: { name: '.NETCoreApp,Version=v8.0/linux-x64' },
  targets: {
    '.NETCoreApp,Version=v8.0/linux-x64': {
      'App/1.0.0': { dependencies: { 'Newtonsoft.Json': '13.0.1', 'Lib': '1.0.0', 'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64': '8.0.1' } },
      'Newtonsoft.Json/13.0.1': { runtime: { 'lib/net6.0/Newtonsoft.Json.dll': {} } },
      'Lib/1.0.0': { dependencies: { 'Newtonsoft.Json': '13.0.1' } },
      'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.1': {},
    },
  },
  libraries: {
    'App/1.0.0': { type: 'project', serviceable: false, sha512: '' },
    'Newtonsoft.Json/13.0.1': { type: 'package', serviceable: true, sha512: 'sha512-abc', path: 'newtonsoft.json/13.0.1' },
    'Lib/1.0.0': { type: 'project' },
    'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.1': { type: 'runtimepack', serviceable: false, sha512: '' },
    'System.Runtime/4.0.0': { type: 'referenceassembly' },
  },
};

describe('.NET deps.json', () => {
  it('reads libraries and edges from targets', async () => {
    const img = await buildImage({ layers: [[{ path: '/app/App.deps.json', content: pj(DEPS) }, { path: '/app/Bad.deps.json', content: pj({ x: 1 }) }]] });
    const r = await runCatalogerOnImage(dotnetDepsCataloger, img);
    expect(r.packages.map(nv).sort()).toEqual(['App@1.0.0', 'Lib@1.0.0', 'Newtonsoft.Json@13.0.1', 'runtimepack.Microsoft.NETCore.App.Runtime.linux-x64@8.0.1']);
    const nj = r.packages.find((p) => p.name === 'Newtonsoft.Json')!;
    expect(nj).toMatchObject({ type: 'nuget', purl: 'pkg:nuget/Newtonsoft.Json@13.0.1', metadata: { libraryType: 'package', sha512: 'sha512-abc' } });
    const n = (id: string) => r.packages.find((p) => p.id === id)!.name;
    expect(r.relationships.map((e) => `${n(e.from)}>${n(e.to)}`).sort()).toEqual(['App>Lib', 'App>Newtonsoft.Json', 'App>runtimepack.Microsoft.NETCore.App.Runtime.linux-x64', 'Lib>Newtonsoft.Json']);
    expect(r.issues.map((i) => i.path)).toEqual(['/app/Bad.deps.json']);
  });
});

describe('packages.lock.json (dir: targets)', () => {
  const LOCK = {
    version: 1,
    dependencies: {
      'net6.0': {
        'Serilog.Sinks.Console': { type: 'Direct', requested: '[5.0.0, )', resolved: '5.0.0', contentHash: 'h1', dependencies: { Serilog: '3.0.0' } },
        Serilog: { type: 'Transitive', resolved: '3.0.0', contentHash: 'h2' },
        'My.Lib': { type: 'Project', dependencies: { Serilog: '[3.0.0, )' } },
      },
      'net8.0': { Serilog: { type: 'Transitive', resolved: '3.0.0' } },
    },
  };
  it('reads resolved packages per framework, merged, with edges', async () => {
    const r = await runCatalogerOnDir(dotnetLockCataloger, { 'src/packages.lock.json': pj(LOCK) });
    expect(r.packages.map(nv).sort()).toEqual(['Serilog.Sinks.Console@5.0.0', 'Serilog@3.0.0']);
    expect(r.packages.find((p) => p.name === 'Serilog')!.metadata).toMatchObject({ frameworks: ['net6.0', 'net8.0'] });
    expect(r.relationships).toHaveLength(1);
  });
  it('is silent on images', async () => {
    const img = await buildImage({ layers: [[{ path: '/src/packages.lock.json', content: pj(LOCK) }]] });
    expect((await runCatalogerOnImage(dotnetLockCataloger, img)).packages).toEqual([]);
  });
});
