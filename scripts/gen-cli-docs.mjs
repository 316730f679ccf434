#!/usr/bin/env node
// Regenerates the option tables and the format matrix of docs/cli.md from the CLI's declarations
// (src/cli/options.ts OPTIONS, the commander commands). Run after `npm run build`:
//   node scripts/gen-cli-docs.mjs          rewrite docs/cli.md
//   node scripts/gen-cli-docs.mjs --check  exit 1 when docs/cli.md is stale (src/cli/docs.test.ts checks the same)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { renderCliDoc, generatedCliDocs } = await import(new URL('../dist/cli/docs.js', import.meta.url).href).catch((e) => {
  console.error(`gen-cli-docs: cannot load dist/cli/docs.js (run npm run build first): ${e.message}`);
  process.exit(2);
});
const file = `${root}docs/cli.md`;
const doc = readFileSync(file, 'utf8');
const next = renderCliDoc(doc, await generatedCliDocs());
if (process.argv.includes('--check')) {
  if (next !== doc) {
    console.error('docs/cli.md is stale: run npm run build && node scripts/gen-cli-docs.mjs');
    process.exit(1);
  }
  console.log('docs/cli.md is current');
} else if (next !== doc) {
  writeFileSync(file, next);
  console.log('docs/cli.md updated');
} else {
  console.log('docs/cli.md is current');
}
