#!/usr/bin/env node
// Import speed of the vulnerability database: records/s of the two real osv.dev exports, each into a
// fresh database and both together, plus uncached affected() lookups/s. A benchmark, not a test.
//
//   npm run build   (or: npx tsc -p tsconfig.build.json)
//   node bench/vulndb-import.mjs [--runs 3] [--data /work/shared/data/osv]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { importFeeds, VulnDb } from '../dist/vulndb/index.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt('--runs', '3'));
const data = resolve(opt('--data', '/work/shared/data/osv'));
const cases = [
  ['Go.zip', [join(data, 'Go.zip')]],
  ['AlmaLinux.zip', [join(data, 'AlmaLinux.zip')]],
  ['both', [join(data, 'Go.zip'), join(data, 'AlmaLinux.zip')]],
];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const dir = mkdtempSync(join(tmpdir(), 'drydock-vulndb-bench-'));
console.log('| case | records | median s | records/s | db MB | peak RSS MB |');
console.log('|---|---:|---:|---:|---:|---:|');
let lastDb;
try {
  for (const [name, files] of cases) {
    const times = [];
    let records = 0;
    let size = 0;
    for (let r = 0; r < runs; r++) {
      const db = join(dir, `${name}-${r}.db`);
      const t0 = performance.now();
      const s = await importFeeds(db, files.map((path) => ({ path })));
      times.push((performance.now() - t0) / 1000);
      records = s.inputs.reduce((a, i) => a + i.records, 0);
      size = statSync(db).size;
      lastDb = db;
    }
    const t = median(times);
    console.log(`| ${name} | ${records} | ${t.toFixed(2)} | ${Math.round(records / t)} | ${(size / 1e6).toFixed(1)} | ${Math.round(process.resourceUsage().maxRSS / 1024)} |`);
  }
  // uncached lookups (cache of one entry): every distinct (ecosystem, name) of the database, in turn
  const db = VulnDb.open({ path: lastDb, cacheSize: 1 });
  const Database = (await import('better-sqlite3')).default;
  const raw = new Database(lastDb, { readonly: true });
  const keys = raw.prepare('SELECT DISTINCT ecosystem, name FROM affected').raw().all();
  raw.close();
  const t0 = performance.now();
  let n = 0;
  for (let r = 0; r < 3; r++) for (const [e, k] of keys) { db.affected(e, k); n++; }
  const secs = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  let m = 0;
  for (let r = 0; r < 3; r++) for (const [e] of keys) { db.affected(e, 'no-such-package'); m++; }
  const secsMiss = (performance.now() - t1) / 1000;
  db.close();
  console.log(`\nuncached affected(): ${Math.round(n / secs)} lookups/s over ${keys.length} distinct names (hits); ${Math.round(m / secsMiss)} lookups/s for absent names`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
