/**
 * The matcher over real published advisories (../shared/data/osv: the Go vulnerability database and
 * AlmaLinux's OSV feed, as osv.dev packs them).
 */
import { existsSync, readFileSync } from 'node:fs';
import { unzipSync, strFromU8 } from 'fflate';
import { beforeAll, describe, expect, it } from 'vitest';
import { IssueLog } from '../core/issues.js';
import type { OsvRecord } from '../model/vuln.js';
import { Matcher } from './matcher.js';
import { memoryVulnData, type MemoryVulnData } from './testing.js';
import { distro, inventory, pkg, rpm } from './testdata/fixtures.js';

const DATA = new URL('../../../shared/data/osv/', import.meta.url);

function load(zip: string): OsvRecord[] {
  const files = unzipSync(readFileSync(new URL(zip, DATA)));
  const out: OsvRecord[] = [];
  for (const [name, bytes] of Object.entries(files)) if (name.endsWith('.json')) out.push(JSON.parse(strFromU8(bytes)) as OsvRecord);
  return out;
}

describe('real OSV data', () => {
  let go: MemoryVulnData;
  let alma: MemoryVulnData;
  beforeAll(() => {
    expect(existsSync(new URL('Go.zip', DATA)), 'the shared OSV data set (../shared/data/osv) is missing').toBe(true);
    go = memoryVulnData(load('Go.zip'));
    alma = memoryVulnData(load('AlmaLinux.zip'));
  });

  it('Go: stdlib and golang.org/x/net of a go1.21.1 binary', () => {
    const meta = { kind: 'golang' as const, goVersion: 'go1.21.1' };
    const out = new Matcher(go).match(
      inventory([pkg('golang', 'stdlib', '1.21.1', { metadata: meta }), pkg('golang', 'golang.org/x/net', 'v0.16.0', { metadata: meta })]),
    );
    const rapidReset = out.filter((f) => f.id === 'CVE-2023-39325');
    expect(rapidReset.map((f) => `${f.package.name} ${f.match.matchedRange} ${f.fixedVersions.join(',')}`).sort()).toEqual([
      'golang.org/x/net <0.17.0 0.17.0',
      'stdlib >=1.21.0-0, <1.21.3 1.21.3',
    ]);
    expect(rapidReset[0]!.aliases).toContain('GO-2023-2102');
    // a newer toolchain is not affected by it
    const later = new Matcher(go).match(inventory([pkg('golang', 'stdlib', '1.21.3', { metadata: meta })]));
    expect(later.some((f) => f.id === 'CVE-2023-39325')).toBe(false);
  });

  it('AlmaLinux 9: ALSA-2024:0310 by rpm EVR with epoch', () => {
    const m = new Matcher(alma);
    const d = distro('almalinux', '9.3');
    const old = m.match(inventory([rpm('openssl-libs', '3.0.7', '24.el9', 1)], d));
    expect(old.map((f) => f.id)).toContain('ALSA-2024:0310');
    const fixed = m.match(inventory([rpm('openssl-libs', '3.0.7', '25.el9_3', 1)], d));
    expect(fixed.map((f) => f.id)).not.toContain('ALSA-2024:0310');
    // AlmaLinux 8 advisories do not leak into 9
    expect(old.every((f) => f.match.ecosystem === 'AlmaLinux:9')).toBe(true);
  });

  it('every range of both feeds compiles with our version schemes (no feed-version issues)', () => {
    for (const data of [go, alma]) {
      const m = new Matcher(data);
      const issues = new IssueLog();
      for (const eco of data.ecosystems()) {
        const isGo = eco === 'Go';
        const d = isGo ? undefined : distro('almalinux', eco.split(':')[1]!);
        const packages = data.names(eco).map((name) => (isGo ? pkg('golang', name, 'v0.0.1') : rpm(name, '0.0.1', '1')));
        expect(packages.length).toBeGreaterThan(0);
        m.match(inventory(packages, d), { issues });
      }
      expect(issues.issues).toEqual([]);
    }
  });
});

