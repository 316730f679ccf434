#!/usr/bin/env node
// Bundles the compiled CLI for a fast start (docs/benchmarks.md, issue 3):
// - dist/cli.js: the boot (src/cli.ts, cli/boot.ts, cli/code-cache.ts) as one small ES module;
// - dist/cli-chunks/*.cjs: the command line (dist/cli/run.js and what it imports) split into chunks
//   so that a command loads only what it needs (lazy imports stay lazy), as CommonJS, because Node 20
//   can compile CommonJS through vm.Script with a V8 code cache (cli/code-cache.ts) and ES modules not.
//   esbuild splits only ES modules, so the chunks are built as ES modules first and each is then
//   turned into CommonJS, its relative imports renamed to the .cjs files. npm packages stay external.
// The library entry (dist/index.js) and the per-module files are left as tsc wrote them.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { build, transform } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' };

rmSync('dist/cli-chunks', { recursive: true, force: true });

const esm = await build({
  ...common,
  entryPoints: { run: 'dist/cli/run.js' },
  outdir: 'dist',
  entryNames: 'cli-chunks/[name]',
  chunkNames: 'cli-chunks/[name]-[hash]',
  splitting: true,
  format: 'esm',
  sourcemap: 'inline',
  write: false,
});

// relative imports between chunks: `from "./x.js"`, `import "./x.js"` and `import("./x.js")`
const RELATIVE = /((?:\bfrom|\bimport)\s*\(?\s*)"(\.\/[^"]+)\.js"/g;

mkdirSync('dist/cli-chunks', { recursive: true });
let count = 0;
// names this build's chunks; the boot keys the code cache with it (cli/code-cache.ts)
const buildId = createHash('sha256');
for (const out of [...esm.outputFiles].sort((x, y) => (x.path < y.path ? -1 : 1))) {
  if (!out.path.endsWith('.js')) continue;
  const file = out.path.replace(/\.js$/, '.cjs');
  const name = basename(file);
  const source = out.text
    .replace(RELATIVE, (_m, lead, path) => `${lead}"${path}.cjs"`);
  const cjs = await transform(source, {
    loader: 'js',
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // .mjs: an ES module as Node sees it, so a default import of a CommonJS package is its
    // module.exports even where the package sets __esModule (ae-cvss-calculator)
    sourcefile: basename(out.path).replace(/\.js$/, '.mjs'),
    sourcemap: 'external',
    // ES modules are strict; keep them so. import.meta.url: the chunk's own URL, as before
    banner: source.includes('import.meta.url')
      ? '"use strict";\nvar __drydockModuleUrl = require("node:url").pathToFileURL(__filename).href;'
      : '"use strict";',
    define: { 'import.meta.url': '__drydockModuleUrl' },
    // import() becomes require: a chunk loaded later goes through the code cache like the rest, and
    // a script compiled from a code cache cannot import() on Node 20 (packages that are ES modules
    // load through require(esm), Node >= 20.19)
    supported: { 'dynamic-import': false },
    logLevel: 'warning',
  });
  writeFileSync(file, `${cjs.code}//# sourceMappingURL=${name}.map\n`);
  writeFileSync(`${file}.map`, cjs.map);
  if (/require\("\.\/[^"]+\.js"\)/.test(cjs.code)) throw new Error(`bundle-cli: ${name} still requires a .js chunk`);
  if (/\bimport\s*\(/.test(cjs.code)) throw new Error(`bundle-cli: ${name} still has an import()`);
  buildId.update(`${name}\0${cjs.code}\0`);
  count++;
}
if (!count) throw new Error('bundle-cli: esbuild produced no chunks');

// the boot: everything up to the first chunk, in one file
await build({
  ...common,
  entryPoints: ['dist/cli.js'],
  outfile: 'dist/cli.js',
  allowOverwrite: true,
  format: 'esm',
  sourcemap: 'linked',
  define: { __DRYDOCK_BUILD__: JSON.stringify(buildId.digest('hex').slice(0, 16)) },
});
