/**
 * `drydock scan` of the corpus `app` image against the real Go advisories of ../shared/data/osv/Go.zip,
 * checked against an independent oracle (test/oracles/go-osv: Go's own golang.org/x/mod/semver over the
 * same records): for every Go module of every Go binary, and stdlib at each binary's Go version, Drydock
 * reports exactly the advisories whose ranges contain that version, each with the layer that brought it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, sandboxEnv } from '../harness/cli.js';

const CORPUS = process.env.DRYDOCK_CORPUS ?? (existsSync('/var/tmp/drydock-corpus/images/app') ? '/var/tmp/drydock-corpus' : undefined);
const GO_ZIP = join(import.meta.dirname, '../../../shared/data/osv/Go.zip');
const ORACLE = join(import.meta.dirname, '../oracles/go-osv/main.go');
if ((!CORPUS || !existsSync(GO_ZIP)) && process.env.CI) throw new Error('the corpus and ../shared/data/osv/Go.zip are needed in CI');

interface GoPkg { name: string; version: string; path: string; layer: number; createdBy?: string }

function oracle(pkgs: GoPkg[], cwd: string): Map<string, Set<string>> {
  const input = pkgs.map((p) => `${p.name} ${p.name === 'stdlib' ? `go${p.version}` : p.version}\n`).join('');
  const out = execFileSync('go', ['run', ORACLE, GO_ZIP], {
    input,
    cwd,
    env: { ...process.env, GOPATH: '/usr/share/gocode', GO111MODULE: 'off', GOFLAGS: '', GOCACHE: join(cwd, 'gocache'), GOTOOLCHAIN: 'local' },
    maxBuffer: 64 << 20,
  }).toString();
  const m = new Map<string, Set<string>>();
  for (const line of out.trim().split('\n').filter(Boolean)) {
    const [name, ver, id] = line.split(' ');
    const key = `${name}@${name === 'stdlib' ? ver!.slice(2) : ver}`;
    if (id === 'INVALID') throw new Error(`oracle: invalid version ${key}`);
    if (!m.has(key)) m.set(key, new Set());
    m.get(key)!.add(id!);
  }
  return m;
}

describe.skipIf(!CORPUS || !existsSync(GO_ZIP))('scan: corpus app image against the real Go advisories', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let db: string;
  const target = `oci-archive:${join(CORPUS ?? '', 'images', 'app.oci.tar')}`;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'drydock-scan-corpus-'));
    for (const d of ['home', 'cache', 'tmp']) mkdirSync(join(work, d), { recursive: true });
    env = sandboxEnv(work);
    db = join(work, 'vuln.db');
    const r = await runCli(['db', 'import', GO_ZIP, '--db', db, '--quiet', '--format', 'json'], { env, timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('reports exactly the oracle\'s advisories for every Go module and stdlib, with the COPY bin/ layer', async () => {
    const sbom = await runCli(['sbom', target, '--format', 'json', '--quiet'], { env, timeoutMs: 600_000 });
    expect(sbom.code, sbom.stderr).toBe(0);
    const inv = JSON.parse(sbom.stdout);
    const goPkgs: GoPkg[] = inv.packages
      .filter((p: any) => p.type === 'golang' && p.version !== '(devel)')
      .map((p: any) => ({ name: p.name, version: p.version, path: p.locations[0].path, layer: p.introducedBy?.index, createdBy: p.introducedBy?.createdBy }));
    expect(goPkgs.filter((p) => p.name === 'stdlib').length).toBeGreaterThan(0);
    expect(goPkgs.length).toBeGreaterThan(5);

    const scan = await runCli(['scan', target, '--db', db, '--format', 'json', '--quiet'], { env, timeoutMs: 600_000 });
    expect(scan.code, scan.stderr).toBe(0);
    const report = JSON.parse(scan.stdout);
    const got = new Map<string, Set<string>>();
    for (const f of report.findings as any[]) {
      if (f.package.type !== 'golang') continue;
      const key = `${f.package.name}@${f.package.version}`;
      if (!got.has(key)) got.set(key, new Set());
      for (const id of f.match.advisoryIds) got.get(key)!.add(id);
      // every finding names the layer (and Dockerfile step) that brought the binary in
      expect(f.package.introducedBy?.createdBy ?? '', key).toMatch(/COPY .*bin/);
    }
    const want = oracle(goPkgs, work);
    const keys = [...new Set([...want.keys(), ...got.keys()])].sort();
    const diff: string[] = [];
    for (const k of keys) {
      const w = [...(want.get(k) ?? [])].sort();
      const g = [...(got.get(k) ?? [])].sort();
      if (w.join() !== g.join()) diff.push(`${k}: oracle [${w.join(' ')}] drydock [${g.join(' ')}]`);
    }
    expect(diff).toEqual([]);
    // the image does carry vulnerable Go code: the comparison is not between two empty sets
    expect([...want.values()].reduce((n, s) => n + s.size, 0)).toBeGreaterThan(10);
  }, 900_000);
});
