/**
 * The real corpus (/var/tmp/drydock-corpus/images: app, base, distroless as OCI layouts plus
 * NAME.oci.tar and NAME.docker.tar), when present: all three forms resolve to the same config
 * digest and diffIDs. Skipped when the corpus is absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage } from './open.js';

const ROOT = process.env.DRYDOCK_CORPUS_IMAGES ?? '/var/tmp/drydock-corpus/images';
const NAMES = ['app', 'base', 'distroless'];

function forms(name: string): string[] {
  const out: string[] = [];
  const dir = join(ROOT, name);
  if (existsSync(join(dir, 'index.json'))) out.push(`oci-dir:${dir}`);
  for (const f of [`${name}.oci.tar`, join(name, `${name}.oci.tar`)]) if (existsSync(join(ROOT, f))) out.push(`oci-archive:${join(ROOT, f)}`);
  for (const f of [`${name}.docker.tar`, join(name, `${name}.docker.tar`)]) if (existsSync(join(ROOT, f))) out.push(`docker-archive:${join(ROOT, f)}`);
  return out;
}

describe.skipIf(!existsSync(ROOT))('real corpus', () => {
  for (const name of NAMES) {
    const targets = forms(name);
    it.skipIf(targets.length === 0)(`${name}: every form resolves to the same config and diffIDs (${targets.length} forms)`, async () => {
      const seen: { target: string; config: string; diffIds: string[] }[] = [];
      for (const t of targets) {
        const r = await openImage(t, {});
        try {
          seen.push({ target: t, config: r.configDigest, diffIds: r.layers.map((l) => l.diffId) });
          expect(r.layers.length).toBeGreaterThan(0);
        } finally {
          await r.close();
        }
      }
      for (const s of seen.slice(1)) {
        expect({ config: s.config, diffIds: s.diffIds }, s.target).toEqual({ config: seen[0]?.config, diffIds: seen[0]?.diffIds });
      }
    });
  }
});
