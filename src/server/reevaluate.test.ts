import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findingMaterial, type Store, type TeamContext } from '../store/index.js';
import { VulnDb } from '../vulndb/index.js';
import { affectedLookupKeys, reevaluate, reevaluationLookupKeys } from './reevaluate.js';
import { buildDb, buildDbV1, inventory, populate, type Populated } from './testdata/fixture.js';
import { requirePg, tempStore, type TempStore } from './testdata/stores.js';

const havePg = await requirePg();
const dir = mkdtempSync(join(tmpdir(), 'drydock-reeval-'));
const dbPath = join(dir, 'vulndb.sqlite');
let ids: { v1: string; v2: string };

beforeAll(async () => {
  ids = await buildDb(dir, dbPath);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every finding of every image, resolved ones included: key → material (state aside: "new" vs "unchanged" is history). */
async function snapshot(store: Store, p: Populated): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const img of p.images) {
    let after: string | undefined;
    do {
      const page = await store.listFindings(img.ctx, img.digest, { states: ['new', 'changed', 'unchanged', 'resolved'], limit: 1000, ...(after ? { after } : {}) });
      for (const s of page.items) {
        out.set(`${img.digest} ${s.vulnerabilityId} ${s.packageId}`, `${s.state === 'resolved' ? 'resolved' : 'open'} ${JSON.stringify(findingMaterial(s.finding))}`);
      }
      after = page.next;
    } while (after);
  }
  return out;
}

describe('lookup keys', () => {
  it('keys OS packages by the source name under the ecosystem base, language packages by normalised name', () => {
    const inv = inventory(0);
    const ssl = inv.packages.find((p) => p.name === 'libssl3')!;
    expect(reevaluationLookupKeys(ssl, inv)).toEqual([{ ecosystem: 'Debian', name: 'openssl' }]);
    const flask = { id: 'x', type: 'pypi' as const, name: 'Flask_Login', version: '1', locations: [], foundBy: 't' };
    expect(reevaluationLookupKeys(flask, inv)).toEqual([{ ecosystem: 'PyPI', name: 'flask-login' }]);
    // an advisory entry finds both forms: ours, and the store's default (type, name)
    expect(affectedLookupKeys('Debian:12', 'openssl')).toEqual([{ ecosystem: 'Debian', name: 'openssl' }, { ecosystem: 'deb', name: 'openssl' }]);
    expect(affectedLookupKeys('npm', 'lib1')).toEqual([{ ecosystem: 'npm', name: 'lib1' }]);
    // a deb package without a distribution has no advisory ecosystem: the store default keeps it findable
    expect(reevaluationLookupKeys(ssl, { ...inv, distro: undefined as never })).toEqual([{ ecosystem: 'deb', name: 'libssl3' }]);
  });
});

for (const kind of ['sqlite', 'postgres'] as const) {
  const d = kind === 'postgres' && !havePg ? describe.skip : describe;
  d(`re-evaluation on ${kind}`, () => {
    const temps: TempStore[] = [];
    afterAll(async () => {
      for (const t of temps) await t.cleanup();
    });

    it('incremental re-evaluation equals a full re-match', async () => {
      const stores: Store[] = [];
      const pops: Populated[] = [];
      // two identical stores evaluated with the first identity; the history holds v1 → v2
      for (let s = 0; s < 2; s++) {
        const t = await tempStore(kind, 'reeval');
        temps.push(t);
        const store = await t.open();
        stores.push(store);
        pops.push(await populate(store, 40));
      }
      const [inc, full] = stores as [Store, Store];
      const db = VulnDb.open(dbPath);
      try {
        // seed both stores with v1 findings by matching against v1's records (a separate database)
        const v1Path = join(mkdtempSync(join(dir, 'only-v1-')), 'db.sqlite');
        await buildDbV1(dir, v1Path);
        const v1Db = VulnDb.open(v1Path);
        try {
          for (const s of stores) {
            const r = await reevaluate(s, v1Db, { full: true });
            expect(r.images).toBe(40);
            expect(r.new).toBeGreaterThan(0);
          }
        } finally {
          v1Db.close();
        }
        const before = await snapshot(inc, pops[0]!);
        expect(before).toEqual(await snapshot(full, pops[1]!));

        const ri = await reevaluate(inc, db, { fromIdentity: ids.v1 });
        const rf = await reevaluate(full, db, { full: true });
        expect(ri.mode).toBe('incremental');
        expect(ri.changes).toEqual({ added: 3, modified: 2, withdrawn: 1, removed: 1 });
        expect(rf.images).toBe(40);
        // only images the change log can affect were matched again (bash-only images are not)
        expect(ri.images).toBeGreaterThan(0);
        expect(ri.images).toBeLessThan(rf.images);
        // the change log moved things: new, changed and resolved findings
        expect(ri.new).toBeGreaterThan(0);
        expect(ri.changed).toBeGreaterThan(0);
        expect(ri.resolved).toBeGreaterThan(0);
        expect([ri.new, ri.changed, ri.resolved]).toEqual([rf.new, rf.changed, rf.resolved]);

        const a = await snapshot(inc, pops[0]!);
        const b = await snapshot(full, pops[1]!);
        expect(a).toEqual(b);
        expect(a).not.toEqual(before);

        // running it again changes nothing and enqueues nothing
        const again = await reevaluate(inc, db, { fromIdentity: ids.v1 });
        expect(again.events).toBe(0);
        expect(await snapshot(inc, pops[0]!)).toEqual(a);
      } finally {
        db.close();
        for (const s of stores) await s.close();
      }
    }, 120_000);

    it('an image whose packages no changed advisory names is not matched again', async () => {
      const t = await tempStore(kind, 'reeval2');
      temps.push(t);
      const store = await t.open();
      const db = VulnDb.open(dbPath);
      try {
        const team = await store.createTeam('solo', 'test');
        const ctx: TeamContext = { teamId: team.id, actor: 'test' };
        const inv = inventory(1);
        inv.packages = inv.packages.filter((p) => p.name === 'lib9');
        inv.packages.push({ id: 'npm:lib9@1.0.0', type: 'npm', name: 'lib9', version: '1.0.0', locations: [], foundBy: 't' });
        await store.putInventory(ctx, 'sha256:aa', inv, { lookupKeys: reevaluationLookupKeys });
        const first = await reevaluate(store, db, { full: true });
        expect(first.new).toBeGreaterThan(0);
        const r = await reevaluate(store, db, { fromIdentity: ids.v1 });
        expect(r.images).toBe(0);
        // stored with the store's default keys, an npm package is still found
        const inv2 = inventory(3);
        inv2.packages = [{ id: 'npm:lib1@1.0.0', type: 'npm', name: 'lib1', version: '1.0.0', locations: [], foundBy: 't' }];
        await store.putInventory(ctx, 'sha256:bb', inv2);
        const r2 = await reevaluate(store, db, { fromIdentity: ids.v1 });
        expect(r2.images).toBe(1);
        expect(r2.new).toBe(2); // GHSA-2 (now fixed in 1.8.0) and GHSA-11
      } finally {
        db.close();
        await store.close();
      }
    }, 60_000);

    it('finds the images of withdrawn and removed advisories', async () => {
      const t = await tempStore(kind, 'reeval3');
      temps.push(t);
      const store = await t.open();
      const v1Path = join(mkdtempSync(join(dir, 'only-v1-')), 'db.sqlite');
      await buildDbV1(dir, v1Path);
      const v1Db = VulnDb.open(v1Path);
      const db = VulnDb.open(dbPath);
      try {
        const team = await store.createTeam('solo', 'test');
        const ctx: TeamContext = { teamId: team.id, actor: 'test' };
        for (const [digest, name] of [['sha256:c2', 'lib2'], ['sha256:c4', 'lib4']] as const) {
          const inv = inventory(1);
          inv.packages = [{ id: `npm:${name}@1.0.0`, type: 'npm', name, version: '1.0.0', locations: [], foundBy: 't' }];
          await store.putInventory(ctx, digest, inv, { lookupKeys: reevaluationLookupKeys });
        }
        expect((await reevaluate(store, v1Db, { full: true })).new).toBe(2);
        const r = await reevaluate(store, db, { fromIdentity: ids.v1 });
        // GHSA-3 (lib2) withdrawn: found through its record; GHSA-5 (lib4) removed: found through the stored findings
        expect(r).toMatchObject({ images: 2, resolved: 2, new: 0 });
      } finally {
        v1Db.close();
        db.close();
        await store.close();
      }
    }, 60_000);
  });
}
