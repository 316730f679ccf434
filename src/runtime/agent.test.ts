import { describe, expect, it } from 'vitest';
import { Agent, containerWorkloads, type AgentDriftReport } from './agent.js';
import { ContainerdRuntime } from './containerd.js';
import { PodmanApiRuntime, PodmanCliRuntime } from './podman.js';
import type { ContainerRuntime, DriftReport, RunningContainer } from './types.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function container(name: string, extra: Partial<RunningContainer> = {}): RunningContainer {
  return { runtime: 'podman', id: `${name}-id`, name, image: `docker.io/library/${name}:1`, imageDigest: DIGEST, repoDigests: [], state: 'running', labels: { team: 'edge' }, pid: 42, mounts: [], ...extra };
}

function fakeRuntime(list: () => RunningContainer[]): ContainerRuntime {
  return { name: 'podman', via: 'cli', list: async () => list(), inspect: async () => { throw new Error('unused'); }, imageTarget: () => 'x', containerTarget: (c) => `podman://${c.id}` };
}

describe('agent', () => {
  it('maps running containers to workloads', () => {
    expect(containerWorkloads([container('nginx'), container('gone', { state: 'exited', pid: undefined }), container('nodigest', { imageDigest: undefined })], 'host-1')).toEqual([
      { kind: 'container', namespace: '', name: 'nginx', container: 'nginx', image: 'docker.io/library/nginx:1', digest: DIGEST, labels: { team: 'edge' }, node: 'host-1' },
      { kind: 'container', namespace: '', name: 'nodigest', container: 'nodigest', image: 'docker.io/library/nodigest:1', labels: { team: 'edge' }, node: 'host-1' },
    ]);
  });

  it('sends a source\'s set when it changed or the heartbeat is due, retries after a failure', async () => {
    let t = 1_000_000;
    let running = [container('a')];
    let status = 200;
    const sent: { url: string; auth: string | null; body: { source: string; workloads: { name: string }[] } }[] = [];
    const fetch = (async (url: URL, init: RequestInit) => {
      sent.push({ url: String(url), auth: new Headers(init.headers).get('authorization'), body: JSON.parse(String(init.body)) });
      return new Response(status === 200 ? JSON.stringify({ added: 1, changed: 0, removed: 0, unchanged: 0 }) : 'no', { status });
    }) as typeof globalThis.fetch;
    const errors: unknown[] = [];
    const agent = new Agent({ server: 'http://drydock.test:8080', token: 'ddk_x', runtime: fakeRuntime(() => running), node: 'h1', heartbeatMs: 60_000, drift: false, fetch, now: () => t, onError: (e) => errors.push(e) });
    expect((await agent.tick()).map((r) => r.source)).toEqual(['host/h1']);
    expect(sent[0]).toMatchObject({ url: 'http://drydock.test:8080/api/v1/workloads', auth: 'Bearer ddk_x', body: { source: 'host/h1', workloads: [{ name: 'a' }] } });
    // nothing changed: nothing sent
    t += 30_000;
    expect(await agent.tick()).toEqual([]);
    expect(sent).toHaveLength(1);
    // a change is sent; a refused report is retried on the next tick
    running = [container('a'), container('b')];
    status = 500;
    expect(await agent.tick()).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(String((errors[0] as Error).message)).toContain('refused the workloads of host/h1: 500');
    status = 200;
    await agent.tick();
    expect(sent.map((s) => s.body.workloads.length)).toEqual([1, 2, 2]);
    // the heartbeat re-sends an unchanged set
    t += 61_000;
    await agent.tick();
    expect(sent).toHaveLength(4);
  });

  it('names drift targets per runtime', () => {
    expect(new PodmanCliRuntime().containerTarget(container('a'))).toBe('podman://a-id');
    expect(new PodmanApiRuntime('/run/podman.sock').containerTarget(container('a'))).toBe('podman://a-id');
    expect(new PodmanApiRuntime('/run/docker.sock', 30_000, 'docker').containerTarget(container('a', { runtime: 'docker' }))).toBe('docker://a-id');
    expect(new ContainerdRuntime({ ctr: 'ctr', env: {} }).containerTarget(container('default/web', { runtime: 'containerd' }))).toBe('containerd://default/web');
  });

  it('reports each running container\'s drift when first seen and then every drift interval', async () => {
    let t = 5_000_000;
    let running = [container('a'), container('stopped', { state: 'exited', pid: undefined })];
    const driftPosts: { container: { name: string; id: string; image: string; digest?: string }; source: string; findings: { kind: string; severity: string; subject: string; path?: string }[] }[] = [];
    let driftStatus = 200;
    const fetch = (async (url: URL, init: RequestInit) => {
      if (String(url).endsWith('/api/v1/drift')) {
        driftPosts.push(JSON.parse(String(init.body)));
        return new Response(driftStatus === 200 ? JSON.stringify({ new: [{}], resolved: [], unchanged: 0 }) : 'down', { status: driftStatus });
      }
      return new Response(JSON.stringify({ added: 0, changed: 0, removed: 0, unchanged: 1 }), { status: 200 });
    }) as typeof globalThis.fetch;
    const compared: string[] = [];
    let failOn = '';
    const run = async (target: string, c: RunningContainer): Promise<DriftReport> => {
      compared.push(target);
      if (target === failOn) throw new Error(`cannot read ${target}`);
      return {
        container: { target, runtime: 'podman', id: c.id, name: c.name, pid: 42, rootfs: '/proc/42/root', image: c.image },
        image: { target: `podman:${c.id}` }, excluded: [], files: [], packages: [],
        findings: [
          { kind: 'new-executable', severity: 'high', subject: '/usr/local/bin/x', message: 'new executable /usr/local/bin/x', path: '/usr/local/bin/x' },
          { kind: 'package-installed-at-runtime', severity: 'medium', subject: 'deb/hello', message: 'installed', package: { type: 'deb', name: 'hello', version: '1' } },
        ],
        stats: { entries: 1, imageEntries: 1, hashedFiles: 0, hashedBytes: 0, cataloged: true, elapsedMs: 1 }, issues: [],
      };
    };
    const errors: unknown[] = [];
    const drifts: AgentDriftReport[] = [];
    const agent = new Agent({
      server: 'http://drydock.test', token: 't', runtime: fakeRuntime(() => running), node: 'h1', fetch, now: () => t,
      drift: { intervalMs: 600_000, run }, onDrift: (r) => drifts.push(r), onError: (e) => errors.push(e),
    });
    await agent.tick();
    expect(compared).toEqual(['podman://a-id']);
    expect(driftPosts).toEqual([{
      source: 'host/h1', container: { name: 'a', id: 'a-id', image: 'docker.io/library/a:1', digest: DIGEST },
      findings: [
        { kind: 'new-executable', severity: 'high', subject: '/usr/local/bin/x', message: 'new executable /usr/local/bin/x', path: '/usr/local/bin/x' },
        { kind: 'package-installed-at-runtime', severity: 'medium', subject: 'deb/hello', message: 'installed', package: { type: 'deb', name: 'hello', version: '1' } },
      ],
    }]);
    expect(drifts).toEqual([{ source: 'host/h1', container: 'a', findings: 2, new: 1, resolved: 0, unchanged: 0 }]);
    // within the interval: only a container seen for the first time is compared; one that fails is not retried every round
    t += 30_000;
    running = [container('a'), container('b')];
    failOn = 'podman://b-id';
    await agent.tick();
    await agent.tick();
    expect(compared).toEqual(['podman://a-id', 'podman://b-id']);
    expect(errors.map((e) => String((e as Error).message))).toEqual(['cannot read podman://b-id']);
    // after the interval both are compared again; a refused report is an error naming the container
    t += 600_000;
    failOn = '';
    driftStatus = 503;
    await agent.tick();
    expect(compared.slice(2)).toEqual(['podman://a-id', 'podman://b-id']);
    expect(errors.slice(1).map((e) => String((e as Error).message))).toEqual([
      'server http://drydock.test refused the drift of a: 503 down', 'server http://drydock.test refused the drift of b: 503 down',
    ]);
    await agent.stop();
  });

  it('needs something to report and a server URL', () => {
    expect(() => new Agent({ server: 'http://x', token: 't' })).toThrow(/needs a cluster/);
    expect(() => new Agent({ server: 'not a url', token: 't', runtime: fakeRuntime(() => []) })).toThrow(/not a URL/);
  });
});
