import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DrydockError } from '../../core/errors.js';
import { IssueLog } from '../../core/issues.js';
import { applySuppressions } from './index.js';
import { loadIgnoreFile, parseExpiry, parseIgnoreFile, type IgnoreRuleSet } from './ignore.js';
import { makeFinding } from './testing.js';

const TD = join(import.meta.dirname, 'testdata');

const lodash = (version: string) =>
  makeFinding('CVE-2021-23337', { name: 'lodash', version, purl: `pkg:npm/lodash@${version}`, locations: [{ path: '/app/node_modules/lodash/package.json', layer: 2 }] }, { aliases: ['GHSA-35jh-r3h4-6jhm'] });
const xnet = (path: string) =>
  makeFinding('CVE-2023-44487', { type: 'golang', name: 'golang.org/x/net', version: 'v0.15.0', purl: 'pkg:golang/golang.org/x/net@v0.15.0', locations: [{ path, layer: 1 }] }, { aliases: ['GHSA-qppj-fm5r-hxr3', 'GO-2023-2102'] });
const openssl = (version: string) =>
  makeFinding('CVE-2023-5363', { type: 'deb', namespace: 'debian', name: 'openssl', version, purl: `pkg:deb/debian/openssl@${version}?arch=amd64&distro=debian-12`, locations: [{ path: '/var/lib/dpkg/status', layer: 0 }] });
const setuptools = () =>
  makeFinding('CVE-2022-40897', {
    type: 'pypi', name: 'setuptools', version: '65.5.0', purl: 'pkg:pypi/setuptools@65.5.0',
    locations: [{ path: '/usr/local/lib/python3.11/site-packages/setuptools-65.5.0.dist-info/METADATA', layer: 3 }],
  }, { aliases: ['GHSA-r9hx-vwmv-q579'] });

function run(set: IgnoreRuleSet, findings: ReturnType<typeof makeFinding>[], now: string) {
  const issues = new IssueLog();
  const out = applySuppressions(findings, { ignore: [set], now: new Date(now), issues });
  return { out, issues: issues.issues };
}

function expectInvalid(fn: () => unknown, file: string, line?: number): DrydockError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DrydockError);
    const err = e as DrydockError;
    expect(err.code).toBe('IGNORE_FILE_INVALID');
    expect(err.message).toContain(file);
    if (line !== undefined) expect(err.message).toContain(`line ${line}:`);
    return err;
  }
  throw new Error('expected IGNORE_FILE_INVALID');
}

describe('drydock-ignore.yaml', () => {
  const file = join(TD, 'drydock-ignore.yaml');
  const set = loadIgnoreFile(file);

  it('reads every rule with its line', () => {
    expect(set.format).toBe('drydock');
    expect(set.rules.map((r) => r.line)).toEqual([5, 10, 15, 19]);
    expect(set.rules[0]).toMatchObject({ id: 'CVE-2021-23337', reason: 'template() is never called with user input', expiresText: '2099-01-01' });
    expect(set.rules[0]!.purls![0]).toMatchObject({ type: 'npm', name: 'lodash', version: '4.17.20' });
  });

  it('matches a purl with a version only at that version', () => {
    const { out } = run(set, [lodash('4.17.20'), lodash('4.17.19')], '2025-01-01T00:00:00Z');
    expect(out[0]!.suppressed).toEqual({
      kind: 'ignore-file',
      file,
      rule: 'id CVE-2021-23337, purl pkg:npm/lodash@4.17.20 until 2099-01-01 (line 5)',
      reason: 'template() is never called with user input',
    });
    expect(out[1]!.suppressed).toBeUndefined();
  });

  it('matches a purl without a version at every version, whatever the qualifiers', () => {
    const { out } = run(set, [openssl('3.0.11-1~deb12u1'), openssl('3.0.9-1')], '2025-01-01T00:00:00Z');
    expect(out.map((f) => f.suppressed?.rule)).toEqual([
      'id CVE-2023-5363, purl pkg:deb/debian/openssl until 2026-03-15 (line 19)',
      'id CVE-2023-5363, purl pkg:deb/debian/openssl until 2026-03-15 (line 19)',
    ]);
  });

  it('matches an alias of the finding, and path globs over the package locations', () => {
    const { out } = run(set, [xnet('/usr/local/bin/legacy-server'), xnet('/usr/local/bin/api')], '2025-01-01T00:00:00Z');
    expect(out[0]!.suppressed?.rule).toBe('id GHSA-QPPJ-FM5R-HXR3, paths /usr/local/bin/legacy-* (line 10)');
    expect(out[1]!.suppressed).toBeUndefined();
  });

  it('stops suppressing at the expiry date (midnight UTC starting that day) and says which rule expired', () => {
    const before = run(set, [openssl('3.0.9-1')], '2026-03-14T23:59:59.999Z');
    expect(before.out[0]!.suppressed).toBeDefined();
    expect(before.issues.filter((i) => i.message.includes('line 19'))).toEqual([]);

    const on = run(set, [openssl('3.0.9-1')], '2026-03-15T00:00:00Z');
    expect(on.out[0]!.suppressed).toBeUndefined();
    const issue = on.issues.find((i) => i.message.includes('line 19'));
    expect(issue).toMatchObject({ code: 'IGNORE_RULE_EXPIRED', severity: 'warning', path: file });
    expect(issue!.message).toBe(
      `ignore rule id CVE-2023-5363, purl pkg:deb/debian/openssl until 2026-03-15 (line 19) in ${file} expired at 2026-03-15T00:00:00.000Z and no longer suppresses (1 finding it would match)`,
    );
  });

  it('honours an RFC 3339 expiry to the second; a past one records an issue even when nothing matches', () => {
    const rule = set.rules[2]!;
    expect(rule.expires!.toISOString()).toBe('2020-06-30T12:00:00.000Z');
    const { out, issues } = run(set, [setuptools()], '2024-01-01T00:00:00Z');
    expect(out[0]!.suppressed).toBeUndefined();
    expect(issues.map((i) => i.message)).toContainEqual(expect.stringContaining('package setuptools until 2020-06-30T12:00:00Z (line 15)'));
    const none = run(set, [], '2024-01-01T00:00:00Z');
    expect(none.issues.find((i) => i.message.includes('line 15'))!.message).toContain('(0 findings it would match)');
    expect(run(set, [setuptools()], '2020-06-30T11:59:59Z').out[0]!.suppressed?.reason).toBe('build-time only, removed from runtime images');
  });

  it('rejects unknown keys and bad values, naming the file and the line', () => {
    const bad = join(TD, 'bad', 'drydock-ignore.yaml');
    const err = expectInvalid(() => loadIgnoreFile(bad), bad, 5);
    expect(err.message).toContain('unknown key "path"');
    const f = 'x/drydock-ignore.yaml';
    expectInvalid(() => parseIgnoreFile('rules:\n  - id: CVE-1\n', f), f, 2); // no reason
    expectInvalid(() => parseIgnoreFile('rules:\n  - reason: everything\n', f), f, 2); // names nothing
    expectInvalid(() => parseIgnoreFile('rules:\n  - id: CVE-1\n    reason: r\n    purl: lodash\n', f), f, 4);
    expectInvalid(() => parseIgnoreFile('rules:\n  - id: CVE-1\n    reason: r\n    expires: 2026-02-30\n', f), f, 4);
    expectInvalid(() => parseIgnoreFile('rules:\n  - id: CVE-1\n    reason: r\n    expires: tomorrow\n', f), f, 4);
    expectInvalid(() => parseIgnoreFile('rules:\n  - id: CVE-1\n    reason: r\n    paths: ["/a/[b"]\n', f), f, 4);
    expectInvalid(() => parseIgnoreFile('rules:\n  - id: [CVE-1]\n    reason: r\n', f), f, 2);
    expectInvalid(() => parseIgnoreFile('version: 2\nrules: []\n', f), f, 1);
    expectInvalid(() => parseIgnoreFile('rules:\n  - id: CVE-1\n    reason: r\n  - id: [\n', f), f);
    expectInvalid(() => parseIgnoreFile('rules: {id: CVE-1}\n', f), f, 1);
    expectInvalid(() => parseIgnoreFile('rules:\n  - id: CVE-1\n    id: CVE-2\n    reason: r\n', f), f, 3);
  });

  it('accepts an empty file and detects the format by content when the name does not tell', () => {
    expect(parseIgnoreFile('', 'drydock-ignore.yaml').rules).toEqual([]);
    expect(parseIgnoreFile('# nothing yet\nrules:\n', 'drydock-ignore.yaml').rules).toEqual([]);
    expect(parseIgnoreFile('# ours\nrules:\n  - id: CVE-1\n    reason: r\n', 'policy/ignores.yml').format).toBe('drydock');
    expect(parseIgnoreFile('vulnerabilities:\n  - id: CVE-1\n', 'ignores.yml').format).toBe('trivyignore-yaml');
    expect(parseIgnoreFile('CVE-1\n', 'ignores.txt').format).toBe('trivyignore');
  });
});

describe('parseExpiry', () => {
  it('reads dates and RFC 3339 times, and refuses impossible ones', () => {
    expect(parseExpiry('2024-02-29')!.toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(parseExpiry('2023-02-29')).toBeUndefined();
    expect(parseExpiry('2024-01-01T10:00:00+02:00')!.toISOString()).toBe('2024-01-01T08:00:00.000Z');
    expect(parseExpiry('2024-01-01T25:00:00Z')).toBeUndefined();
    expect(parseExpiry('2024-1-1')).toBeUndefined();
  });
});

describe('.trivyignore', () => {
  const file = join(TD, '.trivyignore');
  const set = loadIgnoreFile(file);

  it('reads one id a line with optional exp: and a trailing reason', () => {
    expect(set.format).toBe('trivyignore');
    expect(set.rules.map((r) => [r.line, r.id, r.expiresText, r.reason])).toEqual([
      [2, 'CVE-2018-14618', undefined, undefined],
      [5, 'CVE-2019-14697', '2023-01-01', undefined],
      [6, 'CVE-2023-44487', '2099-12-31', 'waiting for golang.org/x/net 0.17 in the vendor tree'],
      [7, 'CVE-2022-40897', undefined, 'not reachable in production'],
      [8, 'AVD-DS-0002', undefined, undefined],
    ]);
  });

  it('suppresses by id or alias, across packages, and records expired ids', () => {
    const old = makeFinding('GHSA-xxxx-yyyy-zzzz', { name: 'musl', version: '1.1.20', type: 'apk' }, { aliases: ['CVE-2019-14697'] });
    const { out, issues } = run(set, [xnet('/app'), setuptools(), old], '2024-05-01T00:00:00Z');
    expect(out[0]!.suppressed).toEqual({
      kind: 'trivyignore', file, rule: 'id CVE-2023-44487 until 2099-12-31 (line 6)', reason: 'waiting for golang.org/x/net 0.17 in the vendor tree',
    });
    expect(out[1]!.suppressed?.rule).toBe('id CVE-2022-40897 (line 7)');
    expect(out[2]!.suppressed).toBeUndefined();
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toContain('id CVE-2019-14697 until 2023-01-01 (line 5)');
    expect(issues[0]!.message).toContain('(1 finding it would match)');
  });

  it('rejects a bad expiry with the file and line', () => {
    const bad = join(TD, 'bad', '.trivyignore');
    expect(expectInvalid(() => loadIgnoreFile(bad), bad, 2).message).toContain('exp:2023-13-01');
  });
});

describe('.trivyignore.yaml', () => {
  const file = join(TD, '.trivyignore.yaml');
  const set = loadIgnoreFile(file);

  it('reads the vulnerabilities section and skips the other scanners', () => {
    expect(set.format).toBe('trivyignore-yaml');
    expect(set.rules.map((r) => r.id)).toEqual(['CVE-2022-40897', 'CVE-2023-44487', 'CVE-2021-23337']);
    expect(set.rules[1]!.expires!.toISOString()).toBe('2023-09-01T00:00:00.000Z');
  });

  it('matches relative paths against absolute locations, and purls', () => {
    const other = setuptools();
    other.package = { ...other.package, locations: [{ path: '/opt/venv/lib/python3.11/site-packages/setuptools-65.5.0.dist-info/METADATA', layer: 4 }] };
    const { out, issues } = run(set, [setuptools(), other, xnet('/app'), lodash('4.17.20')], '2023-08-31T00:00:00Z');
    expect(out.map((f) => f.suppressed?.rule)).toEqual([
      'id CVE-2022-40897, paths usr/local/lib/python3.11/site-packages/setuptools-65.5.0.dist-info/METADATA (line 2)',
      undefined,
      'id CVE-2023-44487, purl pkg:golang/golang.org/x/net until 2023-09-01 (line 6)',
      'id CVE-2021-23337 (line 10)',
    ]);
    expect(out[0]!.suppressed?.reason).toBe('Accept the risk');
    expect(issues).toEqual([]);
    const later = run(set, [xnet('/app')], '2023-09-01T00:00:01Z');
    expect(later.out[0]!.suppressed).toBeUndefined();
    expect(later.issues).toHaveLength(1);
  });

  it('rejects a bad expired_at and unknown keys with the file and line', () => {
    const bad = join(TD, 'bad', '.trivyignore.yaml');
    expectInvalid(() => loadIgnoreFile(bad), bad, 3);
    const f = '.trivyignore.yaml';
    expectInvalid(() => parseIgnoreFile('vulnerabilities:\n  - id: CVE-1\n    purl: pkg:npm/x\n', f), f, 3);
    expectInvalid(() => parseIgnoreFile('vulnerabilities:\n  - paths: [a]\n', f), f, 2);
    expectInvalid(() => parseIgnoreFile('vulns:\n  - id: CVE-1\n', f), f, 1);
  });

  it('says IO_ERROR for a file that is not there', () => {
    expect(() => loadIgnoreFile(join(TD, 'missing.yaml'))).toThrow(expect.objectContaining({ code: 'IO_ERROR' }));
  });
});
