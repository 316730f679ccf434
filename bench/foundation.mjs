#!/usr/bin/env node
// Benchmarks of the foundation issue: image reading speed and memory, `inspect --verify` against the
// floor, and `drydock copy` against `skopeo copy`. A benchmark, not a test: it runs `node dist/cli.js`
// (build first), skopeo and a floor script as child processes, measures wall time and peak RSS with
// `/usr/bin/time -f '%e %M'`, alternates the tools of a case within each round, and prints a markdown
// table of medians (time) and maxima (RSS).
//
//   npm run build
//   node bench/foundation.mjs [--corpus /var/tmp/drydock-corpus] [--runs 3] [--only files,verify,copy]
//                             [--cases REGEX] [--registry 127.0.0.1:5000] [--json FILE]
//                             [--baseline OTHER_CHECKOUT]
//
// --baseline runs OTHER_CHECKOUT/dist/cli.js as one more tool ("base") in every files/verify/copy case,
// alternated with this build, for before/after figures from one run (e.g. a `git worktree` of an older
// commit, built with `npx tsc -p tsconfig.build.json`).
//
// The corpus is what ../shared/corpus/build.sh makes (REGISTRY=127.0.0.1:5000 for the copy cases).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const corpus = resolve(opt('--corpus', '/var/tmp/drydock-corpus'));
const images = join(corpus, 'images');
const runs = Number(opt('--runs', '3'));
const only = new Set(opt('--only', 'files,verify,copy').split(','));
const filter = new RegExp(opt('--cases', '.'));
const registry = opt('--registry', '127.0.0.1:5000');
const jsonOut = opt('--json', '');
const baseline = opt('--baseline', '');
const baseCli = baseline ? resolve(baseline, 'dist/cli.js') : '';
if (baseCli && !existsSync(baseCli)) {
  console.error(`${baseCli} is missing`);
  process.exit(2);
}
const cli = resolve(new URL('..', import.meta.url).pathname, 'dist/cli.js');
if (!existsSync(cli)) {
  console.error('dist/cli.js is missing: run `npm run build` first');
  process.exit(2);
}
if (!existsSync('/usr/bin/time')) {
  console.error('/usr/bin/time is missing: apt-get install -y time');
  process.exit(2);
}
const work = mkdtempSync(join(tmpdir(), 'drydock-bench-'));

// The floor: the least work a verified read must do. For compressed layers: read every layer blob once,
// hash it (the blob digest), gunzip it and hash the tar (the diffID), all layers at once. For a
// docker-archive (uncompressed layer tars inside one tar): read and hash every byte of the archive once.
// Same definition as ../shared/bench/sbom-bench.mjs.
const floorJs = join(work, 'floor.cjs');
writeFileSync(
  floorJs,
  `
const fs = require('fs'), zlib = require('zlib'), path = require('path'), crypto = require('crypto');
const [mode, where] = process.argv.slice(2);
if (mode === 'archive') {
  const h = crypto.createHash('sha256'); let n = 0;
  fs.createReadStream(where, { highWaterMark: 1 << 20 }).on('data', d => { n += d.length; h.update(d); })
    .on('end', () => { h.digest(); console.log(JSON.stringify({ bytes: n })); });
} else {
  const idx = JSON.parse(fs.readFileSync(path.join(where, 'index.json')));
  const blob = d => path.join(where, 'blobs', ...d.split(':'));
  const man = JSON.parse(fs.readFileSync(blob(idx.manifests[0].digest)));
  Promise.all(man.layers.map(l => new Promise((ok, ko) => {
    const src = fs.createReadStream(blob(l.digest), { highWaterMark: 1 << 20 });
    const blobHash = crypto.createHash('sha256'), diffHash = crypto.createHash('sha256');
    let s = src; src.on('data', d => blobHash.update(d));
    if (l.mediaType.endsWith('gzip')) s = src.pipe(zlib.createGunzip({ chunkSize: 1 << 20 }));
    let n = 0; s.on('data', d => { n += d.length; if (s !== src) diffHash.update(d); })
      .on('end', () => { blobHash.digest(); diffHash.digest(); ok(n); }).on('error', ko);
  }))).then(ns => console.log(JSON.stringify({ bytes: ns.reduce((a, b) => a + b, 0) })));
}
`,
);

function timed(cmd, argv) {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const last = (r.stderr ?? '').trim().split('\n').pop().split(' ');
  const ok = r.status === 0;
  return { ok, s: Number(last[0]), rssMB: Math.round(Number(last[1]) / 1024), err: ok ? '' : (r.stderr ?? '').slice(-600) };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const drydock = (...a) => () => timed('node', [cli, ...a]);
const base = (...a) => () => timed('node', [baseCli, ...a]);
/** this build, plus the baseline build when --baseline is given */
const builds = (...a) => (baseCli ? { drydock: drydock(...a), base: base(...a) } : { drydock: drydock(...a) });
const floor = (mode, where) => () => timed('node', [floorJs, mode, where]);

// ---- cases: each is a set of tools run in turn within a round ----
const forms = {
  'app oci-archive': { target: `oci-archive:${images}/app.oci.tar`, floor: ['layers', `${images}/app`] },
  'app docker-archive': { target: `docker-archive:${images}/app.docker.tar`, floor: ['archive', `${images}/app.docker.tar`] },
  'app oci-dir': { target: `oci-dir:${images}/app`, floor: ['layers', `${images}/app`] },
  'app-zstd oci-archive': { target: `oci-archive:${images}/app-zstd.oci.tar`, floor: null },
  'big oci-archive': { target: `oci-archive:${images}/big.oci.tar`, floor: ['layers', `${images}/big`] },
  'big docker-archive': { target: `docker-archive:${images}/big.docker.tar`, floor: ['archive', `${images}/big.docker.tar`] },
};

const cases = [];
if (only.has('files')) {
  for (const [name, f] of Object.entries(forms)) {
    cases.push({
      group: 'files',
      name: `files ${name}`,
      command: `node dist/cli.js inspect ${f.target} --files --format json --no-cache -o OUT.json`,
      tools: builds('inspect', f.target, '--files', '--format', 'json', '--no-cache', '-o', join(work, 'files.json')),
    });
  }
}
if (only.has('verify')) {
  for (const [name, f] of Object.entries(forms)) {
    const tools = builds('inspect', f.target, '--verify', '--no-cache', '--format', 'json', '-o', join(work, 'verify.json'));
    if (f.floor) tools.floor = floor(...f.floor);
    cases.push({
      group: 'verify',
      name: `verify ${name}`,
      command: `node dist/cli.js inspect ${f.target} --verify --no-cache --format json -o OUT.json`,
      tools,
    });
  }
}
if (only.has('copy')) {
  const dest = join(work, 'copy-dest');
  const fresh = (run) => () => {
    rmSync(dest, { recursive: true, force: true });
    const r = run();
    rmSync(dest, { recursive: true, force: true });
    return r;
  };
  for (const image of ['app']) {
    cases.push({
      group: 'copy',
      name: `copy ${image} registry → oci-dir`,
      command:
        `node dist/cli.js copy ${registry}/corpus/${image}:latest oci-dir:DEST:latest --insecure-registry ${registry}` +
        ` | skopeo copy --src-tls-verify=false docker://${registry}/corpus/${image}:latest oci:DEST:latest`,
      tools: {
        drydock: fresh(drydock('copy', `${registry}/corpus/${image}:latest`, `oci-dir:${dest}:latest`, '--insecure-registry', registry)),
        ...(baseCli ? { base: fresh(base('copy', `${registry}/corpus/${image}:latest`, `oci-dir:${dest}:latest`, '--insecure-registry', registry)) } : {}),
        skopeo: fresh(() =>
          timed('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${registry}/corpus/${image}:latest`, `oci:${dest}:latest`]),
        ),
      },
    });
  }
}

const rows = [];
for (const c of cases.filter((c) => filter.test(c.name))) {
  const res = Object.fromEntries(Object.keys(c.tools).map((k) => [k, []]));
  const names = Object.keys(c.tools);
  for (let i = 0; i < runs; i++) {
    // alternate the order of the tools between rounds so neither always runs on a warmer machine
    const order = i % 2 ? [...names].reverse() : names;
    for (const k of order) res[k].push(c.tools[k]());
  }
  const row = { group: c.group, name: c.name, command: c.command, runs };
  for (const [k, rs] of Object.entries(res)) {
    const good = rs.filter((r) => r.ok);
    row[k] =
      good.length === rs.length
        ? { s: +median(good.map((r) => r.s)).toFixed(2), all: good.map((r) => r.s), rssMB: Math.max(...good.map((r) => r.rssMB)) }
        : { failed: rs.find((r) => !r.ok).err };
  }
  rows.push(row);
  console.error(JSON.stringify(row));
}

const fmt = (x) => (!x ? '' : x.failed ? 'FAILED' : `${x.s.toFixed(2)} s`);
const rss = (x) => (!x || x.failed ? '' : `${x.rssMB} MB`);
const ratio = (a, b) => (a?.s && b?.s ? `${(a.s / b.s).toFixed(2)}×` : '');
console.log(`\n${cpus().length} cores, Node ${process.version}, ${runs} runs per tool, alternating; time = median, RSS = max\n`);
const groups = [...new Set(rows.map((r) => r.group))];
for (const g of groups) {
  const rs = rows.filter((r) => r.group === g);
  const bh = baseCli ? ' base time | base peak RSS |' : '';
  const bs = baseCli ? '---|---|' : '';
  const bc = (r) => (baseCli ? ` ${fmt(r.base)} | ${rss(r.base)} |` : '');
  if (g === 'files') {
    console.log(`| case | drydock time | drydock peak RSS |${bh}\n|---|---|---|${bs}`);
    for (const r of rs) console.log(`| ${r.name} | ${fmt(r.drydock)} | ${rss(r.drydock)} |${bc(r)}`);
  } else if (g === 'verify') {
    console.log(`| case | drydock time | drydock peak RSS | floor time | drydock / floor |${bh}\n|---|---|---|---|---|${bs}`);
    for (const r of rs) console.log(`| ${r.name} | ${fmt(r.drydock)} | ${rss(r.drydock)} | ${fmt(r.floor) || 'n/a'} | ${ratio(r.drydock, r.floor)} |${bc(r)}`);
  } else {
    console.log(`| case | drydock time | drydock peak RSS | skopeo time | skopeo peak RSS | drydock / skopeo |${bh}\n|---|---|---|---|---|---|${bs}`);
    for (const r of rs) console.log(`| ${r.name} | ${fmt(r.drydock)} | ${rss(r.drydock)} | ${fmt(r.skopeo)} | ${rss(r.skopeo)} | ${ratio(r.drydock, r.skopeo)} |${bc(r)}`);
  }
  console.log('');
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
rmSync(work, { recursive: true, force: true });
