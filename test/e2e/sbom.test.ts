/**
 * End-to-end tests of `drydock sbom` and `drydock catalogers` through the built CLI
 * (`node dist/cli.js`, built by `npm run build`): a testkit image with an os-release, a dpkg
 * status file and a node_modules package; and, when the corpus exists, the corpus app image
 * against its truth files. Assertions about an ecosystem are made only when its cataloger is
 * registered (`drydock catalogers --format json`).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, sandboxEnv, type CliRun } from '../harness/cli.js';
import { cyclonedxValidator, spdxValidator } from '../../src/sbom/testdata/schemas.js';
import { buildImage, tempDir, writeOciLayout, type BuiltImage } from '../testkit/index.js';

const CORPUS = process.env.DRYDOCK_CORPUS ?? '/var/tmp/drydock-corpus';
const APP = join(CORPUS, 'images', 'app.oci.tar');

type Run = CliRun;

let sandbox: { dir: string; cleanup: () => void };

function drydock(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Run> {
  return runCli(args, { cwd: sandbox.dir, env: sandboxEnv(sandbox.dir, env), timeoutMs });
}

interface CatalogerInfo {
  name: string;
  tags: string[];
  defaultForImages: boolean;
}
let catalogers: CatalogerInfo[] = [];
const has = (name: string) => catalogers.some((c) => c.name === name && c.defaultForImages);
const hasTag = (pred: (c: CatalogerInfo) => boolean) => catalogers.some((c) => c.defaultForImages && pred(c));

const DPKG_STATUS = `Package: zlib1g
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 160
Maintainer: Mark Brown <broonie@debian.org>
Architecture: amd64
Multi-Arch: same
Source: zlib
Version: 1:1.2.13.dfsg-1
Depends: libc6 (>= 2.14)
Description: compression library - runtime

Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12000
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u4
Description: GNU C Library: Shared libraries
`;

let image: BuiltImage;
let layout = '';

beforeAll(async () => {
  sandbox = tempDir('drydock-sbom-e2e-');
  for (const d of ['home', 'xdg-config', 'cache', 'tmp']) mkdirSync(join(sandbox.dir, d), { recursive: true });
  image = await buildImage({
    layers: [
      {
        createdBy: 'debootstrap bookworm',
        entries: [
          { path: '/etc/os-release', content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' },
          { path: '/var/lib/dpkg/status', content: DPKG_STATUS },
        ],
      },
      {
        createdBy: 'COPY app/ /app/',
        entries: [
          { path: '/app/package.json', content: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'left-pad': '^1.3.0' } }) },
          { path: '/app/node_modules/left-pad/package.json', content: JSON.stringify({ name: 'left-pad', version: '1.3.0', license: 'WTFPL' }) },
        ],
      },
    ],
  });
  layout = join(sandbox.dir, 'layout');
  writeOciLayout(layout, [{ image, tag: 'v1' }]);
  const r = await drydock(['catalogers', '--format', 'json']);
  expect(r.code, r.stderr).toBe(0);
  catalogers = JSON.parse(r.stdout) as CatalogerInfo[];
}, 60_000);

afterAll(() => sandbox?.cleanup());

describe('drydock catalogers', () => {
  it('lists every cataloger with its defaults, as a table and as JSON', async () => {
    const t = await drydock(['catalogers']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+TAGS\s+IMAGES\s+DIRS$/);
    for (const c of catalogers) {
      expect(typeof c.name).toBe('string');
      expect(t.stdout).toContain(c.name);
    }
  });
});

describe('drydock sbom on a testkit image', () => {
  const env = { SOURCE_DATE_EPOCH: '1700000000' };

  it('CycloneDX 1.6 validates, is reproducible, and attributes packages to layers', async () => {
    const a = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'cyclonedx-json', '--no-cache'], env);
    expect(a.code, a.stderr).toBe(0);
    const doc = JSON.parse(a.stdout);
    const v = cyclonedxValidator('1.6')(doc);
    expect(v.valid, v.errors).toBe(true);
    expect(doc.metadata.timestamp).toBe('2023-11-14T22:13:20Z');
    expect(doc.metadata.component.type).toBe('container');
    expect(doc.metadata.component.hashes[0].content).toBe(image.manifest.digest.slice('sha256:'.length));
    expect(doc.metadata.component.purl).toMatch(/^pkg:oci\//);
    // the same run with the cache (cold, then warm) gives the same bytes
    const b = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'cyclonedx-json'], env);
    const c = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'cyclonedx-json'], env);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).toBe(a.stdout);

    const prop = (comp: any, name: string) => comp.properties?.find((p: any) => p.name === name)?.value;
    if (catalogers.some((c) => c.defaultForImages)) {
      expect(doc.components.find((c: any) => c.type === 'operating-system')?.name).toBe('debian');
    }
    if (has('dpkg')) {
      const zlib = doc.components.find((c: any) => c.name === 'zlib1g');
      expect(zlib?.version).toBe('1:1.2.13.dfsg-1');
      expect(prop(zlib, 'drydock:layer:digest')).toBe(image.layers[0]!.digest);
      expect(prop(zlib, 'drydock:layer:createdBy')).toBe('debootstrap bookworm');
    }
    if (hasTag((c) => c.name.startsWith('npm'))) {
      const lp = doc.components.find((c: any) => c.name === 'left-pad');
      expect(lp?.version).toBe('1.3.0');
      expect(lp?.purl).toBe('pkg:npm/left-pad@1.3.0');
      expect(prop(lp, 'drydock:layer:digest')).toBe(image.layers[1]!.digest);
      expect(prop(lp, 'drydock:layer:diffId')).toBe(image.layers[1]!.diffId);
      expect(prop(lp, 'drydock:location:path')).toBe('/app/node_modules/left-pad/package.json');
    }
    const refs = new Set(doc.components.map((c: any) => c['bom-ref']));
    const deps = new Set(doc.dependencies.map((d: any) => d.ref));
    for (const r of refs) expect(deps.has(r)).toBe(true);
  }, 60_000);

  it('CycloneDX 1.5 and 1.4 validate against their schemas', async () => {
    for (const version of ['1.5', '1.4'] as const) {
      const r = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', `cyclonedx-json@${version}`], env);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.specVersion).toBe(version);
      const v = cyclonedxValidator(version)(doc);
      expect(v.valid, v.errors).toBe(true);
    }
  }, 60_000);

  it('SPDX 2.3 validates; json and table carry the same packages; --output writes a file', async () => {
    const out = join(sandbox.dir, 'out.spdx.json');
    const s = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'spdx-json', '--output', out], env);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stdout).toBe('');
    const spdx = JSON.parse(readFileSync(out, 'utf8'));
    const v = spdxValidator()(spdx);
    expect(v.valid, v.errors).toBe(true);
    expect(spdx.creationInfo.created).toBe('2023-11-14T22:13:20Z');

    const j = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'json'], env);
    expect(j.code, j.stderr).toBe(0);
    const inv = JSON.parse(j.stdout);
    expect(Object.keys(inv).slice(0, 3)).toEqual(['source', 'distro', 'packages']);
    expect(inv.source.digest).toBe(image.manifest.digest);
    expect(inv.source.layers.map((l: any) => l.createdBy)).toEqual(['debootstrap bookworm', 'COPY app/ /app/']);
    expect(inv.distro?.id).toBe('debian');
    expect(spdx.packages.length).toBe(inv.packages.length + 2); // + image + OS

    const t = await drydock(['sbom', `oci-dir:${layout}:v1`], env);
    expect(t.code, t.stderr).toBe(0);
    if (inv.packages.length) {
      expect(t.stdout.split('\n')[0]).toMatch(/^NAME\s+VERSION\s+TYPE\s+LAYER\s+PATH$/);
      for (const p of inv.packages) expect(t.stdout).toContain(p.name);
    }
  }, 60_000);

  it('--catalogers: -name removes, an unknown name is a usage error', async () => {
    if (has('dpkg')) {
      const r = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'json', '--catalogers', '-dpkg'], env);
      expect(r.code, r.stderr).toBe(0);
      const inv = JSON.parse(r.stdout);
      expect(inv.packages.some((p: any) => p.type === 'deb')).toBe(false);
      expect(inv.descriptor.options.catalogers.some((c: string) => c.startsWith('dpkg@'))).toBe(false);
    }
    const bad = await drydock(['sbom', `oci-dir:${layout}:v1`, '--catalogers', 'no-such-cataloger']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown cataloger or tag "no-such-cataloger"/);
    const fmt = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'sarif']);
    expect(fmt.code).toBe(2);
  }, 60_000);
});

describe.skipIf(!existsSync(APP))('drydock sbom on the corpus app image', () => {
  let inv: any;
  let cdx: any;

  beforeAll(async () => {
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const c = await drydock(['sbom', `oci-archive:${APP}`, '--format', 'cyclonedx-json', '--no-cache'], env, 240_000);
    expect(c.code, c.stderr).toBe(0);
    cdx = JSON.parse(c.stdout);
    const j = await drydock(['sbom', `oci-archive:${APP}`, '--format', 'json'], env, 240_000);
    expect(j.code, j.stderr).toBe(0);
    inv = JSON.parse(j.stdout);
  }, 600_000);

  it('the CycloneDX output validates against the 1.6 schema', () => {
    const v = cyclonedxValidator('1.6')(cdx);
    expect(v.valid, v.errors).toBe(true);
    expect(cdx.components.length).toBe(inv.packages.length + (inv.distro ? 1 : 0));
  });

  it.skipIf(!existsSync(join(CORPUS, 'truth', 'app.dpkg.tsv')))('dpkg packages agree with the truth file and come from the debootstrap layer', () => {
    if (!has('dpkg')) return;
    const truth = readFileSync(join(CORPUS, 'truth', 'app.dpkg.tsv'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'))
      .map(([name, version]) => `${name} ${version}`)
      .sort();
    const debs = inv.packages.filter((p: any) => p.type === 'deb');
    expect([...new Set(debs.map((p: any) => `${p.name} ${p.version}`))].sort()).toEqual([...new Set(truth)]);
    for (const p of debs) {
      expect(p.introducedBy?.index, p.name).toBe(0);
      expect(p.introducedBy?.createdBy, p.name).toContain('debootstrap');
    }
  });

  it.skipIf(!existsSync(join(CORPUS, 'truth', 'app.npm-ls.json')))('npm packages equal `npm ls --all` and come from the COPY app/ layer', () => {
    const tree = JSON.parse(readFileSync(join(CORPUS, 'truth', 'app.npm-ls.json'), 'utf8'));
    const truth = new Set<string>();
    const walk = (deps: Record<string, any> | undefined) => {
      for (const [name, d] of Object.entries(deps ?? {})) {
        if (d.version) truth.add(`${name}@${d.version}`);
        walk(d.dependencies);
      }
    };
    walk(tree.dependencies);
    const npm = inv.packages.filter((p: any) => p.type === 'npm');
    const ours = new Set<string>(npm.map((p: any) => `${p.namespace ? `@${p.namespace}/` : ''}${p.name}@${p.version}`));
    expect([...truth].filter((x) => !ours.has(x))).toEqual([]);
    expect([...ours].filter((x) => !truth.has(x))).toEqual([]);
    for (const p of npm) expect(p.introducedBy?.createdBy, p.name).toContain('COPY app/');
  });

  it.skipIf(!existsSync(join(CORPUS, 'truth', 'app.python.tsv')))('Python distributions equal importlib.metadata, owned by their Debian packages', () => {
    const norm = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');
    const truth = readFileSync(join(CORPUS, 'truth', 'app.python.tsv'), 'utf8').split('\n').filter(Boolean).map((l) => {
      const [n, v] = l.split('\t');
      return `${norm(n!)}@${v}`;
    });
    const py = inv.packages.filter((p: any) => p.type === 'pypi');
    expect(py.map((p: any) => `${norm(p.name)}@${p.version}`).sort()).toEqual([...truth].sort());
    for (const p of py) expect(p.ownedBy, p.name).toBeTruthy();
  });

  it.skipIf(!existsSync(join(CORPUS, 'truth', 'app.go.txt')))('Go modules and Go versions equal `go version -m`, from the COPY bin/ layer', () => {
    // truth: "<path>: go1.19" then tab-separated "path|mod|dep|=>|build" lines
    const truth = new Map<string, Set<string>>();
    let cur: Set<string> | undefined;
    for (const line of readFileSync(join(CORPUS, 'truth', 'app.go.txt'), 'utf8').split('\n')) {
      const head = /^(\S+): go(\S+)$/.exec(line);
      if (head) {
        cur = new Set([`stdlib@${head[2]}`]);
        truth.set(head[1]!.split('/').pop()!, cur);
        continue;
      }
      const f = line.split('\t');
      if (cur && (f[1] === 'dep' || f[1] === 'mod')) cur.add(`${f[2]}@${f[3]}`);
    }
    expect(truth.size).toBeGreaterThan(0);
    for (const [bin, mods] of truth) {
      const path = `/usr/local/bin/${bin}`;
      const go = inv.packages.filter((p: any) => p.type === 'golang' && p.locations.some((l: any) => l.path === path));
      expect(new Set(go.map((p: any) => `${p.namespace ? `${p.namespace}/` : ''}${p.name}@${p.version}`)), bin).toEqual(mods);
      for (const p of go) expect(p.introducedBy?.createdBy, p.name).toContain('COPY bin/');
    }
  });

  it.skipIf(!existsSync(join(CORPUS, 'truth', 'app.jars.txt')))('every jar of the image is reported as a Maven package', () => {
    const jars = readFileSync(join(CORPUS, 'truth', 'app.jars.txt'), 'utf8').split('\n').filter(Boolean);
    const maven = inv.packages.filter((p: any) => p.type === 'maven');
    for (const jar of jars) {
      expect(maven.some((p: any) => p.locations.some((l: any) => l.path.endsWith(`/${jar}`))), jar).toBe(true);
    }
  });

  it('reports nothing beyond the truth but what a classifier explains with evidence', () => {
    const compared = new Set(['deb', 'npm', 'pypi', 'golang', 'maven']);
    const others = inv.packages.filter((p: any) => !compared.has(p.type));
    for (const p of others) expect(p.evidence?.length ?? 0, `${p.type} ${p.name}`).toBeGreaterThan(0);
  });
});
