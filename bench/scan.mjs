#!/usr/bin/env node
// Benchmarks of the scanning issue. A benchmark, not a test: run it by hand, record the figures in
// docs/benchmarks.md.
//
//   npm run build
//   node bench/scan.mjs [--corpus /var/tmp/drydock-corpus-ci] [--inventories 1000] [--records 100000] [--runs 3]
//
// 1. import rate of the real OSV exports (../shared/data/osv/Go.zip, AlmaLinux.zip), records/s;
// 2. match throughput: the corpus `app` image's inventory, varied into N inventories (each package
//    keeps its version or gets the next one, seeded), matched in one process against a database of
//    the real Go advisories plus generated ones around the app's packages and filler (>= --records
//    advisories in all). For every package there is one generated advisory "fixed in the next version":
//    the number of generated findings is known in advance and asserted;
// 3. warm `drydock scan` of the app oci-archive (layer cache and inventory result warm), wall time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { zipSync, strToU8 } from 'fflate';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const corpus = resolve(opt('--corpus', process.env.DRYDOCK_CORPUS ?? '/var/tmp/drydock-corpus-ci'));
const nInv = Number(opt('--inventories', '1000'));
const nRecords = Number(opt('--records', '100000'));
const runs = Number(opt('--runs', '3'));
const root = resolve(import.meta.dirname, '..');
const dist = (p) => join(root, 'dist', p);
const osvDir = resolve(root, '..', 'shared', 'data', 'osv');
const appArchive = join(corpus, 'images', 'app.oci.tar');
for (const f of [dist('cli.js'), join(osvDir, 'Go.zip'), appArchive]) {
  if (!existsSync(f)) {
    console.error(`${f} is missing (npm run build; the corpus; ../shared/data/osv)`);
    process.exit(2);
  }
}

const { importFeeds, VulnDb } = await import(dist('vulndb/index.js'));
const { Matcher, osPackageQuery, languagePackageQuery, distroEcosystems } = await import(dist('match/index.js'));
const { inventoryFromSbomFile } = await import(dist('scan/sbom-file.js'));

const work = mkdtempSync(join(tmpdir(), 'drydock-scan-bench-'));
const env = { ...process.env, XDG_CACHE_HOME: join(work, 'cache'), DRYDOCK_QUIET: '1' };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cli = (argv) => {
  const t = performance.now();
  const r = spawnSync(process.execPath, [dist('cli.js'), ...argv], { env, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`drydock ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  return { ms: performance.now() - t, stdout: r.stdout };
};

try {
  // ------------------------------------------------------------ 1. import rate of the real exports
  const importRows = [];
  for (const zip of ['Go.zip', 'AlmaLinux.zip']) {
    const times = [];
    let records = 0;
    for (let i = 0; i < runs; i++) {
      const db = join(work, `import-${zip}-${i}.db`);
      const t = performance.now();
      const s = await importFeeds(db, [{ path: join(osvDir, zip) }]);
      times.push(performance.now() - t);
      records = s.inputs.reduce((n, x) => n + x.records, 0);
      rmSync(db, { force: true });
    }
    const ms = median(times);
    importRows.push({ zip, records, s: ms / 1000, rate: Math.round(records / (ms / 1000)) });
  }

  // ------------------------------------------------------------ 2. match throughput
  cli(['sbom', `oci-archive:${appArchive}`, '--format', 'json', '--output', join(work, 'app.json')]);
  const base = await inventoryFromSbomFile(join(work, 'app.json'));
  const eco = distroEcosystems(base.distro, ['Debian:12', 'Debian:11', 'Ubuntu:22.04:LTS']);
  if (!eco) throw new Error('the app image has no distribution ecosystem Drydock matches');
  const bump = (v) => {
    const m = /^(.*?)(\d+)(\D*)$/.exec(v);
    return m ? `${m[1]}${Number(m[2]) + 1}${m[3]}` : undefined;
  };
  // the lookups of the matcher, one per package (OS packages through the distro ecosystem)
  const queryOf = (p) => (['deb', 'apk', 'rpm'].includes(p.type) ? osPackageQuery(p, eco.primary) : p.ownedBy ? undefined : languagePackageQuery(p));
  const records = [];
  const generated = new Map(); // ecosystem \0 name \0 original version → advisory id
  // names present at one version only: the generated advisory of a name then decides exactly one variant pair
  const versionsOf = new Map();
  for (const p of base.packages) {
    const q = queryOf(p);
    if (!q) continue;
    const k = `${q.ecosystem}\u0000${q.name}`;
    if (!versionsOf.has(k)) versionsOf.set(k, new Set());
    versionsOf.get(k).add(q.version);
  }
  let n = 0;
  for (const p of base.packages) {
    const q = queryOf(p);
    if (!q || !bump(q.version) || versionsOf.get(`${q.ecosystem}\u0000${q.name}`).size !== 1) continue;
    const key = `${q.ecosystem}\u0000${q.name}\u0000${q.version}`;
    if (generated.has(key)) continue;
    const id = `DRY-BENCH-${String(++n).padStart(6, '0')}`;
    generated.set(key, id);
    const fixed = bump(q.version).replace(/^v/, '');
    const affected = (events) => ({ package: { ecosystem: q.ecosystem, name: q.name }, ranges: [{ type: q.ecosystem === 'Go' ? 'SEMVER' : 'ECOSYSTEM', events }] });
    records.push({ id, modified: '2026-01-01T00:00:00Z', aliases: [], summary: 'generated', affected: [affected([{ introduced: '0' }, { fixed }])] });
    // four more around the same package that contain neither variant: real lookups, no findings
    const above = bump(bump(q.version)).replace(/^v/, '');
    for (let k = 0; k < 4; k++) {
      records.push({ id: `${id}-X${k}`, modified: '2026-01-01T00:00:00Z', affected: [affected([{ introduced: above }])] });
    }
  }
  const fillerEcos = [eco.primary, 'npm', 'PyPI', 'Go', 'Maven'];
  for (let i = 0; records.length < nRecords; i++) {
    const e = fillerEcos[i % fillerEcos.length];
    const name = e === 'Maven' ? `org.filler${i}:lib${i}` : e === 'Go' ? `example.com/filler/m${i}` : `filler-${i}`;
    records.push({ id: `DRY-FILL-${i}`, modified: '2026-01-01T00:00:00Z', affected: [{ package: { ecosystem: e, name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0.1' }] }] }] });
  }
  const files = {};
  for (const r of records) files[`${r.id}.json`] = strToU8(JSON.stringify(r));
  writeFileSync(join(work, 'generated.zip'), zipSync(files, { level: 1 }));
  const db = join(work, 'bench.db');
  const t0 = performance.now();
  await importFeeds(db, [{ path: join(osvDir, 'Go.zip') }, { path: join(work, 'generated.zip') }]);
  const importMs = performance.now() - t0;

  // N inventories: each package keeps its version or takes the next one (seeded, deterministic)
  let seed = 42;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const inventories = [];
  let expected = 0;
  let lookups = 0;
  for (let k = 0; k < nInv; k++) {
    const packages = base.packages.map((p) => {
      const q = queryOf(p);
      if (q) lookups++;
      const nb = bump(p.version);
      if (!q || !bump(q.version) || !nb || rnd() < 0.5) {
        if (q && bump(q.version) && generated.has(`${q.ecosystem}\u0000${q.name}\u0000${q.version}`)) expected++;
        return p;
      }
      const v = { ...p, version: nb };
      if (p.metadata?.kind === 'dpkg' && p.metadata.sourceVersion) v.metadata = { ...p.metadata, sourceVersion: bump(p.metadata.sourceVersion) };
      return v;
    });
    inventories.push({ ...base, packages });
  }
  const vdb = VulnDb.open(db);
  const times = [];
  let generatedFindings = 0;
  let allFindings = 0;
  for (let r = 0; r < runs; r++) {
    const matcher = new Matcher(vdb);
    generatedFindings = 0;
    allFindings = 0;
    const t = performance.now();
    for (const inv of inventories) {
      const fs = matcher.match(inv);
      allFindings += fs.length;
      for (const f of fs) if (f.match.advisoryIds.some((id) => id.startsWith('DRY-BENCH-'))) generatedFindings++;
    }
    times.push(performance.now() - t);
  }
  vdb.close();
  if (generatedFindings !== expected) throw new Error(`generated findings: expected ${expected}, got ${generatedFindings}`);
  const matchMs = median(times);

  // ------------------------------------------------------------ 3. warm scan of the app oci-archive
  const scanArgs = ['scan', `oci-archive:${appArchive}`, '--db', db, '--format', 'json', '--output', join(work, 'scan.json'), '--quiet'];
  const cold = cli(scanArgs).ms;
  const warm = [];
  for (let r = 0; r < runs; r++) warm.push(cli(scanArgs).ms);

  console.log('\n| import | records | median s | records/s |\n|---|---|---|---|');
  for (const r of importRows) console.log(`| ${r.zip} | ${r.records} | ${r.s.toFixed(2)} | ${r.rate} |`);
  console.log(`\nbench database: ${records.length} generated + 4291 Go advisories, imported in ${(importMs / 1000).toFixed(2)} s`);
  console.log('\n| inventories | packages each | lookups | findings (generated, asserted) | match s (median) | lookups/s |\n|---|---|---|---|---|---|');
  console.log(`| ${nInv} | ${base.packages.length} | ${lookups} | ${allFindings} (${generatedFindings}) | ${(matchMs / 1000).toFixed(2)} | ${Math.round(lookups / (matchMs / 1000))} |`);
  console.log(`\nscan of the app oci-archive: first ${(cold / 1000).toFixed(2)} s, warm median ${(median(warm) / 1000).toFixed(2)} s (runs ${warm.map((w) => (w / 1000).toFixed(2)).join(', ')})`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
