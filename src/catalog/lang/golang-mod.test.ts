import { describe, expect, it } from 'vitest';
import type { Package } from '../../model/package.js';
import { runCatalogerOnDir } from '../testing.js';

import { goModCataloger, parseGoMod } from './golang-mod.js';

const nv = (p: Package) => `${p.namespace ? `${p.namespace}:` : ""}${p.name}@${p.version}`;

const GOMOD = `module example.com/app

go 1.22

toolchain go1.22.1

require github.com/single/dep v1.0.0

require (
	golang.org/x/sys v0.20.0 // indirect
	"github.com/quoted/dep" v2.1.0+incompatible
	github.com/old/lib v1.0.0
	github.com/local/lib v0.3.0
	github.com/bad/version v1.2.0
)

replace github.com/old/lib => github.com/new/lib v1.2.0

replace (
	github.com/local/lib v0.3.0 => ../local
)

exclude github.com/bad/version v1.2.0

retract v1.0.1 // oops
`;

describe('go.mod (dir: targets)', () => {
  it('parses directives', () => {
    const m = parseGoMod(GOMOD);
    expect(m.module).toBe('example.com/app');
    expect(m.require).toHaveLength(6);
    expect(m.require.find((r) => r.path === 'golang.org/x/sys')!.indirect).toBe(true);
    expect(m.replace).toEqual([
      { from: 'github.com/old/lib', to: 'github.com/new/lib', toVersion: 'v1.2.0' },
      { from: 'github.com/local/lib', fromVersion: 'v0.3.0', to: '../local' },
    ]);
    expect(() => parseGoMod('require a\n')).toThrow(/line 1/);
  });

  it('reports requirements with replacements and exclusions applied', async () => {
    const r = await runCatalogerOnDir(goModCataloger, { 'go.mod': GOMOD, 'broken/go.mod': 'replace x =>\n' });
    expect(r.packages.map(nv).sort()).toEqual([
      'github.com/local/lib@v0.3.0',
      'github.com/new/lib@v1.2.0',
      'github.com/quoted/dep@v2.1.0+incompatible',
      'github.com/single/dep@v1.0.0',
      'golang.org/x/sys@v0.20.0',
    ]);
    const sys = r.packages.find((p) => p.name === 'golang.org/x/sys')!;
    expect(sys).toMatchObject({ type: 'golang', purl: 'pkg:golang/golang.org/x/sys@v0.20.0', metadata: { indirect: true, mainModule: 'example.com/app' } });
    expect(r.packages.find((p) => p.name === 'github.com/new/lib')!.metadata).toMatchObject({ replaces: { path: 'github.com/old/lib', version: 'v1.0.0' } });
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]!.path).toContain('broken/go.mod');
  });
});
