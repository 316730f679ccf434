import { describe, expect, it } from 'vitest';
import { IssueLog } from '../core/issues.js';
import type { Cataloger } from '../catalog/types.js';
import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageId, type Package } from '../model/index.js';
import { buildImage, tempDir, writeOciLayout } from '../../test/testkit/index.js';
import { catalogerList, postProcess, sbomImage, selectCatalogers } from './sbom.js';

function fake(name: string, tags: Cataloger['tags'], impl?: Cataloger['catalog']): Cataloger {
  return { name, version: '1', tags, selector: { basenames: [`${name}.txt`] }, catalog: impl ?? (async () => ({ packages: [] })) };
}

const A = fake('os-a', ['os', 'installed', 'image', 'directory']);
const B = fake('lock-b', ['language', 'declared', 'directory']);
const C = fake('bin-c', ['binary', 'installed', 'image', 'directory']);
const ALL = [A, B, C];
const names = (cs: Cataloger[]) => cs.map((c) => c.name);

describe('selectCatalogers', () => {
  it('defaults by target kind', () => {
    expect(names(selectCatalogers(undefined, 'oci-dir', ALL))).toEqual(['os-a', 'bin-c']);
    expect(names(selectCatalogers(undefined, 'dir', ALL))).toEqual(['os-a', 'lock-b', 'bin-c']);
  });
  it('+ adds, - removes, a bare list replaces; tags and all work', () => {
    expect(names(selectCatalogers('+lock-b,-os-a', 'registry', ALL))).toEqual(['lock-b', 'bin-c']);
    expect(names(selectCatalogers(['binary'], 'registry', ALL))).toEqual(['bin-c']);
    expect(names(selectCatalogers('all,-declared', 'registry', ALL))).toEqual(['os-a', 'bin-c']);
    expect(() => selectCatalogers('nope', 'registry', ALL)).toThrow(/unknown cataloger or tag "nope"/);
  });
  it('catalogerList says what runs by default', () => {
    expect(catalogerList(ALL).map((c) => [c.name, c.defaultForImages, c.defaultForDirs])).toEqual([
      ['bin-c', true, true],
      ['lock-b', false, true],
      ['os-a', true, true],
    ]);
  });
});

describe('postProcess', () => {
  const layers = [
    { index: 0, digest: 'sha256:0', diffId: 'sha256:d0', createdBy: 'base' },
    { index: 1, digest: 'sha256:1', diffId: 'sha256:d1', createdBy: 'COPY app/' },
  ];
  const mk = (p: Omit<Package, 'id'>): Package => ({ ...p, id: packageId(p) });
  it('attributes layers, links owners, dedupes and sorts', () => {
    const os = mk({ type: 'deb', name: 'python3-requests', version: '2.28', locations: [{ path: '/var/lib/dpkg/status', layer: 0 }], foundBy: 'dpkg', metadata: { kind: 'dpkg', files: [{ path: '/usr/lib/python3/dist-packages/requests-2.28.egg-info/PKG-INFO' }] } });
    const py = mk({ type: 'pypi', name: 'requests', version: '2.28', locations: [{ path: '/usr/lib/python3/dist-packages/requests-2.28.egg-info/PKG-INFO', layer: 0 }], foundBy: 'python' });
    const npm = mk({ type: 'npm', name: 'x', version: '1', locations: [{ path: '/app/node_modules/x/package.json', layer: 1 }], foundBy: 'npm' });
    const r = postProcess([npm, py, os, { ...npm }], [{ from: npm.id, to: 'pkg-missing', type: 'depends-on' }], layers);
    expect(r.packages.map((p) => p.name)).toEqual(['python3-requests', 'x', 'requests']);
    expect(r.packages.find((p) => p.name === 'x')!.introducedBy).toEqual(layers[1]);
    expect(r.packages.find((p) => p.name === 'requests')!.ownedBy).toBe(os.id);
    expect(r.relationships).toEqual([{ from: os.id, to: py.id, type: 'owns-files-of' }]);
  });
});

describe('postProcess with an SBOM shipped in the image', () => {
  const layers = [{ index: 0, digest: 'sha256:0', diffId: 'sha256:d0' }, { index: 1, digest: 'sha256:1', diffId: 'sha256:d1' }];
  const mk = (p: Omit<Package, 'id'>): Package => ({ ...p, id: packageId(p) });
  it('merges a package the SBOM lists and a cataloger found into one, keeping the SBOM as evidence; keeps the rest', () => {
    const found = mk({ type: 'npm', name: 'lodash', version: '4.17.21', locations: [{ path: '/app/node_modules/lodash/package.json', layer: 1 }], foundBy: 'npm' });
    const listed = mk({ type: 'npm', name: 'lodash', version: '4.17.21', locations: [{ path: '/app/bom.cdx.json', layer: 1, role: 'evidence' }], foundBy: 'embedded-sbom', evidence: ['/app/bom.cdx.json'] });
    const other = mk({ type: 'npm', name: 'lodash', version: '4.17.20', locations: [{ path: '/app/bom.cdx.json', layer: 1, role: 'evidence' }], foundBy: 'embedded-sbom' });
    const root = mk({ type: 'npm', name: 'app', version: '1.0.0', locations: [{ path: '/app/bom.cdx.json', layer: 1, role: 'evidence' }], foundBy: 'embedded-sbom' });
    const r = postProcess([found, listed, other, root], [{ from: root.id, to: listed.id, type: 'depends-on' }], layers);
    expect(r.packages.map((p) => `${p.name}@${p.version}:${p.foundBy}`)).toEqual(['app@1.0.0:embedded-sbom', 'lodash@4.17.20:embedded-sbom', 'lodash@4.17.21:npm']);
    const kept = r.packages.find((p) => p.id === found.id)!;
    expect(kept.locations.map((l) => l.path)).toEqual(['/app/node_modules/lodash/package.json', '/app/bom.cdx.json']);
    expect(kept.evidence).toEqual(['/app/bom.cdx.json']);
    expect(r.relationships).toEqual([{ from: root.id, to: found.id, type: 'depends-on' }]);
  });
});

describe('postProcess with classifiers', () => {
  const layers = [{ index: 0, digest: 'sha256:0', diffId: 'sha256:d0' }];
  const mk = (p: Omit<Package, 'id'>): Package => ({ ...p, id: packageId(p) });
  it('drops a classifier finding in a file an OS package owns, keeps one in an unowned file', () => {
    const os = mk({ type: 'deb', name: 'openssl', version: '3.0.15-1', locations: [{ path: '/var/lib/dpkg/status', layer: 0 }], foundBy: 'dpkg', metadata: { kind: 'dpkg', files: [{ path: '/usr/bin/openssl' }] } });
    const owned = mk({ type: 'binary', name: 'openssl', version: '3.0.15', locations: [{ path: '/usr/bin/openssl', layer: 0 }], foundBy: 'binary-classifier', metadata: { kind: 'generic', classifier: 'openssl', path: '/usr/bin/openssl' } });
    const loose = mk({ type: 'binary', name: 'openssl', version: '3.3.0', locations: [{ path: '/opt/ssl/bin/openssl', layer: 0 }], foundBy: 'binary-classifier', metadata: { kind: 'generic', classifier: 'openssl', path: '/opt/ssl/bin/openssl' } });
    const r = postProcess([os, owned, loose], [], layers);
    expect(r.packages.map((p) => `${p.type}:${p.version}`).sort()).toEqual(['binary:3.3.0', 'deb:3.0.15-1']);
  });
});

describe('sbomImage', () => {
  it('tells a cataloger which paths the OS packages found before it own', async () => {
    const img = await buildImage({ layers: [{ createdBy: 'ADD x', entries: [{ path: '/usr/bin/tool', content: 'x' }, { path: '/opt/tool', content: 'y' }] }] });
    const os = fake('os', ['installed'], async (ctx) => {
      const p = { type: 'deb' as const, name: 'tool', version: '1', locations: [ctx.locate('/usr/bin/tool', 'evidence')], foundBy: 'os', metadata: { kind: 'dpkg' as const, files: [{ path: 'usr/bin/./tool' }] } };
      return { packages: [{ ...p, id: packageId(p) }] };
    });
    const answers: string[][] = [];
    const probe = fake('probe', ['installed'], async (ctx) => {
      answers.push([...(ctx.ownedByOsPackages?.(['/opt/tool', '/usr/bin/tool', '/nowhere']) ?? [])]);
      return { packages: [] };
    });
    const t = tempDir('drydock-sbom-unit-');
    try {
      writeOciLayout(join(t.dir, 'l'), [{ image: img, tag: 'v1' }]);
      await sbomImage(`oci-dir:${join(t.dir, 'l')}:v1`, { available: [probe, os, probe], issues: new IssueLog(), cacheDir: null });
      // before the OS cataloger ran, nothing; after it, the one path its package lists
      expect(answers).toEqual([[], ['/usr/bin/tool']]);
    } finally {
      t.cleanup();
    }
  });

  it('a cataloger that throws becomes an INTERNAL issue and the others go on', async () => {
    const img = await buildImage({ layers: [{ createdBy: 'ADD x', entries: [{ path: '/etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.0\n' }, { path: '/ok.txt', content: 'ok' }, { path: '/boom.txt', content: 'x' }] }] });
    const ok = fake('ok', ['installed'], async (ctx) => ({
      packages: ctx.files().map((f) => {
        const p = { type: 'generic' as const, name: 'thing', version: '1', locations: [ctx.locate(f.path, 'evidence')], foundBy: 'ok' };
        return { ...p, id: packageId(p) };
      }),
    }));
    const boom = fake('boom', ['installed'], async () => {
      throw new Error('kaput');
    });
    const t = tempDir('drydock-sbom-unit-');
    try {
      writeOciLayout(join(t.dir, 'l'), [{ image: img, tag: 'v1' }]);
      const inv = await sbomImage(`oci-dir:${join(t.dir, 'l')}:v1`, { available: [ok, boom], issues: new IssueLog(), cacheDir: null });
      expect(inv.packages.map((p) => [p.name, p.introducedBy?.createdBy, p.locations[0]?.layerDigest])).toEqual([['thing', 'ADD x', img.layers[0]!.digest]]);
      expect(inv.issues).toEqual([expect.objectContaining({ code: 'INTERNAL', message: expect.stringContaining('cataloger boom failed: kaput') })]);
      expect(inv.distro?.id).toBe('alpine');
      expect(inv.source.digest).toBe(img.manifest.digest);
      expect(inv.descriptor?.options?.catalogers).toEqual(['ok@1', 'boom@1']);
    } finally {
      t.cleanup();
    }
  });

  it('a warm run reuses the inventory of verified layers; another cataloger version or a changed source does not', async () => {
    const img = await buildImage({ layers: [{ createdBy: 'ADD x', entries: [{ path: '/ok.txt', content: 'ok' }] }] });
    let calls = 0;
    const mkOk = (version: string): Cataloger => ({
      ...fake('ok', ['installed'], async (ctx) => {
        calls++;
        ctx.issues.record({ code: 'ARCHIVE_CORRUPT', severity: 'warning', message: 'a warning from cataloging', path: '/ok.txt' });
        return {
          packages: ctx.files().map((f) => {
            const p = { type: 'generic' as const, name: 'thing', version: '1', locations: [ctx.locate(f.path, 'evidence')], foundBy: 'ok' };
            return { ...p, id: packageId(p) };
          }),
        };
      }),
      version,
    });
    const t = tempDir('drydock-sbom-unit-');
    try {
      writeOciLayout(join(t.dir, 'l'), [{ image: img, tag: 'v1' }]);
      const cacheDir = join(t.dir, 'cache');
      const run = (c: Cataloger) => sbomImage(`oci-dir:${join(t.dir, 'l')}:v1`, { available: [c], issues: new IssueLog(), cacheDir });
      const cold = await run(mkOk('1'));
      expect(calls).toBe(1);
      const events: string[] = [];
      const warm = await sbomImage(`oci-dir:${join(t.dir, 'l')}:v1`, { available: [mkOk('1')], issues: new IssueLog(), cacheDir, events: (e) => events.push(`${e.type}${'cached' in e ? `:${String(e.cached)}` : ''}`) });
      expect(calls).toBe(1);
      expect(warm).toEqual(cold);
      expect(warm.issues.map((i) => i.code)).toEqual(['ARCHIVE_CORRUPT']);
      expect(events).toContain('layer-done:true');
      await run(mkOk('2'));
      expect(calls).toBe(2);
      // the layout's blob is rewritten: its verification binding changes, the layer is read again
      const blob = join(t.dir, 'l', 'blobs', ...img.layers[0]!.digest.split(':'));
      writeFileSync(blob, readFileSync(blob));
      utimesSync(blob, new Date(0), new Date(0));
      await run(mkOk('1'));
      expect(calls).toBe(3);
    } finally {
      t.cleanup();
    }
  });

  it('file lists: kept beside the cached inventory, read on a warm run only when asked for, a miss when gone', async () => {
    const img = await buildImage({ layers: [{ createdBy: 'ADD x', entries: [{ path: '/os.txt', content: 'os' }] }] });
    let calls = 0;
    const os = fake('os', ['installed'], async (ctx) => {
      calls++;
      const p = { type: 'deb' as const, name: 'tool', version: '1', locations: [ctx.locate('/os.txt', 'database')], foundBy: 'os', metadata: { kind: 'dpkg' as const, files: [{ path: '/usr/bin/tool', digest: 'md5:00' }] } };
      return { packages: [{ ...p, id: packageId(p) }] };
    });
    const t = tempDir('drydock-sbom-unit-');
    try {
      writeOciLayout(join(t.dir, 'l'), [{ image: img, tag: 'v1' }]);
      const cacheDir = join(t.dir, 'cache');
      const run = (fileLists?: boolean) => sbomImage(`oci-dir:${join(t.dir, 'l')}:v1`, { available: [os], issues: new IssueLog(), cacheDir, ...(fileLists === undefined ? {} : { fileLists }) });
      const filesOf = (inv: Awaited<ReturnType<typeof run>>) => inv.packages.map((p) => (p.metadata as { files?: unknown }).files);
      // a cold run without the lists still caches them
      const coldWithout = await run(false);
      expect(filesOf(coldWithout)).toEqual([undefined]);
      const warmWith = await run();
      expect(calls).toBe(1);
      expect(filesOf(warmWith)).toEqual([[{ path: '/usr/bin/tool', digest: 'md5:00' }]]);
      const warmWithout = await run(false);
      expect(calls).toBe(1);
      expect(warmWithout).toEqual(coldWithout);
      // the inventory alone still serves a run without lists; one that wants them catalogs again
      const results = join(cacheDir, 'layers', 'results');
      const files = readdirSync(results);
      expect(files).toHaveLength(2);
      for (const f of files) if (!readFileSync(join(results, f), 'utf8').includes('"packages"')) rmSync(join(results, f));
      await run(false);
      expect(calls).toBe(1);
      expect(await run()).toEqual(warmWith);
      expect(calls).toBe(2);
    } finally {
      t.cleanup();
    }
  });
});
