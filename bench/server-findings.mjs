#!/usr/bin/env node
// Benchmark of the server API: listing an image's findings, page size 100, with N stored findings,
// by C concurrent clients over loopback (real HTTP, keep-alive). A benchmark, not a test: run it by
// hand, record the figures in docs/benchmarks.md.
//
//   npm run build
//   node bench/server-findings.mjs [--findings 1000] [--clients 16] [--requests 4000] [--store sqlite|postgres://...]
//
// The database holds generated npm advisories, one per (package, advisory) pair, each affecting every
// version, so an SBOM of P packages gives exactly findings = P x A findings (asserted). Each client walks
// the image's pages (keyset cursor) again and again; every request's latency is recorded and the
// p50 / p99 / max, the throughput and the process's CPU time per request are printed. Before the run, every
// page is checked byte for byte against JSON.stringify of the store's findings with the image's triage.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Agent, request } from 'undici';

const CLIENT_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { base, auth, clients, requests } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const get = (url) => new Promise((resolve, reject) => {
  http.get(url, { headers: auth, agent }, (res) => {
    const chunks = [];
    res.on('data', (c) => chunks.push(c));
    res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    res.on('error', reject);
  }).on('error', reject);
});
(async () => {
  const latencies = [];
  let done = 0, seen = 0;
  async function client() {
    let next;
    while (done < requests) {
      done++;
      const t0 = performance.now();
      const r = await get(next ? base + '&after=' + encodeURIComponent(next) : base);
      latencies.push(performance.now() - t0);
      if (r.status !== 200) throw new Error('list: ' + r.status + ' ' + JSON.stringify(r.body));
      seen += r.body.items.length;
      next = r.body.next;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const wall = performance.now() - t0;
  agent.destroy();
  parentPort.postMessage({ latencies, seen, wall });
})();
`;

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const FINDINGS = Number(opt('--findings', '1000'));
const CLIENTS = Number(opt('--clients', '16'));
const REQUESTS = Number(opt('--requests', '4000'));
const STORE = opt('--store', 'sqlite');
const dist = new URL('../dist/', import.meta.url);
const { importFeeds } = await import(new URL('vulndb/index.js', dist).href);
const { startServer } = await import(new URL('server/index.js', dist).href);
const { openStore } = await import(new URL('store/index.js', dist).href);

const work = mkdtempSync(join(tmpdir(), 'drydock-bench-server-'));
const PER_PACKAGE = 10;
const packages = Math.ceil(FINDINGS / PER_PACKAGE);
try {
  const feeds = join(work, 'feeds');
  mkdirSync(feeds);
  for (let p = 0; p < packages; p++) {
    for (let a = 0; a < PER_PACKAGE && p * PER_PACKAGE + a < FINDINGS; a++) {
      const id = `GHSA-bench-${String(p).padStart(4, '0')}-${a}`;
      writeFileSync(join(feeds, `${id}.json`), JSON.stringify({
        id, modified: '2025-01-01T00:00:00Z', summary: `generated advisory ${a} of bench-pkg-${p}`,
        severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
        affected: [{ package: { ecosystem: 'npm', name: `bench-pkg-${p}` }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '99.0.0' }] }] }],
      }));
    }
  }
  const dbPath = join(work, 'vuln.db');
  await importFeeds(dbPath, [{ path: feeds }]);

  let storeUrl = `sqlite:${join(work, 'store.sqlite')}`;
  let dropPg;
  if (STORE.startsWith('postgres')) {
    const pg = (await import('pg')).default;
    const name = `drydock_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: STORE });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const u = new URL(STORE);
    u.pathname = `/${name}`;
    storeUrl = u.toString();
    dropPg = async () => {
      const c = new pg.Client({ connectionString: STORE });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  const store = await openStore(storeUrl);
  const team = await store.createTeam('bench', 'bench');
  const { secret } = await store.createToken({ teamId: team.id, actor: 'bench' }, { name: 'bench', scope: 'write' });
  const server = await startServer({ store, listen: '127.0.0.1:0', vulnDbPath: dbPath });
  const digest = `sha256:${'e'.repeat(64)}`;
  const sbom = {
    bomFormat: 'CycloneDX', specVersion: '1.5', version: 1,
    components: Array.from({ length: packages }, (_, p) => ({ type: 'library', name: `bench-pkg-${p}`, version: '1.0.0', purl: `pkg:npm/bench-pkg-${p}@1.0.0` })),
  };
  const auth = { authorization: `Bearer ${secret}` };
  const agent = new Agent({ connections: CLIENTS, pipelining: 1 });
  const up = await request(`${server.url}/api/v1/sboms?repository=bench/app&digest=${digest}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(sbom), dispatcher: agent });
  const upBody = await up.body.json();
  if (up.statusCode !== 201 || upBody.findings !== FINDINGS) throw new Error(`upload: ${up.statusCode} ${JSON.stringify(upBody).slice(0, 300)}`);

  const ctx = { teamId: team.id, actor: 'bench' };
  // triage: image-level records appear on the findings of their vulnerability; a purl-level one does not
  await store.setTriage(ctx, { vulnerabilityId: 'GHSA-bench-0000-0', target: { digest }, state: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', reason: 'bench "quoted" \u00e9' });
  await store.setTriage(ctx, { vulnerabilityId: 'GHSA-bench-0003-4', target: { digest }, state: 'accepted', until: new Date(Date.now() + 86_400_000), reason: 'later' });
  await store.setTriage(ctx, { vulnerabilityId: 'GHSA-bench-0001-1', target: { purl: 'pkg:npm/bench-pkg-1@1.0.0' }, state: 'false_positive' });

  const base = `${server.url}/api/v1/images/${digest}/findings?limit=100`;
  // the response is byte for byte JSON.stringify({items, next}) of the store's findings with the image's triage
  {
    const triage = new Map((await store.listTriage(ctx, { target: { digest }, limit: 1000 })).items.map((t) => [t.vulnerabilityId, t]));
    let n, pages = 0, withTriage = 0;
    do {
      const r = await request(n ? `${base}&after=${encodeURIComponent(n)}` : base, { headers: auth, dispatcher: agent });
      const text = await r.body.text();
      const p = await store.listFindings(ctx, digest, { limit: 100, ...(n ? { after: n } : {}) });
      const items = p.items.map((f) => { const t = triage.get(f.vulnerabilityId); if (t) withTriage++; return { ...f, ...(t ? { triage: t } : {}) }; });
      const want = JSON.stringify(p.next ? { items, next: p.next } : { items });
      if (text !== want) throw new Error(`page ${pages}: the response differs from the store's findings:\n${text.slice(0, 400)}\n${want.slice(0, 400)}`);
      if (r.headers['content-type'] !== 'application/json; charset=utf-8') throw new Error(`content-type ${r.headers['content-type']}`);
      n = p.next;
      pages++;
    } while (n);
    if (pages !== Math.ceil(FINDINGS / 100) || withTriage !== (FINDINGS >= 35 ? 2 : 1)) throw new Error(`checked ${pages} pages, ${withTriage} findings with triage`);
  }
  // warm-up: one full walk
  { let n; do { const r = await request(n ? `${base}&after=${encodeURIComponent(n)}` : base, { headers: auth, dispatcher: agent }); n = (await r.body.json()).next; } while (n); }
  // the clients run in a worker thread: their JSON parsing does not share the server's event loop
  const cpu0 = process.cpuUsage();
  const { latencies, seen, wall } = await new Promise((resolve, reject) => {
    const w = new Worker(CLIENT_CODE, { eval: true, workerData: { base, auth, clients: CLIENTS, requests: REQUESTS } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  const row = {
    store: store.kind, findings: FINDINGS, clients: CLIENTS, requests: latencies.length, findingsServed: seen,
    p50_ms: +q(0.5).toFixed(2), p99_ms: +q(0.99).toFixed(2), max_ms: +latencies[latencies.length - 1].toFixed(2), req_per_s: Math.round(latencies.length / (wall / 1000)),
    // CPU of this process (server and client threads; not the PostgreSQL server) per request: less noisy than latency on a shared machine
    cpu_ms_per_req: +((cpu.user + cpu.system) / 1000 / latencies.length).toFixed(3),
  };
  console.log(JSON.stringify(row));
  console.log(`| ${row.store} | ${row.findings} | ${row.clients} | ${row.requests} | ${row.p50_ms} ms | ${row.p99_ms} ms | ${row.max_ms} ms | ${row.req_per_s} | ${row.cpu_ms_per_req} ms |`);
  await agent.close();
  await server.close();
  await store.close();
  await dropPg?.();
  if (row.p99_ms > 50) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
