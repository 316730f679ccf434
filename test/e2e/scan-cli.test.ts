/**
 * `drydock scan` and `drydock db` through the built CLI on a testkit image with a Debian package
 * (matched through its source package) and an npm package, against small hand-written advisories
 * (facts of real ones): every output format, filters, ignore files and VEX, the --fail-on gate,
 * the staleness gate, a refresh from a local feed server with conditional requests, sbom:PATH, and
 * the database commands.
 */
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, sandboxEnv, type CliRun } from '../harness/cli.js';
import { buildImage, writeOciArchive } from '../testkit/index.js';

const DPKG_STATUS = `Package: libssl3
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 6000
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.11-1~deb12u2
Description: Secure Sockets Layer toolkit - shared libraries

Package: zlib1g
Status: install ok installed
Architecture: amd64
Source: zlib
Version: 1:1.2.13.dfsg-1
Description: compression library - runtime
`;

// facts of real advisories: CVE-2023-5678 (openssl, fixed in Debian 12 by 3.0.13-1~deb12u1),
// CVE-2021-23337 / GHSA-35jh-r3h4-6jhm (lodash command injection, fixed in 4.17.21, CVSS 7.2)
const RECORDS = [
  {
    id: 'DEBIAN-CVE-2023-5678', modified: '2025-01-10T00:00:00Z', upstream: ['CVE-2023-5678'],
    summary: 'openssl: generating excessively long X9.42 DH keys may be very slow',
    affected: [{ package: { ecosystem: 'Debian:12', name: 'openssl' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.0.13-1~deb12u1' }] }], ecosystem_specific: { urgency: 'low' } }],
  },
  {
    id: 'GHSA-35jh-r3h4-6jhm', modified: '2024-02-01T00:00:00Z', aliases: ['CVE-2021-23337'],
    summary: 'Command Injection in lodash',
    severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' }],
    affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '0' }, { fixed: '4.17.21' }] }] }],
    references: [{ type: 'ADVISORY', url: 'https://nvd.nist.gov/vuln/detail/CVE-2021-23337' }],
  },
  {
    // a range that does not contain the installed zlib: no finding
    id: 'DEBIAN-CVE-2018-25032', modified: '2023-01-01T00:00:00Z', upstream: ['CVE-2018-25032'],
    affected: [{ package: { ecosystem: 'Debian:12', name: 'zlib' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '1:1.2.11.dfsg-4' }] }] }],
  },
];

describe('drydock scan and drydock db', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let archive: string;
  let feeds: string;
  let db: string;
  let server: Server;
  let base = '';
  const served: { etagSeen: (string | undefined)[]; zip: Buffer } = { etagSeen: [], zip: Buffer.alloc(0) };

  const run = (args: string[], extra: NodeJS.ProcessEnv = {}, cwd?: string): Promise<CliRun> =>
    runCli(args, { env: { ...env, ...extra }, cwd: cwd ?? join(work, 'cwd'), timeoutMs: 120_000 });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'drydock-scan-cli-'));
    for (const d of ['home', 'cache', 'tmp', 'cwd', 'feeds']) mkdirSync(join(work, d), { recursive: true });
    env = sandboxEnv(work);
    feeds = join(work, 'feeds');
    for (const r of RECORDS) writeFileSync(join(feeds, `${r.id}.json`), JSON.stringify(r));
    db = join(work, 'vuln.db');
    const img = await buildImage({
      layers: [
        { createdBy: 'ADD debian-12.tar /', entries: [{ path: 'etc/os-release', content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' }, { path: 'var/lib/dpkg/status', content: DPKG_STATUS }] },
        { createdBy: 'COPY app/ /app/', entries: [{ path: 'app/package.json', content: '{"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.20"}}' }, { path: 'app/node_modules/lodash/package.json', content: '{"name":"lodash","version":"4.17.20","license":"MIT"}' }] },
      ],
    });
    archive = join(work, 'img.oci.tar');
    await writeOciArchive(archive, img);
    served.zip = Buffer.from(zipSync(Object.fromEntries(RECORDS.map((r) => [`${r.id}.json`, strToU8(JSON.stringify(r))]))));
    const etag = `"${createHash('sha256').update(served.zip).digest('hex').slice(0, 16)}"`;
    server = createServer((req, res) => {
      served.etagSeen.push(req.headers['if-none-match'] as string | undefined);
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      res.writeHead(200, { etag, 'content-type': 'application/zip', 'content-length': served.zip.length }).end(served.zip);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await run(['db', 'import', feeds, '--db', db, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(work, { recursive: true, force: true });
  });

  it('finds the Debian advisory through the source package and the npm one, each with its layer', async () => {
    const r = await run(['scan', `oci-archive:${archive}`, '--db', db, '--format', 'json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    const got = rep.findings.map((f: any) => `${f.package.name}@${f.package.version} ${f.id} ${f.severity} [${f.fixedVersions.join(',')}] ${f.package.introducedBy?.createdBy}`).sort();
    expect(got).toEqual([
      'libssl3@3.0.11-1~deb12u2 CVE-2023-5678 low [3.0.13-1~deb12u1] ADD debian-12.tar /',
      'lodash@4.17.20 CVE-2021-23337 high [4.17.21] COPY app/ /app/',
    ]);
    const ssl = rep.findings.find((f: any) => f.package.name === 'libssl3');
    expect(ssl.match).toMatchObject({ ecosystem: 'Debian:12', searchedName: 'openssl', searchedVersion: '3.0.11-1~deb12u2', advisoryIds: ['DEBIAN-CVE-2023-5678'] });
    const lodash = rep.findings.find((f: any) => f.package.name === 'lodash');
    expect(lodash.aliases).toContain('GHSA-35jh-r3h4-6jhm');
    expect(lodash.cvss[0]).toMatchObject({ score: 7.2 });
  });

  it('writes SARIF that validates against the SARIF 2.1.0 schema, with stable fingerprints', async () => {
    const a = await run(['scan', `oci-archive:${archive}`, '--db', db, '--format', 'sarif', '--quiet']);
    const b = await run(['scan', `oci-archive:${archive}`, '--db', db, '--format', 'sarif', '--quiet']);
    expect(a.code, a.stderr).toBe(0);
    const sarif = JSON.parse(a.stdout);
    const schema = JSON.parse(readFileSync(join(import.meta.dirname, '../../node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json'), 'utf8'));
    delete schema.$schema;
    schema.$id = schema.id;
    delete schema.id;
    const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false, validateFormats: false });
    const validate = ajv.compile(schema);
    expect(validate(sarif), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    const fp = (s: any) => s.runs[0].results.map((x: any) => JSON.stringify(x.partialFingerprints));
    expect(fp(JSON.parse(b.stdout))).toEqual(fp(sarif));
    expect(sarif.runs[0].results.map((x: any) => x.ruleId).sort()).toEqual(['CVE-2021-23337', 'CVE-2023-5678']);
  });

  it('writes every scan format', async () => {
    for (const f of ['table', 'cyclonedx-json', 'openvex', 'junit']) {
      const r = await run(['scan', `oci-archive:${archive}`, '--db', db, '--format', f, '--quiet']);
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('CVE-2021-23337');
    }
    const bad = await run(['scan', `oci-archive:${archive}`, '--db', db, '--format', 'spdx-json', '--quiet']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/FORMAT_UNSUPPORTED/);
  });

  it('--fail-on gates with exit 1 after writing the report; suppressed and filtered findings do not count', async () => {
    const out = join(work, 'gate.json');
    const high = await run(['scan', `oci-archive:${archive}`, '--db', db, '--fail-on', 'high', '--format', 'json', '--output', out, '--quiet']);
    expect(high.code).toBe(1);
    expect(high.stderr).toMatch(/^drydock: error \[CHECK_FAILED\]: 1 finding at or above severity high/m);
    expect(JSON.parse(readFileSync(out, 'utf8')).findings).toHaveLength(2);
    const critical = await run(['scan', `oci-archive:${archive}`, '--db', db, '--fail-on', 'critical', '--quiet', '--format', 'json']);
    expect(critical.code, critical.stderr).toBe(0);
    // the ignore file in the working directory is read without being named, as Trivy does
    const cwd = join(work, 'cwd-ignore');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(cwd, '.trivyignore'), '# accepted until the upgrade\nCVE-2021-23337 exp:2999-01-01\n');
    const ignored = await run(['scan', `oci-archive:${archive}`, '--db', db, '--fail-on', 'high', '--format', 'json', '--quiet'], {}, cwd);
    expect(ignored.code, ignored.stderr).toBe(0);
    const rep = JSON.parse(ignored.stdout);
    expect(rep.findings.map((f: any) => f.id)).toEqual(['CVE-2023-5678']);
    expect(JSON.stringify(rep.suppressed ?? rep)).toMatch(/CVE-2021-23337/);
    // an expired rule stops suppressing and says so
    writeFileSync(join(cwd, '.trivyignore'), 'CVE-2021-23337 exp:2020-01-01\n');
    const expired = await run(['scan', `oci-archive:${archive}`, '--db', db, '--fail-on', 'high', '--format', 'json'], {}, cwd);
    expect(expired.code).toBe(1);
    expect(expired.stderr).toMatch(/IGNORE_RULE_EXPIRED/);
    // --severity filters what is shown and what the gate sees
    const low = await run(['scan', `oci-archive:${archive}`, '--db', db, '--severity', 'low', '--fail-on', 'high', '--format', 'json', '--quiet']);
    expect(low.code, low.stderr).toBe(0);
    expect(JSON.parse(low.stdout).findings.map((f: any) => f.id)).toEqual(['CVE-2023-5678']);
  });

  it('a VEX not_affected statement suppresses; --show-suppressed shows it with the statement', async () => {
    const vex = join(work, 'app.openvex.json');
    writeFileSync(vex, JSON.stringify({
      '@context': 'https://openvex.dev/ns/v0.2.0', '@id': 'https://example.com/vex/1', author: 'app team', timestamp: '2026-01-01T00:00:00Z', version: 1,
      statements: [{ vulnerability: { name: 'CVE-2021-23337' }, products: [{ '@id': 'pkg:npm/lodash@4.17.20' }], status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' }],
    }));
    const r = await run(['scan', `oci-archive:${archive}`, '--db', db, '--vex', vex, '--format', 'table', '--show-suppressed', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/suppressed/i);
    expect(r.stdout).toMatch(/vulnerable_code_not_in_execute_path/);
  });

  it('scans a stored SBOM (sbom:PATH) with the same findings', async () => {
    const sbom = join(work, 'img.cdx.json');
    const s = await run(['sbom', `oci-archive:${archive}`, '--format', 'cyclonedx-json', '--output', sbom, '--quiet']);
    expect(s.code, s.stderr).toBe(0);
    const r = await run(['scan', `sbom:${sbom}`, '--db', db, '--format', 'json', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).findings.map((f: any) => f.id).sort()).toEqual(['CVE-2021-23337', 'CVE-2023-5678']);
  });

  it('refuses a stale database unless refreshed or explicitly accepted; refreshes from the configured feed with conditional requests', async () => {
    const stale = join(work, 'stale.db');
    const imp = await run(['db', 'import', feeds, '--db', stale, '--quiet']);
    expect(imp.code, imp.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1200));
    const refused = await run(['scan', `oci-archive:${archive}`, '--db', stale, '--db-max-age', '1s', '--skip-db-update', '--quiet']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/\[VULNDB_STALE\].*--accept-stale-db/);
    const accepted = await run(['scan', `oci-archive:${archive}`, '--db', stale, '--db-max-age', '1s', '--skip-db-update', '--accept-stale-db', '--format', 'json', '--quiet']);
    expect(accepted.code, accepted.stderr).toBe(0);
    const alone = await run(['scan', `oci-archive:${archive}`, '--db', stale, '--accept-stale-db', '--quiet']);
    expect(alone.code).toBe(2);
    // without --skip-db-update a stale database is refreshed first, from --db-source
    const src = `osv:Debian=${base}/Debian/all.zip`;
    const before = served.etagSeen.length;
    const refreshed = await run(['scan', `oci-archive:${archive}`, '--db', stale, '--db-max-age', '1s', '--db-source', src, '--format', 'json', '--quiet']);
    expect(refreshed.code, refreshed.stderr).toBe(0);
    expect(served.etagSeen.length).toBe(before + 1);
    expect(JSON.parse(refreshed.stdout).findings).toHaveLength(2);
    // the second update sends the stored ETag and keeps the data on 304
    const again = await run(['db', 'update', '--db', stale, '--db-source', src, '--format', 'json', '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    expect(served.etagSeen.at(-1)).toMatch(/^"/);
    expect(JSON.parse(again.stdout).unchanged).toBe(true);
  });

  it('a missing database is a clear error; db status, export and diff work', async () => {
    const missing = await run(['scan', `oci-archive:${archive}`, '--db', join(work, 'none.db'), '--skip-db-update', '--quiet']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/\[VULNDB_MISSING\]/);
    const st = await run(['db', 'status', '--db', db, '--format', 'json']);
    expect(st.code, st.stderr).toBe(0);
    const status = JSON.parse(st.stdout);
    expect(status.info.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const copy = join(work, 'export.db');
    const ex = await run(['db', 'export', copy, '--db', db]);
    expect(ex.code, ex.stderr).toBe(0);
    const st2 = JSON.parse((await run(['db', 'status', '--db', copy, '--format', 'json'])).stdout);
    expect(st2.info.digest).toBe(status.info.digest);
    // a withdrawn advisory and a new one make a new identity whose change log db diff prints
    // the same feed (source osv-dir:feeds) again, with one advisory withdrawn and one added
    const next = join(work, 'v2', 'feeds');
    mkdirSync(next, { recursive: true });
    for (const r of RECORDS) writeFileSync(join(next, `${r.id}.json`), JSON.stringify(r));
    writeFileSync(join(next, 'GHSA-35jh-r3h4-6jhm.json'), JSON.stringify({ ...RECORDS[1], modified: '2026-03-01T00:00:00Z', withdrawn: '2026-03-01T00:00:00Z' }));
    writeFileSync(join(next, 'GHSA-29mw-wpgm-hmr9.json'), JSON.stringify({ id: 'GHSA-29mw-wpgm-hmr9', modified: '2026-03-01T00:00:00Z', aliases: ['CVE-2020-28500'], affected: [{ package: { ecosystem: 'npm', name: 'lodash' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '4.0.0' }, { fixed: '4.17.21' }] }] }] }));
    const imp = await run(['db', 'import', next, '--db', copy, '--quiet']);
    expect(imp.code, imp.stderr).toBe(0);
    const d = await run(['db', 'diff', status.info.digest.slice(0, 19), '--db', copy, '--format', 'json']);
    expect(d.code, d.stderr).toBe(0);
    const log = JSON.parse(d.stdout);
    expect(log.added).toContain('GHSA-29mw-wpgm-hmr9');
    expect(log.withdrawn).toContain('GHSA-35jh-r3h4-6jhm');
    const after = await run(['scan', `oci-archive:${archive}`, '--db', copy, '--format', 'json', '--quiet']);
    expect(JSON.parse(after.stdout).findings.map((f: any) => f.id).sort()).toEqual(['CVE-2020-28500', 'CVE-2023-5678']);
  });
});
