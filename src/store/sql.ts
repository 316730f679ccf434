/**
 * A thin SQL layer over better-sqlite3 and pg, so that one store implementation serves both.
 * Statements are written with `?` placeholders (never inside string literals); the PostgreSQL
 * connection rewrites them to $1, $2, ... Every value travels as a parameter.
 */
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';
export type Row = Record<string, unknown>;
export type Param = string | number | bigint | boolean | null | undefined | Buffer;

/** Statements inside or outside a transaction. */
export interface Sql {
  readonly dialect: Dialect;
  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]>;
  /** runs a statement, returns the number of rows changed */
  run(sql: string, params?: readonly Param[]): Promise<number>;
  /** runs a script of several statements without parameters (migrations) */
  exec(script: string): Promise<void>;
}

export interface Connection extends Sql {
  /** runs fn in one transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED, retried on serialization failures) */
  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function toSqliteParam(p: Param): unknown {
  if (p === undefined) return null;
  if (typeof p === 'boolean') return p ? 1 : 0;
  return p;
}

// ---------------------------------------------------------------- SQLite

/**
 * better-sqlite3 is synchronous; a promise chain serialises the store's operations so that a
 * transaction's awaits never let another operation slip into it. Connections of one process to
 * the same file share the chain: a second connection waiting synchronously on SQLite's busy
 * timeout would block the event loop, and with it the transaction it waits for.
 */
const chains = new Map<string, { tail: Promise<unknown>; users: number }>();

export class SqliteConnection implements Connection {
  readonly dialect = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #stmts = new Map<string, Database.Statement>();
  readonly #chain: { tail: Promise<unknown>; users: number };
  readonly #key: string;
  readonly #inner: Sql;

  constructor(path: string) {
    this.#db = new Database(path, { timeout: 10_000 });
    this.#key = path === ':memory:' || path === '' ? `${path}#${Math.random()}` : resolve(path);
    let chain = chains.get(this.#key);
    if (!chain) chains.set(this.#key, (chain = { tail: Promise.resolve(), users: 0 }));
    chain.users++;
    this.#chain = chain;
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('foreign_keys = ON');
    const self = this;
    this.#inner = {
      dialect: 'sqlite',
      all: async <T>(sql: string, params: readonly Param[] = []) => self.#all<T>(sql, params),
      run: async (sql: string, params: readonly Param[] = []) => self.#run(sql, params),
      exec: async (script: string) => void self.#db.exec(script),
    };
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  #all<T>(sql: string, params: readonly Param[]): T[] {
    const s = this.#stmt(sql);
    const args = params.map(toSqliteParam);
    if (!s.reader) {
      s.run(...args);
      return [];
    }
    return s.all(...args) as T[];
  }

  #run(sql: string, params: readonly Param[]): number {
    const s = this.#stmt(sql);
    const args = params.map(toSqliteParam);
    if (s.reader) return s.all(...args).length;
    return s.run(...args).changes;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.tail.then(fn, fn);
    this.#chain.tail = next.catch(() => undefined);
    return next;
  }

  all<T = Row>(sql: string, params: readonly Param[] = []): Promise<T[]> {
    return this.#serial(async () => this.#all<T>(sql, params));
  }

  run(sql: string, params: readonly Param[] = []): Promise<number> {
    return this.#serial(async () => this.#run(sql, params));
  }

  exec(script: string): Promise<void> {
    return this.#serial(async () => void this.#db.exec(script));
  }

  tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    return this.#serial(async () => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const r = await fn(this.#inner);
        this.#db.exec('COMMIT');
        return r;
      } catch (e) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    await this.#serial(async () => this.#db.close());
    if (--this.#chain.users === 0 && chains.get(this.#key) === this.#chain) chains.delete(this.#key);
  }
}

// ---------------------------------------------------------------- PostgreSQL

const placeholderCache = new Map<string, string>();

/** `?` → `$n`, in order. The store never writes `?` inside a literal. */
export function toPgPlaceholders(sql: string): string {
  let out = placeholderCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    if (placeholderCache.size < 2000) placeholderCache.set(sql, out);
  }
  return out;
}

function toPgParam(p: Param): unknown {
  if (p === undefined) return null;
  if (typeof p === 'boolean') return p ? 1 : 0;
  if (typeof p === 'bigint') return p.toString();
  return p;
}

// int8 (20) as a JS number: the store keeps epoch milliseconds and counters, all below 2^53
const INT8_OID = 20;
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID && format !== 'binary') return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format as 'text');
  },
};

const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

function pgSql(client: pg.Pool | pg.PoolClient): Sql {
  return {
    dialect: 'postgres',
    async all<T>(sql: string, params: readonly Param[] = []) {
      const r = await client.query(toPgPlaceholders(sql), params.map(toPgParam));
      return r.rows as T[];
    },
    async run(sql: string, params: readonly Param[] = []) {
      const r = await client.query(toPgPlaceholders(sql), params.map(toPgParam));
      return r.rowCount ?? 0;
    },
    async exec(script: string) {
      await client.query(script);
    },
  };
}

export class PgConnection implements Connection {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;
  readonly #direct: Sql;

  constructor(url: string, max = 10) {
    this.pool = new pg.Pool({ connectionString: url, max, types: pgTypes as unknown as pg.CustomTypesConfig });
    // an idle client that loses its server must not crash the process
    this.pool.on('error', () => undefined);
    this.#direct = pgSql(this.pool);
  }

  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.#direct.all<T>(sql, params);
  }
  run(sql: string, params?: readonly Param[]): Promise<number> {
    return this.#direct.run(sql, params);
  }
  exec(script: string): Promise<void> {
    return this.#direct.exec(script);
  }

  async tx<T>(fn: (q: Sql) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const r = await fn(pgSql(client));
        await client.query('COMMIT');
        return r;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (e as { code?: string }).code;
        if (code && RETRYABLE.has(code) && attempt < 5) continue;
        throw e;
      } finally {
        client.release();
      }
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Inserts rows in chunks of multi-row VALUES (one round trip per chunk on PostgreSQL). */
export async function insertMany(
  q: Sql,
  table: string,
  columns: readonly string[],
  rows: readonly (readonly Param[])[],
  suffix = '',
): Promise<void> {
  if (rows.length === 0) return;
  const perChunk = Math.max(1, Math.floor(30_000 / columns.length));
  const one = `(${columns.map(() => '?').join(', ')})`;
  for (let i = 0; i < rows.length; i += Math.min(perChunk, 500)) {
    const chunk = rows.slice(i, i + Math.min(perChunk, 500));
    const sql = `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${chunk.map(() => one).join(', ')}${suffix ? ` ${suffix}` : ''}`;
    await q.run(sql, chunk.flat());
  }
}
