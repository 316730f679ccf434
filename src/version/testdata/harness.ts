/**
 * Test helpers for the version comparators: a seeded PRNG, oracle processes (the real tools of
 * each ecosystem), and the differential check. Not part of the build (testdata/ is excluded).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Comparator } from '../types.js';

/** mulberry32: small, fast, good enough to drive generators reproducibly. */
export function prng(seed: number): Rng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)]!,
    chance: (p) => next() < p,
  };
}
export interface Rng {
  next(): number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
}

/** Fails (never skips) when an oracle tool is missing, naming the Debian package to install. */
export function requireTool(cmd: string, debianPackage: string): void {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`oracle tool ${cmd} is missing: install the Debian package ${debianPackage}`);
}

export function run(cmd: string, args: string[], input: string, env?: NodeJS.ProcessEnv, cwd?: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 64 << 20, env: env ?? process.env, cwd });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

export function withTempDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-version-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/**
 * Pairs: random pairs from the pool, pairs sharing a prefix (both orders: they differ late, where
 * the rules are subtle), each string with itself, and each with its neighbour.
 */
export function makePairs(rng: Rng, pool: readonly string[], n: number): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i < n; i++) pairs.push([rng.pick(pool), rng.pick(pool)]);
  for (const a of pool) {
    const near = pool.filter((b) => b !== a && b.slice(0, 3) === a.slice(0, 3));
    if (near.length > 0) pairs.push([a, rng.pick(near)]);
  }
  for (let i = 0; i + 1 < pool.length; i++) pairs.push([pool[i]!, pool[i + 1]!]);
  for (const p of pool.slice(0, 20)) pairs.push([p, p]);
  return pairs;
}

export function unique(xs: Iterable<string>): string[] {
  return [...new Set(xs)];
}

export function ours(c: Comparator, v: string): { ok: true; parsed: unknown } | { ok: false } {
  try {
    return { ok: true, parsed: c.parse(v) };
  } catch {
    return { ok: false };
  }
}

/**
 * Compares our verdicts with an oracle's: validity of every string, and the order of every pair
 * both sides find valid (a pair the oracle cannot order, null, is skipped). Returns human-readable mismatches (empty when all agree).
 */
export function differential(
  c: Comparator,
  pairs: readonly [string, string][],
  oracleCompare: readonly (number | null)[],
  oracleValid: ReadonlyMap<string, boolean>,
  /** 'stricter': we may refuse strings the oracle accepts (never the reverse) */
  validity: 'exact' | 'stricter' = 'exact',
): { mismatches: string[]; compared: number } {
  const mismatches: string[] = [];
  const cache = new Map<string, ReturnType<typeof ours>>();
  const get = (v: string) => {
    let r = cache.get(v);
    if (!r) cache.set(v, (r = ours(c, v)));
    return r;
  };
  for (const [v, valid] of oracleValid) {
    if (validity === 'stricter' && valid && !get(v).ok) continue;
    if (get(v).ok !== valid) mismatches.push(`validity of ${JSON.stringify(v)}: ours ${get(v).ok}, oracle ${valid}`);
  }
  let compared = 0;
  pairs.forEach(([a, b], i) => {
    const pa = get(a);
    const pb = get(b);
    const o = oracleCompare[i];
    if (!pa.ok || !pb.ok || o === null || o === undefined) return;
    compared++;
    const mine = c.compare(pa.parsed, pb.parsed);
    if (mine !== Math.sign(o)) mismatches.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: ours ${mine}, oracle ${o}`);
  });
  return { mismatches, compared };
}

/**
 * The seed of a differential test: fixed by default (reproducible), overridable with
 * VERSION_FUZZ_SEED for longer local hunts, together with VERSION_FUZZ_SCALE (multiplies counts).
 */
export function fuzzSeed(defaultSeed: number): number {
  const s = process.env['VERSION_FUZZ_SEED'];
  return s === undefined || s === '' ? defaultSeed : Number(s);
}
export function fuzzScale(n: number): number {
  const s = Number(process.env['VERSION_FUZZ_SCALE'] ?? '1');
  return Math.max(1, Math.round(n * (Number.isFinite(s) && s > 0 ? s : 1)));
}

/** Sorts, then checks every pair against the sorted positions (which also proves transitivity). */
export function checkTotalOrder<P>(items: P[], cmp: (a: P, b: P) => number): void {
  const sorted = [...items].sort(cmp);
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i; j < sorted.length; j++) {
      const ab = cmp(sorted[i]!, sorted[j]!);
      expect(ab).toBeLessThanOrEqual(0);
      expect(cmp(sorted[j]!, sorted[i]!)).toBe(-ab || 0);
    }
  }
}
