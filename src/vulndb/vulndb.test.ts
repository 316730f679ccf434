import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zipSync, strToU8 } from 'fflate';
import { isDrydockError } from '../core/errors.js';
import { IssueLog } from '../core/issues.js';
import { dbStatus, exportDb, importFeeds, VulnDb } from './index.js';
import * as zipModule from './zip.js';

const GO_ZIP = '/work/shared/data/osv/Go.zip';
const ALMA_ZIP = '/work/shared/data/osv/AlmaLinux.zip';
const tick = (iso: string) => ({ now: () => new Date(iso) });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-vulndb-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expectCode(fn: () => unknown, code: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isDrydockError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
}

describe('real osv.dev exports', () => {
  let path: string;
  let summary: Awaited<ReturnType<typeof importFeeds>>;
  beforeAll(async () => {
    path = join(dir, 'real.db');
    summary = await importFeeds(path, [{ path: GO_ZIP }, { path: ALMA_ZIP }], { clock: tick('2026-09-01T00:00:00Z'), issues: new IssueLog() });
  }, 120_000);

  it('reads every record of both zips', () => {
    // AlmaLinux.zip has 5,684 zip entries: 4 folders and 5,680 record files (checked with Python's zipfile)
    const z = new zipModule.ZipReader(ALMA_ZIP);
    expect(z.entries).toHaveLength(5684);
    expect(z.entries.filter((e) => !e.name.endsWith('/'))).toHaveLength(5680);
    z.close();
    expect(summary.inputs.map((i) => [i.source, i.records, i.skipped])).toEqual([
      ['osv:Go', 4291, 0],
      ['osv:AlmaLinux', 5680, 0],
    ]);
    // 37 AlmaLinux ids come in several files (one per release): 5,637 distinct AlmaLinux advisories
    expect(summary.advisories).toBe(4291 + 5637);
    expect(summary.invalid).toBe(0);
    expect(summary.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('merges an advisory that appears for AlmaLinux 8 and 9', () => {
    const db = VulnDb.open(path);
    try {
      const rec = db.record('ALSA-2024:0265') as { affected: { package: { ecosystem: string; name: string } }[] };
      const ecos = new Set(rec.affected.map((a) => a.package.ecosystem));
      expect([...ecos].sort()).toEqual(['AlmaLinux:8', 'AlmaLinux:9']);
      const name = rec.affected.find((a) => a.package.ecosystem === 'AlmaLinux:9')!.package;
      expect(db.affected('AlmaLinux:9', name.name).some((e) => e.advisoryId === 'ALSA-2024:0265')).toBe(true);
      const name8 = rec.affected.find((a) => a.package.ecosystem === 'AlmaLinux:8')!.package;
      expect(db.affected('AlmaLinux:8', name8.name).some((e) => e.advisoryId === 'ALSA-2024:0265')).toBe(true);
      const meta = db.advisory('ALSA-2024:0265')!;
      expect(meta.vendorSeverity?.source).toBe('almalinux');
      expect(db.ecosystems()).toEqual(expect.arrayContaining(['AlmaLinux:8', 'AlmaLinux:9', 'AlmaLinux:10', 'Go']));
    } finally {
      db.close();
    }
  });

  it('returns a Go advisory for its module, with the record as published', () => {
    const db = VulnDb.open(path);
    try {
      const entries = db.affected('Go', 'github.com/gin-gonic/gin');
      const e = entries.find((x) => x.advisoryId === 'GO-2020-0001');
      expect(e).toBeDefined();
      expect(e!.source).toBe('osv:Go');
      expect(e!.name).toBe('github.com/gin-gonic/gin');
      expect(e!.affected.ranges).toEqual([{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.6.0' }] }]);
      expect(db.advisory('GO-2020-0001')!.aliases).toEqual(['CVE-2020-36567', 'GHSA-6vm3-jj99-7229']);
      expect(db.advisoriesByAlias('CVE-2020-36567')).toEqual(['GO-2020-0001']);
      expect(db.affected('Go', 'no/such/module')).toEqual([]);
      const info = db.info();
      expect(info.digest).toBe(summary.digest);
      expect(info.sources.map((s) => [s.name, s.records])).toEqual([['osv:AlmaLinux', 5680], ['osv:Go', 4291]]);
      expect(info.dataAsOf).toMatch(/^20\d\d-/);
    } finally {
      db.close();
    }
  });

  it('skips withdrawn Go advisories in affected() but keeps them', () => {
    const db = VulnDb.open(path);
    try {
      let found = 0;
      const ids = readWithdrawnIds();
      expect(ids).toHaveLength(17);
      for (const id of ids) {
        const meta = db.advisory(id)!;
        expect(meta.withdrawn).toBeTruthy();
        const rec = db.record(id) as { affected?: { package?: { ecosystem: string; name: string } }[] };
        for (const a of rec.affected ?? []) {
          if (!a.package) continue;
          expect(db.affected(a.package.ecosystem, a.package.name).some((e) => e.advisoryId === id)).toBe(false);
          found++;
        }
      }
      expect(found).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('exports a consistent copy with the same identity, and reports status', () => {
    const out = join(dir, 'export', 'copy.db');
    exportDb(path, out);
    const a = VulnDb.open(out);
    try {
      expect(a.info().digest).toBe(summary.digest);
    } finally {
      a.close();
    }
    const st = dbStatus(path, { clock: tick('2026-09-01T01:00:00Z') });
    expect(st.exists).toBe(true);
    expect(st.ageMs).toBe(3_600_000);
    expect(st.size).toBe(statSync(path).size);
    expect(dbStatus(join(dir, 'nope.db')).exists).toBe(false);
  });
});

function readWithdrawnIds(): string[] {
  // GO records carrying "withdrawn" (17 in this snapshot): find them from the zip with the importer's reader
  const out: string[] = [];
  const z = new zipModule.ZipReader(GO_ZIP);
  try {
    for (const e of z.entries) {
      const rec = JSON.parse(z.read(e).toString('utf8')) as { id: string; withdrawn?: string };
      if (rec.withdrawn) out.push(rec.id);
    }
  } finally {
    z.close();
  }
  return out;
}
describe('corrupt inputs and atomicity', () => {
  const rec = (id: string, modified: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ id, modified, affected: [{ package: { ecosystem: 'Go', name: `example.com/${id.toLowerCase()}` }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }] }], ...extra });

  function makeZip(file: string, entries: Record<string, string>): string {
    const p = join(dir, file);
    writeFileSync(p, zipSync(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, strToU8(v)]))));
    return p;
  }

  it('a truncated zip is fatal and leaves the old database', async () => {
    const path = join(dir, 'atomic.db');
    const first = await importFeeds(path, [{ path: GO_ZIP }], { clock: tick('2026-09-01T00:00:00Z') });
    const cut = join(dir, 'Go-truncated.zip');
    copyFileSync(GO_ZIP, cut);
    truncateSync(cut, Math.floor(statSync(cut).size / 2));
    await expect(importFeeds(path, [{ path: cut, name: 'osv:Go' }])).rejects.toMatchObject({ code: 'FEED_INVALID', message: expect.stringContaining('Go-truncated.zip') });
    // a good first input followed by a corrupt second one: nothing of the first is kept either
    const garbage = makeZip('garbage.zip', { 'GOOD-1.json': rec('GOOD-1', '2025-01-01T00:00:00Z'), 'BAD-2.json': '{"id": "BAD-2", "modif' });
    await expect(importFeeds(path, [{ path: ALMA_ZIP }, { path: garbage }])).rejects.toMatchObject({ code: 'FEED_INVALID', message: expect.stringContaining('BAD-2.json') });
    // an error injected after loading and one right before the rename
    for (const stage of ['loaded', 'before-rename'] as const) {
      await expect(importFeeds(path, [{ path: ALMA_ZIP }], { hook: (s) => { if (s === stage) throw new Error(`injected at ${s}`); } })).rejects.toThrow(`injected at ${stage}`);
    }
    const db = VulnDb.open(path);
    try {
      expect(db.info().digest).toBe(first.digest);
      expect(db.ecosystems()).toEqual(['Go']);
    } finally {
      db.close();
    }
    // no temporary files are left next to the database
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir).filter((f) => f.startsWith('.atomic.db'))).toEqual([]);
  });

  it('a half-written or foreign file at the database path is VULNDB_CORRUPT; a missing one VULNDB_MISSING', async () => {
    const path = join(dir, 'half.db');
    await importFeeds(path, [{ path: GO_ZIP }]);
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length / 3)));
    expectCode(() => VulnDb.open(path), 'VULNDB_CORRUPT');
    writeFileSync(path, 'garbage, not a database at all '.repeat(10));
    expectCode(() => VulnDb.open(path), 'VULNDB_CORRUPT');
    expectCode(() => VulnDb.open(join(dir, 'missing.db')), 'VULNDB_MISSING');
    // a directory or a FIFO at the path: refused at once (a FIFO is not waited on)
    expectCode(() => VulnDb.open(dir), 'VULNDB_CORRUPT');
    const fifo = join(dir, 'fifo.db');
    execFileSync('mkfifo', [fifo]);
    expectCode(() => VulnDb.open(fifo), 'VULNDB_CORRUPT');
    // an sqlite file that is not ours
    const Database = (await import('better-sqlite3')).default;
    const foreign = join(dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE t (x)');
    f.close();
    expectCode(() => VulnDb.open(foreign), 'VULNDB_CORRUPT');
    // another schema version
    const other = join(dir, 'other.db');
    await importFeeds(other, [{ path: makeZip('one.zip', { 'A-1.json': rec('A-1', '2025-01-01T00:00:00Z') }) }]);
    const o = new Database(other);
    o.pragma('user_version = 99');
    o.close();
    expectCode(() => VulnDb.open(other), 'VULNDB_SCHEMA');
    // an import over a corrupt file builds a new database (and says so)
    writeFileSync(path, 'garbage');
    const issues = new IssueLog();
    await importFeeds(path, [{ path: makeZip('one.zip', { 'A-1.json': rec('A-1', '2025-01-01T00:00:00Z') }) }], { issues });
    expect(issues.issues.map((i) => i.code)).toContain('VULNDB_CORRUPT');
    expect(existsSync(path)).toBe(true);
    VulnDb.open(path).close();
  });

  it('keeps unknown ecosystems and version strings as given; invalid shapes are issues', async () => {
    const path = join(dir, 'shapes.db');
    const z = makeZip('shapes.zip', {
      'X-1.json': JSON.stringify({ id: 'X-1', modified: '2025-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'Mystery:3', name: 'thing' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '~~not-a-version~~' }] }] }] }),
      'X-2.json': JSON.stringify({ id: 'X-2', affected: [] }),
      'X-3.json': JSON.stringify({ id: 'X-3', modified: '2025-01-01T00:00:00Z', affected: [{ package: { name: 'no-ecosystem' } }] }),
      'README.md': 'not a record',
    });
    const issues = new IssueLog();
    const s = await importFeeds(path, [{ path: z }], { issues });
    expect(s.inputs[0]).toMatchObject({ records: 1, skipped: 2 });
    expect(issues.issues.filter((i) => i.code === 'FEED_INVALID').map((i) => i.path)).toEqual([`${z}!X-2.json`, `${z}!X-3.json`]);
    const db = VulnDb.open(path);
    try {
      expect(db.ecosystems()).toEqual(['Mystery:3']);
      expect(db.affected('Mystery:3', 'thing')[0]!.affected.ranges![0]!.events[1]).toEqual({ fixed: '~~not-a-version~~' });
    } finally {
      db.close();
    }
  });

  it('records a change log across imports: added, modified, withdrawn, removed; diff over the history', async () => {
    const path = join(dir, 'changes.db');
    const v1 = makeZip('v1.zip', {
      'C-1.json': rec('C-1', '2025-01-01T00:00:00Z'),
      'C-2.json': rec('C-2', '2025-01-01T00:00:00Z'),
      'C-3.json': rec('C-3', '2025-01-01T00:00:00Z'),
      'C-4.json': rec('C-4', '2025-01-01T00:00:00Z'),
    });
    const v2 = makeZip('v2.zip', {
      'C-1.json': rec('C-1', '2025-01-01T00:00:00Z'),
      'C-2.json': rec('C-2', '2025-02-01T00:00:00Z', { summary: 'now with a summary' }),
      'C-3.json': rec('C-3', '2025-02-01T00:00:00Z', { withdrawn: '2025-02-01T00:00:00Z' }),
      'C-5.json': rec('C-5', '2025-02-01T00:00:00Z'),
    });
    const v3 = makeZip('v3.zip', {
      'C-1.json': rec('C-1', '2025-01-01T00:00:00Z'),
      'C-2.json': rec('C-2', '2025-02-01T00:00:00Z', { summary: 'now with a summary' }),
      'C-3.json': rec('C-3', '2025-02-01T00:00:00Z', { withdrawn: '2025-02-01T00:00:00Z' }),
      'C-5.json': rec('C-5', '2025-03-01T00:00:00Z', { summary: 'changed again' }),
      'C-6.json': rec('C-6', '2025-03-01T00:00:00Z'),
    });
    const a = await importFeeds(path, [{ path: v1, name: 'osv:Test' }], { clock: tick('2025-01-02T00:00:00Z') });
    const b = await importFeeds(path, [{ path: v2, name: 'osv:Test' }], { clock: tick('2025-02-02T00:00:00Z') });
    expect(b.previousDigest).toBe(a.digest);
    expect(b.changes).toEqual({ added: 1, modified: 1, withdrawn: 1, removed: 1 });
    const c = await importFeeds(path, [{ path: v3, name: 'osv:Test' }], { clock: tick('2025-03-02T00:00:00Z') });
    // the same content at another time is another identity with an empty change log
    const d = await importFeeds(path, [{ path: v3, name: 'osv:Test' }], { clock: tick('2025-03-03T00:00:00Z') });
    expect(d.digest).not.toBe(c.digest);
    expect(d.changes).toEqual({ added: 0, modified: 0, withdrawn: 0, removed: 0 });
    const db = VulnDb.open(path);
    try {
      expect(db.changes(a.digest, b.digest)).toEqual({ from: a.digest, to: b.digest, added: ['C-5'], modified: ['C-2'], withdrawn: ['C-3'], removed: ['C-4'] });
      expect(db.changes(b.digest)).toMatchObject({ to: d.digest, added: ['C-6'], modified: ['C-5'], withdrawn: [], removed: [] });
      // net over two steps: C-5 was added within the range, so it is an addition
      expect(db.changes(a.digest.slice(7, 19))).toMatchObject({ added: ['C-5', 'C-6'], modified: ['C-2'], withdrawn: ['C-3'], removed: ['C-4'] });
      expectCode(() => db.changes('sha256:' + '0'.repeat(64)), 'USAGE');
      expect(db.advisory('C-3')!.withdrawn).toBe('2025-02-01T00:00:00Z');
      expect(db.affected('Go', 'example.com/c-3')).toEqual([]);
      expect(db.advisory('C-4')).toBeUndefined();
      expect(db.history().map((h) => h.digest)).toEqual([a.digest, b.digest, c.digest, d.digest]);
    } finally {
      db.close();
    }
    // the history is bounded
    for (let i = 0; i < 3; i++) await importFeeds(path, [{ path: v3, name: 'osv:Test' }], { historyLimit: 3, clock: tick(`2025-04-0${i + 1}T00:00:00Z`) });
    const db2 = VulnDb.open(path);
    try {
      expect(db2.history()).toHaveLength(3);
      expectCode(() => db2.changes(a.digest), 'USAGE');
    } finally {
      db2.close();
    }
  });

  it('merges records sharing an id across sources, and replacing one source keeps the other part', async () => {
    const path = join(dir, 'merge.db');
    const one = makeZip('m1.zip', { 'M-1.json': JSON.stringify({ id: 'M-1', modified: '2025-01-01T00:00:00Z', aliases: ['CVE-1'], affected: [{ package: { ecosystem: 'Debian:12', name: 'a' } }] }) });
    const two = makeZip('m2.zip', { 'M-1.json': JSON.stringify({ id: 'M-1', modified: '2025-02-01T00:00:00Z', aliases: ['CVE-2'], affected: [{ package: { ecosystem: 'Ubuntu:22.04', name: 'a' } }] }) });
    const empty = makeZip('m3.zip', { 'other.json': JSON.stringify({ id: 'Z-1', modified: '2025-01-01T00:00:00Z' }) });
    await importFeeds(path, [{ path: one, name: 'osv:Debian' }, { path: two, name: 'osv:Ubuntu' }]);
    let db = VulnDb.open(path);
    expect(db.advisory('M-1')).toMatchObject({ aliases: ['CVE-1', 'CVE-2'], modified: '2025-02-01T00:00:00Z', source: 'osv:Debian,osv:Ubuntu' });
    expect(db.affected('Debian:12', 'a')[0]!.source).toBe('osv:Debian');
    expect(db.affected('Ubuntu:22.04', 'a')[0]!.source).toBe('osv:Ubuntu');
    db.close();
    const s = await importFeeds(path, [{ path: empty, name: 'osv:Ubuntu' }]);
    expect(s.changes).toEqual({ added: 1, modified: 1, withdrawn: 0, removed: 0 });
    db = VulnDb.open(path);
    expect(db.advisory('M-1')).toMatchObject({ aliases: ['CVE-1'], modified: '2025-01-01T00:00:00Z' });
    expect(db.affected('Ubuntu:22.04', 'a')).toEqual([]);
    db.close();
  });
});
