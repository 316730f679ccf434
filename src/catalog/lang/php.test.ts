import { describe, expect, it } from 'vitest';
import type { Package } from '../../model/package.js';
import { runCatalogerOnDir, runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { phpInstalledCataloger, phpLockCataloger } from './php.js';

const nv = (p: Package) => `${p.namespace}/${p.name}@${p.version}`;
const pj = (o: unknown) => JSON.stringify(o);

const MONOLOG = { name: 'monolog/monolog', version: '3.5.0', type: 'library', license: ['MIT'], require: { php: '>=8.1', 'psr/log': '^2.0 || ^3.0' }, dist: { url: 'https://x/monolog.zip', shasum: '' } };
const PSRLOG = { name: 'psr/log', version: '3.0.0', license: ['MIT'] };

describe('composer installed.json', () => {
  it('reads v2 and v1 layouts with require edges and dev flags', async () => {
    const img = await buildImage({
      layers: [
        [
          { path: '/app/vendor/composer/installed.json', content: pj({ packages: [MONOLOG, PSRLOG, { name: 'phpunit/phpunit', version: '10.0.0' }], dev: true, 'dev-package-names': ['phpunit/phpunit'] }) },
          { path: '/old/vendor/composer/installed.json', content: pj([{ ...PSRLOG, version: '1.1.4' }, { name: 'noversion/x' }]) },
          { path: '/bad/vendor/composer/installed.json', content: '{"packages": [' },
        ],
      ],
    });
    const r = await runCatalogerOnImage(phpInstalledCataloger, img);
    expect(r.packages.map(nv).sort()).toEqual(['monolog/monolog@3.5.0', 'phpunit/phpunit@10.0.0', 'psr/log@1.1.4', 'psr/log@3.0.0']);
    const mono = r.packages.find((p) => p.name === 'monolog')!;
    expect(mono).toMatchObject({ type: 'composer', purl: 'pkg:composer/monolog/monolog@3.5.0', licenses: ['MIT'] });
    expect(mono.locations[0]).toMatchObject({ path: '/app/vendor/composer/installed.json', role: 'database' });
    expect(r.packages.find((p) => p.name === 'phpunit')!.metadata).toMatchObject({ dev: true });
    expect(r.relationships).toEqual([{ from: mono.id, to: r.packages.find((p) => nv(p) === 'psr/log@3.0.0')!.id, type: 'depends-on' }]);
    expect(r.issues.map((i) => i.path).sort()).toEqual(['/bad/vendor/composer/installed.json', '/old/vendor/composer/installed.json']);
  });
});

describe('composer.lock (dir: targets)', () => {
  it('reads packages and packages-dev', async () => {
    const r = await runCatalogerOnDir(phpLockCataloger, { 'composer.lock': pj({ packages: [MONOLOG, PSRLOG], 'packages-dev': [{ name: 'phpunit/phpunit', version: '10.0.0' }] }) });
    expect(r.packages.map(nv).sort()).toEqual(['monolog/monolog@3.5.0', 'phpunit/phpunit@10.0.0', 'psr/log@3.0.0']);
    expect(r.packages.every((p) => p.locations[0]!.role === 'lockfile')).toBe(true);
    expect(r.relationships).toHaveLength(1);
  });
  it('is silent on images', async () => {
    const img = await buildImage({ layers: [[{ path: '/app/composer.lock', content: pj({ packages: [PSRLOG] }) }]] });
    expect((await runCatalogerOnImage(phpLockCataloger, img)).packages).toEqual([]);
  });
});
