#!/usr/bin/env node
// Benchmarks of the signing issue: `drydock sign` and `drydock verify` of the corpus `app` image in a
// local distribution registry, wall time with process start (median of --runs), and peak RSS; and
// `verify-blob` of a Sigstore bundle in process (a public-good bundle from the tests, warm, mean of 50).
// A benchmark, not a test: record the figures in docs/benchmarks.md.
//
//   npm run build
//   docker-registry serve CONFIG &      # a registry on 127.0.0.1:5000 (storage.delete.enabled: true)
//   node bench/sign.mjs [--corpus /var/tmp/drydock-corpus-ci] [--registry 127.0.0.1:5000] [--runs 7]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const corpus = resolve(opt('--corpus', process.env.DRYDOCK_CORPUS ?? '/var/tmp/drydock-corpus-ci'));
const registry = opt('--registry', '127.0.0.1:5000');
const runs = Number(opt('--runs', '7'));
const cli = resolve(import.meta.dirname, '..', 'dist', 'cli.js');
const archive = join(corpus, 'images', 'app.oci.tar');
for (const f of [cli, archive]) if (!existsSync(f)) (console.error(`${f} is missing`), process.exit(2));

const work = mkdtempSync(join(tmpdir(), 'drydock-sign-bench-'));
const env = { ...process.env, XDG_CACHE_HOME: join(work, 'cache'), DRYDOCK_PASSWORD: 'bench-password' };
const image = `${registry}/bench/app:1`;
const net = ['--insecure-registry', registry, '--quiet'];
const time = (argv) => {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, cli, ...argv], { env, cwd: work, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`drydock ${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const [s, kb] = r.stderr.trim().split('\n').at(-1).split(' ');
  return { ms: Number(s) * 1000, mb: Number(kb) / 1024 };
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  time(['copy', `oci-archive:${archive}`, image, ...net]);
  time(['generate-key-pair']);
  const rows = [];
  for (const [name, argv] of [
    ['--version', ['--version']],
    ['sign', ['sign', image, '--key', 'cosign.key', ...net]],
    ['verify', ['verify', image, '--key', 'cosign.pub', ...net]],
  ]) {
    const xs = [];
    for (let i = 0; i < runs; i++) xs.push(time(argv));
    rows.push({ name, median: median(xs.map((x) => x.ms)), min: Math.min(...xs.map((x) => x.ms)), rss: Math.max(...xs.map((x) => x.mb)) });
  }
  console.log('\n| command | median ms | min ms | peak RSS MB |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.median.toFixed(0)} | ${r.min.toFixed(0)} | ${r.rss.toFixed(0)} |`);
  console.log(`\nverify-blob of a bundle in process (warm, mean of 50): ${(await verifyBlobInProcess()).toFixed(1)} ms`);
  time(['clean', image, '--type', 'signature', ...net]);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** the sigstore-conformance bundle of the tests, checked against the public-good root shipped in @sigstore/tuf */
async function verifyBlobInProcess() {
  const dist = resolve(import.meta.dirname, '..', 'dist', 'sign', 'sigstore');
  const { verifyBundle } = await import(pathToFileURL(join(dist, 'verify.js')).href);
  const { publicGoodTrustedRoot } = await import(pathToFileURL(join(dist, 'trusted-root.js')).href);
  const data = resolve(import.meta.dirname, '..', 'src', 'sign', 'sigstore', 'testdata');
  const blob = readFileSync(join(data, 'a.txt'));
  const bundle = readFileSync(join(data, 'a.txt.sigstore.json'), 'utf8');
  const opts = {
    trustedRoot: publicGoodTrustedRoot(),
    policy: {
      subject: 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
      issuer: 'https://token.actions.githubusercontent.com',
    },
  };
  for (let i = 0; i < 5; i++) verifyBundle(bundle, blob, opts);
  const n = 50;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (!verifyBundle(bundle, blob, opts).verified) throw new Error('the bundle did not verify');
  return (performance.now() - t0) / n;
}
