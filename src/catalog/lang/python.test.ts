import { existsSync, readFileSync } from 'node:fs';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../image/open.js';
import type { Package } from '../../model/package.js';
import { runCatalogerOnDir, runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { normalisePyName, pythonInstalledCataloger, pythonLockCataloger, requirementName } from './python.js';
import { parse as parseToml } from './toml.js';

const nv = (p: Package) => `${p.name}@${p.version}`;

const SITE = '/usr/lib/python3/dist-packages';

describe('python installed', () => {
  it('normalises names and requirements', () => {
    expect(normalisePyName('Foo_Bar.baz')).toBe('foo-bar-baz');
    expect(requirementName("requests[socks] (>=2.0) ; python_version < '3'")).toBe('requests');
    expect(requirementName("pytest ; extra == 'test'")).toBeUndefined();
  });

  it('reads dist-info, egg-info (dir and file) and eggs, with RECORD, licenses and edges', async () => {
    const meta = (name: string, version: string, extra = '') => `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n${extra ? `${extra}\n` : ''}\nlong description\nLicense: not a header\n`;
    const egg = Buffer.from(zipSync({ 'EGG-INFO/PKG-INFO': Buffer.from(meta('EggPkg', '0.1')) }));
    const img = await buildImage({
      layers: [
        [
          { path: `${SITE}/Jinja2-3.1.2.dist-info/METADATA`, content: meta('Jinja2', '3.1.2', 'License: BSD-3-Clause\nRequires-Dist: MarkupSafe (>=2.0)\nRequires-Dist: Babel ; extra == "i18n"') },
          { path: `${SITE}/Jinja2-3.1.2.dist-info/RECORD`, content: 'jinja2/__init__.py,sha256=abc,100\n"jinja2/a,b.py",,\n../../../bin/jinja,,\n' },
          { path: `${SITE}/MarkupSafe-2.1.2.egg-info/PKG-INFO`, content: meta('MarkupSafe', '2.1.2', 'Classifier: License :: OSI Approved :: BSD License') },
          { path: `${SITE}/MarkupSafe-2.1.2.egg-info/installed-files.txt`, content: '../markupsafe/__init__.py\n' },
          { path: `${SITE}/six-1.16.0.egg-info`, content: meta('six', '1.16.0', 'License-Expression: MIT') },
          { path: `${SITE}/req-1.0.egg-info/PKG-INFO`, content: meta('req', '1.0') },
          { path: `${SITE}/req-1.0.egg-info/requires.txt`, content: 'six>=1\n\n[test]\npytest\n' },
          { path: `${SITE}/EggPkg-0.1.egg`, content: egg },
          { path: `${SITE}/bad.dist-info/METADATA`, content: 'Summary: nothing\n' },
          { path: `${SITE}/bad.egg`, content: 'not a zip' },
        ],
      ],
    });
    const r = await runCatalogerOnImage(pythonInstalledCataloger, img);
    const by = new Map(r.packages.map((p) => [p.name, p]));
    expect(r.packages.map(nv).sort()).toEqual(['EggPkg@0.1', 'Jinja2@3.1.2', 'MarkupSafe@2.1.2', 'req@1.0', 'six@1.16.0']);
    expect(by.get('Jinja2')).toMatchObject({ purl: 'pkg:pypi/jinja2@3.1.2', licenses: ['BSD-3-Clause'] });
    expect(by.get('MarkupSafe')!.licenses).toEqual(['BSD-3-Clause']);
    expect(by.get('six')!.licenses).toEqual(['MIT']);
    const files = (by.get('Jinja2')!.metadata as { files: { path: string; digest?: string }[] }).files;
    expect(files).toEqual([
      { path: `${SITE}/jinja2/__init__.py`, digest: 'sha256:abc' },
      { path: `${SITE}/jinja2/a,b.py` },
      { path: '/usr/bin/jinja' },
    ]);
    expect((by.get('MarkupSafe')!.metadata as { files: unknown }).files).toEqual([{ path: `${SITE}/markupsafe/__init__.py` }]);
    expect(r.relationships).toEqual([
      { from: by.get('Jinja2')!.id, to: by.get('MarkupSafe')!.id, type: 'depends-on' },
      { from: by.get('req')!.id, to: by.get('six')!.id, type: 'depends-on' },
    ]);
    expect(r.issues.map((i) => i.path).sort()).toEqual([`${SITE}/bad.dist-info/METADATA`, `${SITE}/bad.egg`]);
  });
});

describe('python lock files (dir: targets)', () => {
  it('parses TOML', () => {
    expect(parseToml('a = "x\\ty"\n[[package]]\nname = \'n\'\ndeps = [\n "a", # c\n "b",\n]\nt = {x = 1, y.z = true}\n[[package]]\nname = """m"""\n')).toEqual({
      a: 'x\ty',
      package: [{ name: 'n', deps: ['a', 'b'], t: { x: 1, y: { z: true } } }, { name: 'm' }],
    });
    expect(() => parseToml('a = [1,')).toThrow();
  });

  it('reads poetry.lock, uv.lock, Pipfile.lock and pinned requirements', async () => {
    const poetry = `[[package]]\nname = "requests"\nversion = "2.28.1"\ncategory = "main"\n\n[package.dependencies]\nurllib3 = ">=1.21.1,<1.27"\n\n[[package]]\nname = "urllib3"\nversion = "1.26.12"\n\n[metadata]\nlock-version = "1.1"\n`;
    const uv = `version = 1\n[[package]]\nname = "app"\nversion = "0.1.0"\nsource = { editable = "." }\ndependencies = [{ name = "idna" }]\n\n[[package]]\nname = "idna"\nversion = "3.3"\nsource = { registry = "https://pypi.org/simple" }\n`;
    const pipfile = JSON.stringify({ default: { six: { version: '==1.16.0' } }, develop: { pytest: { version: '==7.0.0' }, loose: { version: '*' } } });
    const req = `# pins\nFlask==2.0.1 \\\n    --hash=sha256:abc\nrequests>=2\ncertifi===2022.9.24 ; python_version > "3"\n-r other.txt\n`;
    const r = await runCatalogerOnDir(pythonLockCataloger, { 'a/poetry.lock': poetry, 'b/uv.lock': uv, 'c/Pipfile.lock': pipfile, 'd/requirements-dev.txt': req });
    expect(r.packages.map(nv).sort()).toEqual(['Flask@2.0.1', 'certifi@2022.9.24', 'idna@3.3', 'pytest@7.0.0', 'requests@2.28.1', 'six@1.16.0', 'urllib3@1.26.12']);
    expect(r.relationships).toHaveLength(1);
    const bad = await runCatalogerOnDir(pythonLockCataloger, { 'poetry.lock': '[[package]\n' });
    expect(bad.issues).toHaveLength(1);
  });
});

const CORPUS = '/var/tmp/drydock-corpus/images/app';
const TRUTH = '/var/tmp/drydock-corpus/truth/app.python.tsv';

describe.skipIf(!existsSync(CORPUS) || !existsSync(TRUTH))('python differential: corpus app vs importlib.metadata', () => {
  it('finds every distribution of /usr/lib/python3/dist-packages', async () => {
    const truth = new Set(
      readFileSync(TRUTH, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [n, v] = l.split('\t');
          return `${normalisePyName(n!)}@${v}`;
        }),
    );
    const img = await openImage(`oci-dir:${CORPUS}:latest`);
    try {
      const r = await runCatalogerOnImage(pythonInstalledCataloger, img);
      const found = new Set(r.packages.filter((p) => p.locations[0]!.path.startsWith(`${SITE}/`)).map((p) => `${normalisePyName(p.name)}@${p.version}`));
      const missing = [...truth].filter((x) => !found.has(x));
      const extra = [...found].filter((x) => !truth.has(x));
      console.log(`python differential: truth ${truth.size}, found ${found.size}, missing ${missing.length}, extra ${extra.length}; all sites ${r.packages.length}, edges ${r.relationships.length}`);
      expect(missing).toEqual([]);
      expect(extra).toEqual([]);
    } finally {
      await img.close();
    }
  });
});
