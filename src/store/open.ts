/**
 * Opening a store: `sqlite:PATH`, `postgres://...` / `postgresql://...`, or an object. Migrations run
 * on open; a database newer than this code is refused.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { DrydockError } from '../core/errors.js';
import { migrate } from './migrations.js';
import { PgConnection, SqliteConnection, type Connection } from './sql.js';
import { SqlStore } from './sql-store.js';
import type { Store } from './types.js';

export type StoreTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

export interface OpenStoreOptions {
  /** where `sqlite:` without a path puts drydock.sqlite (the server's --data-dir) */
  dataDir?: string;
  clock?: Clock;
  /** PostgreSQL pool size (default 10) */
  poolSize?: number;
  outboxMaxAttempts?: number;
  jobBackoffMs?: number;
}

export const DEFAULT_SQLITE_FILE = 'drydock.sqlite';

/** Parses a store URL: `sqlite:PATH`, `sqlite:` (default file in the data dir), `postgres://...`, `postgresql://...`. */
export function parseStoreUrl(url: string, dataDir = '.'): StoreTarget {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    try {
      new URL(url);
    } catch (cause) {
      throw new DrydockError('CONFIG_INVALID', `store url ${redactUrl(url)} is not a valid URL`, { cause });
    }
    return { kind: 'postgres', url };
  }
  if (url.startsWith('sqlite:')) {
    let path = url.slice('sqlite:'.length);
    if (path.startsWith('//')) path = path.slice(2); // sqlite:///abs/path and sqlite://rel
    return { kind: 'sqlite', path: path === '' ? join(dataDir, DEFAULT_SQLITE_FILE) : path };
  }
  throw new DrydockError('CONFIG_INVALID', `store url ${JSON.stringify(redactUrl(url))} is neither sqlite:PATH nor postgres://...`);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

export async function openStore(target: string | StoreTarget, options: OpenStoreOptions = {}): Promise<Store> {
  const t = typeof target === 'string' ? parseStoreUrl(target, options.dataDir) : target;
  const clock = options.clock ?? systemClock;
  let conn: Connection;
  let location: string;
  if (t.kind === 'sqlite') {
    location = `sqlite:${t.path}`;
    try {
      if (t.path !== ':memory:') mkdirSync(dirname(resolve(t.path)), { recursive: true });
      conn = new SqliteConnection(t.path);
    } catch (cause) {
      throw new DrydockError('STORE_UNAVAILABLE', `store ${location} cannot be opened`, { cause });
    }
  } else {
    location = redactUrl(t.url);
    conn = new PgConnection(t.url, options.poolSize);
    try {
      await conn.all('SELECT 1 AS one');
    } catch (cause) {
      await conn.close().catch(() => undefined);
      throw new DrydockError('STORE_UNAVAILABLE', `store ${location} is unreachable`, { cause });
    }
  }
  try {
    await migrate(conn, location, clock);
  } catch (e) {
    await conn.close().catch(() => undefined);
    if (e instanceof DrydockError) throw e;
    throw new DrydockError('STORE_UNAVAILABLE', `store ${location} could not be migrated`, { cause: e });
  }
  const storeOptions: ConstructorParameters<typeof SqlStore>[2] = { clock };
  if (options.outboxMaxAttempts !== undefined) storeOptions.outboxMaxAttempts = options.outboxMaxAttempts;
  if (options.jobBackoffMs !== undefined) storeOptions.jobBackoffMs = options.jobBackoffMs;
  return new SqlStore(conn, location, storeOptions);
}
