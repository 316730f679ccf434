/**
 * Throw-away stores for the server tests: SQLite in a temporary directory, PostgreSQL as a temporary
 * database at 127.0.0.1:5432 (DRYDOCK_TEST_PG_URL overrides). Without a reachable PostgreSQL server
 * the PostgreSQL runs are skipped locally and fail when CI is set (as in src/store/store.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore, redactUrl, type OpenStoreOptions, type Store } from '../../store/index.js';

export const PG_ADMIN = process.env.DRYDOCK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Whether the PostgreSQL runs can happen; throws in CI when they cannot. */
export async function requirePg(): Promise<boolean> {
  const ok = await pgReachable();
  if (!ok && process.env.CI) throw new Error(`PostgreSQL is needed in CI (${redactUrl(PG_ADMIN)}; .ci/run starts it with pg_ctlcluster)`);
  return ok;
}

async function pgAdmin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export interface TempStore {
  /** the URL other processes open it with */
  url: string;
  open(o?: OpenStoreOptions): Promise<Store>;
  cleanup(): Promise<void>;
}

export async function tempStore(kind: 'sqlite' | 'postgres', tag = 'srv'): Promise<TempStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), `drydock-${tag}-`));
    const url = `sqlite:${join(dir, 'store.sqlite')}`;
    return { url, open: (o) => openStore(url, o), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `drydock_test_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await pgAdmin(`CREATE DATABASE ${name}`);
  const u = new URL(PG_ADMIN);
  u.pathname = `/${name}`;
  const url = u.toString();
  return { url, open: (o) => openStore(url, { poolSize: 4, ...o }), cleanup: () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
