/**
 * The store contract (ARCHITECTURE habit 14): one suite, run on every backend. A backend's test
 * file calls describeStore with a factory that opens stores on one throw-away database.
 * Not part of the build (testdata/ is excluded).
 */
import type { FindingJsonLister } from '../sql-store.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDrydockError } from '../../core/errors.js';
import type { Inventory, Package } from '../../model/package.js';
import type { Finding } from '../../model/vuln.js';
import { LATEST_SCHEMA, MIGRATIONS } from '../migrations.js';
import type { OpenStoreOptions } from '../open.js';
import { driftEventId, findingEventId } from '../sql-store.js';
import type { DriftFindingInput, Store, TeamContext, WorkloadInput } from '../types.js';

export interface StoreFactory {
  /** opens a store on the suite's database (the same database every time) */
  open(options?: OpenStoreOptions): Promise<Store>;
  /** runs raw SQL on the suite's database, outside any store */
  exec(sql: string): Promise<void>;
  /** drops the database */
  cleanup(): Promise<void>;
}

/** A clock the tests move by hand. */
export class TestClock {
  t = Date.parse('2025-03-01T12:00:00.000Z');
  now(): Date {
    return new Date(this.t);
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

const DAY = 86_400_000;
export const SQL_NASTY = `Robert'); DROP TABLE teams;-- "x" \\ % _ ? $1 \u00e9\u{1F600}`;

let seq = 0;
const uniq = (s: string) => `${s}-${process.pid}-${++seq}`;
const digestOf = (n: number | string) => `sha256:${String(n).padStart(64, '0')}`;

export function pkg(name: string, version: string, extra: Partial<Package> = {}): Package {
  return {
    id: `pkg-${name}-${version}`.replace(/[^A-Za-z0-9._-]/g, '_'),
    type: 'npm', name, version, purl: `pkg:npm/${encodeURIComponent(name)}@${version}`,
    locations: [{ path: `/app/node_modules/${name}/package.json`, layer: 0 }], foundBy: 'npm', ...extra,
  };
}

export function inventory(digest: string, packages: Package[]): Inventory {
  return { source: { target: `registry/app@${digest}`, kind: 'registry', name: 'app', digest, layers: [] }, packages, relationships: [], issues: [] };
}

export function finding(id: string, p: Package, extra: Partial<Finding> = {}): Finding {
  return {
    id, aliases: [], package: { id: p.id, type: p.type, name: p.name, version: p.version, locations: p.locations },
    fixedVersions: [], fixState: 'not-fixed', severity: 'high', cvss: [], urls: [],
    match: { matcher: 'language', ecosystem: 'npm', searchedName: p.name, searchedVersion: p.version, scheme: 'npm', matchedRange: '<9', advisoryIds: [id], sources: ['osv:npm'] },
    ...extra,
  };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeDefined();
  expect(isDrydockError(err) ? err.code : err).toBe(code);
}

export function describeStore(name: string, setup: () => Promise<StoreFactory | undefined>): void {
  describe(`store contract: ${name}`, () => {
    let f: StoreFactory;
    let store: Store;
    const clock = new TestClock();
    let A: TeamContext;
    let B: TeamContext;

    beforeAll(async () => {
      const made = await setup();
      if (!made) throw new Error('store factory unavailable');
      f = made;
      store = await f.open({ clock, outboxMaxAttempts: 3, jobBackoffMs: 1000 });
      const ta = await store.createTeam(uniq('team-a'), 'test');
      const tb = await store.createTeam(uniq('team-b'), 'test');
      A = { teamId: ta.id, actor: 'tester-a' };
      B = { teamId: tb.id, actor: 'tester-b' };
    });
    afterAll(async () => {
      await store?.close();
      await f?.cleanup();
    });

    describe('migrations', () => {
      it('applies every migration once and re-running them changes nothing', async () => {
        expect(await store.schemaVersion()).toBe(LATEST_SCHEMA);
        const again = await Promise.all([f.open({ clock }), f.open({ clock })]);
        for (const s of again) {
          expect(await s.schemaVersion()).toBe(LATEST_SCHEMA);
          await s.close();
        }
        const other = await f.open({ clock });
        // data survives a re-open
        expect((await other.getTeam(A.teamId))?.id).toBe(A.teamId);
        await other.close();
      });

      it('refuses a database newer than the code', async () => {
        await f.exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${LATEST_SCHEMA + 1}, 'from-the-future', 0)`);
        try {
          await expectCode(f.open({ clock }), 'STORE_SCHEMA');
        } finally {
          await f.exec(`DELETE FROM schema_migrations WHERE version = ${LATEST_SCHEMA + 1}`);
        }
        expect(MIGRATIONS.map((m) => m.version)).toEqual([...MIGRATIONS.map((m) => m.version)].sort((a, b) => a - b));
      });
    });

    describe('teams and tokens', () => {
      it('creates teams with unique names, SQL-significant ones included', async () => {
        const t = await store.createTeam(`${SQL_NASTY} ${uniq('t')}`, 'test');
        expect((await store.getTeamByName(t.name))?.id).toBe(t.id);
        await expectCode(store.createTeam(t.name, 'test'), 'STORE_CONFLICT');
        expect((await store.listTeams()).map((x) => x.id)).toContain(t.id);
      });

      it('stores tokens hashed, authenticates, revokes, and scopes them to a team', async () => {
        const { token, secret } = await store.createToken(A, { name: `ci ${SQL_NASTY}`, scope: 'write' });
        expect(secret.startsWith(token.prefix)).toBe(true);
        expect(token.name).toBe(`ci ${SQL_NASTY}`);
        const auth = await store.authenticate(secret);
        expect(auth).toMatchObject({ id: token.id, teamId: A.teamId, scope: 'write' });
        expect(auth?.lastUsedAt).toBe(clock.now().toISOString());
        expect(await store.authenticate(`${secret}x`)).toBeUndefined();
        expect(await store.authenticate(`' OR 1=1 --`)).toBeUndefined();
        expect((await store.listTokens(A)).map((t) => t.id)).toContain(token.id);
        expect((await store.listTokens(B)).map((t) => t.id)).not.toContain(token.id);
        expect(await store.revokeToken(B, token.id)).toBe(false);
        expect(await store.authenticate(secret)).toBeDefined();
        expect(await store.revokeToken(A, token.id)).toBe(true);
        expect(await store.authenticate(secret)).toBeUndefined();
        await expectCode(store.createToken(A, { name: 'x', scope: 'root' as 'admin' }), 'STORE_INPUT_INVALID');
        const audit = await store.listAudit(A, { limit: 1000 });
        expect(audit.items.filter((e) => e.object === token.id).map((e) => [e.action, e.actor])).toEqual([
          ['token.revoke', 'tester-a'], ['token.create', 'tester-a'],
        ]);
        expect(JSON.stringify(audit.items)).not.toContain(secret);
      });
    });

    describe('images', () => {
      it('records tags, labels and owners; a moved tag stays as a previous tag', async () => {
        const repo = `library/${SQL_NASTY}`;
        const d1 = digestOf(uniq('img1'));
        const d2 = digestOf(uniq('img2'));
        const r1 = await store.recordImage(A, { repository: repo, digest: d1, tags: ['latest', '1.0'], labels: { 'org.opencontainers.image.authors': 'a@x.org, b@x.org', 'drydock.owner': 'team-x', 'q': `it's` } });
        expect(r1).toMatchObject({ repository: repo, digest: d1, tags: ['1.0', 'latest'], previousTags: [], owners: ['a@x.org', 'b@x.org', 'team-x'] });
        expect(r1.labels.q).toBe(`it's`);
        clock.advance(1000);
        await store.recordImage(A, { repository: repo, digest: d2, tags: ['latest'] });
        const again = await store.getImage(A, repo, d1);
        expect(again).toMatchObject({ tags: ['1.0'], previousTags: ['latest'], firstSeen: r1.firstSeen });
        // no labels given: the stored labels stay
        expect(again?.owners).toEqual(['a@x.org', 'b@x.org', 'team-x']);
        await store.recordImage(A, { repository: 'other/repo', digest: d1 });
        expect((await store.imagesByDigest(A, d1)).map((i) => i.repository)).toEqual(['other/repo', repo].sort());
        expect(await store.imagesByDigest(B, d1)).toEqual([]);
        expect(await store.getImage(B, repo, d1)).toBeUndefined();
      });

      it('pages through images with a keyset cursor', async () => {
        const repo = uniq('paged');
        const digests = [1, 2, 3, 4, 5].map((n) => digestOf(`${seq}${n}`));
        for (const d of digests) await store.recordImage(A, { repository: repo, digest: d });
        const seen: string[] = [];
        let after: string | undefined;
        do {
          const page = await store.listImages(A, { repository: repo, limit: 2, ...(after ? { after } : {}) });
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...page.items.map((i) => i.digest));
          after = page.next;
        } while (after);
        expect(seen).toEqual([...digests].sort());
        expect((await store.listImages(B, { repository: repo })).items).toEqual([]);
        await expectCode(store.listImages(A, { after: 'garbage' }), 'STORE_INPUT_INVALID');
      });

      it('retention deletes old untagged digests with their data, and nothing else', async () => {
        const T: TeamContext = { teamId: (await store.createTeam(uniq('retention'), 'test')).id, actor: 'test' };
        const repo = uniq('ret');
        const [old, oldTagged, fresh, shared] = ['o', 't', 'f', 's'].map((x) => digestOf(uniq(x)));
        const p = pkg('left-pad', '1.0.0');
        await store.recordImage(T, { repository: repo, digest: old! });
        await store.recordImage(T, { repository: repo, digest: oldTagged!, tags: ['stable'] });
        await store.recordImage(T, { repository: repo, digest: shared! });
        await store.recordImage(T, { repository: `${repo}-keep`, digest: shared! });
        await store.recordImage(B, { repository: repo, digest: old! });
        for (const d of [old!, shared!]) {
          await store.putInventory(T, d, inventory(d, [p]));
          await store.applyEvaluation(T, d, [finding('CVE-2020-1', p)], 'db1');
        }
        await store.putInventory(B, old!, inventory(old!, [p]));
        clock.advance(31 * DAY);
        await store.recordImage(T, { repository: repo, digest: fresh! });
        await store.recordImage(T, { repository: `${repo}-keep`, digest: shared! });
        const deleted = await store.applyRetention(T, 30);
        expect(deleted).toEqual([{ repository: repo, digest: old! }, { repository: repo, digest: shared! }].sort((a, b) => (a.digest < b.digest ? -1 : 1)));
        expect(await store.getInventory(T, old!)).toBeUndefined();
        expect((await store.listFindings(T, old!)).items).toEqual([]);
        expect(await store.getInventory(T, shared!)).toBeDefined();
        expect((await store.listFindings(T, shared!)).items).toHaveLength(1);
        expect(await store.getImage(T, repo, oldTagged!)).toBeDefined();
        // the other team's copy of the same digest is untouched
        expect(await store.getInventory(B, old!)).toBeDefined();
        expect(await store.getImage(B, repo, old!)).toBeDefined();
      });
    });

    describe('inventories', () => {
      it('round-trips the inventory and answers portfolio searches', async () => {
        const d1 = digestOf(uniq('inv1'));
        const d2 = digestOf(uniq('inv2'));
        const nasty = pkg(`${SQL_NASTY}-${seq}`, `1.0.0'--`);
        const lp1 = pkg(uniq('lib'), '1.0.0');
        const lp2 = { ...lp1, id: `${lp1.id}-2`, version: '2.0.0', purl: lp1.purl!.replace('1.0.0', '2.0.0') };
        const inv1 = inventory(d1, [lp1, nasty, pkg('%', '1')]);
        await store.recordImage(A, { repository: 'shop/web', digest: d1 });
        await store.recordImage(A, { repository: 'shop/api', digest: d1 });
        expect(await store.putInventory(A, d1, inv1)).toEqual({ packages: 3 });
        await store.putInventory(A, d2, inventory(d2, [lp2]));
        expect(await store.getInventory(A, d1)).toEqual(inv1);
        expect(await store.getInventory(B, d1)).toBeUndefined();

        const byName = await store.searchPackages(A, { name: lp1.name });
        expect(byName.items.map((h) => [h.digest, h.package.version])).toEqual([[d1, '1.0.0'], [d2, '2.0.0']]);
        const paged = await store.searchPackages(A, { name: lp1.name, limit: 1 });
        expect(paged.items.map((h) => h.digest)).toEqual([d1]);
        expect((await store.searchPackages(A, { name: lp1.name, limit: 1, after: paged.next! })).items.map((h) => h.digest)).toEqual([d2]);
        expect(byName.items.find((h) => h.digest === d1)?.repositories).toEqual(['shop/api', 'shop/web']);
        expect((await store.searchPackages(A, { name: lp1.name, version: '2.0.0' })).items.map((h) => h.digest)).toEqual([d2]);
        expect((await store.searchPackages(A, { purl: lp1.purl! })).items.map((h) => h.digest)).toEqual([d1]);
        expect((await store.searchPackages(A, { name: nasty.name, version: nasty.version })).items).toHaveLength(1);
        // a LIKE wildcard is a name like any other
        expect((await store.searchPackages(A, { name: '%' })).items.map((h) => h.package.name)).toEqual(['%']);
        expect((await store.searchPackages(B, { name: lp1.name })).items).toEqual([]);
        await expectCode(store.searchPackages(A, {}), 'STORE_INPUT_INVALID');

        // storing again replaces the package index
        await store.putInventory(A, d1, inventory(d1, [nasty]));
        expect((await store.searchPackages(A, { name: lp1.name })).items.map((h) => h.digest)).toEqual([d2]);
      });

      it('finds stored packages by ecosystem and name across teams, with the caller\'s lookup keys', async () => {
        const name = uniq('openssl');
        const deb = pkg(name, '3.0.11-1~deb12u2', { type: 'deb', purl: `pkg:deb/debian/${name}@3.0.11-1~deb12u2` });
        const keys = (p: Package) => [{ ecosystem: 'Debian:12', name: p.name }, { ecosystem: 'Debian:12', name: `src-${p.name}` }];
        const da = digestOf(uniq('fa'));
        const db = digestOf(uniq('fb'));
        await store.putInventory(A, da, inventory(da, [deb]), { lookupKeys: keys });
        await store.putInventory(B, db, inventory(db, [deb]), { lookupKeys: keys });
        const hits = await store.findPackages([{ ecosystem: 'Debian:12', name: `src-${name}` }, { ecosystem: 'Debian:11', name }]);
        expect(hits.map((h) => [h.teamId, h.digest, h.packageId, h.version]).sort()).toEqual(
          [[A.teamId, da, deb.id, deb.version], [B.teamId, db, deb.id, deb.version]].sort());
        // the default key is the package type and name
        const dn = digestOf(uniq('fn'));
        const np = pkg(uniq('express'), '4.0.0');
        await store.putInventory(A, dn, inventory(dn, [np]));
        expect((await store.findPackages([{ ecosystem: 'npm', name: np.name }])).map((h) => h.digest)).toEqual([dn]);
        const all: string[] = [];
        let after: string | undefined;
        do {
          const page = await store.listInventories({ limit: 3, ...(after ? { after } : {}) });
          all.push(...page.items.map((r) => `${r.teamId} ${r.digest}`));
          after = page.next;
        } while (after);
        expect(all).toContain(`${A.teamId} ${da}`);
        expect(all).toContain(`${B.teamId} ${db}`);
        expect(new Set(all).size).toBe(all.length);
      });
    });

    describe('findings', () => {
      it('versions findings per image: new, unchanged, changed, resolved, with stable event ids', async () => {
        const d = digestOf(uniq('fnd'));
        const [p1, p2, p3, p4] = [1, 2, 3, 4].map((i) => pkg(`dep${i}`, `1.${i}.0`));
        const f1 = finding('CVE-2024-0001', p1!);
        const f2 = finding('CVE-2024-0002', p2!);
        const f3 = finding(`GHSA-'x'; --`, p3!);
        const e1 = await store.applyEvaluation(A, d, [f1, f2, f3], 'sha256:db1');
        expect([e1.new.length, e1.changed.length, e1.resolved.length, e1.unchanged]).toEqual([3, 0, 0, 0]);
        expect(e1.eventIds).toContain(findingEventId(A.teamId, d, f1.id, p1!.id, 'new', 1));

        clock.advance(1000);
        const f2fixed = { ...f2, fixState: 'fixed' as const, fixedVersions: ['1.2.1'], epss: { score: 0.5, percentile: 0.9 } };
        const f4 = finding('CVE-2024-0004', p4!);
        const e2 = await store.applyEvaluation(A, d, [f1, f2fixed, f4], 'sha256:db2');
        expect(e2.new.map((x) => x.id)).toEqual(['CVE-2024-0004']);
        expect(e2.changed.map((c) => [c.finding.id, c.changes])).toEqual([['CVE-2024-0002', ['fixState', 'fixedVersions']]]);
        expect(e2.changed[0]!.previous.fixState).toBe('not-fixed');
        expect(e2.resolved.map((x) => x.id)).toEqual([f3.id]);
        expect(e2.unchanged).toBe(1);
        expect(e2.eventIds).toHaveLength(3);

        const current = await store.listFindings(A, d);
        expect(current.items.map((x) => [x.vulnerabilityId, x.state])).toEqual([
          ['CVE-2024-0001', 'unchanged'], ['CVE-2024-0002', 'changed'], ['CVE-2024-0004', 'new'],
        ]);
        const c2 = current.items[1]!;
        expect(c2).toMatchObject({ revision: 2, dbIdentity: 'sha256:db2', firstSeen: e1.at, lastChanged: e2.at });
        expect(c2.finding).toEqual(f2fixed);
        expect(current.items[0]).toMatchObject({ firstSeen: e1.at, lastChanged: e1.at });
        expect((await store.listFindings(A, d, { states: ['resolved'] })).items.map((x) => x.vulnerabilityId)).toEqual([f3.id]);

        // the same result again: nothing to tell, no event
        const e3 = await store.applyEvaluation(A, d, [f1, f2fixed, f4], 'sha256:db2');
        expect([e3.new.length, e3.changed.length, e3.resolved.length, e3.unchanged, e3.eventIds.length]).toEqual([0, 0, 0, 3, 0]);

        // a resolved finding that comes back is new again, under a new event id, and keeps its first-seen time
        const e4 = await store.applyEvaluation(A, d, [f1, f2fixed, f3, f4], 'sha256:db3');
        expect(e4.new.map((x) => x.id)).toEqual([f3.id]);
        const back = (await store.listFindings(A, d)).items.find((x) => x.vulnerabilityId === f3.id)!;
        expect(back).toMatchObject({ state: 'new', revision: 3, firstSeen: e1.at });
        expect(e4.eventIds).toEqual([findingEventId(A.teamId, d, f3.id, p3!.id, 'new', 3)]);

        expect((await store.listEvaluations(A, d)).map((e) => e.counts)).toEqual([
          { new: 3, changed: 0, resolved: 0, unchanged: 0 },
          { new: 1, changed: 1, resolved: 1, unchanged: 1 },
          { new: 0, changed: 0, resolved: 0, unchanged: 3 },
          { new: 1, changed: 0, resolved: 0, unchanged: 3 },
        ]);
        expect((await store.listFindings(B, d)).items).toEqual([]);
        expect(await store.listEvaluations(B, d)).toEqual([]);
        // the identity of the newest evaluation, across teams: where a restarted server catches up from
        await store.applyEvaluation(B, digestOf(uniq('fnd-b')), [], 'sha256:db-newest');
        expect(await store.lastEvaluationIdentity()).toBe('sha256:db-newest');
      });

      it('pages an image\'s findings with a keyset cursor', async () => {
        const d = digestOf(uniq('fpage'));
        const fs = Array.from({ length: 7 }, (_, i) => finding(`CVE-2024-${1000 + i}`, pkg(`p${i % 3}`, '1.0.0')));
        await store.applyEvaluation(A, d, fs, 'db');
        const ids: string[] = [];
        let after: string | undefined;
        do {
          const page = await store.listFindings(A, d, { limit: 3, ...(after ? { after } : {}) });
          ids.push(...page.items.map((x) => x.vulnerabilityId));
          after = page.next;
        } while (after);
        expect(ids).toEqual(fs.map((x) => x.id).sort());
      });

      it('lists findings as pre-serialised JSON equal to the parsed listing with the image\'s triage', async () => {
        const d = digestOf(uniq('fjson'));
        const fs = Array.from({ length: 5 }, (_, i) => finding(`CVE-2024-${2000 + i}`, pkg(`q${i}`, '1.0.0')));
        await store.applyEvaluation(A, d, fs, 'db');
        await store.setTriage(A, { vulnerabilityId: fs[1]!.id, target: { digest: d }, state: 'false_positive', reason: `dev only ${SQL_NASTY}` });
        const lister = store as Partial<FindingJsonLister>;
        expect(typeof lister.listFindingsJson).toBe('function');
        for (const filter of [{ limit: 2 }, { limit: 100 }]) {
          const plain = await store.listFindings(A, d, filter);
          const raw = await lister.listFindingsJson!(A, d, filter);
          const expected = await Promise.all(plain.items.map(async (f) => {
            const t = await store.getTriage(A, f.vulnerabilityId, { digest: d });
            return JSON.stringify({ ...f, ...(t ? { triage: t } : {}) });
          }));
          expect(raw.items.map((i) => i.json)).toEqual(expected);
          expect(raw.next).toEqual(plain.next);
        }
      });
    });

    describe('triage', () => {
      it('records states with an audit trail and checks their rules', async () => {
        const vuln = `CVE-2024-9999 ${SQL_NASTY}`;
        const target = { purl: 'pkg:npm/left-pad@1.0.0' };
        await expectCode(store.setTriage(A, { vulnerabilityId: vuln, target, state: 'not_affected' }), 'STORE_INPUT_INVALID');
        await expectCode(store.setTriage(A, { vulnerabilityId: vuln, target, state: 'accepted' }), 'STORE_INPUT_INVALID');
        await expectCode(store.setTriage(A, { vulnerabilityId: vuln, target: { purl: 'left-pad' }, state: 'affected' }), 'STORE_INPUT_INVALID');
        await store.setTriage(A, { vulnerabilityId: vuln, target, state: 'affected', reason: 'confirmed' });
        clock.advance(1000);
        const r = await store.setTriage({ ...A, actor: 'alice' }, { vulnerabilityId: vuln, target, state: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', reason: `it's dead code` });
        expect(r).toMatchObject({ state: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', updatedBy: 'alice' });
        const until = new Date(clock.t + 30 * DAY);
        const img = { digest: digestOf(1) };
        await store.setTriage(A, { vulnerabilityId: vuln, target: img, state: 'accepted', until });
        expect(await store.getTriage(A, vuln, img)).toMatchObject({ state: 'accepted', until: until.toISOString(), target: img });
        expect(await store.getTriage(A, vuln, target)).toEqual(r);
        const hist = await store.triageHistory(A, vuln, target);
        expect(hist.map((h) => [h.from ?? null, h.to, h.actor, h.reason])).toEqual([
          [null, 'affected', 'tester-a', 'confirmed'], ['affected', 'not_affected', 'alice', `it's dead code`],
        ]);
        expect((await store.listTriage(A, { vulnerabilityId: vuln })).items).toHaveLength(2);
        expect((await store.listTriage(A, { target: img })).items.map((t) => t.state)).toEqual(['accepted']);
        expect(await store.getTriage(B, vuln, target)).toBeUndefined();
        expect(await store.triageHistory(B, vuln, target)).toEqual([]);
        expect((await store.listTriage(B)).items).toEqual([]);
        expect((await store.listAudit(A, { limit: 10 })).items.some((e) => e.action === 'triage.set' && e.actor === 'alice')).toBe(true);
      });
    });

    describe('audit', () => {
      it('lists a team\'s changes newest first, page by page, and nothing of other teams', async () => {
        const all: number[] = [];
        let after: string | undefined;
        do {
          const page = await store.listAudit(A, { limit: 5, ...(after ? { after } : {}) });
          all.push(...page.items.map((e) => e.id));
          expect(page.items.every((e) => e.teamId === A.teamId)).toBe(true);
          after = page.next;
        } while (after);
        expect(all).toEqual([...all].sort((a, b) => b - a));
        expect(all.length).toBeGreaterThan(10);
        const bIds = new Set((await store.listAudit(B, { limit: 1000 })).items.map((e) => e.id));
        expect(all.some((id) => bIds.has(id))).toBe(false);
      });
    });

    describe('outbox', () => {
      it('claims with a lease, redelivers with the same id, dead-letters after the maximum attempts', async () => {
        const T: TeamContext = { teamId: (await store.createTeam(uniq('outbox'), 'test')).id, actor: 'test' };
        const d = digestOf(uniq('ob'));
        const diff = await store.applyEvaluation(T, d, [finding('CVE-2025-1', pkg('a', '1')), finding('CVE-2025-2', pkg('b', '1'))], 'db');
        const ids = [...diff.eventIds].sort();
        expect(await store.enqueueEvents(T, [{ id: ids[0]!, kind: 'x', payload: {} }])).toBe(0);
        const mine = async (n = 1000) => (await store.claimOutbox(n, 60_000)).filter((e) => e.teamId === T.teamId);
        const first = await mine();
        expect(first.map((e) => e.id).sort()).toEqual(ids);
        expect(first[0]!.payload).toMatchObject({ digest: d, event: 'finding.new' });
        // leased: not claimable again until the lease ends
        expect(await mine()).toEqual([]);
        await store.markDelivered(ids[0]!);
        clock.advance(61_000);
        const second = await mine();
        expect(second.map((e) => [e.id, e.attempts])).toEqual([[ids[1]!, 2]]);
        expect(await store.markFailed(ids[1]!, 'HTTP 500', new Date(clock.t + 5000))).toBe('retry');
        expect(await mine()).toEqual([]);
        clock.advance(5000);
        const third = await mine();
        expect(third.map((e) => [e.id, e.attempts, e.lastError])).toEqual([[ids[1]!, 3, 'HTTP 500']]);
        expect(await store.markFailed(ids[1]!, 'HTTP 502', new Date(clock.t))).toBe('dead');
        expect(await mine()).toEqual([]);
        const dead = await store.listDeadLetters(T);
        expect(dead.items.map((e) => [e.id, e.lastError])).toEqual([[ids[1]!, 'HTTP 502']]);
        expect((await store.listDeadLetters(B)).items.some((e) => e.id === ids[1])).toBe(false);
        expect(await store.requeueDeadLetter(B, ids[1]!)).toBe(false);
        expect(await store.requeueDeadLetter(T, ids[1]!)).toBe(true);
        expect((await mine()).map((e) => [e.id, e.attempts])).toEqual([[ids[1]!, 1]]);
        await store.markDelivered(ids[1]!);
        clock.advance(3_600_000);
        expect(await mine()).toEqual([]);
      });

      it('a claim whose lease ran out after the last attempt becomes a dead letter', async () => {
        const T: TeamContext = { teamId: (await store.createTeam(uniq('poison'), 'test')).id, actor: 'test' };
        await store.enqueueEvents(T, [{ id: uniq('evt'), kind: 'digest', payload: { n: 1 } }]);
        for (let i = 0; i < 3; i++) {
          expect((await store.claimOutbox(1000, 1000)).filter((e) => e.teamId === T.teamId)).toHaveLength(1);
          clock.advance(1001);
        }
        expect((await store.claimOutbox(1000, 1000)).filter((e) => e.teamId === T.teamId)).toEqual([]);
        expect((await store.listDeadLetters(T)).items).toHaveLength(1);
      });
    });

    describe('jobs', () => {
      it('enqueues with dedupe, claims with a lease, retries with backoff, fails for good', async () => {
        const queue = uniq('scan');
        const a = await store.enqueueJob({ queue, payload: { target: `x'y` }, dedupeKey: 'sha256:1', maxAttempts: 2 });
        const dup = await store.enqueueJob({ queue, payload: {}, dedupeKey: 'sha256:1' });
        expect(dup).toEqual({ id: a.id, created: false });
        const [j] = await store.claimJobs(queue, 10, 10_000);
        expect(j).toMatchObject({ id: a.id, state: 'active', attempts: 1, payload: { target: `x'y` } });
        expect(await store.claimJobs(queue, 10, 10_000)).toEqual([]);
        expect(await store.completeJob(a.id, 'not-the-lease')).toBe(false);
        expect(await store.failJob(a.id, j!.lease!, 'registry down')).toBe('retry');
        expect((await store.getJob(a.id))?.runAt).toBe(new Date(clock.t + 1000).toISOString());
        expect(await store.claimJobs(queue, 10, 10_000)).toEqual([]);
        clock.advance(1000);
        const [j2] = await store.claimJobs(queue, 10, 10_000);
        expect(j2).toMatchObject({ id: a.id, attempts: 2, lastError: 'registry down' });
        expect(await store.failJob(a.id, j2!.lease!, 'still down')).toBe('failed');
        expect((await store.getJob(a.id))?.state).toBe('failed');
        // a finished job frees its dedupe key
        expect((await store.enqueueJob({ queue, payload: {}, dedupeKey: 'sha256:1' })).created).toBe(true);
      });

      it('a worker whose lease ran out loses the job to the next claimer', async () => {
        const queue = uniq('lease');
        const { id } = await store.enqueueJob({ queue, payload: {} });
        const [first] = await store.claimJobs(queue, 1, 5000);
        expect(await store.extendJobLease(id, first!.lease!, 5000)).toBe(true);
        clock.advance(5001);
        const [second] = await store.claimJobs(queue, 1, 5000);
        expect(second).toMatchObject({ id, attempts: 2 });
        expect(await store.completeJob(id, first!.lease!)).toBe(false);
        expect(await store.failJob(id, first!.lease!, 'late')).toBe('lost');
        expect(await store.completeJob(id, second!.lease!)).toBe(true);
        expect((await store.getJob(id))?.state).toBe('done');
      });

      it('two connections claiming at once never get the same job or event', async () => {
        const queue = uniq('race');
        const N = 120;
        for (let i = 0; i < N; i++) await store.enqueueJob({ queue, payload: { i } });
        const T: TeamContext = { teamId: (await store.createTeam(uniq('race'), 'test')).id, actor: 'test' };
        await store.enqueueEvents(T, Array.from({ length: N }, (_, i) => ({ id: uniq(`race-evt-${i}`), kind: 'k', payload: {} })));
        const workers = await Promise.all([f.open({ clock }), f.open({ clock })]);
        try {
          const claimedJobs: string[] = [];
          const claimedEvents: string[] = [];
          await Promise.all(workers.flatMap((w) => [
            (async () => {
              for (;;) {
                const got = await w.claimJobs(queue, 3, 60_000);
                if (got.length === 0) break;
                claimedJobs.push(...got.map((g) => g.id));
              }
            })(),
            (async () => {
              for (;;) {
                const got = (await w.claimOutbox(3, 60_000));
                if (got.length === 0) break;
                claimedEvents.push(...got.filter((g) => g.teamId === T.teamId).map((g) => g.id));
              }
            })(),
          ]));
          expect(claimedJobs).toHaveLength(N);
          expect(new Set(claimedJobs).size).toBe(N);
          expect(claimedEvents).toHaveLength(N);
          expect(new Set(claimedEvents).size).toBe(N);
        } finally {
          await Promise.all(workers.map((w) => w.close()));
        }
      });
    });

    describe('watched registries and notification rules', () => {
      it('CRUD scoped to the team', async () => {
        const spec = { name: `hub ${SQL_NASTY}`, url: 'registry.example.com', repositories: ['team/*'], pollIntervalSeconds: 300 };
        const r = await store.registries.create(A, spec);
        expect(r.spec).toEqual(spec);
        await expectCode(store.registries.create(A, spec), 'STORE_CONFLICT');
        expect((await store.registries.create(B, spec)).teamId).toBe(B.teamId);
        expect(await store.registries.get(B, r.id)).toBeUndefined();
        expect(await store.registries.update(B, r.id, { ...spec, pollIntervalSeconds: 1 })).toBeUndefined();
        clock.advance(1000);
        const u = await store.registries.update(A, r.id, { ...spec, pollIntervalSeconds: 60 });
        expect(u?.spec.pollIntervalSeconds).toBe(60);
        expect(u?.updatedAt).not.toBe(u?.createdAt);
        expect((await store.registries.list(A)).map((x) => x.id)).toEqual([r.id]);
        expect(await store.registries.delete(B, r.id)).toBe(false);
        expect(await store.registries.delete(A, r.id)).toBe(true);
        expect(await store.registries.get(A, r.id)).toBeUndefined();

        const rule = await store.rules.create(A, { name: 'sec', channel: 'webhook', target: 'https://hooks.example/x', filter: { minSeverity: 'high', kevOnly: true }, enabled: true });
        expect((await store.rules.list(A)).map((x) => x.spec.filter)).toEqual([{ minSeverity: 'high', kevOnly: true }]);
        expect(await store.rules.list(B)).toEqual([]);
        await expectCode(store.rules.create(A, { name: 'bad', channel: 'pager' as 'email', target: 'x', filter: {}, enabled: true }), 'STORE_INPUT_INVALID');
        expect(await store.rules.delete(A, rule.id)).toBe(true);
      });
    });

    describe('workloads', () => {
      const w = (name: string, digest: number | undefined, extra: Partial<WorkloadInput> = {}): WorkloadInput => ({
        kind: 'pod', namespace: 'shop', name, container: 'app', image: `registry.example.com/shop/${name}:1`, node: 'node-1',
        ...(digest !== undefined ? { digest: digestOf(`77${digest}`) } : {}), ...extra,
      });

      it('replaces the set of one source, keeps other sources, and links workloads to digests across teams', async () => {
        const src = `cluster ${SQL_NASTY}`;
        const first = [
          w('web-1', 1, { owner: { kind: 'Deployment', name: 'web' }, labels: { app: 'web', team: 'payments, sre', owner: 'alice@example.com' } }),
          w('web-2', 1, { owner: { kind: 'Deployment', name: 'web' } }),
          w('db-0', 2, { owner: { kind: 'StatefulSet', name: 'db' } }),
          w('pending', undefined),
        ];
        expect(await store.putWorkloads(A, src, first)).toEqual({ added: 4, changed: 0, removed: 0, unchanged: 0 });
        await store.putWorkloads(A, 'host-1', [w('nginx', 1, { kind: 'container', namespace: '', container: 'nginx' })]);
        await store.putWorkloads(B, src, [w('other-team', 1)]);

        const all = await store.listWorkloads(A, { limit: 1000 });
        expect(all.items.map((x) => `${x.source}|${x.namespace}/${x.name}`)).toEqual([
          `${src}|shop/db-0`, `${src}|shop/pending`, `${src}|shop/web-1`, `${src}|shop/web-2`, 'host-1|/nginx',
        ]);
        const web1 = all.items.find((x) => x.name === 'web-1')!;
        expect(web1).toMatchObject({ teamId: A.teamId, kind: 'pod', owner: { kind: 'Deployment', name: 'web' }, owners: ['alice@example.com', 'payments', 'sre'], node: 'node-1', digest: digestOf('771') });
        expect(all.items.find((x) => x.name === 'pending')?.digest).toBeUndefined();
        expect((await store.listWorkloads(A, { digest: digestOf('771') })).items.map((x) => x.name)).toEqual(['web-1', 'web-2', 'nginx']);
        expect((await store.listWorkloads(B, { limit: 1000 })).items.map((x) => x.name)).toEqual(['other-team']);

        // the next report of the source: one pod gone, one moved to another image, one new; other sources untouched
        clock.advance(30_000);
        const second = [first[0]!, w('web-2', 2, { owner: { kind: 'Deployment', name: 'web' } }), first[2]!, w('web-3', 1)];
        expect(await store.putWorkloads(A, src, second)).toEqual({ added: 1, changed: 1, removed: 1, unchanged: 2 });
        const after = await store.listWorkloads(A, { source: src });
        expect(after.items.map((x) => x.name)).toEqual(['db-0', 'web-1', 'web-2', 'web-3']);
        const web1b = after.items.find((x) => x.name === 'web-1')!;
        expect(web1b.firstSeen).toBe(web1.firstSeen);
        expect(Date.parse(web1b.lastSeen)).toBe(Date.parse(web1.lastSeen) + 30_000);
        expect((await store.listWorkloads(A, { source: 'host-1' })).items).toHaveLength(1);

        const linked = await store.workloadsByDigests([digestOf('771'), digestOf('999')]);
        expect(linked.map((x) => `${x.teamId === A.teamId ? 'A' : 'B'}:${x.name}`).sort()).toEqual(['A:nginx', 'A:web-1', 'A:web-3', 'B:other-team']);
        expect(await store.workloadsByDigests([])).toEqual([]);

        // an identical report changes nothing and writes no audit row
        const auditBefore = (await store.listAudit(A, { limit: 1 })).items[0]!.id;
        expect(await store.putWorkloads(A, src, second)).toEqual({ added: 0, changed: 0, removed: 0, unchanged: 4 });
        expect((await store.listAudit(A, { limit: 1 })).items[0]!.id).toBe(auditBefore);
        // an empty report clears the source
        expect((await store.putWorkloads(A, src, [])).removed).toBe(4);
        expect((await store.listWorkloads(A, { source: src })).items).toEqual([]);
      });

      it('pages with a keyset cursor and refuses bad reports', async () => {
        const many = Array.from({ length: 25 }, (_, i) => w(`p-${String(i).padStart(2, '0')}`, i));
        await store.putWorkloads(A, 'paging', many);
        const seen: string[] = [];
        let after: string | undefined;
        do {
          const p = await store.listWorkloads(A, { source: 'paging', limit: 10, ...(after ? { after } : {}) });
          seen.push(...p.items.map((x) => x.name));
          after = p.next;
        } while (after);
        expect(seen).toEqual(many.map((x) => x.name));
        await expectCode(store.putWorkloads(A, 'paging', [w('dup', 1), w('dup', 2)]), 'STORE_INPUT_INVALID');
        await expectCode(store.putWorkloads(A, '', [w('x', 1)]), 'STORE_INPUT_INVALID');
        await expectCode(store.putWorkloads(A, 's', [w('x', 1, { kind: 'vm' as 'pod' })]), 'STORE_INPUT_INVALID');
        await expectCode(store.putWorkloads(A, 's', [w('x', 1, { digest: 'latest' })]), 'STORE_INPUT_INVALID');
        await expectCode(store.listWorkloads(A, { after: 'bogus' }), 'STORE_INPUT_INVALID');
        // a refused report leaves the previous set in place
        expect((await store.listWorkloads(A, { source: 'paging', limit: 1000 })).items).toHaveLength(25);
      });
    });

    describe('drift', () => {
      const df = (kind: string, severity: DriftFindingInput['severity'], subject: string, extra: Partial<DriftFindingInput> = {}): DriftFindingInput =>
        ({ kind, severity, subject, message: `${kind} ${subject}`, path: subject, ...extra });
      const web = { name: 'web', id: 'abc123', image: 'registry.example.com/shop/web:1', digest: digestOf('881') };

      it('replaces the open findings of one container, resolves what is gone, and enqueues stable events at or above a severity', async () => {
        const T: TeamContext = { teamId: (await store.createTeam(uniq('drift'), 'test')).id, actor: 'agent' };
        const src = `host/${SQL_NASTY}`;
        const first = [
          df('new-executable', 'high', '/usr/local/bin/miner'),
          df('file-changed', 'info', '/etc/motd'),
          df('package-installed-at-runtime', 'medium', 'deb/hello', { path: undefined, package: { type: 'deb', name: 'hello', version: '2.10-3' } }),
        ];
        const r1 = await store.putDriftFindings(T, src, web, first);
        expect(r1.new.map((x) => x.subject)).toEqual(['/etc/motd', '/usr/local/bin/miner', 'deb/hello']);
        expect(r1.resolved).toEqual([]);
        // the default threshold is medium: the info finding enqueues nothing
        expect(r1.eventIds.sort()).toEqual([
          driftEventId(T.teamId, src, 'web', 'new-executable', '/usr/local/bin/miner', 1),
          driftEventId(T.teamId, src, 'web', 'package-installed-at-runtime', 'deb/hello', 1),
        ].sort());
        const events = (await store.claimOutbox(1000, 60_000)).filter((e) => e.teamId === T.teamId);
        expect(events.map((e) => e.kind)).toEqual(['drift.new', 'drift.new']);
        const miner = events.find((e) => (e.payload.finding as DriftFindingInput).subject === '/usr/local/bin/miner')!;
        expect(miner.payload).toMatchObject({ event: 'drift.new', source: src, container: web, revision: 1, finding: first[0] });
        for (const e of events) await store.markDelivered(e.id);

        const listed = await store.listDriftFindings(T, { container: 'web' });
        expect(listed.items.map((x) => `${x.kind}|${x.subject}`)).toEqual(['file-changed|/etc/motd', 'new-executable|/usr/local/bin/miner', 'package-installed-at-runtime|deb/hello']);
        expect(listed.items[2]).toMatchObject({ source: src, container: web, state: 'open', revision: 1, severity: 'medium', package: { type: 'deb', name: 'hello', version: '2.10-3' } });
        expect(listed.items[2]!.path).toBeUndefined();
        expect((await store.listDriftFindings(T, { digest: digestOf('881') })).items).toHaveLength(3);
        expect((await store.listDriftFindings(T, { digest: digestOf('882') })).items).toEqual([]);
        expect((await store.listDriftFindings(A, { container: 'web' })).items.filter((x) => x.source === src)).toEqual([]);

        // the same report again: nothing new, no event, no audit row
        clock.advance(600_000);
        const auditBefore = (await store.listAudit(T, { limit: 1 })).items[0]!.id;
        expect(await store.putDriftFindings(T, src, web, first)).toMatchObject({ new: [], resolved: [], unchanged: 3, eventIds: [] });
        expect((await store.listAudit(T, { limit: 1 })).items[0]!.id).toBe(auditBefore);
        const again = (await store.listDriftFindings(T, { container: 'web' })).items[0]!;
        expect(Date.parse(again.lastSeen) - Date.parse(again.firstSeen)).toBe(600_000);

        // the executable removed, the rest kept: one resolved; another container of the source is independent
        const r3 = await store.putDriftFindings(T, src, web, [first[1]!, first[2]!]);
        expect(r3.resolved.map((x) => [x.subject, x.state])).toEqual([['/usr/local/bin/miner', 'resolved']]);
        expect(r3.unchanged).toBe(2);
        await store.putDriftFindings(T, src, { name: 'db', image: 'postgres:16' }, [df('new-executable', 'high', '/tmp/x')]);
        expect((await store.listDriftFindings(T, { source: src })).items.map((x) => `${x.container.name}|${x.subject}`)).toEqual(['db|/tmp/x', 'web|/etc/motd', 'web|deb/hello']);
        const resolved = (await store.listDriftFindings(T, { states: ['resolved'] })).items;
        expect(resolved.map((x) => x.subject)).toEqual(['/usr/local/bin/miner']);
        expect(resolved[0]!.resolvedAt).toBeDefined();

        // it comes back: a new appearance (revision 2) with a new event id; high threshold leaves medium out
        const r4 = await store.putDriftFindings(T, src, web, first, { notifyAt: 'high' });
        expect(r4.new.map((x) => [x.subject, x.revision])).toEqual([['/usr/local/bin/miner', 2]]);
        expect(r4.eventIds).toEqual([driftEventId(T.teamId, src, 'web', 'new-executable', '/usr/local/bin/miner', 2)]);
        expect((await store.listDriftFindings(T, { container: 'web', states: ['open', 'resolved'] })).items.map((x) => x.state)).toEqual(['open', 'open', 'open']);
        // an empty report resolves everything of the container
        expect((await store.putDriftFindings(T, src, web, [])).resolved).toHaveLength(3);
        expect((await store.listDriftFindings(T, { container: 'web' })).items).toEqual([]);
      });

      it('resolves the drift of a host container once the source stops reporting it as running', async () => {
        const T: TeamContext = { teamId: (await store.createTeam(uniq('drift-stop'), 'test')).id, actor: 'agent' };
        const src = 'host/h1';
        const running = (name: string): WorkloadInput => ({ kind: 'container', namespace: '', name, container: name, image: web.image, digest: web.digest });
        await store.putWorkloads(T, src, [running('web'), running('db')]);
        await store.putDriftFindings(T, src, web, [df('new-executable', 'high', '/tmp/miner'), df('file-changed', 'info', '/etc/motd')]);
        await store.putDriftFindings(T, src, { name: 'db', image: 'postgres:16' }, [df('file-added', 'low', '/var/x')]);
        // the same container on another host is another source: untouched
        await store.putDriftFindings(T, 'host/h2', web, [df('file-added', 'low', '/var/y')]);
        // web still runs: nothing resolved, and the result carries no driftResolved
        expect(await store.putWorkloads(T, src, [running('web'), running('db')])).toEqual({ added: 0, changed: 0, removed: 0, unchanged: 2 });
        // web stopped
        expect(await store.putWorkloads(T, src, [running('db')])).toEqual({ added: 0, changed: 0, removed: 1, unchanged: 1, driftResolved: 2 });
        const open = (await store.listDriftFindings(T, { limit: 1000 })).items.map((x) => `${x.source}|${x.container.name}|${x.subject}`);
        expect(open).toEqual(['host/h1|db|/var/x', 'host/h2|web|/var/y']);
        const resolved = (await store.listDriftFindings(T, { states: ['resolved'] })).items;
        expect(resolved.map((x) => [x.subject, x.state])).toEqual([['/etc/motd', 'resolved'], ['/tmp/miner', 'resolved']]);
        expect(resolved.every((x) => x.resolvedAt !== undefined)).toBe(true);
        // it starts again and drifts the same way: a new appearance with a new event id
        await store.putWorkloads(T, src, [running('web'), running('db')]);
        const again = await store.putDriftFindings(T, src, web, [df('new-executable', 'high', '/tmp/miner')]);
        expect(again.new.map((x) => [x.subject, x.revision])).toEqual([['/tmp/miner', 2]]);
        expect(again.eventIds).toEqual([driftEventId(T.teamId, src, 'web', 'new-executable', '/tmp/miner', 2)]);
      });

      it('pages with a keyset cursor and refuses bad reports', async () => {
        const T: TeamContext = { teamId: (await store.createTeam(uniq('drift-page'), 'test')).id, actor: 'agent' };
        const many = Array.from({ length: 25 }, (_, i) => df('file-added', 'info', `/data/f-${String(i).padStart(2, '0')}`));
        await store.putDriftFindings(T, 'h', web, many);
        const seen: string[] = [];
        let after: string | undefined;
        do {
          const p = await store.listDriftFindings(T, { limit: 10, ...(after ? { after } : {}) });
          seen.push(...p.items.map((x) => x.subject));
          after = p.next;
        } while (after);
        expect(seen).toEqual(many.map((x) => x.subject));
        await expectCode(store.putDriftFindings(T, '', web, []), 'STORE_INPUT_INVALID');
        await expectCode(store.putDriftFindings(T, 'h', { ...web, digest: 'latest' }, []), 'STORE_INPUT_INVALID');
        await expectCode(store.putDriftFindings(T, 'h', web, [df('x', 'severe' as 'high', '/a')]), 'STORE_INPUT_INVALID');
        await expectCode(store.putDriftFindings(T, 'h', web, [df('x', 'high', '')]), 'STORE_INPUT_INVALID');
        await expectCode(store.listDriftFindings(T, { after: 'bogus' }), 'STORE_INPUT_INVALID');
        // a refused report leaves the previous findings in place
        expect((await store.listDriftFindings(T, { limit: 1000 })).items).toHaveLength(25);
      });
    });
  });
}
