/**
 * An AlmaLinux 9 image built by the testkit with a real rpm database (packages built with rpmbuild at
 * versions below, at and above fixes named in ../shared/data/osv/AlmaLinux.zip), scanned against the real
 * AlmaLinux advisories. The expected findings come from rpm itself: its Lua `rpm.ver` comparison evaluates
 * the same OSV ranges, independently of Drydock's rpm comparator.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync, strFromU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, sandboxEnv } from '../harness/cli.js';
import { buildImage, writeOciArchive } from '../testkit/index.js';

const ALMA_ZIP = join(import.meta.dirname, '../../../shared/data/osv/AlmaLinux.zip');
const haveRpm = (() => {
  try {
    execFileSync('rpmbuild', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if ((!haveRpm || !existsSync(ALMA_ZIP)) && process.env.CI) throw new Error('rpmbuild (Debian rpm) and ../shared/data/osv/AlmaLinux.zip are needed in CI');

/** name, epoch, version, release: below, between, at and above the fixes of AlmaLinux:9 advisories */
const PACKAGES: [string, number | null, string, string][] = [
  ['openssl', 1, '3.0.7', '24.el9'], // below ALSA-2024:0310 (1:3.0.7-25.el9_3) and everything after
  ['curl', null, '7.76.1', '26.el9'], // between fixes: at ALSA-2023:6679's fix, below later ones
  ['bash', null, '5.1.8', '6.el9_1'], // exactly the fixed version of its only advisory: not affected
  ['less', null, '590', '5.el9'], // above every fix
  ['sudo', null, '1.9.5p2', '10.el9_3'], // letters in the version, equal to one fix
  ['drydock-unlisted', null, '1.0', '1.el9'], // no advisory at all
];

function buildRpmDb(dir: string): string {
  const top = join(dir, 'rpmbuild');
  mkdirSync(join(top, 'SPECS'), { recursive: true });
  for (const [name, epoch, version, release] of PACKAGES) {
    const spec = [
      `Name: ${name}`, ...(epoch !== null ? [`Epoch: ${epoch}`] : []), `Version: ${version}`, `Release: ${release}`,
      `Summary: ${name} for the scan tests`, 'License: MIT', 'BuildArch: noarch', 'Vendor: AlmaLinux', '%description', 'test',
      '%install', `mkdir -p %{buildroot}/usr/share/${name}`, `echo ${name} > %{buildroot}/usr/share/${name}/data.txt`,
      '%files', `/usr/share/${name}/data.txt`, '',
    ].join('\n');
    writeFileSync(join(top, 'SPECS', `${name}.spec`), spec);
    execFileSync('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${top}`, '--define', '_build_id_links none', '--nodebuginfo', join(top, 'SPECS', `${name}.spec`)], { stdio: 'ignore' });
  }
  const dbdir = join(dir, 'rpmdb');
  execFileSync('rpm', ['--dbpath', dbdir, '--define', '_db_backend sqlite', '--initdb']);
  const rpms = PACKAGES.map(([n, , v, r]) => join(top, 'RPMS', 'noarch', `${n}-${v}-${r}.noarch.rpm`));
  execFileSync('rpm', ['--dbpath', dbdir, '--define', '_db_backend sqlite', '-i', '--nodeps', '--justdb', '--noscripts', ...rpms], { stdio: 'ignore' });
  return join(dbdir, 'rpmdb.sqlite');
}

/** The expected (package, advisory) pairs, decided by rpm's own version comparison over the OSV events. */
function rpmOracle(work: string): string[] {
  const names = new Set(PACKAGES.map((p) => p[0]));
  const entries: { id: string; name: string; events: [string, string][] }[] = [];
  const files = unzipSync(new Uint8Array(readFileSync(ALMA_ZIP)), { filter: (f) => f.name.endsWith('.json') });
  const seen = new Set<string>();
  for (const data of Object.values(files)) {
    const rec = JSON.parse(strFromU8(data));
    if (rec.withdrawn) continue;
    for (const a of rec.affected ?? []) {
      if (a.package?.ecosystem !== 'AlmaLinux:9' || !names.has(a.package.name)) continue;
      for (const r of a.ranges ?? []) {
        if (r.type !== 'ECOSYSTEM') continue;
        const key = `${rec.id}|${a.package.name}|${JSON.stringify(r.events)}`;
        if (seen.has(key)) continue;
        seen.add(key);
        entries.push({ id: rec.id, name: a.package.name, events: r.events.map((e: Record<string, string>) => Object.entries(e)[0]) });
      }
    }
  }
  const q = (s: string) => JSON.stringify(s); // Lua accepts JSON string literals for these ASCII values
  const lua = [
    'local installed = {',
    ...PACKAGES.map(([n, e, v, r]) => `  [${q(n)}] = rpm.ver(${q(`${e !== null ? `${e}:` : ''}${v}-${r}`)}),`),
    '}',
    'local function hit(v, ev)',
    '  local sorted = {}',
    '  for _, x in ipairs(ev) do table.insert(sorted, x) end',
    '  table.sort(sorted, function(a, b) if a[2] == "0" then return b[2] ~= "0" end if b[2] == "0" then return false end return rpm.ver(a[2]) < rpm.ver(b[2]) end)',
    '  local aff = false',
    '  for _, x in ipairs(sorted) do',
    '    if x[1] == "introduced" then if x[2] == "0" or not (v < rpm.ver(x[2])) then aff = true end',
    '    elseif x[1] == "fixed" then if not (v < rpm.ver(x[2])) then aff = false end',
    '    elseif x[1] == "last_affected" then if rpm.ver(x[2]) < v then aff = false end',
    '    elseif x[1] == "limit" then if not (v < rpm.ver(x[2])) then aff = false end end',
    '  end',
    '  return aff',
    'end',
    'local entries = {',
    ...entries.map((e) => `  {${q(e.id)}, ${q(e.name)}, {${e.events.map(([k, v]) => `{${q(k)}, ${q(v)}}`).join(', ')}}},`),
    '}',
    'for _, e in ipairs(entries) do if hit(installed[e[2]], e[3]) then io.write(e[2] .. " " .. e[1] .. "\\n") end end',
  ].join('\n');
  const script = join(work, 'oracle.lua');
  writeFileSync(script, lua);
  const out = execFileSync('rpm', ['--eval', `%{lua: dofile(${q(script)})}`]).toString();
  return [...new Set(out.trim().split('\n').filter(Boolean))].sort();
}

describe.skipIf(!haveRpm || !existsSync(ALMA_ZIP))('scan: AlmaLinux 9 image with a real rpm database', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let db: string;
  let archive: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'drydock-scan-alma-'));
    for (const d of ['home', 'cache', 'tmp']) mkdirSync(join(work, d), { recursive: true });
    env = sandboxEnv(work);
    db = join(work, 'vuln.db');
    const rpmdb = readFileSync(buildRpmDb(work));
    const osRelease = 'NAME="AlmaLinux"\nVERSION="9.3 (Shamrock Pampas Cat)"\nID="almalinux"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\nPLATFORM_ID="platform:el9"\nPRETTY_NAME="AlmaLinux 9.3 (Shamrock Pampas Cat)"\n';
    const img = await buildImage({
      layers: [
        { entries: [{ path: 'etc/os-release', content: osRelease }], createdBy: 'ADD almalinux-9-root.tar /' },
        { entries: [{ path: 'var/lib/rpm/rpmdb.sqlite', content: rpmdb }], createdBy: 'RUN dnf install -y openssl curl bash less sudo' },
      ],
    });
    archive = join(work, 'alma.oci.tar');
    await writeOciArchive(archive, img);
    const r = await runCli(['db', 'import', ALMA_ZIP, '--db', db, '--quiet'], { env, timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('reports exactly the findings rpm\'s own comparison gives, with the rpm layer', async () => {
    const want = rpmOracle(work);
    // the fixture is not trivial: some packages are hit, and bash (at its fix) and less (above) are not
    expect(want.some((l) => l.startsWith('openssl '))).toBe(true);
    expect(want.some((l) => l.startsWith('curl '))).toBe(true);
    expect(want.some((l) => l.startsWith('bash ') || l.startsWith('less ') || l.startsWith('drydock-unlisted '))).toBe(false);

    const r = await runCli(['scan', `oci-archive:${archive}`, '--db', db, '--format', 'json', '--quiet'], { env, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    const got: string[] = [];
    for (const f of report.findings as any[]) {
      expect(f.package.type).toBe('rpm');
      expect(f.match.ecosystem).toBe('AlmaLinux:9');
      expect(f.package.introducedBy?.createdBy).toMatch(/dnf install/);
      expect(f.fixedVersions.length).toBeGreaterThan(0);
      for (const id of f.match.advisoryIds) got.push(`${f.package.name} ${id}`);
    }
    expect([...new Set(got)].sort()).toEqual(want);
  }, 180_000);
});
