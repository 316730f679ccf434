import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { byString } from './compare.js';
import { IssueLog } from './issues.js';

describe('byString', () => {
  it('orders by code units, where a locale would not', () => {
    // in every locale's collation "a" < "B" and "a-b" ~ "ab"; by code units "B" (66) < "a" (97), "-" < "b"
    expect(['a', 'B', 'ab', 'a-b'].sort(byString)).toEqual(['B', 'a', 'a-b', 'ab']);
    expect('a'.localeCompare('B')).toBeLessThan(0); // what the sorted output used to follow
  });

  it('sorts recorded issues the same under any locale', () => {
    const log = new IssueLog();
    for (const path of ['/z', '/aa', '/B']) log.record({ code: 'ARCHIVE_CORRUPT', message: 'm', path });
    expect(log.sorted().map((i) => i.path)).toEqual(['/B', '/aa', '/z']);
    // the reason: under Danish collation "aa" sorts after "z"
    const da = spawnSync(process.execPath, ['-p', `'aa'.localeCompare('z')`], { env: { ...process.env, LANG: 'da_DK.UTF-8', LC_ALL: 'da_DK.UTF-8' }, encoding: 'utf8' });
    expect(Number(da.stdout.trim())).toBe(1);
  });
});
