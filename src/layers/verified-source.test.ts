import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleImage, writeDockerArchive } from '../../test/testkit/index.js';
import { openImage } from '../image/open.js';
import { buildImageFilesystem } from './filesystem.js';
import { verifyLayers } from './verify.js';

const tmp = mkdtempSync(join(tmpdir(), 'drydock-verified-source-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('uncompressed layers whose digest is their diffID (hashed once, by the blob stream)', () => {
  it('an intact docker-archive reads and verifies', async () => {
    const f = join(tmp, 'ok.tar');
    await writeDockerArchive(f, [{ image: await sampleImage(), repoTags: ['sample:1'] }], { layout: 'legacy' });
    const r = await openImage(`docker-archive:${f}`, {});
    const fs = await buildImageFilesystem(r, { selectors: [] });
    expect(fs.stat('/etc/os-release')?.size).toBeGreaterThan(0);
    await fs.close();
    expect((await verifyLayers(r, { force: true })).every((l) => l.verified)).toBe(true);
    await r.close();
  });

  it('an altered layer fails with DIGEST_MISMATCH when walked or verified', async () => {
    const f = join(tmp, 'altered.tar');
    await writeDockerArchive(f, [{ image: await sampleImage(), repoTags: ['sample:1'] }], { layout: 'legacy' });
    const b = readFileSync(f);
    const at = b.indexOf('ID=debian');
    expect(at).toBeGreaterThan(0);
    b[at + 3] = 0x44; // 'debian' -> 'Debian': same size, still a valid tar, different bytes
    writeFileSync(f, b);
    const r = await openImage(`docker-archive:${f}`, {});
    expect(r.layers[0]!.compression).toBe('none');
    expect(r.layers[0]!.digest).toBe(r.layers[0]!.diffId);
    await expect(buildImageFilesystem(r, { selectors: [] })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await expect(verifyLayers(r, { force: true })).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    await r.close();
  });
});
