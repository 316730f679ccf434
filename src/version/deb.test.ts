import { describe, expect, it } from 'vitest';
import { isDrydockError } from '../core/errors.js';
import { debComparator } from './deb.js';
import { compareVersions, isValidVersion } from './index.js';
import { type Rng, differential, fuzzScale, fuzzSeed, makePairs, prng, requireTool, run, unique } from './testdata/harness.js';

const SEP = '\x1f';
// One bash process runs dpkg for every line: "P a b" prints -1/0/1 (E on error), "V v" prints ok/bad
// (bad when dpkg reports an error or a warning about the string).
const DPKG_SCRIPT = `
while IFS=$'${SEP}' read -r kind a b; do
  if [ "$kind" = V ]; then
    err=$(dpkg --compare-versions "$a" eq "$a" 2>&1 >/dev/null); rc=$?
    if [ $rc = 2 ] || [ -n "$err" ]; then echo bad; else echo ok; fi
  else
    dpkg --compare-versions "$a" lt "$b" 2>/dev/null; rc=$?
    if [ $rc = 0 ]; then echo -1
    elif [ $rc = 1 ]; then if dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo 0; else echo 1; fi
    else echo E; fi
  fi
done`;

function dpkgOracle(pairs: [string, string][], singles: string[]): { cmp: (number | null)[]; valid: Map<string, boolean> } {
  requireTool('dpkg', 'dpkg');
  const lines = [...pairs.map(([a, b]) => ['P', a, b].join(SEP)), ...singles.map((v) => ['V', v, ''].join(SEP))];
  const out = run('bash', ['-c', DPKG_SCRIPT], lines.join('\n') + '\n').trim().split('\n');
  expect(out.length).toBe(lines.length);
  const cmp = out.slice(0, pairs.length).map((s) => (s === 'E' ? null : Number(s)));
  const valid = new Map(singles.map((v, i) => [v, out[pairs.length + i] === 'ok']));
  return { cmp, valid };
}

function num(r: Rng): string {
  return r.pick(['0', '1', '2', '3', '9', '10', '00', '01', '11', '2024', '20240101', '123456789012345678901', '123456789012345678902']);
}

function genDeb(r: Rng): string {
  let s = '';
  if (r.chance(0.15)) s += `${r.pick(['0', '1', '2', '10', '01'])}:`;
  s += num(r);
  for (let i = r.int(4); i > 0; i--) s += `.${num(r)}`;
  for (let i = r.int(3); i > 0; i--) s += r.pick(['~rc1', '~rc2', '~beta', '~', '~~', '+dfsg', '+dfsg1', 'a', 'b', 'z', 'A', '+git20200101', '+really1.2', '.0', '-1', '+b1', '~bpo', ':1']);
  if (r.chance(0.7)) s += `-${r.pick(['1', '2', '0', '0ubuntu1', '1ubuntu0.1', '1+deb12u1', '1+deb12u2', '1~bpo11+1', '10', '1.1', '1.10', '1build1', '1~', 'A', 'a'])}`;
  return s;
}

describe('deb versions', () => {
  it('agrees with dpkg --compare-versions on random and edge-case pairs', () => {
    const r = prng(fuzzSeed(0x5eed_deb));
    const edge = [
      '1.0', '1.0-0', '1.0-1', '0:1.0', '1:0.1', '1.0~rc1', '1.0~', '1.0~~', '1.0~~a', '1.0a', '1.0+', '1.0.0', '1.00', '1.0-1~',
      '2.30-1', '2.3a-1', '7.6p2-4', '1:7.6p2-4', '1.2.3+dfsg-1', '1.2.3-1+deb12u1', '1.2.3-1+b1', '10.0', '9.9', '1.0-a', '1.0-A',
      '1.0-~', '1.0-+', '1.0-.', '1:2:3', '1:2:3-4', '2147483647:1', '2147483648:1', '1.0-1-1',
      // invalid for dpkg (error or warning)
      'abc', 'a1.0', '1.0_1', '1.0-1_1', '1 0', '1:', ':1', 'x:1', '-1', '1.0-', '1.0-a:b', '~1', '1.0!', '1:a',
    ];
    const pool = unique([...edge, ...Array.from({ length: fuzzScale(120) }, () => genDeb(r))]);
    const pairs = makePairs(r, pool, fuzzScale(300));
    const o = dpkgOracle(pairs, pool);
    const { mismatches, compared } = differential(debComparator, pairs, o.cmp, o.valid);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(250);
  });

  it('orders the examples of Debian Policy 5.6.12', () => {
    const sorted = ['~~', '~~a', '~', '', 'a'].map((x) => `1.0${x}`);
    for (let i = 0; i + 1 < sorted.length; i++) expect(compareVersions('deb', sorted[i]!, sorted[i + 1]!)).toBe(-1);
    expect(compareVersions('deb', '1:1.0', '2.0')).toBe(1);
    expect(compareVersions('deb', '1.0', '1.0-0')).toBe(0);
    expect(compareVersions('deb', ' 1.0 ', '1.0')).toBe(0);
    expect(compareVersions('deb', '123456789012345678901', '123456789012345678902')).toBe(-1);
  });

  it('rejects invalid versions with VERSION_INVALID naming the scheme and the string', () => {
    for (const bad of ['', '   ', 'abc', '1:', ':1', '1.0-', '1 0', '99999999999:1']) {
      expect(isValidVersion('deb', bad)).toBe(false);
      let err: unknown;
      try {
        compareVersions('deb', bad, '1.0');
      } catch (e) {
        err = e;
      }
      expect(isDrydockError(err, 'VERSION_INVALID')).toBe(true);
      expect((err as Error).message).toContain('deb');
      expect((err as Error).message).toContain(JSON.stringify(bad));
    }
  });
});
