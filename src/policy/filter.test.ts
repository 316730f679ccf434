import { describe, expect, it } from 'vitest';
import { DrydockError } from '../core/errors.js';
import type { Finding, FixState, Severity } from '../model/vuln.js';
import { gate, parseSeverity, parseSeverityList, selectFindings } from './filter.js';

let n = 0;
function f(severity: Severity, fixState: FixState = 'fixed', suppressed = false, fixedVersions: string[] = fixState === 'fixed' ? ['9.9.9'] : []): Finding {
  n++;
  return {
    id: `CVE-2024-${1000 + n}`,
    aliases: [],
    package: { id: `p${n}`, type: 'npm', name: `p${n}`, version: '1.0.0', locations: [] },
    fixedVersions,
    fixState,
    severity,
    cvss: [],
    urls: [],
    match: { matcher: 't', ecosystem: 'npm', searchedName: `p${n}`, searchedVersion: '1.0.0', scheme: 'semver', matchedRange: '<9.9.9', advisoryIds: [], sources: [] },
    ...(suppressed ? { suppressed: { kind: 'vex' as const, file: 'vex.json', rule: 'r', status: 'not_affected' } } : {}),
  };
}

describe('parseSeverityList', () => {
  it('reads names in any case, drops duplicates, keeps order', () => {
    expect(parseSeverityList('HIGH,critical')).toEqual(['high', 'critical']);
    expect(parseSeverityList(' Low , MEDIUM,low,negligible,UNKNOWN ')).toEqual(['low', 'medium', 'negligible', 'unknown']);
    expect(parseSeverity('Critical', '--fail-on')).toBe('critical');
  });

  it.each(['HIGH,severe', '', 'high,,critical', 'crit', ' , '])('refuses %j with a USAGE error naming the value', (bad) => {
    let err: unknown;
    try {
      parseSeverityList(bad, '--severity');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DrydockError);
    expect((err as DrydockError).code).toBe('USAGE');
    expect((err as DrydockError).exitCode).toBe(2);
    expect((err as DrydockError).message).toMatch(/^invalid --severity/);
  });

  it('lists the valid names in the message', () => {
    expect(() => parseSeverity('severe', '--fail-on')).toThrow('invalid --fail-on "severe": expected one of critical, high, medium, low, negligible, unknown');
  });
});

describe('selectFindings', () => {
  const all = [f('critical'), f('high', 'not-fixed'), f('medium', 'wont-fix'), f('low', 'unknown'), f('negligible', 'unknown', false, ['2.0.0']), f('unknown'), f('high', 'fixed', true)];

  it('keeps everything without options', () => {
    expect(selectFindings(all)).toEqual(all);
    expect(selectFindings(all, { severities: [] })).toEqual(all);
  });

  it('filters by severity, suppressed findings included', () => {
    expect(selectFindings(all, { severities: ['high', 'critical'] }).map((x) => x.severity)).toEqual(['critical', 'high', 'high']);
  });

  it('ignoreUnfixed and onlyFixed both keep findings with a fix (not-fixed, wont-fix and unknown without a version go)', () => {
    const a = selectFindings(all, { ignoreUnfixed: true });
    const b = selectFindings(all, { onlyFixed: true });
    expect(a).toEqual(b);
    expect(a.map((x) => `${x.severity}/${x.fixState}`)).toEqual(['critical/fixed', 'negligible/unknown', 'unknown/fixed', 'high/fixed']);
    expect(selectFindings(all, { onlyFixed: true, severities: ['critical'] })).toHaveLength(1);
  });
});

describe('gate', () => {
  const findings = [f('critical', 'fixed', true), f('high'), f('medium'), f('medium'), f('low'), f('unknown'), f('negligible')];

  it('counts unsuppressed findings per severity', () => {
    expect(gate(findings, undefined)).toEqual({
      failed: false,
      counts: { critical: 0, high: 1, medium: 2, low: 1, negligible: 1, unknown: 1 },
      failing: [],
    });
  });

  it.each([
    ['critical', 0],
    ['high', 1],
    ['medium', 3],
    ['low', 4],
    ['negligible', 5],
    ['unknown', 6],
  ] as const)('failOn %s fails on %i findings at or above it', (failOn, count) => {
    const r = gate(findings, failOn);
    expect(r.failing).toHaveLength(count);
    expect(r.failed).toBe(count > 0);
    expect(r.failing.every((x) => !x.suppressed)).toBe(true);
  });

  it('a suppressed critical never fails the gate', () => {
    expect(gate([f('critical', 'fixed', true)], 'critical').failed).toBe(false);
    expect(gate([f('critical', 'fixed', false)], 'critical').failed).toBe(true);
    expect(gate([f('high')], 'critical').failed).toBe(false);
  });
});
