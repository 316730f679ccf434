/**
 * Workloads end to end over loopback: a Kubernetes API stand-in answering recorded responses (list,
 * watch events, 410 Gone and the resync), the agent watching it and reporting to a real server
 * (SQLite), and a database update whose new finding's webhook names the pods running the image.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../src/runtime/agent.js';
import { KubeInventory } from '../../src/runtime/k8s/inventory.js';
import { startFakeKubeApi } from '../../src/runtime/k8s/testdata/api-server.js';
import { DIGEST_DB, DIGEST_WEB, goneStatus, POD_DB_0, POD_JOB_DONE, POD_LOGS, POD_WEB_1, POD_WEB_2, podList } from '../../src/runtime/k8s/testdata/fixtures.js';
import { cyclonedx, makeVulnDb } from '../../src/server/http/testing.js';
import { startServer } from '../../src/server/index.js';
import { startReceiver } from '../../src/server/testdata/receiver.js';
import { openStore } from '../../src/store/index.js';
import { importFeeds } from '../../src/vulndb/index.js';

type J = any; // eslint-disable-line @typescript-eslint/no-explicit-any

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'drydock-workloads-e2e-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('workloads: cluster inventory → server → notifications', () => {
  it('stores the watched pods (list, events, 410 resync) and a new finding\'s webhook names the pods running the image', async () => {
    const db = await makeVulnDb(work);
    const dataDir = join(work, 'data');
    // a team and a write token, straight in the store
    const setup = await openStore('sqlite:', { dataDir });
    const team = await setup.createTeam('shop', 'test');
    const { secret: token } = await setup.createToken({ teamId: team.id, actor: 'test' }, { name: 'agent', scope: 'write' });
    const other = await setup.createTeam('other', 'test');
    await setup.putWorkloads({ teamId: other.id, actor: 'test' }, 'cluster/elsewhere', [{ kind: 'pod', namespace: 'x', name: 'foreign', container: 'c', image: 'web', digest: DIGEST_WEB }]);
    await setup.close();

    const api = await startFakeKubeApi();
    api.list = (n) => (n === 0 ? podList([POD_WEB_1, POD_DB_0, POD_LOGS, POD_JOB_DONE], '10600') : podList([POD_WEB_1, POD_WEB_2, POD_LOGS], '10700'));
    api.watch = (n) => (n === 0 ? { events: [{ type: 'DELETED', object: POD_DB_0 }], hold: true } : { hold: true });
    const rx = await startReceiver();
    process.env.DRYDOCK_SECRET_WLHOOK = 'wl-secret';
    const s = await startServer({ dataDir, store: 'sqlite:', listen: '127.0.0.1:0', vulnDbPath: db, dbWatchMs: 100 });
    const kube = new KubeInventory({ kubeconfig: api.writeKubeconfig(work), retryDelayMs: 20 });
    const errors: unknown[] = [];
    const agent = new Agent({ server: s.url, token, kube, intervalMs: 50, onError: (e) => errors.push(e) });
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const get = async (path: string): Promise<J> => (await fetch(`${s.url}${path}`, { headers: auth })).json();
    try {
      await kube.start();
      agent.start();
      const rule = await fetch(`${s.url}/api/v1/rules`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'hook', channel: 'webhook', target: `${rx.url}/hook`, secretRef: 'wlhook', filter: {}, enabled: true }) });
      expect(rule.status, await rule.clone().text()).toBe(201);
      const up = await fetch(`${s.url}/api/v1/sboms?repository=registry.example.com/shop/web&digest=${DIGEST_WEB}`, { method: 'POST', headers: auth, body: JSON.stringify(cyclonedx([['minimist', '1.2.5']])) });
      expect(up.status).toBe(201);

      // the list, then the watch's DELETED: db-0 is gone
      const key = (w: J) => `${w.namespace}/${w.name}/${w.container}`;
      let items: J[] = await until(() => get('/api/v1/workloads').then((b) => b.items as J[]), (it) => it.length === 3 && !it.some((w) => w.name === 'db-0'), 'the watched set');
      expect(items.map(key)).toEqual(['kube-system/logs-8kq2p/fluent-bit', 'shop/web-7d4b9c8f6d-x2x9q/envoy', 'shop/web-7d4b9c8f6d-x2x9q/web']);
      expect(items.every((w) => w.source === 'cluster/test-cluster' && w.teamId === undefined)).toBe(true);
      expect(items.find((w) => w.container === 'web')).toMatchObject({ owner: { kind: 'Deployment', name: 'web' }, digest: DIGEST_WEB, node: 'node-a', owners: ['alice@example.com', 'payments'] });

      // 410 Gone: relist; the resync brings web-2 in
      api.push({ type: 'ERROR', object: goneStatus('10600') });
      items = await until(() => get('/api/v1/workloads').then((b) => b.items as J[]), (it) => it.length === 5, 'the resynced set');
      expect(items.map(key)).toContain('shop/web-7d4b9c8f6d-p8m4z/web');
      expect(kube.stats.gone).toBe(1);

      // the image's page names the workloads running it (this team's only)
      const img = await get(`/api/v1/images/${DIGEST_WEB}`);
      expect(img.images.map((i: J) => i.repository)).toEqual(['registry.example.com/shop/web']);
      expect(img.workloads.map((w: J) => w.name)).toEqual(['web-7d4b9c8f6d-p8m4z', 'web-7d4b9c8f6d-x2x9q']);
      expect((await get(`/api/v1/images/${DIGEST_WEB}/workloads`)).items).toHaveLength(2);
      expect((await get(`/api/v1/workloads?digest=${DIGEST_DB}`)).items).toEqual([]);

      // a db import adds an advisory for minimist 1.2.5 (GHSA-xvch-5gv4-984h, fixed in 1.2.6)
      const feed = join(work, 'more');
      mkdirSync(feed, { recursive: true });
      writeFileSync(join(feed, 'GHSA-xvch-5gv4-984h.json'), JSON.stringify({ id: 'GHSA-xvch-5gv4-984h', modified: '2024-06-01T00:00:00Z', aliases: ['CVE-2021-44906'], summary: 'Prototype Pollution in minimist', affected: [{ package: { ecosystem: 'npm', name: 'minimist' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.2.6' }] }] }] }));
      await importFeeds(db, [{ path: feed }]);
      await until(async () => rx.received.length, (n) => n > 0, 'the webhook');
      const body = JSON.parse(rx.received[0]!.body) as J;
      expect(body.vulnerability.id).toBe('CVE-2021-44906');
      expect(body.image.digest).toBe(DIGEST_WEB);
      expect(body.workloads.map((w: J) => `${w.namespace}/${w.name}`)).toEqual(['shop/web-7d4b9c8f6d-p8m4z', 'shop/web-7d4b9c8f6d-x2x9q']);
      expect(body.workloads[0]).toMatchObject({ source: 'cluster/test-cluster', kind: 'pod', container: 'web', owner: { kind: 'Deployment', name: 'web' }, node: 'node-b' });
      // routed to the workload owners (pod labels team, owner) as well; nothing of the other team
      expect(body.owners).toEqual(['alice@example.com', 'payments']);
      expect(rx.received[0]!.body).not.toContain('foreign');
      expect(errors).toEqual([]);
    } finally {
      await agent.stop();
      await kube.stop();
      await s.close();
      await rx.close();
      await api.close();
      delete process.env.DRYDOCK_SECRET_WLHOOK;
    }
  }, 60_000);

  it('refuses a malformed report, a read token, and no token', async () => {
    const db = await makeVulnDb(join(work, 'bad'));
    const dataDir = join(work, 'bad-data');
    const setup = await openStore('sqlite:', { dataDir });
    const team = await setup.createTeam('t', 'test');
    const write = (await setup.createToken({ teamId: team.id, actor: 'test' }, { name: 'w', scope: 'write' })).secret;
    const read = (await setup.createToken({ teamId: team.id, actor: 'test' }, { name: 'r', scope: 'read' })).secret;
    await setup.close();
    const s = await startServer({ dataDir, store: 'sqlite:', listen: '127.0.0.1:0', vulnDbPath: db });
    const post = (tok: string | undefined, body: unknown) => fetch(`${s.url}/api/v1/workloads`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(tok ? { authorization: `Bearer ${tok}` } : {}) }, body: JSON.stringify(body),
    });
    const w = { kind: 'pod', namespace: 'n', name: 'p', container: 'c', image: 'i' };
    try {
      expect((await post(undefined, { source: 's', workloads: [w] })).status).toBe(401);
      expect((await post(read, { source: 's', workloads: [w] })).status).toBe(403);
      expect((await post(write, { source: 's', workloads: [{ ...w, extra: 1 }] })).status).toBe(400);
      expect((await post(write, { source: 's', workloads: [{ ...w, digest: 'latest' }] })).status).toBe(400);
      expect((await post(write, { source: 's', workloads: [w, w] })).status).toBe(400);
      expect((await post(write, { source: "'; DROP TABLE workloads;--", workloads: [w] })).status).toBe(200);
      const list = await (await fetch(`${s.url}/api/v1/workloads`, { headers: { authorization: `Bearer ${read}` } })).json() as J;
      expect(list.items.map((x: J) => x.source)).toEqual(["'; DROP TABLE workloads;--"]);
    } finally {
      await s.close();
    }
  }, 60_000);
});
