/**
 * Read access to a vulnerability database (VulnerabilityData for matchers). Opened read-only;
 * affected() is the hot path: one prepared, indexed query per uncached (ecosystem, name) and an
 * LRU of parsed answers.
 */
import Database from 'better-sqlite3';
import { DrydockError } from '../core/errors.js';
import type { AdvisoryMeta, AffectedEntry, CvssScore, EpssScore, KevEntry, OsvAffected, VulnDbInfo, VulnerabilityData } from '../model/vuln.js';
import { normalizePackageName } from '../model/vuln.js';
import { checkDbFile, checkSchema } from './schema.js';

export interface OpenOptions {
  path: string;
  /** entries of the per-name cache (default 20,000) */
  cacheSize?: number;
}

/** What changed between two identities of the database (`drydock db diff A B`). */
export interface ChangeLog {
  from: string;
  to: string;
  added: string[];
  modified: string[];
  withdrawn: string[];
  removed: string[];
}

export interface IdentityRecord {
  digest: string;
  previous?: string;
  updatedAt: string;
}

const EMPTY: readonly AffectedEntry[] = Object.freeze([]);

export class VulnDb implements VulnerabilityData {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #cache = new Map<string, readonly AffectedEntry[]>();
  readonly #cacheSize: number;
  readonly #st;
  #ecosystems: readonly string[] | undefined;

  private constructor(path: string, db: Database.Database, cacheSize: number) {
    this.path = path;
    this.#db = db;
    this.#cacheSize = cacheSize;
    this.#st = {
      affected: db.prepare('SELECT advisory_id, source, affected FROM affected WHERE ecosystem = ? AND name = ? AND withdrawn = 0 ORDER BY advisory_id, rowid').raw(),
      advisory: db.prepare('SELECT meta FROM advisories WHERE id = ?').pluck(),
      byAlias: db.prepare('SELECT advisory_id FROM aliases WHERE alias = ? ORDER BY advisory_id').pluck(),
      nvd: db.prepare('SELECT version, vector, score, source FROM nvd_cvss WHERE cve = ? ORDER BY version DESC, source, vector'),
      epss: db.prepare('SELECT score, percentile, date FROM epss WHERE cve = ?'),
      kev: db.prepare('SELECT fields FROM kev WHERE cve = ?').pluck(),
    };
  }

  /** Opens a database read-only: VULNDB_MISSING, VULNDB_CORRUPT or VULNDB_SCHEMA when it cannot be used. */
  static open(path: string | OpenOptions): VulnDb {
    const o: OpenOptions = typeof path === 'string' ? { path } : path;
    checkDbFile(o.path);
    let db: Database.Database;
    try {
      db = new Database(o.path, { readonly: true, fileMustExist: true });
    } catch (cause) {
      throw new DrydockError('VULNDB_CORRUPT', `vulnerability database ${o.path} cannot be opened`, { cause });
    }
    try {
      checkSchema(db, o.path);
      return new VulnDb(o.path, db, o.cacheSize ?? 20_000);
    } catch (e) {
      db.close();
      if (e instanceof DrydockError) throw e;
      throw new DrydockError('VULNDB_CORRUPT', `vulnerability database ${o.path} cannot be read`, { cause: e });
    }
  }

  close(): void {
    this.#db.close();
  }

  #meta(): Map<string, string> {
    return new Map((this.#db.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[]).map((r) => [r.key, r.value]));
  }

  info(): VulnDbInfo {
    const m = this.#meta();
    const sources = (this.#db.prepare('SELECT name, origin, records, modified FROM sources ORDER BY name').all() as {
      name: string; origin: string; records: number; modified: string | null;
    }[]).map((s) => (s.modified ? { name: s.name, origin: s.origin, records: s.records, modified: s.modified } : { name: s.name, origin: s.origin, records: s.records }));
    const info: VulnDbInfo = {
      digest: m.get('digest') ?? '',
      updatedAt: m.get('updated_at') ?? '',
      schemaVersion: Number(m.get('schema_version') ?? 0),
      sources,
    };
    const asOf = m.get('data_as_of');
    if (asOf) info.dataAsOf = asOf;
    return info;
  }

  /** When the database file was first built (RFC 3339). */
  builtAt(): string | undefined {
    return this.#meta().get('built_at');
  }

  affected(ecosystem: string, name: string): readonly AffectedEntry[] {
    const n = normalizePackageName(ecosystem, name);
    const key = `${ecosystem}\u0000${n}`;
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    const rows = this.#st.affected.all(ecosystem, n) as [string, string, string][];
    let out: readonly AffectedEntry[] = EMPTY;
    if (rows.length > 0) {
      const list: AffectedEntry[] = [];
      for (const [advisoryId, source, json] of rows) {
        const affected = JSON.parse(json) as OsvAffected;
        list.push({ advisoryId, ecosystem, name: affected.package?.name ?? name, affected, source });
      }
      out = Object.freeze(list);
    }
    if (this.#cache.size >= this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
    this.#cache.set(key, out);
    return out;
  }

  ecosystems(): readonly string[] {
    this.#ecosystems ??= Object.freeze(this.#db.prepare('SELECT DISTINCT ecosystem FROM affected ORDER BY ecosystem').pluck().all() as string[]);
    return this.#ecosystems;
  }

  advisory(id: string): AdvisoryMeta | undefined {
    const meta = this.#st.advisory.get(id) as string | undefined;
    return meta === undefined ? undefined : (JSON.parse(meta) as AdvisoryMeta);
  }

  /** Advisory ids that list `alias` (a CVE, GHSA, ...) among their aliases. */
  advisoriesByAlias(alias: string): string[] {
    return this.#st.byAlias.all(alias) as string[];
  }

  /** The full stored OSV record (parts merged) of an advisory. */
  record(id: string): unknown {
    const r = this.#db.prepare('SELECT record FROM advisories WHERE id = ?').pluck().get(id) as string | undefined;
    return r === undefined ? undefined : JSON.parse(r);
  }

  nvdCvss(cveId: string): readonly CvssScore[] {
    return this.#st.nvd.all(cveId) as CvssScore[];
  }

  epss(cveId: string): EpssScore | undefined {
    const r = this.#st.epss.get(cveId) as { score: number; percentile: number; date: string | null } | undefined;
    if (!r) return undefined;
    return r.date ? { score: r.score, percentile: r.percentile, date: r.date } : { score: r.score, percentile: r.percentile };
  }

  kev(cveId: string): KevEntry | undefined {
    const f = this.#st.kev.get(cveId) as string | undefined;
    return f === undefined ? undefined : (JSON.parse(f) as KevEntry);
  }

  /** Identities kept in the history, oldest first. */
  history(): IdentityRecord[] {
    return (this.#db.prepare('SELECT digest, prev, updated_at FROM identities ORDER BY seq').all() as { digest: string; prev: string | null; updated_at: string }[]).map(
      (r) => (r.prev ? { digest: r.digest, previous: r.prev, updatedAt: r.updated_at } : { digest: r.digest, updatedAt: r.updated_at }),
    );
  }

  #resolve(digest: string, hist: IdentityRecord[]): number {
    const exact = hist.findIndex((h) => h.digest === digest);
    if (exact >= 0) return exact;
    const matches = hist.flatMap((h, i) => (h.digest.startsWith(digest) || h.digest.slice(7).startsWith(digest) ? [i] : []));
    if (matches.length === 1) return matches[0]!;
    throw new DrydockError('USAGE', `database identity ${digest} is ${matches.length > 1 ? 'ambiguous' : 'not in the history'} of ${this.path}`);
  }

  /** Net changes from identity `fromDigest` to `toDigest` (default: the current one); both must be in the history. */
  changes(fromDigest: string, toDigest?: string): ChangeLog {
    const hist = this.history();
    const from = this.#resolve(fromDigest, hist);
    const to = toDigest === undefined ? hist.length - 1 : this.#resolve(toDigest, hist);
    if (from > to) throw new DrydockError('USAGE', `database identity ${fromDigest} is newer than ${toDigest ?? 'the current one'}`);
    const q = this.#db.prepare('SELECT advisory_id, kind FROM changes WHERE identity = ?');
    const first = new Map<string, string>();
    const last = new Map<string, string>();
    for (let i = from + 1; i <= to; i++) {
      for (const r of q.all(hist[i]!.digest) as { advisory_id: string; kind: string }[]) {
        if (!first.has(r.advisory_id)) first.set(r.advisory_id, r.kind);
        last.set(r.advisory_id, r.kind);
      }
    }
    const log: ChangeLog = { from: hist[from]!.digest, to: hist[to]!.digest, added: [], modified: [], withdrawn: [], removed: [] };
    for (const [id, end] of last) {
      const start = first.get(id)!;
      if (start === 'added') {
        if (end !== 'removed') log.added.push(id); // new in the range: whatever happened after, it is an addition
      } else if (end === 'added') log.modified.push(id); // removed and added back
      else log[end as 'modified' | 'withdrawn' | 'removed'].push(id);
    }
    for (const k of ['added', 'modified', 'withdrawn', 'removed'] as const) log[k].sort();
    return log;
  }
}
