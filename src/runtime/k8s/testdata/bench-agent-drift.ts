/**
 * Benchmark: the agent's steady-state CPU with drift on. 50 simulated pods (a Kubernetes API stand-in
 * with churn, as bench-agent.ts) plus real podman containers of the corpus base image, one of them
 * drifted; the agent runs as its own process with the cluster and the podman runtime (workloads every
 * 30 s, drift of each container every DRIFT seconds) and reports to a stand-in server. CPU time is
 * utime + stime + cutime + cstime of /proc/PID/stat (podman's CLI runs as the agent's children) over
 * the window, after a warm-up that includes the first drift round. Run from a build of the project:
 *   node BUILD/src/runtime/k8s/testdata/bench-agent-drift.js [seconds=300] [pods=50] [containers=2] [drift=600]
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (process.argv[2] === 'child') {
  // the agent: cluster + podman runtime (this benchmark's containers only), drift on
  const [, , , kubeconfig, server, driftMs, label, cacheDir] = process.argv as string[];
  const { Agent } = await import('../../agent.js');
  const { KubeInventory } = await import('../inventory.js');
  const { PodmanCliRuntime } = await import('../../podman.js');
  const { filteredRuntime } = await import('../../testdata/filtered.js');
  const runtime = filteredRuntime(new PodmanCliRuntime(), (c) => c.labels['drydock.bench'] === label);
  const kube = new KubeInventory({ kubeconfig: kubeconfig! });
  await kube.start();
  let drifts = 0;
  const agent = new Agent({
    server: server!, token: 'ddk_bench', kube, runtime, intervalMs: 30_000, drift: { intervalMs: Number(driftMs), options: { cacheDir: cacheDir! } },
    onDrift: () => { drifts++; process.stdout.write(`drift ${drifts}\n`); }, onError: (e) => process.stderr.write(`agent: ${String(e)}\n`),
  });
  agent.start();
  process.on('SIGTERM', () => void agent.stop().then(() => kube.stop()).then(() => process.exit(0)));
} else {
  const { churnPods, startFakeKubeApi } = await import('./api-server.js');
  const { podList, simulatedPods } = await import('./fixtures.js');
  const seconds = Number(process.argv[2] ?? 300);
  const n = Number(process.argv[3] ?? 50);
  const containers = Number(process.argv[4] ?? 2);
  const driftSeconds = Number(process.argv[5] ?? 600);
  const corpus = [process.env.DRYDOCK_CORPUS, '/var/tmp/drydock-corpus', '/var/tmp/drydock-corpus-ci'].find((c) => c && existsSync(join(c, 'images', 'base.oci.tar')));
  if (!corpus) throw new Error('the corpus base image is needed (DRYDOCK_CORPUS)');
  const podman = (args: string[]) => {
    const r = spawnSync('podman', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`podman ${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const label = `bench-${process.pid}`;
  const tag = `localhost/drydock-bench-agent/base:${process.pid}`;
  const imageId = podman(['pull', '-q', `oci-archive:${join(corpus, 'images', 'base.oci.tar')}`]).split('\n').pop()!;
  podman(['tag', imageId, tag]);
  const names = Array.from({ length: containers }, (_, i) => `drydock-bench-agent-${process.pid}-${i}`);
  for (const name of names) podman(['--runtime', '/usr/sbin/runc', '--cgroup-manager=cgroupfs', 'run', '-d', '--name', name, '--label', `drydock.bench=${label}`, '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024', tag, 'sleep', 'infinity']);
  podman(['exec', names[0]!, 'sh', '-c', 'echo drift >> /etc/debian_version; cp /bin/true /usr/local/bin/bench-added']);

  const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-agent-drift-'));
  const pods = simulatedPods(n);
  const api = await startFakeKubeApi();
  api.list = () => podList(pods, '30000');
  api.watch = () => ({ hold: true });
  const requests: Record<string, number> = {};
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests[req.url ?? '?'] = (requests[req.url ?? '?'] ?? 0) + 1;
      const body = req.url === '/api/v1/drift' ? { new: [], resolved: [], unchanged: 0 } : { added: 0, changed: 0, removed: 0, unchanged: n };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let drifts = 0;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'child', api.writeKubeconfig(dir), serverUrl, String(driftSeconds * 1000), label, join(dir, 'cache')], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout.on('data', (b: Buffer) => { drifts += (b.toString().match(/^drift /gm) ?? []).length; });
  const ticks = (): number => {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime (fields 14-17)
  };
  const stopChurn = churnPods(api, pods);
  // warm-up: start, list, first report and the first drift round of every container (cold layer cache)
  const warm0 = Date.now();
  while (drifts < containers && Date.now() - warm0 < 300_000) await new Promise((r) => setTimeout(r, 200));
  const warmup = (Date.now() - warm0) / 1000;
  await new Promise((r) => setTimeout(r, 5000));
  const t0 = ticks();
  const d0 = drifts;
  const w0 = Date.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const t1 = ticks();
  const wall = (Date.now() - w0) / 1000;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
  stopChurn();
  child.kill('SIGTERM');
  const cpuSeconds = (t1 - t0) / 100; // CLK_TCK is 100 on Linux
  console.log(JSON.stringify({
    pods: n, containers, driftIntervalSeconds: driftSeconds, warmupSeconds: Number(warmup.toFixed(1)), wallSeconds: Number(wall.toFixed(1)), cpuSeconds,
    cpuPercentOfOneCore: Number(((cpuSeconds / wall) * 100).toFixed(2)), driftReportsInWindow: drifts - d0, requests, rssMiB: Number((rss / 1024).toFixed(1)),
  }));
  await new Promise((r) => setTimeout(r, 500));
  server.close();
  await api.close();
  for (const name of names) spawnSync('podman', ['rm', '-f', '-t', '0', name]);
  spawnSync('podman', ['rmi', tag]);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
