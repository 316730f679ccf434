#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli.js and the modules it imports) into dist/cli.js plus
// dist/cli-chunks/: loading ~160 ES modules one by one cost 25-60 ms of every command's start
// (docs/benchmarks.md). Lazy imports stay lazy (code splitting); npm packages stay external.
// The library entry (dist/index.js) and the per-module files are left as tsc wrote them.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

rmSync('dist/cli-chunks', { recursive: true, force: true });
await build({
  entryPoints: { cli: 'dist/cli.js' },
  outdir: 'dist',
  allowOverwrite: true,
  chunkNames: 'cli-chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
