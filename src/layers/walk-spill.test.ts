/**
 * Regression: a selected file large enough to spill to disk must not stall the walk. The
 * spill writer's last write can report backpressure right before the writer ends, and an
 * ending write stream emits 'finish', never 'drain'; the walk used to wait for 'drain' forever
 * (and the process then exited with nothing to do and exit code 0).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../../test/testkit/index.js';
import { openImage } from '../image/open.js';
import { buildImageFilesystem } from './filesystem.js';
import { tempDir, writeOciLayout } from '../../test/testkit/index.js';

describe('layer walk with spilled files', () => {
  it.each([1.9, 3, 8])('keeps reading after a %s MiB selected file', async (mib) => {
    const big = randomBytes(Math.floor(mib * 1024 * 1024));
    const img = await buildImage({
      layers: [
        {
          entries: [
            { path: '/usr/local/bin/tool', content: big, mode: 0o755 },
            { path: '/usr/local/bin/other', content: big.subarray(0, 1_500_000), mode: 0o755 },
            { path: '/etc/after', content: 'still read\n' },
          ],
        },
      ],
    });
    const t = tempDir();
    try {
      writeOciLayout(t.dir, img);
      const image = await openImage(`oci-dir:${t.dir}:latest`);
      const fs = await buildImageFilesystem(image, {
        cache: null,
        selectors: [{ id: 'bin', version: '1', executables: true }, { id: 'etc', version: '1', paths: ['/etc/after'] }],
      });
      expect((await fs.readFile('/usr/local/bin/tool'))?.equals(big)).toBe(true);
      expect((await fs.readFile('/usr/local/bin/other'))?.length).toBe(1_500_000);
      expect((await fs.readFile('/etc/after'))?.toString()).toBe('still read\n');
      await fs.close();
      await image.close();
    } finally {
      t.cleanup();
    }
  }, 30_000);
});
