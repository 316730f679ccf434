import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDrydockError } from '../core/errors.js';
import { sampleImage, tempDir, writeDockerArchive, type BuiltImage } from '../../test/testkit/index.js';
import { openImage } from './open.js';

const PODMAN_GLOBAL = ['--runtime', '/usr/sbin/runc', '--cgroup-manager=cgroupfs'];
const TAG = `localhost/drydock-engines-test:${process.pid}`;

function podmanWorks(): string | undefined {
  const r = spawnSync('podman', [...PODMAN_GLOBAL, 'images', '-q'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return `podman cannot run: ${r.error.message}`;
  if (r.status !== 0) return `podman fails in this sandbox: ${r.stderr.trim().slice(0, 200)}`;
  return undefined;
}

const skipReason = podmanWorks();
if (skipReason) console.warn(`skipping podman tests: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('podman: targets', () => {
  const { dir, cleanup } = tempDir('drydock-podman-test-');
  let img: BuiltImage;
  let loaded = false;

  beforeAll(async () => {
    img = await sampleImage();
    const f = join(dir, 'load.tar');
    await writeDockerArchive(f, [{ image: img, repoTags: [TAG] }]);
    execFileSync('podman', [...PODMAN_GLOBAL, 'load', '-q', '-i', f], { timeout: 60_000 });
    loaded = true;
  });

  afterAll(() => {
    if (loaded) spawnSync('podman', [...PODMAN_GLOBAL, 'rmi', '-f', TAG], { timeout: 60_000 });
    cleanup();
  });

  it('reads an image loaded into podman and cleans up its temp files', async () => {
    const before = readdirSync(tmpdir()).filter((n) => n.startsWith('drydock-podman-')).length;
    const r = await openImage(`podman:${TAG}`, {});
    expect(r.name).toBe(`podman:${TAG}`);
    // podman re-serialises the config on save, so only the diffIDs are stable
    expect(r.layers.map((l) => l.diffId)).toEqual(img.diffIds);
    for (let i = 0; i < r.layers.length; i++) {
      const s = await r.openLayer(i);
      for await (const _ of s) void _;
    }
    await r.close();
    const after = readdirSync(tmpdir()).filter((n) => n.startsWith('drydock-podman-')).length;
    expect(after).toBeLessThanOrEqual(before);
  });

  it('an unknown image → IMAGE_NOT_FOUND', async () => {
    try {
      await openImage('podman:localhost/drydock-no-such-image:0', {});
      expect.unreachable();
    } catch (e) {
      expect(isDrydockError(e, 'IMAGE_NOT_FOUND')).toBe(true);
    }
  });
});
