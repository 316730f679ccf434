/**
 * Fault tests with real processes: a worker (src/server/testdata/worker-child.mjs, built code in dist/;
 * run `npm run build` first) is killed with SIGKILL in the middle of a re-evaluation, and after a
 * notification was sent but before it was recorded. A second worker takes the work up; the receiver
 * must end up with exactly the expected event ids (duplicates only with the same id), and the store with
 * every finding an uninterrupted run produces.
 */
import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findingEventId, findingMaterial, type Store } from '../store/index.js';
import { VulnDb } from '../vulndb/index.js';
import type { WebhookBody } from './notify.js';
import { enqueueReevaluation, reevaluate } from './reevaluate.js';
import { buildDb, buildDbV1, populate, type Populated } from './testdata/fixture.js';
import { startReceiver, type Receiver } from './testdata/receiver.js';
import { requirePg, tempStore, type TempStore } from './testdata/stores.js';
import { runWorker } from './worker.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'testdata', 'worker-child.mjs');
const BUILT = join(here, '..', '..', 'dist', 'server', 'worker.js');
const LEASE_MS = 800;
const N = 24;
const havePg = await requirePg();

const dir = mkdtempSync(join(tmpdir(), 'drydock-worker-'));
const dbPath = join(dir, 'vulndb.sqlite');
const v1Path = join(dir, 'vulndb-v1.sqlite');
let ids: { v1: string; v2: string };
beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build before the worker fault tests`);
  ids = await buildDb(dir, dbPath);
  await buildDbV1(dir, v1Path);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runChild(storeUrl: string, killAt: string, rx: Receiver): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [storeUrl, dbPath, rx.url, killAt, String(LEASE_MS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

/** Seeds a store: inventories evaluated with v1 (their events delivered to nobody), a webhook rule per team, a re-evaluation job v1 → v2. */
async function seed(store: Store, rx: Receiver): Promise<Populated> {
  const pop = await populate(store, N);
  const v1 = VulnDb.open(v1Path);
  try {
    await reevaluate(store, v1, { full: true });
  } finally {
    v1.close();
  }
  await runWorker(store, () => { throw new Error('no job expected'); }, { once: true }); // no rules yet: routes nothing
  for (const t of pop.teams) await store.rules.create(t, { name: 'all', channel: 'webhook', target: `${rx.url}/hook`, filter: { events: ['new', 'resolved'] }, enabled: true });
  await enqueueReevaluation(store, { fromIdentity: ids.v1, toIdentity: ids.v2 });
  return pop;
}

interface Transition { team: number; digest: string; vuln: string; pkg: string; state: 'new' | 'resolved'; revision: number }

/**
 * Open/resolved material of every finding, and the transitions the v2 evaluation made (read from an
 * uninterrupted run only: a re-run after a crash turns "new" into "unchanged").
 */
async function outcome(store: Store, pop: Populated): Promise<{ findings: Map<string, string>; transitions: Transition[] }> {
  const findings = new Map<string, string>();
  const transitions: Transition[] = [];
  for (const img of pop.images) {
    const page = await store.listFindings(img.ctx, img.digest, { states: ['new', 'changed', 'unchanged', 'resolved'], limit: 1000 });
    for (const s of page.items) {
      findings.set(`${img.digest} ${s.vulnerabilityId} ${s.packageId}`, `${s.state === 'resolved' ? 'resolved' : 'open'} ${JSON.stringify(findingMaterial(s.finding))}`);
      if (s.dbIdentity === ids.v2 && (s.state === 'new' || s.state === 'resolved')) {
        transitions.push({ team: pop.teams.indexOf(img.ctx), digest: img.digest, vuln: s.vulnerabilityId, pkg: s.packageId, state: s.state, revision: s.revision });
      }
    }
  }
  return { findings, transitions };
}

/** The event ids those transitions have in a store (team ids differ from store to store). */
function eventIds(transitions: Transition[], pop: Populated): Set<string> {
  return new Set(transitions.map((t) => findingEventId(pop.teams[t.team]!.teamId, t.digest, t.vuln, t.pkg, t.state, t.revision)));
}

for (const kind of ['sqlite', 'postgres'] as const) {
  const d = kind === 'postgres' && !havePg ? describe.skip : describe;
  d(`worker killed with SIGKILL (${kind})`, () => {
    const temps: TempStore[] = [];
    let reference: Map<string, string>;
    let transitions: Transition[];
    afterAll(async () => {
      for (const t of temps) await t.cleanup();
    });

    beforeAll(async () => {
      // the uninterrupted run, in process
      const t = await tempStore(kind, 'ref');
      temps.push(t);
      const rx = await startReceiver();
      const store = await t.open();
      try {
        const pop = await seed(store, rx);
        const db = VulnDb.open(dbPath);
        try {
          const s = await runWorker(store, db, { once: true, deliver: { backoffMs: () => 0 } });
          expect(s.reevaluations).toHaveLength(1);
          expect(s.reevaluations[0]!.mode).toBe('incremental');
        } finally {
          db.close();
        }
        const o = await outcome(store, pop);
        reference = o.findings;
        transitions = o.transitions;
        const expected = eventIds(transitions, pop);
        expect(expected.size).toBeGreaterThan(10);
        expect(new Set(rx.received.map((r) => r.headers['x-drydock-event-id']))).toEqual(expected);
        expect(rx.received).toHaveLength(expected.size);
      } finally {
        await store.close();
        await rx.close();
      }
    }, 120_000);

    for (const killAt of ['image:5', 'sent:1'] as const) {
      it(`finishes after a kill at ${killAt === 'image:5' ? 'the fifth image of the re-evaluation (nothing sent yet)' : 'the first sent notification (not yet recorded)'}`, async () => {
        const t = await tempStore(kind, 'kill');
        temps.push(t);
        const rx = await startReceiver();
        const store = await t.open();
        try {
          const pop = await seed(store, rx);
          const first = await runChild(t.url, killAt, rx);
          expect(first.signal).toBe('SIGKILL');
          const sentBeforeKill = rx.received.length;
          if (killAt === 'image:5') expect(sentBeforeKill).toBe(0);
          else expect(sentBeforeKill).toBeGreaterThanOrEqual(1);
          // the leases of the dead worker run out; a new worker takes the job and the events up
          await new Promise((r) => setTimeout(r, LEASE_MS + 200));
          const second = await runChild(t.url, 'none', rx);
          expect(second).toEqual({ code: 0, signal: null });

          const o = await outcome(store, pop);
          expect(o.findings).toEqual(reference); // no finding lost
          const expected = eventIds(transitions, pop);
          const got = rx.received.map((r) => ({ id: String(r.headers['x-drydock-event-id']), body: JSON.parse(r.body) as WebhookBody }));
          expect(new Set(got.map((g) => g.id))).toEqual(expected);
          // one id per finding transition: a redelivery carries the same id and the same body
          const idOf = new Map<string, string>();
          for (const g of got) {
            const k = `${g.body.image.digest} ${g.body.vulnerability.id} ${g.body.package.id} ${g.body.type}`;
            expect(idOf.get(k) ?? g.id).toBe(g.id);
            idOf.set(k, g.id);
            expect(g.body.id).toBe(g.id);
          }
          if (killAt === 'sent:1') expect(got.length).toBeGreaterThan(expected.size); // the unrecorded send came again
          const job = await store.claimJobs('reevaluate', 1, 1000);
          expect(job).toEqual([]); // the job was completed by the second worker
        } finally {
          await store.close();
          await rx.close();
        }
      }, 120_000);
    }
  });
}
