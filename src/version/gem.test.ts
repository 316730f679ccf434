import { describe, expect, it } from 'vitest';
import { gemComparator } from './gem.js';
import { compareVersions, isValidVersion } from './index.js';
import { type Rng, differential, fuzzScale, fuzzSeed, makePairs, prng, requireTool, run, unique } from './testdata/harness.js';

const RUBY = `
require 'json'
d = JSON.parse(STDIN.read)
cache = {}
parse = lambda { |v| cache.fetch(v) { cache[v] = (Gem::Version.correct?(v) ? Gem::Version.new(v) : nil) } }
valid = d['singles'].map { |v| !parse.(v).nil? }
cmp = d['pairs'].map { |a, b| x = parse.(a); y = parse.(b); (x.nil? || y.nil?) ? nil : (x <=> y) }
puts JSON.generate({ 'valid' => valid, 'cmp' => cmp })
`;

function rubyOracle(pairs: [string, string][], singles: string[]): { cmp: (number | null)[]; valid: Map<string, boolean> } {
  requireTool('ruby', 'ruby');
  const r = JSON.parse(run('ruby', ['-e', RUBY], JSON.stringify({ pairs, singles }))) as { valid: boolean[]; cmp: (number | null)[] };
  return { cmp: r.cmp, valid: new Map(singles.map((v, i) => [v, r.valid[i]!])) };
}

function seg(r: Rng): string {
  return r.pick(['0', '1', '2', '10', '00', '01', '12345678901234567890', 'a', 'b', 'pre', 'rc', 'beta', 'alpha', 'A', 'Z', 'rc1', '1a', 'a1']);
}

function genGem(r: Rng): string {
  let s = r.pick(['0', '1', '2', '10', '1.0', '01']);
  for (let i = r.int(4); i > 0; i--) s += `.${seg(r)}`;
  if (r.chance(0.15)) s += `-${r.pick(['1', 'pre', 'rc1', 'beta.2', 'x-y', 'a.0'])}`;
  if (r.chance(0.03)) s = ` ${s}\n`;
  return s;
}

describe('gem versions', () => {
  it('agrees with Gem::Version on random and edge-case pairs', () => {
    const r = prng(fuzzSeed(0x5eed_9e3));
    const edge = [
      '1', '1.0', '1.0.0', '1.0.a', '1.0.a.0', '1.a', '1.0.a1', '1.0.rc1', '1.0.pre', '1.0-pre', '1.0-1', '1.0.A', '1.0.b', '1.0.0.1', '1.0a',
      '1.10', '1.9', '0', '00', '1.0.0.a.0.0', '1.a.0.b', '2.0.0.rc1', '2.0.0.beta', '2.0.0', ' 1.0 ', '1.0\n',
      // invalid
      'a', '.1', '1.', '1..0', '1.0-', '1.0 1', 'v1.0', '1.0+1', '-1', '1.0_1',
    ];
    const pool = unique([...edge, ...Array.from({ length: fuzzScale(150) }, () => genGem(r))]);
    const pairs = makePairs(r, pool, fuzzScale(400));
    const o = rubyOracle(pairs, pool);
    const { mismatches, compared } = differential(gemComparator, pairs, o.cmp, o.valid);
    expect(mismatches).toEqual([]);
    expect(compared).toBeGreaterThan(300);
  });

  it('treats letters as prereleases', () => {
    expect(compareVersions('gem', '1.0.a', '1.0')).toBe(-1);
    expect(compareVersions('gem', '1.0.0', '1')).toBe(0);
    expect(compareVersions('gem', '1.0-rc1', '1.0.pre.rc1')).toBe(0);
  });

  it('refuses the empty string (RubyGems would read it as "0") and garbage', () => {
    for (const bad of ['', ' ', 'garbage', '1.0.']) expect(isValidVersion('gem', bad)).toBe(false);
  });
});
