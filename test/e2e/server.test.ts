/**
 * The server over loopback (real HTTP): SQLite by default, and the main flow on PostgreSQL
 * (127.0.0.1:5432, a throw-away database; skipped locally when unreachable, a failure in CI).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serverCommand } from '../../src/cli/commands/server.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { cyclonedx, DIGEST_A, makeVulnDb } from '../../src/server/http/testing.js';
import { openStore, redactUrl } from '../../src/store/index.js';
import { buildImage, writeOciArchive } from '../testkit/index.js';
import { importFeeds } from '../../src/vulndb/index.js';
import { writeFileSync } from 'node:fs';
import { startReceiver } from '../../src/server/testdata/receiver.js';

type J = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const PG_ADMIN = process.env.DRYDOCK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function pgAdmin(sql: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query(sql);
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}
const havePg = await pgAdmin('SELECT 1');
if (!havePg && process.env.CI) throw new Error(`PostgreSQL is needed in CI (${redactUrl(PG_ADMIN)})`);

let work: string;
let dbPath: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drydock-server-e2e-'));
  dbPath = await makeVulnDb(work);
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `drydock server token create`, in-process; returns the printed secret. */
async function createToken(args: string[]): Promise<string> {
  let out = '';
  const w = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await serverCommand().parseAsync(['token', 'create', ...args], { from: 'user' });
  } finally {
    w.mockRestore();
    e.mockRestore();
  }
  return out.trim();
}

/** The main flow over HTTP: upload, list, page, triage, VEX, search. */
async function mainFlow(s: RunningServer, token: string): Promise<void> {
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const up = await fetch(`${s.url}/api/v1/sboms?repository=registry.example.com/team/app&digest=${DIGEST_A}&tag=v1`, { method: 'POST', headers: auth, body: JSON.stringify(cyclonedx([['lodash', '4.17.15'], ['ansi-regex', '4.1.0']])) });
  expect(up.status).toBe(201);
  expect(((await up.json()) as J).evaluation.counts.new).toBe(3);
  const f = await fetch(`${s.url}/api/v1/images/${DIGEST_A}/findings?limit=2`, { headers: auth });
  const p1 = (await f.json()) as J;
  expect(p1.items).toHaveLength(2);
  const f2 = await fetch(`${s.url}/api/v1/images/${DIGEST_A}/findings?limit=2&after=${encodeURIComponent(p1.next)}`, { headers: auth });
  const p2 = (await f2.json()) as J;
  expect([...p1.items, ...p2.items].map((x: J) => x.vulnerabilityId)).toEqual(['CVE-2020-8203', 'CVE-2021-23337', 'CVE-2021-3807']);
  expect(p2.next).toBeUndefined();
  const t = await fetch(`${s.url}/api/v1/images/${DIGEST_A}/findings/CVE-2021-3807/triage`, { method: 'PUT', headers: auth, body: JSON.stringify({ state: 'false_positive', reason: 'dev dependency' }) });
  expect(t.status).toBe(200);
  const vex = (await (await fetch(`${s.url}/api/v1/images/${DIGEST_A}/vex`, { headers: auth })).json()) as J;
  expect(vex.statements.find((x: J) => x.vulnerability.name === 'CVE-2021-3807').status).toBe('not_affected');
  const hits = (await (await fetch(`${s.url}/api/v1/packages?name=ansi-regex`, { headers: auth })).json()) as J;
  expect(hits.items.map((h: J) => h.repositories)).toEqual([['registry.example.com/team/app']]);
  expect((await fetch(`${s.url}/api/v1/images`, {})).status).toBe(401);
  const ready = await fetch(`${s.url}/readyz`);
  expect(ready.status).toBe(200);
}

describe('drydock server over loopback (SQLite)', () => {
  let s: RunningServer;
  let token: string;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = join(work, 'data');
    token = await createToken(['--team', 'platform', '--data-dir', dataDir, '--store', 'sqlite:']);
    expect(token).toMatch(/^ddk_[A-Za-z0-9_-]{40,}$/);
    s = await startServer({ dataDir, store: 'sqlite:', listen: '127.0.0.1:0', vulnDbPath: dbPath, bodyLimit: 256 * 1024 });
  });
  afterAll(async () => s?.close());

  it('runs the main flow with the token that `server token create` printed', async () => {
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await mainFlow(s, token);
  });

  it('a second server on the same address is NETWORK_ERROR naming it, not an internal error', async () => {
    const taken = s.url.replace('http://', '');
    await expect(startServer({ dataDir, store: 'sqlite:', listen: taken, vulnDbPath: dbPath })).rejects.toMatchObject({
      code: 'NETWORK_ERROR',
      message: expect.stringContaining(`cannot listen on ${taken}: the address is already in use`),
    });
  });

  it('answers 413 on a real socket for a body over the limit, storing nothing', async () => {
    const body = JSON.stringify(cyclonedx(Array.from({ length: 5000 }, (_, i) => [`p${i}`, '1.0.0'] as [string, string])));
    const r = await fetch(`${s.url}/api/v1/sboms?repository=big/app&digest=sha256:${'c'.repeat(64)}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
    expect(r.status).toBe(413);
    expect(((await r.json()) as J).error.code).toBe('BODY_TOO_LARGE');
    const imgs = (await (await fetch(`${s.url}/api/v1/images?repository=big/app`, { headers: { authorization: `Bearer ${token}` } })).json()) as J;
    expect(imgs.items).toEqual([]);
  });

  it('scans an oci-archive under the data directory\'s imports/ (synchronous POST /scans)', async () => {
    const imports = join(dataDir, 'imports');
    mkdirSync(imports, { recursive: true });
    const img = await buildImage({
      config: { labels: { 'org.opencontainers.image.authors': 'team@example.com' } },
      layers: [{ createdBy: 'COPY app/ /app/', entries: [
        { path: 'app/package.json', content: '{"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.20"}}' },
        { path: 'app/node_modules/lodash/package.json', content: '{"name":"lodash","version":"4.17.20","license":"MIT"}' },
      ] }],
    });
    const archive = join(imports, 'app.oci.tar');
    await writeOciArchive(archive, img);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const r = await fetch(`${s.url}/api/v1/scans`, { method: 'POST', headers: auth, body: JSON.stringify({ target: `oci-archive:${archive}`, repository: 'local/app', tags: ['1.0.0'] }) });
    const body = (await r.json()) as J;
    expect(r.status, JSON.stringify(body)).toBe(201);
    expect(body.image).toMatchObject({ repository: 'local/app', tags: ['1.0.0'] });
    expect(body.image.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    const f = (await (await fetch(`${s.url}/api/v1/images/${body.image.digest}/findings`, { headers: auth })).json()) as J;
    expect(f.items.map((x: J) => `${x.vulnerabilityId} ${x.finding.package.name}@${x.finding.package.version} ${x.finding.package.introducedBy?.createdBy}`)).toEqual(['CVE-2021-23337 lodash@4.17.20 COPY app/ /app/']);
    // outside imports/: refused
    const out = await fetch(`${s.url}/api/v1/scans`, { method: 'POST', headers: auth, body: JSON.stringify({ target: `oci-archive:${join(work, 'elsewhere.tar')}` }) });
    expect(out.status).toBe(400);
  });
});

describe('drydock server: a database update re-evaluates stored images and notifies', () => {
  it('picks up a db import while running: the stored image gets the new finding and a signed webhook names it', async () => {
    const dir = join(work, 'reeval');
    mkdirSync(dir, { recursive: true });
    const db = await makeVulnDb(dir);
    const dataDir = join(dir, 'data');
    const token = await createToken(['--team', 'platform', '--data-dir', dataDir, '--store', 'sqlite:']);
    const rx = await startReceiver();
    process.env.DRYDOCK_SECRET_HOOK = 'hook-secret';
    const s = await startServer({ dataDir, store: 'sqlite:', listen: '127.0.0.1:0', vulnDbPath: db, dbWatchMs: 100 });
    try {
      const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      const rule = await fetch(`${s.url}/api/v1/rules`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'hook', channel: 'webhook', target: `${rx.url}/hook`, secretRef: 'hook', filter: {}, enabled: true }) });
      expect(rule.status, await rule.clone().text()).toBe(201);
      // minimist 1.2.5 has no advisory in the first database
      const up = await fetch(`${s.url}/api/v1/sboms?repository=registry.example.com/team/app&digest=${DIGEST_A}`, { method: 'POST', headers: auth, body: JSON.stringify(cyclonedx([['minimist', '1.2.5']])) });
      expect(up.status).toBe(201);
      const before = (await (await fetch(`${s.url}/api/v1/images/${DIGEST_A}/findings`, { headers: auth })).json()) as J;
      expect(before.items).toEqual([]);
      // a db import adds one (facts of GHSA-xvch-5gv4-984h / CVE-2021-44906, fixed in 1.2.6): a new identity
      const feed = join(dir, 'more');
      mkdirSync(feed, { recursive: true });
      writeFileSync(join(feed, 'GHSA-xvch-5gv4-984h.json'), JSON.stringify({ id: 'GHSA-xvch-5gv4-984h', modified: '2024-06-01T00:00:00Z', aliases: ['CVE-2021-44906'], summary: 'Prototype Pollution in minimist', affected: [{ package: { ecosystem: 'npm', name: 'minimist' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.2.6' }] }] }] }));
      await importFeeds(db, [{ path: feed }]);
      let found: J[] = [];
      for (let i = 0; i < 100 && (found.length === 0 || rx.received.length === 0); i++) {
        await new Promise((r) => setTimeout(r, 100));
        found = ((await (await fetch(`${s.url}/api/v1/images/${DIGEST_A}/findings`, { headers: auth })).json()) as J).items;
      }
      expect(found.map((f: J) => `${f.vulnerabilityId} ${f.state}`)).toEqual(['CVE-2021-44906 new']);
      expect(rx.received.length).toBeGreaterThan(0);
      const hook = rx.received[0]!;
      expect(hook.path).toBe('/hook');
      expect(String(hook.headers['x-drydock-signature'])).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(hook.body).toContain('CVE-2021-44906');
    } finally {
      await s.close();
      await rx.close();
      delete process.env.DRYDOCK_SECRET_HOOK;
    }
  }, 60_000);
});

describe('drydock server: a database updated while it was down is caught up at start', () => {
  it('re-evaluates from the identity of the newest evaluation when the server starts again', async () => {
    const dir = join(work, 'catchup');
    mkdirSync(dir, { recursive: true });
    const db = await makeVulnDb(dir);
    const dataDir = join(dir, 'data');
    const token = await createToken(['--team', 'platform', '--data-dir', dataDir, '--store', 'sqlite:']);
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    let s = await startServer({ dataDir, store: 'sqlite:', listen: '127.0.0.1:0', vulnDbPath: db, dbWatchMs: 0 });
    const up = await fetch(`${s.url}/api/v1/sboms?repository=registry.example.com/team/app&digest=${DIGEST_A}`, { method: 'POST', headers: auth, body: JSON.stringify(cyclonedx([['minimist', '1.2.5']])) });
    expect(up.status).toBe(201);
    await s.close();
    const feed = join(dir, 'more');
    mkdirSync(feed, { recursive: true });
    writeFileSync(join(feed, 'GHSA-xvch-5gv4-984h.json'), JSON.stringify({ id: 'GHSA-xvch-5gv4-984h', modified: '2024-06-01T00:00:00Z', aliases: ['CVE-2021-44906'], affected: [{ package: { ecosystem: 'npm', name: 'minimist' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.2.6' }] }] }] }));
    await importFeeds(db, [{ path: feed }]);
    s = await startServer({ dataDir, store: 'sqlite:', listen: '127.0.0.1:0', vulnDbPath: db, dbWatchMs: 0 });
    try {
      let found: J[] = [];
      for (let i = 0; i < 100 && found.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        found = ((await (await fetch(`${s.url}/api/v1/images/${DIGEST_A}/findings`, { headers: auth })).json()) as J).items;
      }
      expect(found.map((f: J) => f.vulnerabilityId)).toEqual(['CVE-2021-44906']);
    } finally {
      await s.close();
    }
  }, 60_000);
});

if (havePg) {
  describe('drydock server over loopback (PostgreSQL)', () => {
    const name = `drydock_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    let url: string;
    let s: RunningServer | undefined;

    beforeAll(async () => {
      expect(await pgAdmin(`CREATE DATABASE ${name}`)).toBe(true);
      const u = new URL(PG_ADMIN);
      u.pathname = `/${name}`;
      url = u.toString();
    });
    afterAll(async () => {
      await s?.close();
      await pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    });

    it('runs the main flow', async () => {
      const token = await createToken(['--team', 'platform', '--store', url]);
      s = await startServer({ store: url, listen: '127.0.0.1:0', vulnDbPath: dbPath });
      expect(s.store.kind).toBe('postgres');
      await mainFlow(s, token);
      const store = await openStore(url);
      try {
        const team = await store.getTeamByName('platform');
        const audit = await store.listAudit({ teamId: team!.id, actor: 'test' });
        expect(audit.items.map((a) => a.action)).toEqual(expect.arrayContaining(['token.create', 'findings.evaluate', 'triage.set']));
      } finally {
        await store.close();
      }
    });
  });
} else {
  describe.skip('drydock server over loopback (PostgreSQL unreachable)', () => {
    it('needs PostgreSQL at 127.0.0.1:5432', () => undefined);
  });
}
