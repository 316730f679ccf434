import { describe, expect, it } from 'vitest';
import { LARGE_READ, LargeReadReclaimer, RECLAIM_AFTER } from './reclaim.js';

describe('LargeReadReclaimer', () => {
  it('collects before a large read once enough large reads were handed out, and only then', () => {
    const r = new LargeReadReclaimer();
    r.before(LARGE_READ - 1); // small reads do not count
    r.before(RECLAIM_AFTER - LARGE_READ);
    expect(r.collections).toBe(0);
    r.before(LARGE_READ); // pending is now RECLAIM_AFTER
    expect(r.collections).toBe(0);
    r.before(100); // small: never collects
    expect(r.collections).toBe(0);
    r.before(LARGE_READ);
    expect(r.collections).toBe(1);
    r.before(LARGE_READ);
    expect(r.collections).toBe(1);
  });

  it('really frees unreachable objects (gc is available without --expose-gc)', async () => {
    let big: Uint8Array | null = new Uint8Array(8 * 1024 * 1024);
    const ref = new WeakRef(big);
    big = null;
    // a WeakRef keeps its target alive until the end of the job that created it
    await new Promise((ok) => setImmediate(ok));
    const r = new LargeReadReclaimer(0);
    r.before(LARGE_READ);
    expect(r.collections).toBe(1);
    expect(ref.deref()).toBeUndefined();
  });
});
