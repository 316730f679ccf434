import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { findingEventId, type Store, type TeamContext } from '../store/index.js';
import { VulnDb } from '../vulndb/index.js';
import { deliverOutbox, globMatch, ruleMatches, signPayload, verifySignature, type DeliverOptions, type WebhookBody } from './notify.js';
import { reevaluate } from './reevaluate.js';
import { buildDbV1, populate, type Populated } from './testdata/fixture.js';
import { startReceiver, type Receiver } from './testdata/receiver.js';
import { tempStore, type TempStore } from './testdata/stores.js';
import type { Finding } from '../model/vuln.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-notify-'));
const dbPath = join(dir, 'vulndb.sqlite');
const SECRET = 'whsec-test-0123456789';
let db: VulnDb;

beforeAll(async () => {
  await buildDbV1(dir, dbPath);
  db = VulnDb.open(dbPath);
});
afterAll(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

let temp: TempStore | undefined;
let store: Store | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await store?.close();
  await temp?.cleanup();
  await receiver?.close();
  store = undefined;
  temp = undefined;
  receiver = undefined;
});

async function setup(n: number, maxAttempts?: number): Promise<{ store: Store; pop: Populated; rx: Receiver }> {
  temp = await tempStore('sqlite', 'notify');
  store = await temp.open(maxAttempts ? { outboxMaxAttempts: maxAttempts } : {});
  receiver = await startReceiver();
  return { store, pop: await populate(store, n), rx: receiver };
}

const opts = (extra: DeliverOptions = {}): DeliverOptions => ({ secret: (ref) => (ref === 'hook' ? SECRET : undefined), backoffMs: () => 0, ...extra });

async function drain(store: Store, o: DeliverOptions): Promise<void> {
  for (let i = 0; i < 100; i++) if ((await deliverOutbox(store, o)).claimed === 0) return;
  throw new Error('outbox did not drain');
}

/** The open findings of every image, as (team, digest, finding) */
async function openFindings(store: Store, pop: Populated): Promise<{ ctx: TeamContext; digest: string; repository: string; f: Finding; revision: number }[]> {
  const out = [];
  for (const img of pop.images) {
    const page = await store.listFindings(img.ctx, img.digest, { limit: 1000 });
    for (const s of page.items) out.push({ ctx: img.ctx, digest: img.digest, repository: img.repository, f: s.finding, revision: s.revision });
  }
  return out;
}

describe('signatures and globs', () => {
  it('signs t.body with HMAC-SHA256 and verifies it', () => {
    const h = signPayload('k', '{"a":1}', 1700000000);
    // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac k
    expect(h).toBe('t=1700000000,v1=1b6ad1bc9bf48c52ce01939866d5877c6cc4e87ddad27e16673cb8c4964394a3');
    expect(verifySignature('k', '{"a":1}', h, 1700000010)).toBe(true);
    expect(verifySignature('k', '{"a":2}', h, 1700000010)).toBe(false);
    expect(verifySignature('other', '{"a":1}', h, 1700000010)).toBe(false);
    expect(verifySignature('k', '{"a":1}', h, 1700009999)).toBe(false);
  });

  it('matches repository globs', () => {
    expect(globMatch('example.com/app*', 'example.com/app3')).toBe(true);
    expect(globMatch('example.com/*', 'example.com/team/app')).toBe(false);
    expect(globMatch('example.com/**', 'example.com/team/app')).toBe(true);
    expect(globMatch('a.b/c?', 'axb/c1')).toBe(false);
  });
});

describe('deliverOutbox', () => {
  it('routes new findings through the rules: filters, signed webhooks, Slack messages, owners', async () => {
    const { store, pop, rx } = await setup(12);
    const [alpha, beta] = pop.teams as [TeamContext, TeamContext];
    await store.rules.create(alpha, { name: 'hook', channel: 'webhook', target: `${rx.url}/hook`, secretRef: 'hook', filter: { minSeverity: 'high', repositories: ['example.com/app*'] }, enabled: true });
    await store.rules.create(alpha, { name: 'slack', channel: 'slack', target: `${rx.url}/slack`, filter: { fixAvailableOnly: true, repositories: ['example.com/app0'] }, enabled: true });
    await store.rules.create(alpha, { name: 'off', channel: 'webhook', target: `${rx.url}/off`, filter: {}, enabled: false });
    await store.rules.create(alpha, { name: 'mail', channel: 'email', target: 'sec@example.com', filter: {}, enabled: true });
    await store.rules.create(beta, { name: 'kev', channel: 'webhook', target: `${rx.url}/kev`, filter: { kevOnly: true }, enabled: true });
    await reevaluate(store, db, { full: true });
    await drain(store, opts());

    const all = await openFindings(store, pop);
    const alphaFindings = all.filter((x) => x.ctx === alpha);
    const wantHook = new Set(alphaFindings.filter((x) => ['high', 'critical'].includes(x.f.severity)).map((x) => findingEventId(alpha.teamId, x.digest, x.f.id, x.f.package.id, 'new', x.revision)));
    const wantSlack = alphaFindings.filter((x) => x.repository === 'example.com/app0' && x.f.fixState === 'fixed').length;
    expect(wantHook.size).toBeGreaterThan(0);
    expect(wantSlack).toBeGreaterThan(0);

    const hooks = rx.received.filter((r) => r.path === '/hook');
    expect(hooks).toHaveLength(wantHook.size);
    expect(new Set(hooks.map((r) => r.headers['x-drydock-event-id']))).toEqual(wantHook);
    for (const h of hooks) {
      const body = JSON.parse(h.body) as WebhookBody;
      expect(body.id).toBe(h.headers['x-drydock-event-id']);
      expect(verifySignature(SECRET, h.body, String(h.headers['x-drydock-signature']), Math.floor(Date.now() / 1000))).toBe(true);
      expect(body.owners).toContain('team-app');
      expect(body.image.repositories[0]).toMatch(/^example\.com\/app/);
      expect(['high', 'critical']).toContain(body.vulnerability.severity);
    }
    const slack = rx.received.filter((r) => r.path === '/slack');
    expect(slack).toHaveLength(wantSlack);
    const msg = JSON.parse(slack[0]!.body) as { text: string; blocks: { type: string }[] };
    expect(msg.text).toMatch(/^New \w+ vulnerability \S+ in \S+ \S+ \(example\.com\/app0\)$/);
    expect(msg.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context']);
    expect(slack[0]!.headers['x-drydock-signature']).toBeUndefined();
    // disabled rules, KEV-only rules without KEV findings: nothing
    expect(rx.received.filter((r) => r.path === '/off' || r.path === '/kev')).toHaveLength(0);
    // a second round finds nothing due
    expect((await deliverOutbox(store, opts())).claimed).toBe(0);
  }, 60_000);

  it('retries with backoff and the same event id, then makes dead letters', async () => {
    const { store, pop, rx } = await setup(2, 3);
    const [alpha] = pop.teams as [TeamContext];
    await store.rules.create(alpha, { name: 'flaky', channel: 'webhook', target: `${rx.url}/flaky`, filter: {}, enabled: true });
    await store.rules.create(alpha, { name: 'down', channel: 'webhook', target: `${rx.url}/down`, filter: {}, enabled: true });
    const seen = new Map<string, number>();
    rx.status = ({ path, body }) => {
      if (path === '/down') return 500;
      const id = (JSON.parse(body) as WebhookBody).id;
      seen.set(id, (seen.get(id) ?? 0) + 1);
      return seen.get(id)! <= 2 ? 503 : 200;
    };
    const r = await reevaluate(store, db, { full: true });
    const want = (await openFindings(store, pop)).filter((x) => x.ctx === alpha).length;
    expect(want).toBeGreaterThan(0);
    expect(r.new).toBeGreaterThanOrEqual(want);
    const waits: number[] = [];
    await drain(store, opts({ backoffMs: (n) => { waits.push(n); return 0; } }));
    const flaky = rx.received.filter((x) => x.path === '/flaky');
    // each event three times (503, 503, 200), always with the same id
    expect(flaky).toHaveLength(want * 3);
    expect([...seen.values()].every((n) => n === 3)).toBe(true);
    expect(seen.size).toBe(want);
    const down = rx.received.filter((x) => x.path === '/down');
    expect(down).toHaveLength(want * 3);
    const dead = await store.listDeadLetters(alpha, { limit: 1000 });
    expect(dead.items).toHaveLength(want);
    expect(dead.items[0]!.lastError).toMatch(/answered 500/);
    expect(waits).toContain(1);
    expect(waits).toContain(2);
  }, 60_000);
});
