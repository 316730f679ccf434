/** drydock copy between local forms: digests kept, bad blobs refused, nothing half-written left behind. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../harness/cli.js';
import { buildImage, buildIndex, sampleImage, tempDir, writeOciLayout, type BuiltImage } from '../testkit/index.js';


function drydock(args: string[]): Promise<CliRun> {
  return runCli(args);
}

describe('drydock copy', () => {
  let work: { dir: string; cleanup: () => void };
  let img: BuiltImage;
  beforeAll(async () => {
    work = tempDir('drydock-copy-');
    img = await sampleImage();
  });
  afterAll(() => work.cleanup());

  it('oci-dir → oci-archive → oci-dir keeps the manifest digest; --all keeps the index', async () => {
    const src = join(work.dir, 'src');
    const arm = await buildImage({ platform: { os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: [[{ path: '/arm', content: 'arm' }]] });
    const index = buildIndex([img, arm]);
    writeOciLayout(src, [{ image: index, tag: 'multi' }]);
    const a = await drydock(['copy', `oci-dir:${src}:multi`, `oci-archive:${join(work.dir, 'x.tar')}:multi`, '--all', '--format', 'json', '-q']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).digest).toBe(index.digest);
    const b = await drydock(['copy', `oci-archive:${join(work.dir, 'x.tar')}:multi`, `oci-dir:${join(work.dir, 'back')}:one`, '--platform', 'linux/arm64', '--format', 'json', '-q']);
    expect(b.code, b.stderr).toBe(0);
    expect(JSON.parse(b.stdout).digest).toBe(arm.manifest.digest);
  });

  it('a blob altered by one byte is refused and the new destination is removed', async () => {
    const src = join(work.dir, 'bad-src');
    writeOciLayout(src, [{ image: img, tag: 'v1' }]);
    const layer = img.layers[0]!.digest;
    const file = join(src, 'blobs', ...layer.split(':'));
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(file, bytes);
    const dest = join(work.dir, 'bad-dest', 'layout');
    const r = await drydock(['copy', `oci-dir:${src}:v1`, `oci-dir:${dest}:v1`, '-q']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/DIGEST_MISMATCH/);
    expect(r.stderr).toContain(layer);
    expect(r.stderr).not.toMatch(/internal error|Unhandled/i);
    expect(existsSync(join(work.dir, 'bad-dest'))).toBe(false);
  });
});
