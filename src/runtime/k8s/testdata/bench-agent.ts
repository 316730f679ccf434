/**
 * Benchmark: the agent's steady-state CPU with 50 pods. A Kubernetes API stand-in serves 50 simulated
 * pods and a watch with churn (a status-only MODIFIED every 2 s, a pod replaced every 10 s); the agent
 * runs as a child process reporting to a stand-in server; its CPU time comes from /proc/PID/stat over
 * a minute after a warm-up. Run from a build of the project (see docs/benchmarks.md):
 *   node BUILD/src/runtime/k8s/testdata/bench-agent.js [seconds=60] [pods=50]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { churnPods, startFakeKubeApi } from './api-server.js';
import { podList, simulatedPods } from './fixtures.js';

const seconds = Number(process.argv[2] ?? 60);
const n = Number(process.argv[3] ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-agent-'));
const pods = simulatedPods(n);
const api = await startFakeKubeApi();
api.list = () => podList(pods, '30000');
api.watch = () => ({ hold: true });

let reports = 0;
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    reports++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ added: 0, changed: 0, removed: 0, unchanged: n }));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), 'agent-child.js'), api.writeKubeconfig(dir), serverUrl, 'ddk_bench', '30000'], { stdio: ['ignore', 'inherit', 'inherit'] });
const ticks = (): number => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime (fields 14 and 15), in clock ticks
};

const stopChurn = churnPods(api, pods);

await new Promise((r) => setTimeout(r, 10_000)); // warm-up: start, list, first report, JIT
const t0 = ticks();
const r0 = reports;
const w0 = Date.now();
await new Promise((r) => setTimeout(r, seconds * 1000));
const t1 = ticks();
const wall = (Date.now() - w0) / 1000;
const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
stopChurn();
child.kill('SIGTERM');
const cpuSeconds = (t1 - t0) / 100; // CLK_TCK is 100 on Linux
console.log(JSON.stringify({
  pods: n, wallSeconds: Number(wall.toFixed(1)), cpuSeconds, cpuPercentOfOneCore: Number(((cpuSeconds / wall) * 100).toFixed(2)),
  reports: reports - r0, watchEvents: Math.floor(seconds / 2) + Math.floor(seconds / 10), rssMiB: Number((rss / 1024).toFixed(1)),
}));
await new Promise((r) => setTimeout(r, 500));
server.close();
await api.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
