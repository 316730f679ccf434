import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { normaliseQueryPath } from './paths.js';

describe('normaliseQueryPath', () => {
  it('agrees with posix.normalize of the rooted path, without a trailing slash', () => {
    // every string of up to 7 characters over "/", ".", "a": the fast path for already normal paths
    // and the segment walk must both give what Node's normalize gives
    const alphabet = ['/', '.', 'a'];
    let checked = 0;
    const visit = (s: string): void => {
      let want = posix.normalize('/' + s);
      if (want.length > 1 && want.endsWith('/')) want = want.slice(0, -1);
      expect(normaliseQueryPath(s), JSON.stringify(s)).toBe(want);
      checked++;
      if (s.length < 7) for (const c of alphabet) visit(s + c);
    };
    visit('');
    expect(checked).toBe((3 ** 8 - 1) / 2);
    expect(normaliseQueryPath('/usr/lib/.hidden/x')).toBe('/usr/lib/.hidden/x');
  });
});
