#!/usr/bin/env node
// Manual measurement (not a test): walk the layers of an OCI layout straight from blobs/sha256/...
// and print throughput and peak RSS.
//
//   npx tsc -p tsconfig.build.json --outDir .tmp/dist
//   DRYDOCK_DIST=.tmp/dist node scripts/measure-layers.mjs /var/tmp/drydock-corpus/images/app [walk|build]
//
// `walk` (default) runs walkLayer on each layer alone; `build` runs buildImageFilesystem over all
// layers (squashed index included) with a few typical selectors.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const dist = resolve(process.env.DRYDOCK_DIST ?? new URL('../dist', import.meta.url).pathname);
const layers = await import(pathToFileURL(join(dist, 'layers/index.js')).href);
const dir = process.argv[2] ?? '/var/tmp/drydock-corpus/images/app';
const mode = process.argv[3] ?? 'walk';

const blob = (d) => join(dir, 'blobs', ...d.split(':'));
const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8'));
const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8'));
const compressionOf = (mt) => (mt.endsWith('gzip') ? 'gzip' : mt.endsWith('zstd') ? 'zstd' : 'none');

let peak = 0;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
const selectors = [
  { id: 'dpkg', version: '1', paths: ['/var/lib/dpkg/status'], globs: ['/var/lib/dpkg/status.d/*'] },
  { id: 'npm', version: '1', basenames: ['package.json'] },
  { id: 'python', version: '1', basenames: ['METADATA', 'PKG-INFO'] },
  { id: 'os', version: '1', paths: ['/etc/os-release', '/usr/lib/os-release'] },
];
const mb = (n) => (n / 1024 / 1024).toFixed(1);

if (mode === 'walk') {
  const spill = await layers.SpillStore.create();
  for (const [i, l] of manifest.layers.entries()) {
    const t0 = process.hrtime.bigint();
    const r = await layers.walkLayer(createReadStream(blob(l.digest), { highWaterMark: 1 << 20 }), {
      layerDigest: l.digest,
      compression: compressionOf(l.mediaType),
      expectedDiffId: config.rootfs.diff_ids[i],
      selectors: layers.compileSelectors(selectors),
      spill,
    });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    peak = Math.max(peak, process.memoryUsage.rss());
    console.log(
      `layer ${i} ${l.mediaType.split('.').pop()} ${mb(l.size)} MB -> ${mb(r.uncompressedSize)} MB, ${r.table.count} entries, ` +
        `${s.toFixed(2)} s, ${mb(l.size / s)} MB/s compressed, ${mb(r.uncompressedSize / s)} MB/s uncompressed, peak RSS ${mb(peak)} MB`,
    );
  }
  await spill.close();
} else {
  const image = {
    layers: manifest.layers.map((l, index) => ({ index, digest: l.digest, diffId: config.rootfs.diff_ids[index], size: l.size, mediaType: l.mediaType, compression: compressionOf(l.mediaType) })),
    openLayer: async (i) => createReadStream(blob(manifest.layers[i].digest), { highWaterMark: 1 << 20 }),
    verificationBinding: async (i) => {
      const st = statSync(blob(manifest.layers[i].digest));
      return `file:${blob(manifest.layers[i].digest)}|${st.size}|${st.mtimeMs}|${st.ino}`;
    },
  };
  const t0 = process.hrtime.bigint();
  const fs = await layers.buildImageFilesystem(image, { selectors, concurrency: Number(process.env.CONCURRENCY ?? 2) });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const total = image.layers.reduce((a, l) => a + l.size, 0);
  const unc = fs.layers.reduce((a, l) => a + (l.uncompressedSize ?? 0), 0);
  peak = Math.max(peak, process.memoryUsage.rss());
  global.gc?.();
  const entries = fs.layers.reduce((a, l) => a + l.entries, 0);
  console.log(
    `build: ${fs.layers.length} layers, ${entries} entries, ${mb(total)} MB -> ${mb(unc)} MB in ${s.toFixed(2)} s ` +
      `(${mb(total / s)} MB/s compressed, ${mb(unc / s)} MB/s uncompressed), peak RSS ${mb(peak)} MB, ` +
      `RSS after build ${mb(process.memoryUsage.rss())} MB, heap used ${mb(process.memoryUsage().heapUsed)} MB`,
  );
  const t1 = process.hrtime.bigint();
  const sq = fs.squashed();
  console.log(`squashed(): ${sq.length} paths in ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(0)} ms; selected npm: ${fs.selected('npm').length}, dpkg: ${fs.selected('dpkg').length}`);
  await fs.close();
}
clearInterval(sample);
