import { describe, expect, it } from 'vitest';
import { Agent, containerWorkloads } from './agent.js';
import type { ContainerRuntime, RunningContainer } from './types.js';

const DIGEST = `sha256:${'c'.repeat(64)}`;

function container(name: string, extra: Partial<RunningContainer> = {}): RunningContainer {
  return { runtime: 'podman', id: `${name}-id`, name, image: `docker.io/library/${name}:1`, imageDigest: DIGEST, repoDigests: [], state: 'running', labels: { team: 'edge' }, pid: 42, mounts: [], ...extra };
}

function fakeRuntime(list: () => RunningContainer[]): ContainerRuntime {
  return { name: 'podman', via: 'cli', list: async () => list(), inspect: async () => { throw new Error('unused'); }, imageTarget: () => 'x' };
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
    const agent = new Agent({ server: 'http://drydock.test:8080', token: 'ddk_x', runtime: fakeRuntime(() => running), node: 'h1', heartbeatMs: 60_000, fetch, now: () => t, onError: (e) => errors.push(e) });
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

  it('needs something to report and a server URL', () => {
    expect(() => new Agent({ server: 'http://x', token: 't' })).toThrow(/needs a cluster/);
    expect(() => new Agent({ server: 'not a url', token: 't', runtime: fakeRuntime(() => []) })).toThrow(/not a URL/);
  });
});
