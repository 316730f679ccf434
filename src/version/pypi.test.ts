import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compareVersions, isValidVersion } from './index.js';
import { pypiComparator } from './pypi.js';
import { type Rng, differential, fuzzScale, fuzzSeed, makePairs, prng, run, unique } from './testdata/harness.js';

// Debian's interpreter: the python3 first on PATH may lack the packaging module.
const PYTHON = '/usr/bin/python3';
const ORACLE = `
import sys, json
from packaging.version import Version, InvalidVersion
data = json.load(sys.stdin)
def parse(v):
    try:
        return Version(v)
    except InvalidVersion:
        return None
parsed = {v: parse(v) for v in data["singles"]}
for a, b in data["pairs"]:
    for v in (a, b):
        if v not in parsed:
            parsed[v] = parse(v)
cmp = []
for a, b in data["pairs"]:
    pa, pb = parsed[a], parsed[b]
    cmp.append(None if pa is None or pb is None else (pa > pb) - (pa < pb))
print(json.dumps({"valid": [parsed[v] is not None for v in data["singles"]], "cmp": cmp}))
`;

function pythonOracle(pairs: [string, string][], singles: string[]): { cmp: (number | null)[]; valid: Map<string, boolean> } {
  if (!existsSync(PYTHON)) throw new Error('oracle /usr/bin/python3 is missing: install the Debian packages python3 and python3-packaging');
  let out: string;
  try {
    out = run(PYTHON, ['-c', ORACLE], JSON.stringify({ pairs, singles }));
  } catch (e) {
    throw new Error(`the pypi oracle failed (is the Debian package python3-packaging installed?): ${(e as Error).message}`);
  }
  const r = JSON.parse(out) as { valid: boolean[]; cmp: (number | null)[] };
  return { cmp: r.cmp, valid: new Map(singles.map((v, i) => [v, r.valid[i]!])) };
}

function num(r: Rng): string {
  return r.pick(['0', '1', '2', '3', '10', '00', '01', '2024', '12345678901234567890']);
}

function genPypi(r: Rng): string {
  let s = '';
  if (r.chance(0.05)) s += r.pick(['v', 'V', ' ', '\t']);
  if (r.chance(0.1)) s += `${r.pick(['0', '1', '2'])}!`;
  s += num(r);
  for (let i = r.int(4); i > 0; i--) s += `.${num(r)}`;
  const sep = () => r.pick(['', '', '.', '-', '_']);
  if (r.chance(0.4)) s += sep() + r.pick(['a', 'b', 'c', 'rc', 'alpha', 'beta', 'pre', 'preview', 'RC', 'A']) + (r.chance(0.8) ? sep() + num(r) : '');
  if (r.chance(0.25)) s += r.chance(0.3) ? `-${num(r)}` : sep() + r.pick(['post', 'rev', 'r', 'POST']) + (r.chance(0.7) ? sep() + num(r) : '');
  if (r.chance(0.25)) s += sep() + r.pick(['dev', 'DEV']) + (r.chance(0.7) ? sep() + num(r) : '');
  if (r.chance(0.15)) s += `+${r.pick(['ubuntu1', 'abc.5', '1.2-x', 'cu118', 'CPU', '7', '1_a', 'a.b.c'])}`;
  if (r.chance(0.03)) s += ' ';
  return s;
}

describe('pypi versions', () => {
  it('agrees with packaging.version.Version on random and edge-case pairs', () => {
    const r = prng(fuzzSeed(0x5eed_9e9));
    const edge = [
      '1.0', '1.0.0', '1', '0', '0.0', '1.0.dev0', '1.0a0', '1.0a1.dev1', '1.0a1', '1.0b1', '1.0rc1', '1.0c1', '1.0RC1', '1.0', '1.0.post0.dev0',
      '1.0.post0', '1.0-1', '1.0.post1', '1.0+local', '1.0+1', '1.0+a', '1.0+a.1', '1.0+1.a', '1.0+abc.5', '1!0.1', 'v1.0', ' 1.0 ', '1.0rc',
      '1.0-rc-1', '1.0_post_2', '1.0.dev', '1.0pre1', '1.0preview1', '1.0a.1', '1.0-dev', '1.0r', '1.0rev3',
      // invalid
      '', ' ', 'abc', '1.0.', '.1', '1..0', '1.0+', '1.0+a..b', '1.0+-a', '1.0-', 'v', '1!', '!1', '1.0dev-1-1', '1.0 1', 'vv1.0', '1.0a1a1',
    ];
    const pool = unique([...edge, ...Array.from({ length: fuzzScale(150) }, () => genPypi(r))]);
    const pairs = makePairs(r, pool, fuzzScale(400));
    const o = pythonOracle(pairs, pool);
    const { mismatches, compared } = differential(pypiComparator, pairs, o.cmp, o.valid);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(300);
  });

  it('normalises as PEP 440 says', () => {
    expect(compareVersions('pypi', '1.0RC1', '1.0rc1')).toBe(0);
    expect(compareVersions('pypi', '1.0-1', '1.0.post1')).toBe(0);
    expect(compareVersions('pypi', '1.0.dev0', '1.0a0')).toBe(-1);
    expect(compareVersions('pypi', '1.0+1', '1.0+a')).toBe(1);
    expect(compareVersions('pypi', '1!0.1', '2.0')).toBe(1);
    expect(isValidVersion('pypi', '')).toBe(false);
    expect(isValidVersion('pypi', 'garbage')).toBe(false);
  });
});
