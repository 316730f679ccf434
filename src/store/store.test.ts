import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore, parseStoreUrl, redactUrl } from './open.js';
import { toPgPlaceholders } from './sql.js';
import { describeStore } from './testdata/contract.js';

// PostgreSQL of this machine; a throw-away database per run. CI must have it, a laptop may not.
const PG_ADMIN = process.env.DRYDOCK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function pgReachable(): Promise<boolean> {
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

const havePg = await pgReachable();
if (!havePg && process.env.CI) throw new Error(`PostgreSQL is needed in CI (${redactUrl(PG_ADMIN)}; .ci/run starts it with pg_ctlcluster)`);

async function pgAdmin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

describeStore('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-store-'));
  const path = join(dir, 'store.sqlite');
  return {
    open: (o) => openStore({ kind: 'sqlite', path }, o),
    exec: async (sql) => {
      const db = new Database(path);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

if (havePg) {
  describeStore('postgres', async () => {
    const name = `drydock_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
    await pgAdmin(`CREATE DATABASE ${name}`);
    const u = new URL(PG_ADMIN);
    u.pathname = `/${name}`;
    const url = u.toString();
    return {
      open: (o) => openStore(url, o),
      exec: async (sql) => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          await c.query(sql);
        } finally {
          await c.end();
        }
      },
      cleanup: () => pgAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    };
  });
} else {
  describe.skip('store contract: postgres (server unreachable)', () => {
    it('needs PostgreSQL at 127.0.0.1:5432', () => undefined);
  });
}

describe('store urls', () => {
  it('parses sqlite and postgres urls', () => {
    expect(parseStoreUrl('sqlite:/var/lib/drydock/x.db')).toEqual({ kind: 'sqlite', path: '/var/lib/drydock/x.db' });
    expect(parseStoreUrl('sqlite:///abs/x.db')).toEqual({ kind: 'sqlite', path: '/abs/x.db' });
    expect(parseStoreUrl('sqlite:', '/data')).toEqual({ kind: 'sqlite', path: '/data/drydock.sqlite' });
    expect(parseStoreUrl('postgres://u:p@h:5432/d')).toEqual({ kind: 'postgres', url: 'postgres://u:p@h:5432/d' });
    expect(parseStoreUrl('postgresql://h/d').kind).toBe('postgres');
    expect(() => parseStoreUrl('mysql://h/d')).toThrow(/neither sqlite/);
    expect(redactUrl('postgres://u:secret@h/d')).toBe('postgres://u:***@h/d');
    expect(() => parseStoreUrl('mysql://u:secret@h/d')).toThrow(/u:\*\*\*@h/);
  });

  it('rewrites placeholders for PostgreSQL in order', () => {
    expect(toPgPlaceholders('SELECT a FROM t WHERE x = ? AND (y, z) > (?, ?) LIMIT ?')).toBe('SELECT a FROM t WHERE x = $1 AND (y, z) > ($2, $3) LIMIT $4');
  });

  it('reports an unreachable PostgreSQL server as STORE_UNAVAILABLE without its password', async () => {
    const e = await openStore('postgres://u:hunter2@127.0.0.1:1/none').catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(String((e as Error).message)).not.toContain('hunter2');
  });
});
