import { describe, expect, it } from 'vitest';
import type { AffectedEntry, OsvAffected } from '../model/vuln.js';
import { compileAffected, ParseCache, vendorFixStateOf } from './ranges.js';

const entry = (ecosystem: string, affected: OsvAffected, advisoryId = 'TEST-1'): AffectedEntry => ({
  advisoryId,
  ecosystem,
  name: affected.package?.name ?? 'p',
  affected,
  source: 'test',
});

const cache = new ParseCache();
const check = (e: AffectedEntry, v: string) => compileAffected(e).evaluate(v, cache)?.range;

describe('OSV range evaluation', () => {
  it('introduced/fixed pairs, several intervals in one range, events in any order', () => {
    // real: GO-2023-2102 stdlib (events shuffled on purpose: evaluation sorts them)
    const e = entry('Go', {
      package: { ecosystem: 'Go', name: 'stdlib' },
      ranges: [{ type: 'SEMVER', events: [{ fixed: '1.21.3' }, { introduced: '0' }, { introduced: '1.21.0-0' }, { fixed: '1.20.10' }] }],
    });
    expect(check(e, '1.20.9')).toBe('<1.20.10');
    expect(check(e, '1.20.10')).toBeUndefined();
    expect(check(e, '1.20.99')).toBeUndefined();
    expect(check(e, '1.21.0-rc.1')).toBe('>=1.21.0-0, <1.21.3');
    expect(check(e, '1.21.2')).toBe('>=1.21.0-0, <1.21.3');
    expect(check(e, '1.21.3')).toBeUndefined();
    expect(check(e, '1.22.0')).toBeUndefined();
    const c = compileAffected(e);
    expect(c.fixedAbove('1.21.1', cache)).toEqual(['1.21.3']);
    expect(c.fixedAbove('1.19.0', cache)).toEqual(['1.20.10', '1.21.3']);
  });

  it('last_affected is inclusive, and limit caps a range', () => {
    const last = entry('npm', { ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { last_affected: '1.4.0' }] }] });
    expect(check(last, '0.9.0')).toBeUndefined();
    expect(check(last, '1.4.0')).toBe('>=1.0.0, <=1.4.0 (last affected)');
    expect(check(last, '1.4.1')).toBeUndefined();
    const limited = entry('npm', { ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { limit: '2.0.0' }] }] });
    expect(check(limited, '1.9.9')).toBe('<2.0.0 (limit)');
    expect(check(limited, '2.0.0')).toBeUndefined();
    const open = entry('npm', { ranges: [{ type: 'SEMVER', events: [{ introduced: '3.1.0' }] }] });
    expect(check(open, '3.0.9')).toBeUndefined();
    expect(check(open, '9.0.0')).toBe('>=3.1.0');
    expect(compileAffected(open).evaluate('9.0.0', cache)?.end).toBe('open');
  });

  it('versions lists: exact string, and compare-equal under the scheme', () => {
    const e = entry('Debian:12', { versions: ['1.0-1', '1:2.0-1'] });
    expect(check(e, '1.0-1')).toBe('in version list');
    expect(check(e, '0:1.0-1')).toBe('in version list'); // epoch 0 is the absent epoch
    expect(check(e, '2.0-1')).toBeUndefined(); // epoch 0 < epoch 1
    expect(check(e, '1.0-2')).toBeUndefined();
  });

  it('several ranges: any one that contains the version decides; GIT ranges are ignored', () => {
    const e = entry('npm', {
      ranges: [
        { type: 'GIT', repo: 'https://example.org/r.git', events: [{ introduced: '0' }, { fixed: 'deadbeef' }] },
        { type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.2.0' }] },
        { type: 'ECOSYSTEM', events: [{ introduced: '2.0.0' }, { fixed: '2.0.5' }] },
      ],
    });
    const c = compileAffected(e);
    expect(c.problems).toEqual([]);
    expect(check(e, '1.1.0')).toBe('>=1.0.0, <1.2.0');
    expect(check(e, '2.0.4')).toBe('>=2.0.0, <2.0.5');
    expect(check(e, '1.5.0')).toBeUndefined();
  });

  it('an invalid bound makes its range unusable and is reported, never a silent "not affected"', () => {
    const e = entry(
      'npm',
      {
        ranges: [
          { type: 'SEMVER', events: [{ introduced: '0' }, { fixed: 'not-a-version' }] },
          { type: 'SEMVER', events: [{ introduced: '5.0.0' }, { fixed: '5.1.0' }] },
        ],
      },
      'GHSA-bad-feed',
    );
    const c = compileAffected(e);
    expect(c.problems).toHaveLength(1);
    expect(c.problems[0]!.code).toBe('VERSION_INVALID');
    expect(c.problems[0]!.message).toContain('GHSA-bad-feed');
    expect(c.problems[0]!.message).toContain('not-a-version');
    expect(check(e, '5.0.1')).toBe('>=5.0.0, <5.1.0'); // the valid range still works
  });

  it('an installed version that does not parse is reported to the caller', () => {
    const e = entry('npm', { ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] }] });
    const bad: string[] = [];
    expect(compileAffected(e).evaluate('garbage!', cache, (s) => bad.push(s))).toBeUndefined();
    expect(bad).toEqual(['semver']);
  });

  it('unknown ecosystems: ECOSYSTEM ranges cannot be evaluated, SEMVER ranges still can', () => {
    const e = entry('Nonesuch', {
      ranges: [
        { type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1.0' }] },
        { type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '1.0.0' }] },
      ],
    });
    const c = compileAffected(e);
    expect(c.problems.map((p) => p.code)).toEqual(['ECOSYSTEM_UNSUPPORTED']);
    expect(check(e, '0.5.0')).toBe('<1.0.0');
  });

  it('reads vendor fix states', () => {
    expect(vendorFixStateOf({ fix_state: 'Will not fix' })).toBe('wont-fix');
    expect(vendorFixStateOf(undefined, { status: '<ignored>' })).toBe('wont-fix');
    expect(vendorFixStateOf({ status: 'not-affected' })).toBe('not-affected');
    expect(vendorFixStateOf({ fix_state: 'Fix deferred' })).toBe('not-fixed');
    expect(vendorFixStateOf({ urgency: 'low' })).toBeUndefined();
  });
});
