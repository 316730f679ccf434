/**
 * Store measurements at issue 7's size (run on demand: STORE_BENCH=1 npx vitest run src/store/store.bench.test.ts).
 * 10,000 inventories of 40 packages; lookups by ecosystem+name; an image's findings paged by 100.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from './open.js';
import { finding, inventory, pkg } from './testdata/contract.js';
import type { Store, TeamContext } from './types.js';

const RUN = !!process.env.STORE_BENCH;
const IMAGES = Number(process.env.STORE_BENCH_IMAGES ?? 10_000);
const PG_ADMIN = process.env.DRYDOCK_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]!;
}

async function bench(store: Store): Promise<Record<string, number>> {
  const team = await store.createTeam('bench', 'bench');
  const ctx: TeamContext = { teamId: team.id, actor: 'bench' };
  const t0 = performance.now();
  for (let i = 0; i < IMAGES; i++) {
    const d = `sha256:${i.toString(16).padStart(64, '0')}`;
    const pkgs = Array.from({ length: 40 }, (_, j) => pkg(`lib${(i * 7 + j) % 500}`, `1.${(i + j) % 30}.0`));
    await store.putInventory(ctx, d, inventory(d, pkgs));
  }
  const put = performance.now() - t0;
  const lookups: number[] = [];
  let hits = 0;
  for (let k = 0; k < 20; k++) {
    const t = performance.now();
    const r = await store.findPackages(Array.from({ length: 5 }, (_, j) => ({ ecosystem: 'npm', name: `lib${k * 5 + j}` })));
    lookups.push(performance.now() - t);
    hits += r.length;
  }
  const d0 = `sha256:${'0'.repeat(64)}`;
  const fs = Array.from({ length: 2000 }, (_, i) => finding(`CVE-2024-${String(i).padStart(5, '0')}`, pkg(`lib${i % 40}`, '1.0.0')));
  const te = performance.now();
  await store.applyEvaluation(ctx, d0, fs, 'db1');
  const evalMs = performance.now() - te;
  const pages: number[] = [];
  for (let round = 0; round < 5; round++) {
    let after: string | undefined;
    do {
      const t = performance.now();
      const page = await store.listFindings(ctx, d0, { limit: 100, ...(after ? { after } : {}) });
      pages.push(performance.now() - t);
      after = page.next;
    } while (after);
  }
  const search: number[] = [];
  for (let k = 0; k < 20; k++) {
    const t = performance.now();
    await store.searchPackages(ctx, { name: `lib${k}`, version: '1.3.0' });
    search.push(performance.now() - t);
  }
  expect(hits).toBeGreaterThan(0);
  return {
    putInventoriesSeconds: put / 1000, lookup5KeysP99Ms: p99(lookups), lookupHits: hits, evaluate2000Ms: evalMs,
    findingsPage100P99Ms: p99(pages), searchP99Ms: p99(search),
  };
}

describe.runIf(RUN)('store benchmark', () => {
  it('sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-bench-'));
    const store = await openStore({ kind: 'sqlite', path: join(dir, 'b.sqlite') });
    try {
      console.log('sqlite', await bench(store));
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);

  it('postgres', async () => {
    const name = `drydock_test_bench_${process.pid}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(PG_ADMIN);
    u.pathname = `/${name}`;
    const store = await openStore(u.toString());
    try {
      console.log('postgres', await bench(store));
    } finally {
      await store.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  }, 900_000);
});
