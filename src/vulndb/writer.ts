/**
 * Builds a new database file next to the target and renames it over the old one only after every
 * input loaded, the derived tables were rebuilt and SQLite's checks passed (atomic replace). A
 * failure at any point removes the new file and leaves the previous database as it was.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { DrydockError, isDrydockError } from '../core/errors.js';
import type { IssueLog } from '../core/issues.js';
import type { AdvisoryMeta, CvssScore, EpssScore, KevEntry, OsvAffected, OsvRecord } from '../model/vuln.js';
import { normalizePackageName } from '../model/vuln.js';
import { recordCvss, vendorSeverity } from './cvss.js';
import { checkDbFile, checkSchema, createSchema } from './schema.js';
import type { FeedKind, FeedSink } from './feeds/types.js';

/** Change logs of this many past identities are kept (for `db diff`). */
export const HISTORY_LIMIT = 50;

export type ChangeKind = 'added' | 'modified' | 'withdrawn' | 'removed';

export interface ChangeCounts {
  added: number;
  modified: number;
  withdrawn: number;
  removed: number;
}

export interface SourceUpdate {
  kind: FeedKind;
  origin: string;
  records: number;
  etag?: string;
  lastModified?: string;
  modified?: string;
}

export interface BuildResult {
  digest: string;
  previousDigest?: string;
  updatedAt: string;
  changes: ChangeCounts;
  advisories: number;
}

export interface BuildOptions {
  clock?: Clock;
  issues?: IssueLog;
  historyLimit?: number;
  /** Test hook, called at 'loaded' (inputs read) and 'before-rename'; a throw aborts the build. */
  hook?: (stage: 'loaded' | 'before-rename') => void;
  /** start from this database file (an export) instead of the one at the target path */
  base?: string;
}

const MAX_INVALID_ISSUES = 100;

/** Merges the parts of one advisory (same id from several files, ecosystems or feeds). */
export function mergeParts(parts: OsvRecord[]): OsvRecord {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  const out: OsvRecord = { ...first };
  const union = (a: string[] | undefined, b: string[] | undefined): string[] | undefined =>
    a || b ? [...new Set([...(a ?? []), ...(b ?? [])])].sort() : undefined;
  const seenAffected = new Set((first.affected ?? []).map((a) => JSON.stringify(a)));
  const seenRefs = new Set((first.references ?? []).map((r) => `${r.type} ${r.url}`));
  const seenSev = new Set((first.severity ?? []).map((s) => `${s.type} ${s.score}`));
  out.affected = [...(first.affected ?? [])];
  out.references = [...(first.references ?? [])];
  out.severity = [...(first.severity ?? [])];
  let allWithdrawn = first.withdrawn !== undefined;
  for (const p of parts.slice(1)) {
    const al = union(out.aliases, p.aliases);
    if (al) out.aliases = al;
    const rel = union(out.related, p.related);
    if (rel) out.related = rel;
    for (const a of p.affected ?? []) {
      const k = JSON.stringify(a);
      if (!seenAffected.has(k)) { seenAffected.add(k); out.affected.push(a); }
    }
    for (const r of p.references ?? []) {
      const k = `${r.type} ${r.url}`;
      if (!seenRefs.has(k)) { seenRefs.add(k); out.references.push(r); }
    }
    for (const s of p.severity ?? []) {
      const k = `${s.type} ${s.score}`;
      if (!seenSev.has(k)) { seenSev.add(k); out.severity.push(s); }
    }
    if (p.modified > out.modified) out.modified = p.modified;
    if (p.published && (!out.published || p.published < out.published)) out.published = p.published;
    out.summary ??= p.summary;
    out.details ??= p.details;
    if (p.withdrawn === undefined) allWithdrawn = false;
    else if (!out.withdrawn || p.withdrawn > out.withdrawn) out.withdrawn = p.withdrawn;
  }
  // An advisory is withdrawn only when every part is; withdrawn parts still mark their own entries.
  if (!allWithdrawn) delete out.withdrawn;
  if (out.references.length === 0) delete out.references;
  if (out.severity.length === 0) delete out.severity;
  return out;
}

/** An advisory's own facts as matchers read them, from its OSV record. */
export function advisoryMeta(rec: OsvRecord, source: string): AdvisoryMeta {
  const meta: AdvisoryMeta = {
    id: rec.id,
    aliases: [...new Set(rec.aliases ?? [])].sort(),
    cvss: recordCvss(rec),
    references: rec.references ?? [],
    modified: rec.modified,
    source,
  };
  if (rec.related?.length) meta.related = rec.related;
  if (rec.upstream?.length) meta.upstream = [...new Set(rec.upstream)].sort();
  const cwes = rec.database_specific?.cwe_ids;
  if (Array.isArray(cwes)) {
    const list = cwes.filter((c): c is string => typeof c === 'string' && /^CWE-\d+$/.test(c));
    if (list.length) meta.cwes = [...new Set(list)].sort();
  }
  if (rec.summary) meta.summary = rec.summary;
  const vs = vendorSeverity(rec);
  if (vs) meta.vendorSeverity = vs;
  if (rec.published) meta.published = rec.published;
  if (rec.withdrawn) meta.withdrawn = rec.withdrawn;
  return meta;
}

/** The writer over the new database file; loaders talk to it through FeedSink. */
export class DbWriter implements FeedSink {
  readonly db: Database.Database;
  readonly #issues: IssueLog | undefined;
  readonly #begun = new Set<string>();
  readonly sourceUpdates = new Map<string, SourceUpdate>();
  #current: string | undefined;
  #origin = '';
  #invalid = 0;
  readonly #st;

  constructor(db: Database.Database, issues: IssueLog | undefined) {
    this.db = db;
    this.#issues = issues;
    db.exec(`CREATE TEMP TABLE touched (id TEXT PRIMARY KEY) WITHOUT ROWID;
             CREATE TEMP TABLE pending (advisory_id TEXT PRIMARY KEY, kind TEXT NOT NULL) WITHOUT ROWID;`);
    this.#st = {
      touchSource: db.prepare('INSERT OR IGNORE INTO touched (id) SELECT id FROM records WHERE source = ?'),
      dropSource: db.prepare('DELETE FROM records WHERE source = ?'),
      touch: db.prepare('INSERT OR IGNORE INTO touched (id) VALUES (?)'),
      putRecord: db.prepare('INSERT OR REPLACE INTO records (source, id, part, withdrawn, record) VALUES (?, ?, ?, ?, ?)'),
      dropNvd: db.prepare('DELETE FROM nvd_cvss WHERE cve = ?'),
      putNvd: db.prepare('INSERT OR REPLACE INTO nvd_cvss (cve, version, vector, score, source) VALUES (?, ?, ?, ?, ?)'),
      putEpss: db.prepare('INSERT OR REPLACE INTO epss (cve, score, percentile, date) VALUES (?, ?, ?, ?)'),
      putKev: db.prepare('INSERT OR REPLACE INTO kev (cve, fields) VALUES (?, ?)'),
    };
  }

  /** Names the input the next loader reads (for the sources table). */
  setOrigin(origin: string): void {
    this.#origin = origin;
  }

  get currentSource(): string | undefined {
    return this.#current;
  }

  beginSource(name: string, kind: FeedKind): void {
    this.#current = name;
    if (!this.#begun.has(name)) {
      this.#begun.add(name);
      this.#st.touchSource.run(name);
      this.#st.dropSource.run(name);
      this.sourceUpdates.set(name, { kind, origin: this.#origin, records: 0 });
    }
  }

  #src(): SourceUpdate {
    const s = this.#current === undefined ? undefined : this.sourceUpdates.get(this.#current);
    if (!s) throw new DrydockError('INTERNAL', 'feed loader wrote before naming its source');
    return s;
  }

  advisory(part: string, rec: OsvRecord): void {
    const s = this.#src();
    this.#st.putRecord.run(this.#current, rec.id, part, rec.withdrawn ? 1 : 0, JSON.stringify(rec));
    this.#st.touch.run(rec.id);
    s.records++;
    if (!s.modified || rec.modified > s.modified) s.modified = rec.modified;
  }

  nvd(cve: string, scores: CvssScore[]): void {
    this.#src().records++;
    this.#st.dropNvd.run(cve);
    for (const c of scores) this.#st.putNvd.run(cve, c.version, c.vector, c.score, c.source);
  }

  resetTable(table: 'epss' | 'kev'): void {
    this.db.exec(`DELETE FROM ${table}`);
  }

  epss(cve: string, e: EpssScore): void {
    this.#src().records++;
    this.#st.putEpss.run(cve, e.score, e.percentile, e.date ?? null);
  }

  kev(cve: string, k: KevEntry): void {
    this.#src().records++;
    this.#st.putKev.run(cve, JSON.stringify(k));
  }

  invalid(where: string, message: string): void {
    this.#invalid++;
    if (this.#invalid <= MAX_INVALID_ISSUES) this.#issues?.record({ code: 'FEED_INVALID', message, path: where });
    else if (this.#invalid === MAX_INVALID_ISSUES + 1) {
      this.#issues?.record({ code: 'FEED_INVALID', message: `more than ${MAX_INVALID_ISSUES} invalid feed records; further ones are counted, not listed` });
    }
  }

  get invalidCount(): number {
    return this.#invalid;
  }

  /** Re-derives advisories, affected and aliases for every touched id; notes what changed. */
  rebuildTouched(): void {
    const db = this.db;
    const page = db.prepare('SELECT id FROM touched WHERE id > ? ORDER BY id LIMIT 500').pluck();
    const parts = db.prepare('SELECT source, withdrawn, record FROM records WHERE id = ? ORDER BY source, part');
    const old = db.prepare('SELECT hash, withdrawn FROM advisories WHERE id = ?');
    const delAff = db.prepare('DELETE FROM affected WHERE advisory_id = ?');
    const delAli = db.prepare('DELETE FROM aliases WHERE advisory_id = ?');
    const delAdv = db.prepare('DELETE FROM advisories WHERE id = ?');
    const putAdv = db.prepare(
      'INSERT OR REPLACE INTO advisories (id, source, modified, published, withdrawn, aliases, summary, hash, meta, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const putAff = db.prepare('INSERT INTO affected (ecosystem, name, advisory_id, source, withdrawn, affected) VALUES (?, ?, ?, ?, ?, ?)');
    const putAli = db.prepare('INSERT OR IGNORE INTO aliases (alias, advisory_id) VALUES (?, ?)');
    const note = db.prepare('INSERT OR REPLACE INTO pending (advisory_id, kind) VALUES (?, ?)');
    let after = '';
    for (;;) {
      const ids = page.all(after) as string[];
      if (ids.length === 0) break;
      after = ids[ids.length - 1]!;
      for (const id of ids) {
        const rows = parts.all(id) as { source: string; withdrawn: number; record: string }[];
        const prev = old.get(id) as { hash: string; withdrawn: string | null } | undefined;
        delAff.run(id);
        delAli.run(id);
        if (rows.length === 0) {
          if (prev) {
            delAdv.run(id);
            note.run(id, 'removed');
          }
          continue;
        }
        const recs = rows.map((r) => JSON.parse(r.record) as OsvRecord);
        const merged = mergeParts(recs);
        const sources = [...new Set(rows.map((r) => r.source))].sort().join(',');
        const json = JSON.stringify(merged);
        const hash = createHash('sha256').update(json).digest('hex');
        const meta = advisoryMeta(merged, sources);
        putAdv.run(id, sources, merged.modified, merged.published ?? null, merged.withdrawn ?? null,
          JSON.stringify(meta.aliases), merged.summary ?? null, hash, JSON.stringify(meta), json);
        rows.forEach((r, i) => {
          for (const a of recs[i]!.affected ?? []) {
            const p = (a as OsvAffected).package;
            if (!p) continue;
            putAff.run(p.ecosystem, normalizePackageName(p.ecosystem, p.name), id, r.source, r.withdrawn, JSON.stringify(a));
          }
        });
        for (const al of meta.aliases) putAli.run(al, id);
        if (!prev) note.run(id, 'added');
        else if (prev.hash !== hash) note.run(id, merged.withdrawn && !prev.withdrawn ? 'withdrawn' : 'modified');
      }
    }
  }
}

function fsyncPath(path: string, flags: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, flags);
    fsyncSync(fd);
  } catch {
    // directories cannot be fsynced on every platform; the rename is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The current identity of a valid database file, or undefined when there is none (or it is unusable). */
function previousState(dbPath: string, issues: IssueLog | undefined): 'copy' | 'fresh' {
  try {
    checkDbFile(dbPath);
    const db = new Database(dbPath, { readonly: true, fileMustExist: true });
    try {
      checkSchema(db, dbPath);
    } finally {
      db.close();
    }
    return 'copy';
  } catch (e) {
    if (isDrydockError(e, 'VULNDB_MISSING')) return 'fresh';
    if (isDrydockError(e, 'VULNDB_CORRUPT') || isDrydockError(e, 'VULNDB_SCHEMA')) {
      issues?.record({ code: e.code, message: `${e.message}; building a new database`, path: dbPath });
      return 'fresh';
    }
    throw e;
  }
}

/**
 * Runs `load` against a new copy of the database at `dbPath` and atomically replaces it.
 * `finish` may adjust the sources table (ETags) before the identity is computed.
 */
export async function buildDb(
  dbPath: string,
  load: (w: DbWriter) => Promise<void>,
  opts: BuildOptions & { sourceMeta?: Map<string, { etag?: string; lastModified?: string; fetchedAt?: string }> } = {},
): Promise<BuildResult> {
  const clock = opts.clock ?? systemClock;
  const dir = dirname(dbPath);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(dbPath)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const from = opts.base ?? dbPath;
  const state = opts.base ? 'copy' : previousState(dbPath, opts.issues);
  let db: Database.Database | undefined;
  try {
    if (state === 'copy') copyFileSync(from, tmp);
    db = new Database(tmp);
    db.pragma('journal_mode = OFF'); // a private file: on failure it is deleted, never rolled back
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -65536');
    db.pragma('temp_store = MEMORY');
    if (state === 'fresh') createSchema(db);
    else checkSchema(db, tmp);
    const previousDigest = (db.prepare("SELECT value FROM meta WHERE key = 'digest'").pluck().get() as string | undefined) ?? undefined;
    db.exec('BEGIN');
    const w = new DbWriter(db, opts.issues);
    await load(w);
    opts.hook?.('loaded');
    w.rebuildTouched();

    const updatedAt = clock.now().toISOString();
    const fetchedAt = updatedAt;
    const upSource = db.prepare(`INSERT INTO sources (name, kind, origin, records, modified, etag, last_modified, fetched_at)
      VALUES (@name, @kind, @origin, @records, @modified, @etag, @lastModified, @fetchedAt)
      ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, origin = excluded.origin, records = excluded.records,
        modified = excluded.modified, etag = excluded.etag, last_modified = excluded.last_modified, fetched_at = excluded.fetched_at`);
    for (const [name, s] of w.sourceUpdates) {
      const m = opts.sourceMeta?.get(name);
      upSource.run({
        name, kind: s.kind, origin: s.origin, records: s.records, modified: s.modified ?? null,
        etag: m?.etag ?? null, lastModified: m?.lastModified ?? null, fetchedAt: m?.fetchedAt ?? fetchedAt,
      });
    }
    // sources answered 304: only their fetch time moves
    const touchFetch = db.prepare('UPDATE sources SET fetched_at = ? WHERE name = ?');
    for (const [name, m] of opts.sourceMeta ?? []) if (!w.sourceUpdates.has(name) && m.fetchedAt) touchFetch.run(m.fetchedAt, name);

    // identity: sha256 over (id, content hash) of every advisory in id order, then the update time
    const h = createHash('sha256');
    let advisories = 0;
    for (const row of db.prepare('SELECT id, hash FROM advisories ORDER BY id').raw().iterate() as IterableIterator<[string, string]>) {
      h.update(`${row[0]}\t${row[1]}\n`);
      advisories++;
    }
    h.update(`updated ${updatedAt}\n`);
    const digest = `sha256:${h.digest('hex')}`;

    const counts: ChangeCounts = { added: 0, modified: 0, withdrawn: 0, removed: 0 };
    for (const r of db.prepare('SELECT kind, count(*) AS n FROM pending GROUP BY kind').all() as { kind: ChangeKind; n: number }[]) counts[r.kind] = r.n;
    db.prepare('INSERT INTO identities (digest, prev, updated_at) VALUES (?, ?, ?)').run(digest, previousDigest ?? null, updatedAt);
    // the first identity has no predecessor to differ from: its log would only list everything as added
    if (previousDigest) db.prepare('INSERT INTO changes (identity, advisory_id, kind) SELECT ?, advisory_id, kind FROM pending').run(digest);
    const limit = opts.historyLimit ?? HISTORY_LIMIT;
    db.prepare('DELETE FROM identities WHERE seq <= (SELECT seq FROM identities ORDER BY seq DESC LIMIT 1 OFFSET ?)').run(limit);
    db.exec('DELETE FROM changes WHERE identity NOT IN (SELECT digest FROM identities)');

    const setMeta = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
    setMeta.run('digest', digest);
    setMeta.run('updated_at', updatedAt);
    db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('built_at', ?)").run(updatedAt);
    const asOf = db.prepare("SELECT max(modified) FROM advisories WHERE modified NOT LIKE '0001-%' AND modified NOT LIKE '1970-%'").pluck().get() as string | null;
    if (asOf) setMeta.run('data_as_of', asOf);
    else db.prepare("DELETE FROM meta WHERE key = 'data_as_of'").run();
    db.exec('COMMIT');
    db.exec('DROP TABLE temp.touched; DROP TABLE temp.pending');

    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new DrydockError('VULNDB_CORRUPT', `new vulnerability database ${tmp} fails sqlite quick_check: ${String(check)}`);
    db.pragma('journal_mode = DELETE');
    db.pragma('optimize');
    db.close();
    db = undefined;
    opts.hook?.('before-rename');
    fsyncPath(tmp, 'r+');
    renameSync(tmp, dbPath);
    fsyncPath(dir, 'r');
    const result: BuildResult = { digest, updatedAt, changes: counts, advisories };
    if (previousDigest) result.previousDigest = previousDigest;
    return result;
  } catch (e) {
    try {
      db?.close();
    } catch {
      // already failing; the file is removed below
    }
    rmSync(tmp, { force: true });
    if (e instanceof DrydockError) throw e;
    if (e instanceof Error && e.name === 'SqliteError') {
      throw new DrydockError('IO_ERROR', `vulnerability database ${dbPath} could not be written`, { cause: e });
    }
    throw e;
  }
}
