import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { goComparator } from './go.js';
import { compareVersions, isValidVersion } from './index.js';
import { type Rng, differential, fuzzScale, fuzzSeed, makePairs, prng, requireTool, run, unique } from './testdata/harness.js';

const SEP = '\x1f';
const GOPATH = '/usr/share/gocode';
const PROGRAM = fileURLToPath(new URL('./testdata/gocmp.go', import.meta.url));

/** The form handed to x/mod/semver: ours accepts OSV's "1.2.3" as "v1.2.3". */
const withV = (v: string): string => (v.startsWith('v') ? v : `v${v}`);

function goOracle(pairs: [string, string][], singles: string[]): { cmp: (number | null)[]; valid: Map<string, boolean> } {
  requireTool('go', 'golang-go');
  if (!existsSync(`${GOPATH}/src/golang.org/x/mod/semver/semver.go`)) {
    throw new Error('oracle golang.org/x/mod/semver is missing: install the Debian package golang-golang-x-mod-dev');
  }
  const lines = [...pairs.map(([a, b]) => ['P', withV(a), withV(b)].join(SEP)), ...singles.map((v) => ['V', withV(v)].join(SEP))];
  const env = { ...process.env, GOPATH, GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(tmpdir(), 'drydock-version-gocache'), GOTOOLCHAIN: 'local' };
  const out = run('go', ['run', PROGRAM], lines.join('\n') + '\n', env).trim().split('\n');
  expect(out.length).toBe(lines.length);
  const valid = new Map(singles.map((v, i) => [v, out[pairs.length + i] === 'true']));
  // x/mod/semver orders invalid strings too; only pairs of valid versions count
  const cmp = pairs.map(([a, b], i) => (valid.get(a) === false || valid.get(b) === false ? null : Number(out[i])));
  return { cmp, valid };
}

function num(r: Rng): string {
  return r.pick(['0', '1', '2', '10', '3', '12345678901234567890']);
}

function genGo(r: Rng): string {
  let s = (r.chance(0.5) ? 'v' : '') + num(r);
  const shape = r.int(10);
  if (shape === 0) return s;
  s += `.${num(r)}`;
  if (shape === 1) return s;
  s += `.${num(r)}`;
  if (r.chance(0.4)) {
    s += `-${r.pick(['0.20191109021931-daa7c04131f5', '0.20200101000000-abcdefabcdef', 'rc.1', 'rc.2', 'rc.10', 'alpha', 'beta.2', '0', '1', 'pre', 'a.b.c', 'RC1', 'x-y', '01', 'rc..1', ''])}`;
    if (r.chance(0.3)) s += `.${r.pick(['0.20191109021931-daa7c04131f5', '1', 'x'])}`;
  }
  if (r.chance(0.2)) s += `+${r.pick(['incompatible', 'meta.1', 'build', 'x..y', ''])}`;
  return s;
}

describe('go versions', () => {
  it('agrees with golang.org/x/mod/semver on random and edge-case pairs', () => {
    const r = prng(fuzzSeed(0x5eed_90));
    const edge = [
      'v1', 'v1.0', 'v1.0.0', '1.0.0', 'v1.2.3-pre', 'v1.2.3-pre.1', 'v1.2.3-pre.a', 'v1.2.3', 'v2.0.0+incompatible', 'v2.0.0',
      'v0.0.0-20191109021931-daa7c04131f5', 'v0.0.0-20200101000000-abcdefabcdef', 'v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.3-0',
      'v1.2.3-alpha.0.20191109021931-daa7c04131f5',
      // invalid
      '', 'v', 'v1.2-pre', 'v1-pre', 'v1.2.3-', 'v1.2.3+', 'v01.2.3', 'v1.02.3', 'v1.2.3-01', 'v1.2.3.4', 'vv1.2.3', 'V1.2.3', 'v1.2.3 ', 'latest',
    ];
    const pool = unique([...edge, ...Array.from({ length: fuzzScale(150) }, () => genGo(r))]);
    const pairs = makePairs(r, pool, fuzzScale(400));
    const o = goOracle(pairs, pool);
    const { mismatches, compared } = differential(goComparator, pairs, o.cmp, o.valid);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(250);
  });

  it('accepts OSV versions without "v", ignores +incompatible and orders pseudo-versions', () => {
    expect(compareVersions('go', '1.2.3', 'v1.2.3')).toBe(0);
    expect(compareVersions('go', 'v2.0.0+incompatible', 'v2.0.0')).toBe(0);
    expect(compareVersions('go', 'v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.4')).toBe(-1);
    expect(compareVersions('go', 'v1.2.4-0.20191109021931-daa7c04131f5', 'v1.2.3')).toBe(1);
    expect(compareVersions('go', 'v1.2', 'v1.2.0')).toBe(0);
    for (const bad of ['', 'v1.2-pre', 'latest']) expect(isValidVersion('go', bad)).toBe(false);
  });
});
