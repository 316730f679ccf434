import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { digestFromImageId, KubeInventory, podOwner, podWorkloads } from './inventory.js';
import { startFakeKubeApi, type FakeKubeApi } from './testdata/api-server.js';
import {
  DIGEST_AGENT, DIGEST_DB, DIGEST_JOB, DIGEST_WEB, goneStatus, POD_DB_0, POD_JOB_DONE, POD_JOB_RUNNING, POD_LOGS, POD_WEB_1,
  POD_WEB_1_NOT_READY, POD_WEB_2, podList,
} from './testdata/fixtures.js';

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const names = (inv: KubeInventory) => inv.workloads().map((w) => `${w.namespace}/${w.name}/${w.container}`);

describe('pods as workloads', () => {
  it('takes the manifest digest from every imageID form, and none from a local image id', () => {
    expect(digestFromImageId(`docker-pullable://postgres@${DIGEST_DB}`)).toBe(DIGEST_DB);
    expect(digestFromImageId(`registry.example.com/shop/web@${DIGEST_WEB}`)).toBe(DIGEST_WEB);
    expect(digestFromImageId(`localhost:5000/a/b@${DIGEST_WEB}`)).toBe(DIGEST_WEB);
    expect(digestFromImageId('docker://sha256:8e1f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f')).toBeUndefined();
    expect(digestFromImageId('sha256:8e1f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f')).toBeUndefined();
    expect(digestFromImageId('')).toBeUndefined();
    expect(digestFromImageId('repo@latest')).toBeUndefined();
  });

  it('names the owning controller: a Deployment through its ReplicaSet, StatefulSet, DaemonSet, Job', () => {
    expect(podOwner(POD_WEB_1)).toEqual({ kind: 'Deployment', name: 'web' });
    expect(podOwner(POD_DB_0)).toEqual({ kind: 'StatefulSet', name: 'db' });
    expect(podOwner(POD_LOGS)).toEqual({ kind: 'DaemonSet', name: 'logs' });
    expect(podOwner(POD_JOB_RUNNING)).toEqual({ kind: 'Job', name: 'migrate-29012399' });
    // a ReplicaSet of its own (no pod-template-hash) stays a ReplicaSet
    const bare = { ...POD_WEB_1, metadata: { ...POD_WEB_1.metadata, labels: { app: 'web' } } };
    expect(podOwner(bare)).toEqual({ kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' });
    expect(podOwner({ ...POD_WEB_1, metadata: { ...POD_WEB_1.metadata, ownerReferences: [] } })).toBeUndefined();
  });

  it('gives one workload per container with image, digest, node and labels; a finished pod gives none', () => {
    expect(podWorkloads(POD_WEB_1)).toEqual([
      { kind: 'pod', namespace: 'shop', name: 'web-7d4b9c8f6d-x2x9q', container: 'web', image: 'registry.example.com/shop/web:1.4.2', digest: DIGEST_WEB,
        node: 'node-a', owner: { kind: 'Deployment', name: 'web' }, labels: POD_WEB_1.metadata!.labels },
      { kind: 'pod', namespace: 'shop', name: 'web-7d4b9c8f6d-x2x9q', container: 'envoy', image: `docker.io/envoyproxy/envoy@${DIGEST_AGENT}`, digest: DIGEST_AGENT,
        node: 'node-a', owner: { kind: 'Deployment', name: 'web' }, labels: POD_WEB_1.metadata!.labels },
    ]);
    expect(podWorkloads(POD_LOGS)[0]!.digest).toBeUndefined();
    expect(podWorkloads(POD_JOB_DONE)).toEqual([]);
    expect(podWorkloads(POD_JOB_RUNNING)[0]!.digest).toBe(DIGEST_JOB);
    // not started yet: the spec's image, no digest
    const pending = { ...POD_WEB_2, status: { phase: 'Pending' } };
    expect(podWorkloads(pending).map((w) => [w.container, w.digest])).toEqual([['web', undefined], ['envoy', DIGEST_AGENT]]);
  });
});

describe('list + watch against recorded API responses', () => {
  let api: FakeKubeApi;
  let dir: string;
  let inv: KubeInventory | undefined;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drydock-k8s-'));
  });
  afterEach(async () => {
    await inv?.stop();
    inv = undefined;
    await api?.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists (paged), applies ADDED/MODIFIED/DELETED, relists on a 410 ERROR event and resumes watching', async () => {
    api = await startFakeKubeApi();
    api.list = (n) => n === 0
      ? podList([POD_WEB_1, POD_DB_0, POD_LOGS, POD_JOB_DONE], '10600')
      // the resync after 410: web-2 was added and db-0 deleted while the watch was gone; job now running
      : podList([POD_WEB_1, POD_WEB_2, POD_LOGS, POD_JOB_RUNNING], '10700');
    api.watch = (n) => n === 0
      ? { events: [
        { type: 'ADDED', object: POD_WEB_2 },
        { type: 'MODIFIED', object: POD_WEB_1_NOT_READY },
        { type: 'DELETED', object: { ...POD_DB_0, metadata: { ...POD_DB_0.metadata, resourceVersion: '10606' } } },
      ], hold: true }
      : { hold: true };
    let changes = 0;
    inv = new KubeInventory({ kubeconfig: api.writeKubeconfig(dir), pageSize: 2, retryDelayMs: 20, onChange: () => changes++ });
    await inv.start();
    expect(api.lists.map((q) => q.get('continue'))).toEqual([null, '2']);
    expect(names(inv)).toEqual([
      'kube-system/logs-8kq2p/fluent-bit', 'shop/db-0/postgres', 'shop/web-7d4b9c8f6d-x2x9q/envoy', 'shop/web-7d4b9c8f6d-x2x9q/web',
    ]);
    // watch from the list's version, with bookmarks
    await until(() => api.watches.length === 1 && inv!.stats.events === 3, 'the first watch events');
    expect(api.watches[0]!.get('resourceVersion')).toBe('10600');
    expect(api.watches[0]!.get('allowWatchBookmarks')).toBe('true');
    expect(names(inv)).toEqual([
      'kube-system/logs-8kq2p/fluent-bit', 'shop/web-7d4b9c8f6d-p8m4z/envoy', 'shop/web-7d4b9c8f6d-p8m4z/web',
      'shop/web-7d4b9c8f6d-x2x9q/envoy', 'shop/web-7d4b9c8f6d-x2x9q/web',
    ]);
    // 1 list + ADDED + DELETED; the readiness change changed no workload
    expect(changes).toBe(3);

    // a bookmark moves the version; then the version expires: relist, and the next watch starts from the new list
    api.push({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: '10650' } } });
    api.push({ type: 'ERROR', object: goneStatus('10650') });
    await until(() => api.watches.length === 2, 'the watch after the resync');
    expect(inv.stats.gone).toBe(1);
    expect(api.lists.length).toBe(3 + 1); // two pages first, then the resync (its two pages)
    expect(api.watches[1]!.get('resourceVersion')).toBe('10700');
    expect(names(inv)).toEqual([
      'kube-system/logs-8kq2p/fluent-bit', 'shop/migrate-29012399-fghij/migrate', 'shop/web-7d4b9c8f6d-p8m4z/envoy', 'shop/web-7d4b9c8f6d-p8m4z/web',
      'shop/web-7d4b9c8f6d-x2x9q/envoy', 'shop/web-7d4b9c8f6d-x2x9q/web',
    ]);
    // the watch goes on after the resync
    api.push({ type: 'DELETED', object: POD_WEB_1 });
    await until(() => !names(inv!).includes('shop/web-7d4b9c8f6d-x2x9q/web'), 'the delete after the resync');
  });

  it('relists when the watch request itself answers 410 Gone, and resumes a watch the server ended', async () => {
    api = await startFakeKubeApi();
    api.list = (n) => podList(n === 0 ? [POD_WEB_1] : [POD_DB_0], n === 0 ? '500' : '900');
    api.watch = (n) => (n === 0 ? { events: [{ type: 'ADDED', object: POD_LOGS }] } : n === 1 ? { status: 410 } : { hold: true });
    inv = new KubeInventory({ kubeconfig: api.writeKubeconfig(dir), retryDelayMs: 20 });
    await inv.start();
    await until(() => api.watches.length >= 3, 'three watches');
    // the first watch ended normally: resumed from the last event's version
    expect(api.watches[1]!.get('resourceVersion')).toBe(POD_LOGS.metadata!.resourceVersion);
    expect(api.watches[2]!.get('resourceVersion')).toBe('900');
    expect(inv.stats).toMatchObject({ lists: 2, gone: 1 });
    expect(names(inv)).toEqual(['shop/db-0/postgres']);
  });

  it('refuses bad credentials at start', async () => {
    api = await startFakeKubeApi('right');
    const wrong = new KubeInventory({ kubeconfig: api.writeKubeconfig(dir, 'wrong') });
    expect(wrong.clusterName).toBe('test-cluster');
    await expect(wrong.start()).rejects.toThrow(/401/);
  });
});
