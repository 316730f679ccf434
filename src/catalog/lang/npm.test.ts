import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../image/open.js';
import type { Package } from '../../model/package.js';
import { runCatalogerOnDir, runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { installedNameOf, npmInstalledCataloger, npmLockCataloger, parsePnpmKey } from './npm.js';

const pj = (o: Record<string, unknown>) => JSON.stringify(o);
const nv = (p: Package) => `${p.namespace ? `@${p.namespace}/` : ''}${p.name}@${p.version}`;

describe('npm installed', () => {
  it('names only package.json files directly inside node_modules/<name> or node_modules/@scope/<name>', () => {
    expect(installedNameOf('/app/node_modules/a/package.json')).toBe('a');
    expect(installedNameOf('/app/node_modules/@s/b/package.json')).toBe('@s/b');
    expect(installedNameOf('/app/node_modules/a/node_modules/c/package.json')).toBe('c');
    expect(installedNameOf('/app/node_modules/a/lib/package.json')).toBeUndefined();
    expect(installedNameOf('/app/package.json')).toBeUndefined();
    expect(installedNameOf('/app/node_modules/.bin/package.json')).toBeUndefined();
  });

  it('finds packages, licenses, purls and resolves edges by node lookup', async () => {
    const img = await buildImage({
      layers: [
        [
          { path: '/app/package.json', content: pj({ name: 'root', version: '1.0.0', dependencies: { a: '^1' } }) },
          { path: '/app/node_modules/a/package.json', content: pj({ name: 'a', version: '1.0.0', license: 'MIT', dependencies: { b: '^2', '@s/c': '*' } }) },
          { path: '/app/node_modules/a/lib/package.json', content: pj({ type: 'module' }) },
          { path: '/app/node_modules/b/package.json', content: pj({ name: 'b', version: '1.0.0', license: { type: 'ISC' } }) },
          { path: '/app/node_modules/a/node_modules/b/package.json', content: pj({ name: 'b', version: '2.0.0', licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }] }) },
        ],
        [
          { path: '/app/node_modules/@s/c/package.json', content: pj({ name: '@s/c', version: '3.0.0', license: 'MIT License', dependencies: { b: '1' } }) },
          { path: '/app/node_modules/broken/package.json', content: '{not json' },
          { path: '/app/node_modules/nover/package.json', content: pj({ name: 'nover' }) },
        ],
      ],
    });
    const r = await runCatalogerOnImage(npmInstalledCataloger, img);
    const byNv = new Map(r.packages.map((p) => [nv(p), p]));
    expect([...byNv.keys()].sort()).toEqual(['@s/c@3.0.0', 'a@1.0.0', 'b@1.0.0', 'b@2.0.0']);
    expect(byNv.get('@s/c@3.0.0')).toMatchObject({ purl: 'pkg:npm/%40s/c@3.0.0', namespace: 's', licenses: ['MIT'] });
    expect(byNv.get('@s/c@3.0.0')!.locations[0]).toMatchObject({ path: '/app/node_modules/@s/c/package.json', layer: 1 });
    expect(byNv.get('b@1.0.0')!.licenses).toEqual(['ISC']);
    expect(byNv.get('b@2.0.0')!.licenses).toEqual(['MIT', 'Apache-2.0']);
    const edges = r.relationships.map((e) => `${nv(r.packages.find((p) => p.id === e.from)!)}>${nv(r.packages.find((p) => p.id === e.to)!)}`).sort();
    // a's b is its nested copy (2.0.0); @s/c's b is the hoisted one (1.0.0)
    expect(edges).toEqual(['@s/c@3.0.0>b@1.0.0', 'a@1.0.0>@s/c@3.0.0', 'a@1.0.0>b@2.0.0']);
    expect(r.issues.map((i) => i.path).sort()).toEqual(['/app/node_modules/broken/package.json', '/app/node_modules/nover/package.json']);
  });
});

describe('npm lock files (dir: targets)', () => {
  it('reads package-lock v3 with nested resolution', async () => {
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'root', version: '1.0.0', dependencies: { a: '^1' } },
        'node_modules/a': { version: '1.0.0', dependencies: { b: '^2' } },
        'node_modules/b': { version: '1.0.0', dev: true },
        'node_modules/a/node_modules/b': { version: '2.0.0' },
        'node_modules/ws': { resolved: 'packages/ws', link: true },
        'node_modules/alias': { name: 'real', version: '5.0.0' },
      },
    };
    const r = await runCatalogerOnDir(npmLockCataloger, { 'package-lock.json': pj(lock) });
    expect(r.packages.map(nv).sort()).toEqual(['a@1.0.0', 'b@1.0.0', 'b@2.0.0', 'real@5.0.0']);
    expect(r.packages.every((p) => p.locations[0]!.role === 'lockfile')).toBe(true);
    expect(r.relationships).toHaveLength(1);
    expect(nv(r.packages.find((p) => p.id === r.relationships[0]!.to)!)).toBe('b@2.0.0');
  });

  it('reads package-lock v1', async () => {
    const lock = {
      lockfileVersion: 1,
      dependencies: {
        a: { version: '1.0.0', requires: { b: '^1' }, dependencies: { c: { version: '3.0.0' } } },
        b: { version: '1.0.0', requires: { c: '^4' } },
        c: { version: '4.0.0' },
      },
    };
    const r = await runCatalogerOnDir(npmLockCataloger, { 'package-lock.json': pj(lock) });
    expect(r.packages.map(nv).sort()).toEqual(['a@1.0.0', 'b@1.0.0', 'c@3.0.0', 'c@4.0.0']);
    expect(r.relationships).toHaveLength(2);
  });

  it('reads yarn classic and berry', async () => {
    const classic = `# yarn lockfile v1\n\n"@s/x@^1.0.0", "@s/x@^1.1.0":\n  version "1.2.0"\n  resolved "https://r/x.tgz"\n  dependencies:\n    y "^2"\n\ny@^2:\n  version "2.1.0"\n`;
    const r = await runCatalogerOnDir(npmLockCataloger, { 'yarn.lock': classic });
    expect(r.packages.map(nv).sort()).toEqual(['@s/x@1.2.0', 'y@2.1.0']);
    expect(r.relationships).toHaveLength(1);
    const berry = `__metadata:\n  version: 6\n\n"@s/x@npm:^1.0.0":\n  version: 1.2.0\n  resolution: "@s/x@npm:1.2.0"\n  dependencies:\n    y: ^2\n\n"y@npm:^2":\n  version: 2.1.0\n  resolution: "y@npm:2.1.0"\n\n"root@workspace:.":\n  version: 0.0.0-use.local\n  resolution: "root@workspace:."\n`;
    const r2 = await runCatalogerOnDir(npmLockCataloger, { 'yarn.lock': berry });
    expect(r2.packages.map(nv).sort()).toEqual(['@s/x@1.2.0', 'y@2.1.0']);
    expect(r2.relationships).toHaveLength(1);
  });

  it('reads pnpm v6 and v9 locks', async () => {
    expect(parsePnpmKey('/@s/x/1.0.0_y@2.0.0')).toEqual({ name: '@s/x', version: '1.0.0' });
    expect(parsePnpmKey('/x@1.0.0(y@2.0.0)')).toEqual({ name: 'x', version: '1.0.0' });
    expect(parsePnpmKey('@s/x@1.0.0')).toEqual({ name: '@s/x', version: '1.0.0' });
    const v6 = `lockfileVersion: '6.0'\npackages:\n  /x@1.0.0:\n    resolution: {integrity: sha512-a}\n    dependencies:\n      '@s/y': 2.0.0\n  /@s/y@2.0.0:\n    resolution: {integrity: sha512-b}\n`;
    const r = await runCatalogerOnDir(npmLockCataloger, { 'pnpm-lock.yaml': v6 });
    expect(r.packages.map(nv).sort()).toEqual(['@s/y@2.0.0', 'x@1.0.0']);
    expect(r.relationships).toHaveLength(1);
    const v9 = `lockfileVersion: '9.0'\npackages:\n  x@1.0.0:\n    resolution: {integrity: sha512-a}\n  y@2.0.0:\n    resolution: {integrity: sha512-b}\nsnapshots:\n  x@1.0.0:\n    dependencies:\n      y: 2.0.0\n  y@2.0.0: {}\n`;
    const r9 = await runCatalogerOnDir(npmLockCataloger, { 'pnpm-lock.yaml': v9 });
    expect(r9.packages.map(nv).sort()).toEqual(['x@1.0.0', 'y@2.0.0']);
    expect(r9.relationships).toHaveLength(1);
  });

  it('ignores lock files in images and records bad ones', async () => {
    const img = await buildImage({ layers: [[{ path: '/app/package-lock.json', content: pj({ lockfileVersion: 3, packages: { 'node_modules/a': { version: '1' } } }) }]] });
    expect((await runCatalogerOnImage(npmLockCataloger, img)).packages).toEqual([]);
    const r = await runCatalogerOnDir(npmLockCataloger, { 'package-lock.json': '{', 'pnpm-lock.yaml': 'a: [' });
    expect(r.packages).toEqual([]);
    expect(r.issues).toHaveLength(2);
  });
});

const CORPUS = '/var/tmp/drydock-corpus/images/app';
const TRUTH = '/var/tmp/drydock-corpus/truth/app.npm-ls.json';

describe.skipIf(!existsSync(CORPUS) || !existsSync(TRUTH))('npm differential: corpus app vs npm ls --all', () => {
  it('finds every (name, version) npm ls reports and nothing else', async () => {
    const truth = new Set<string>();
    const walk = (deps: unknown) => {
      if (typeof deps !== 'object' || deps === null) return;
      for (const [name, v] of Object.entries(deps as Record<string, { version?: string; dependencies?: unknown }>)) {
        if (v.version) truth.add(`${name}@${v.version}`);
        walk(v.dependencies);
      }
    };
    walk((JSON.parse(readFileSync(TRUTH, 'utf8')) as { dependencies?: unknown }).dependencies);
    const img = await openImage(`oci-dir:${CORPUS}:latest`);
    try {
      const r = await runCatalogerOnImage(npmInstalledCataloger, img);
      // only the application's tree (/app); npm itself and other global installs are outside npm ls
      const found = new Set(r.packages.filter((p) => p.locations[0]!.path.startsWith('/app/')).map(nv));
      const missing = [...truth].filter((x) => !found.has(x));
      const extra = [...found].filter((x) => !truth.has(x));
      console.log(`npm differential: truth ${truth.size}, found ${found.size}, missing ${missing.length}, extra ${extra.length}`);
      expect(missing).toEqual([]);
      expect(extra).toEqual([]);
      expect(r.relationships.length).toBeGreaterThan(0);
    } finally {
      await img.close();
    }
  });
});
