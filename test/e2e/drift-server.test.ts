/**
 * Drift on the server end to end: real podman containers of the corpus base image (one with a changed
 * file and a new executable, one untouched), the agent's drift step comparing them and reporting to a
 * real server over loopback (SQLite), the server storing the findings and a rule's signed webhook
 * receiving the new ones with stable event ids. Skipped when podman cannot run containers; fails in CI.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countFindings, psCommand } from '../../src/cli/commands/runtime.js';
import { Agent, type AgentDriftReport } from '../../src/runtime/agent.js';
import { PodmanCliRuntime } from '../../src/runtime/podman.js';
import { filteredRuntime } from '../../src/runtime/testdata/filtered.js';
import type { ContainerRuntime } from '../../src/runtime/types.js';
import { makeVulnDb } from '../../src/server/http/testing.js';
import { startServer } from '../../src/server/index.js';
import { driftMail, slackDriftMessage, verifySignature } from '../../src/server/notify.js';
import { scanImage } from '../../src/scan/scan.js';
import { startReceiver } from '../../src/server/testdata/receiver.js';
import { openStore } from '../../src/store/index.js';
import { driftEventId } from '../../src/store/sql-store.js';

type J = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const CORPUS = [process.env.DRYDOCK_CORPUS, '/var/tmp/drydock-corpus', '/var/tmp/drydock-corpus-ci'].find((c) => c && existsSync(join(c, 'images', 'base.oci.tar')));
const RUN_ARGS = ['--runtime', '/usr/sbin/runc', '--cgroup-manager=cgroupfs'];
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

function podman(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}
function must(args: string[]): string {
  const r = podman(args);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r.out.trim();
}

const canRun = !!CORPUS && spawnSync('podman', ['--version']).status === 0;
if (!canRun && process.env.CI) throw new Error('podman and the corpus base image are needed in CI');

const label = `drydock.test=drift-server-${process.pid}`;
const tag = `localhost/drydock-e2e-drift-server/base:${process.pid}`;
const names = { drifted: `drydock-dsrv-drifted-${process.pid}`, clean: `drydock-dsrv-clean-${process.pid}` };
let work = '';

/** podman's CLI, limited to this test's containers (the host may run others). */
function testRuntime(): ContainerRuntime {
  return filteredRuntime(new PodmanCliRuntime(), (c) => c.labels['drydock.test'] === label.split('=')[1]);
}

async function until<T>(f: () => Promise<T>, ok: (v: T) => boolean, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!canRun)('drift: podman containers → agent → server → webhook', () => {
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'drydock-drift-server-'));
    const hadLatest = podman(['image', 'exists', 'localhost/latest:latest']).code === 0;
    const imageId = must(['pull', '-q', `oci-archive:${join(CORPUS!, 'images', 'base.oci.tar')}`]).split('\n').pop()!;
    must(['tag', imageId, tag]);
    if (!hadLatest) podman(['untag', imageId, 'localhost/latest:latest']);
    for (const n of Object.values(names)) must([...RUN_ARGS, 'run', '-d', '--name', n, '--label', label, ...ULIMITS, tag, 'sleep', 'infinity']);
    must([...RUN_ARGS, 'exec', names.drifted, 'sh', '-c', 'set -e; echo drift >> /etc/debian_version; cp /bin/true /usr/local/bin/drydock-added']);
  }, 180_000);

  afterAll(() => {
    for (const n of Object.values(names)) podman(['rm', '-f', '-t', '0', n]);
    podman(['rmi', tag]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('stores each container\'s drift, notifies new findings at or above medium once, with stable ids', async () => {
    const db = await makeVulnDb(work);
    const dataDir = join(work, 'data');
    const setup = await openStore('sqlite:', { dataDir });
    const team = await setup.createTeam('ops', 'test');
    const { secret: token } = await setup.createToken({ teamId: team.id, actor: 'test' }, { name: 'agent', scope: 'write' });
    await setup.close();
    const rx = await startReceiver();
    process.env.DRYDOCK_SECRET_DRIFTHOOK = 'drift-secret';
    const s = await startServer({ dataDir, store: 'sqlite:', listen: '127.0.0.1:0', vulnDbPath: db });
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const get = async (path: string): Promise<J> => (await fetch(`${s.url}${path}`, { headers: auth })).json();
    const errors: unknown[] = [];
    const drifts: AgentDriftReport[] = [];
    let t = 1_000_000;
    const agent = new Agent({
      server: s.url, token, runtime: testRuntime(), node: 'drift-host', now: () => t,
      drift: { intervalMs: 600_000, options: { cacheDir: join(work, 'cache') } },
      onDrift: (r) => drifts.push(r), onError: (e) => errors.push(e),
    });
    try {
      const rule = await fetch(`${s.url}/api/v1/rules`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'drift-hook', channel: 'webhook', target: `${rx.url}/hook`, secretRef: 'drifthook', filter: {}, enabled: true }) });
      expect(rule.status, await rule.clone().text()).toBe(201);

      await agent.tick();
      expect(errors).toEqual([]);
      expect(drifts.map((d) => [d.container, d.findings, d.new]).sort()).toEqual([[names.clean, 0, 0], [names.drifted, 2, 2]]);

      // stored: the drifted container's two findings; the clean one has none
      const stored = await get(`/api/v1/drift?container=${names.drifted}`);
      expect(stored.items.map((f: J) => `${f.severity} ${f.kind} ${f.subject}`)).toEqual(['info file-changed /etc/debian_version', 'high new-executable /usr/local/bin/drydock-added']);
      expect(stored.items[1]).toMatchObject({ source: 'host/drift-host', state: 'open', revision: 1, path: '/usr/local/bin/drydock-added', container: { name: names.drifted, image: expect.stringContaining('drydock-e2e-drift-server/base') } });
      const digest = stored.items[1].container.digest as string;
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect((await get(`/api/v1/drift?digest=${digest}`)).items).toHaveLength(2);
      expect((await get(`/api/v1/drift?container=${names.clean}`)).items).toEqual([]);

      // one webhook: the new executable (high); the info change stays below the threshold
      await until(async () => rx.received.length, (n) => n >= 1, 'the drift webhook');
      await new Promise((r) => setTimeout(r, 1500));
      expect(rx.received).toHaveLength(1);
      const hook = rx.received[0]!;
      const body = JSON.parse(hook.body) as J;
      const expectedId = driftEventId(team.id, 'host/drift-host', names.drifted, 'new-executable', '/usr/local/bin/drydock-added', 1);
      expect(body).toMatchObject({
        id: expectedId, type: 'drift.new', rule: 'drift-hook', team: team.id,
        container: { source: 'host/drift-host', name: names.drifted },
        image: { digest, reference: expect.stringContaining('drydock-e2e-drift-server/base') },
        drift: { kind: 'new-executable', severity: 'high', path: '/usr/local/bin/drydock-added', revision: 1 },
      });
      expect(hook.headers['x-drydock-event-id']).toBe(expectedId);
      expect(verifySignature('drift-secret', hook.body, String(hook.headers['x-drydock-signature']), Math.floor(Date.now() / 1000))).toBe(true);
      // the same event as a chat message and a mail: kind, severity, path, container, image
      expect(slackDriftMessage(body).text).toBe(`Drift: high new-executable /usr/local/bin/drydock-added in container ${names.drifted} (${body.image.reference})`);
      const mail = driftMail(body);
      expect(mail.subject).toBe(`[Drydock] Drift high new-executable /usr/local/bin/drydock-added in ${names.drifted}`);
      expect(mail.text).toContain(`Image:         ${body.image.reference} (${digest})`);
      expect(mail.text).toContain(`Event: ${expectedId}`);

      // the next interval: the same drift, nothing new, no second webhook
      t += 600_000;
      await agent.tick();
      expect(drifts.slice(2).map((d) => [d.container, d.new, d.unchanged]).sort()).toEqual([[names.clean, 0, 0], [names.drifted, 0, 2]]);

      // the executable removed: resolved; put back: a new appearance with another event id
      must([...RUN_ARGS, 'exec', names.drifted, 'rm', '/usr/local/bin/drydock-added']);
      t += 600_000;
      await agent.tick();
      expect(drifts.find((d, i) => i >= 4 && d.container === names.drifted)).toMatchObject({ findings: 1, resolved: 1 });
      expect((await get(`/api/v1/drift?container=${names.drifted}&state=resolved`)).items.map((f: J) => f.subject)).toEqual(['/usr/local/bin/drydock-added']);
      must([...RUN_ARGS, 'exec', names.drifted, 'cp', '/bin/true', '/usr/local/bin/drydock-added']);
      t += 600_000;
      await agent.tick();
      await until(async () => rx.received.length, (n) => n >= 2, 'the second drift webhook');
      const second = JSON.parse(rx.received[1]!.body) as J;
      expect(second.id).toBe(driftEventId(team.id, 'host/drift-host', names.drifted, 'new-executable', '/usr/local/bin/drydock-added', 2));
      expect(second.id).not.toBe(expectedId);
      expect(second.drift.revision).toBe(2);
      expect(errors).toEqual([]);

      // malformed reports are refused: an unknown severity, a digest that is no digest
      const post = (b: unknown) => fetch(`${s.url}/api/v1/drift`, { method: 'POST', headers: auth, body: JSON.stringify(b) });
      expect((await post({ source: 's', container: { name: 'c', image: 'i' }, findings: [{ kind: 'x', severity: 'severe', subject: '/a', message: 'm' }] })).status).toBe(400);
      expect((await post({ source: 's', container: { name: 'c', image: 'i', digest: 'latest' }, findings: [] })).status).toBe(400);
    } finally {
      await agent.stop();
      await s.close();
      await rx.close();
      delete process.env.DRYDOCK_SECRET_DRIFTHOOK;
    }
  }, 180_000);

  it('ps --db counts the findings of each container\'s image, as a scan of the image does', async () => {
    // an advisory that affects every debianutils of the base image (fixed in an epoch no release has)
    const advisories = ['11', '12', '13'].map((v) => ({
      id: `DEBIAN-DRYDOCK-TEST-${v}`, modified: '2025-01-01T00:00:00Z', summary: 'test advisory',
      affected: [{ package: { ecosystem: `Debian:${v}`, name: 'debianutils' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '99:1' }] }] }],
    }));
    const db = await makeVulnDb(join(work, 'ps'), advisories);
    const out = join(work, 'ps.json');
    await psCommand().parseAsync(['node', 'ps', '--format', 'json', '--db', db, '--cache-dir', join(work, 'cache'), '-o', out]);
    const ps = JSON.parse(readFileSync(out, 'utf8')) as J;
    const mine = ps.containers.filter((c: J) => Object.values(names).includes(c.name));
    expect(mine).toHaveLength(2);
    const scan = await scanImage(`podman:${mine[0].imageId ?? mine[0].image}`, { db: { path: db }, freshness: { acceptStale: true }, cacheDir: join(work, 'cache') });
    expect(scan.inventory.packages.length).toBeGreaterThan(50);
    const counts = countFindings(scan.findings);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    for (const c of mine) expect(c.findings).toEqual(counts);
  }, 180_000);
});
