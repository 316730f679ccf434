import { describe, expect, it } from 'vitest';
import { compareVersions, comparator, isValidVersion } from './index.js';
import { rpmComparator } from './rpm.js';
import { type Rng, differential, fuzzScale, fuzzSeed, makePairs, prng, requireTool, run, unique, withTempDir, writeFile } from './testdata/harness.js';

const SEP = '\x1f';
// rpm's embedded Lua: rpm.vercmp compares two EVR strings; rpm.ver parses one.
const LUA = `
local inp = assert(io.open(IN_PATH))
local out = assert(io.open(OUT_PATH, "w"))
for line in inp:lines() do
  local kind, a, b = line:match("^(%a)\\31(.-)\\31(.*)$")
  if kind == "V" then
    local ok = pcall(rpm.ver, a)
    out:write(ok and "ok" or "bad", "\\n")
  else
    local ok, r = pcall(rpm.vercmp, a, b)
    out:write(ok and tostring(r) or "E", "\\n")
  end
end
out:close()
`;

function rpmOracle(pairs: [string, string][], singles: string[]): { cmp: (number | null)[]; valid: Map<string, boolean> } {
  requireTool('rpm', 'rpm');
  return withTempDir((dir) => {
    const lines = [...pairs.map(([a, b]) => ['P', a, b].join(SEP)), ...singles.map((v) => ['V', v, ''].join(SEP))];
    const inPath = writeFile(dir, 'in.txt', lines.join('\n') + '\n');
    const outPath = `${dir}/out.txt`;
    const script = writeFile(dir, 'cmp.lua', `local IN_PATH = ${JSON.stringify(inPath)}\nlocal OUT_PATH = ${JSON.stringify(outPath)}\n${LUA}`);
    run('rpm', ['--eval', `%{lua: dofile(${JSON.stringify(script)})}`], '');
    const out = run('cat', [outPath], '').trim().split('\n');
    expect(out.length).toBe(lines.length);
    const cmp = out.slice(0, pairs.length).map((s) => (s === 'E' ? null : Number(s)));
    const valid = new Map(singles.map((v, i) => [v, out[pairs.length + i] === 'ok']));
    return { cmp, valid };
  });
}

function seg(r: Rng): string {
  return r.pick(['0', '1', '2', '3', '10', '01', '001', '9', '99', '2024', 'a', 'b', 'rc', 'beta', 'git', 'el', 'fc', 'Z', '12345678901234567890']);
}

function part(r: Rng, n: number): string {
  let s = seg(r);
  for (let i = r.int(n); i > 0; i--) s += r.pick(['.', '.', '.', '_', '+', '~', '^', '', '..']) + seg(r);
  if (r.chance(0.1)) s += r.pick(['~', '^', '.', '~rc1', '^post1', '^1']);
  return s;
}

function genRpm(r: Rng): string {
  let s = '';
  if (r.chance(0.2)) s += `${r.pick(['0', '1', '2', '10', '01'])}:`;
  s += part(r, 4);
  if (r.chance(0.85)) s += `-${r.chance(0.5) ? r.pick(['1.el9', '1.el9_2', '2.el9', '1.el8_4.1', '2.fc38', '0.1.rc1', '1.module+el8.3.0+7000+abc12def', '1', '10', '1.el9~1']) : part(r, 3)}`;
  return s;
}

describe('rpm versions', () => {
  it('agrees with rpm.vercmp (rpm 4.18 Lua) on random and edge-case pairs', () => {
    const r = prng(fuzzSeed(0x5eed_4e7));
    const edge = [
      '1.0', '1.0-1', '0:1.0-1', '1:1.0-1', '1.0~rc1-1', '1.0^post1-1', '1.0^-1', '1.0~-1', '1.0-1~', '1.0-1^1', '1.0a-1', '1.0.a-1',
      '1.0_1', '1.0+1', '1a', '1.a', 'a', '1.01', '1.001', '1.0.0', '1.00', '2.0-1.el9', '2.0-1.el9_1', '2.0-1.el9.1', '1.0^', '1.0~',
      '1:', '1.0-', ':1.0', '-1', '1.0 x', '1.0-1-1', '1.0/1', '', 'x:1.0',
    ];
    const pool = unique([...edge, ...Array.from({ length: fuzzScale(150) }, () => genRpm(r))]);
    const pairs = makePairs(r, pool, fuzzScale(400));
    const o = rpmOracle(pairs, pool);
    const { mismatches, compared } = differential(rpmComparator, pairs, o.cmp, o.valid, 'stricter');
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(300);
  });

  it('follows the EVR rules distros and OSV rely on', () => {
    expect(compareVersions('rpm', '1:1.0-1', '2.0-1')).toBe(1);
    expect(compareVersions('rpm', '0:1.0-1', '1.0-1')).toBe(0);
    expect(compareVersions('rpm', '1.0~rc1-1', '1.0-1')).toBe(-1);
    expect(compareVersions('rpm', '1.0^1-1', '1.0-1')).toBe(1);
    expect(compareVersions('rpm', '1.0-1', '1.0^1-1')).toBe(-1);
    expect(compareVersions('rpm', '1.0^1-1', '1.0.1-1')).toBe(-1);
    expect(compareVersions('rpm', '1.0~1-1', '1.0-1')).toBe(-1);
    expect(compareVersions('rpm', '1.0-1', '1.0~1-1')).toBe(1);
    expect(compareVersions('rpm', '2.34-60.el9', '2.34-100.el9')).toBe(-1);
    expect(compareVersions('rpm', '1.0', '1.0-1')).toBe(-1); // no release sorts first (rpm 4.18)
    expect(compareVersions('rpm', '1.0_1-1', '1.0.1-1')).toBe(0);
  });

  it('rejects empty and malformed EVR strings', () => {
    for (const bad of ['', '1.0-', ':1.0', '1:', '-1', '1.0 1', '1.0-1-1', '1.0/1']) expect(isValidVersion('rpm', bad)).toBe(false);
    expect(() => comparator('rpm').parse('')).toThrow(/invalid rpm version ""/);
  });
});
