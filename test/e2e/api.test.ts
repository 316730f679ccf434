/**
 * The library API as a user meets it: `import('drydock')` resolved through package.json
 * `exports["."]` of the built package (run from the package directory, which Node allows as a
 * self-reference), on an image built by the testkit.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, tempDir, whiteout, writeOciArchive } from '../testkit/index.js';

const ROOT = join(import.meta.dirname, '../..');
if (process.env.CI && !existsSync(join(ROOT, 'dist/index.js'))) throw new Error('dist/ is missing: scripts/test.sh builds before testing');

describe.skipIf(!existsSync(join(ROOT, 'dist/index.js')))('library API from the package root', () => {
  let work: { dir: string; cleanup: () => void };
  let archive: string;

  beforeAll(async () => {
    work = tempDir('drydock-api-');
    const image = await buildImage({
      layers: [
        [
          { path: '/etc/', type: 'dir' },
          { path: '/etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.0\n' },
          { path: '/usr/', type: 'dir' },
          { path: '/usr/lib/', type: 'dir' },
          { path: '/usr/lib/os-release', type: 'symlink', linkname: '../../etc/os-release' },
          { path: '/tmp/', type: 'dir' },
          { path: '/tmp/secret', content: 'x' },
        ],
        [whiteout('/tmp/secret')],
      ],
    });
    archive = join(work.dir, 'img.tar');
    await writeOciArchive(archive, [{ image, tag: 'v1' }]);
  });
  afterAll(() => work?.cleanup());

  it('opens an image, reads selected files through symlinks, and lists layers', () => {
    const script = `
      const d = await import('drydock');
      const image = await d.openImage(${JSON.stringify(`oci-archive:${archive}:v1`)});
      const fs = await d.buildImageFilesystem(image, { cache: null, selectors: [{ id: 'os', version: '1', paths: ['/etc/os-release', '/usr/lib/os-release'] }] });
      const out = {
        digest: image.digest,
        layers: fs.layers.map((l) => ({ diffId: l.diffId, verified: l.verified })),
        diffIds: image.config.rootfs.diff_ids,
        osRelease: (await fs.readFile('/usr/lib/os-release'))?.toString(),
        paths: fs.squashed().map((f) => f.path),
        codes: Object.keys(d.ERROR_CODES).length,
      };
      await fs.close(); await image.close();
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(out.layers.map((l: { diffId: string }) => l.diffId)).toEqual(out.diffIds);
    expect(out.layers.every((l: { verified: boolean }) => l.verified)).toBe(true);
    expect(out.osRelease).toBe('ID=alpine\nVERSION_ID=3.20.0\n');
    expect(out.paths).toContain('/usr/lib/os-release');
    expect(out.paths).not.toContain('/tmp/secret');
    expect(out.codes).toBeGreaterThan(10);
  });

  it('compares versions, builds a database and scans an image through the package root', () => {
    const feeds = join(work.dir, 'feeds');
    const script = `
      const { mkdirSync, writeFileSync } = await import('node:fs');
      const d = await import('drydock');
      mkdirSync(${JSON.stringify(feeds)}, { recursive: true });
      // facts of a real advisory: CVE-2024-0727 in Alpine 3.20's openssl, fixed in 3.3.0-r6 (made-up range start)
      writeFileSync(${JSON.stringify(join(feeds, 'a.json'))}, JSON.stringify({ id: 'ALPINE-CVE-2024-0727', modified: '2024-03-01T00:00:00Z', affected: [{ package: { ecosystem: 'Alpine:v3.20', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.3.0-r6' }] }] }] }));
      const db = ${JSON.stringify(join(work.dir, 'v.db'))};
      await d.importFeeds(db, [{ path: ${JSON.stringify(feeds)} }]);
      const r = await d.scanImage(${JSON.stringify(`oci-archive:${archive}:v1`)}, { db: { path: db }, cacheDir: null });
      console.log(JSON.stringify({
        cmp: [d.compareVersions('deb', '1:1.0-1', '2.0-1'), d.compareVersions('pypi', '1.0rc1', '1.0'), d.compareVersions('rpm', '1.0', '1.0-1')],
        distro: r.inventory.distro?.id, findings: r.findings.length, digest: r.db.digest, eco: r.distroStatus?.ecosystem,
        sarif: JSON.parse(d.encodeScanReport(r, 'sarif')).version,
      }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.cmp).toEqual([1, -1, -1]);
    expect(out).toMatchObject({ distro: 'alpine', findings: 0, sarif: '2.1.0' });
    expect(out.digest).toMatch(/^sha256:/);
  });

  it('turns a wrong target into a coded error', () => {
    const script = `
      const d = await import('drydock');
      try { await d.openImage('oci-archive:/nonexistent/x.tar'); } catch (e) { console.log(JSON.stringify({ code: e.code, exit: e.exitCode, isDd: e instanceof d.DrydockError })); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    const out = JSON.parse(r.stdout);
    expect(out.isDd).toBe(true);
    expect(out.exit).toBeGreaterThanOrEqual(3);
  });
});
