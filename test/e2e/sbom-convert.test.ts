/**
 * End-to-end tests of `drydock convert` and `sbom:PATH` targets through the built CLI
 * (`node dist/cli.js`, built by `npm run build`): an SBOM of a testkit image goes CycloneDX →
 * SPDX → CycloneDX and keeps names, versions, purls, licenses, dependencies and layers; other
 * tools' documents convert; bad input exits with the documented codes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, sandboxEnv, type CliRun } from '../harness/cli.js';
import { cyclonedxValidator, spdxValidator } from '../../src/sbom/testdata/schemas.js';
import { buildImage, tempDir, writeOciLayout } from '../testkit/index.js';

const FIXTURES = join(import.meta.dirname, '../../src/sbom/decode/testdata');
const env = { SOURCE_DATE_EPOCH: '1700000000' };

type Run = CliRun;
let sandbox: { dir: string; cleanup: () => void };

function drydock(args: string[], extra: NodeJS.ProcessEnv = env): Promise<Run> {
  return runCli(args, { cwd: sandbox.dir, env: sandboxEnv(sandbox.dir, extra), maxBuffer: 64 << 20 });
}

interface Inv {
  packages: { id: string; type: string; name: string; version: string; purl?: string; licenses?: string[]; introducedBy?: { index: number; diffId: string } }[];
  relationships: { from: string; to: string; type: string }[];
}
const lines = (inv: Inv) => inv.packages.map((p) => `${p.type} ${p.name} ${p.version} ${p.purl ?? ''} [${(p.licenses ?? []).join('|')}] layer ${p.introducedBy?.index ?? '-'}`).sort();
const deps = (inv: Inv) => {
  const n = new Map(inv.packages.map((p) => [p.id, p.name]));
  return inv.relationships.filter((r) => r.type === 'depends-on').map((r) => `${n.get(r.from)} -> ${n.get(r.to)}`).sort();
};

let layout = '';
beforeAll(async () => {
  sandbox = tempDir('drydock-convert-e2e-');
  for (const d of ['home', 'xdg-config', 'cache', 'tmp']) mkdirSync(join(sandbox.dir, d), { recursive: true });
  const image = await buildImage({
    layers: [
      {
        createdBy: 'debootstrap bookworm',
        entries: [
          { path: '/etc/os-release', content: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n' },
          {
            path: '/var/lib/dpkg/status',
            content:
              'Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\nDepends: libc6 (>= 2.14)\nDescription: compression\n\n' +
              'Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nSource: glibc\nVersion: 2.36-9+deb12u4\nDescription: libc\n',
          },
        ],
      },
      {
        createdBy: 'COPY app/ /app/',
        entries: [
          { path: '/app/package.json', content: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'left-pad': '^1.3.0' } }) },
          { path: '/app/node_modules/left-pad/package.json', content: JSON.stringify({ name: 'left-pad', version: '1.3.0', license: 'WTFPL' }) },
        ],
      },
    ],
  });
  layout = join(sandbox.dir, 'layout');
  writeOciLayout(layout, [{ image, tag: 'v1' }]);
}, 60_000);

afterAll(() => sandbox?.cleanup());

describe('drydock convert', () => {
  it('CycloneDX → SPDX → CycloneDX keeps names, versions, purls, licenses, dependencies and layers', async () => {
    const orig = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'json', '--no-cache']);
    expect(orig.code, orig.stderr).toBe(0);
    const want = JSON.parse(orig.stdout) as Inv;
    expect(want.packages.length).toBeGreaterThan(2);
    expect(deps(want)).toContain('zlib1g -> libc6');

    const a = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'cyclonedx-json', '--no-cache', '-o', 'a.cdx.json']);
    expect(a.code, a.stderr).toBe(0);
    const b = await drydock(['convert', 'a.cdx.json', '--format', 'spdx-json', '-o', 'b.spdx.json']);
    expect(b.code, b.stderr).toBe(0);
    const spdx = JSON.parse(readFileSync(join(sandbox.dir, 'b.spdx.json'), 'utf8'));
    const sv = spdxValidator()(spdx);
    expect(sv.valid, sv.errors).toBe(true);
    const c = await drydock(['convert', 'sbom:b.spdx.json', '--format', 'cyclonedx-json@1.5']);
    expect(c.code, c.stderr).toBe(0);
    const cdx = JSON.parse(c.stdout);
    const cv = cyclonedxValidator('1.5')(cdx);
    expect(cv.valid, cv.errors).toBe(true);
    writeFileSync(join(sandbox.dir, 'c.cdx.json'), c.stdout);
    const back = await drydock(['convert', 'c.cdx.json', '--format', 'json']);
    expect(back.code, back.stderr).toBe(0);
    const got = JSON.parse(back.stdout) as Inv;
    expect(lines(got)).toEqual(lines(want));
    expect(deps(got)).toEqual(deps(want));
    // the same content-derived package ids as the scan of the image
    expect(got.packages.map((p) => p.id).sort()).toEqual(want.packages.map((p) => p.id).sort());
  });

  it('sbom sbom:FILE and sbom convert FILE are the same as convert, and the output is reproducible', async () => {
    const a = await drydock(['sbom', `oci-dir:${layout}:v1`, '--format', 'cyclonedx-json', '--no-cache', '-o', 'r.cdx.json']);
    expect(a.code, a.stderr).toBe(0);
    const x = await drydock(['sbom', 'sbom:r.cdx.json', '--format', 'spdx-json']);
    const y = await drydock(['convert', 'r.cdx.json', '--format', 'spdx-json']);
    expect(x.code, x.stderr).toBe(0);
    expect(y.stdout).toBe(x.stdout);
    // `sbom convert`: options after the subcommand are its own, before or after the file
    for (const args of [['sbom', 'convert', 'r.cdx.json', '--format', 'spdx-json'], ['sbom', 'convert', '--format', 'spdx-json', 'r.cdx.json']]) {
      const z = await drydock(args);
      expect(z.code, z.stderr).toBe(0);
      expect(z.stdout).toBe(x.stdout);
    }
    expect((await drydock(['sbom', 'convert'])).code).toBe(2);
  });

  it('converts documents of other tools (Syft JSON, Trivy CycloneDX, SPDX 2.2) into valid SBOMs', async () => {
    for (const f of ['syft-alpine.json', 'trivy-debian.cdx-1.5.json', 'example-generator.spdx-2.2.json', 'nested.cdx-1.4.json']) {
      const r = await drydock(['convert', join(FIXTURES, f), '--format', 'cyclonedx-json', '--quiet']);
      expect(r.code, `${f}: ${r.stderr}`).toBe(0);
      const v = cyclonedxValidator('1.6')(JSON.parse(r.stdout));
      expect(v.valid, `${f}: ${v.errors}`).toBe(true);
      const s = await drydock(['convert', join(FIXTURES, f), '--format', 'spdx-json', '--quiet']);
      expect(s.code, `${f}: ${s.stderr}`).toBe(0);
      const sv = spdxValidator()(JSON.parse(s.stdout));
      expect(sv.valid, `${f}: ${sv.errors}`).toBe(true);
    }
    const t = await drydock(['convert', join(FIXTURES, 'syft-alpine.json')]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/^musl\s+1\.2\.4-r2\s+apk\s+0\s+\/lib\/apk\/db\/installed$/m);
    expect(t.stderr).toMatch(/warning: \[SBOM_INVALID\] package left-pad .* has no version/);
  });

  it('bad input: SBOM_INVALID (6) naming the file, missing file IO_ERROR (4), image commands and bad formats usage (2)', async () => {
    writeFileSync(join(sandbox.dir, 'bad.json'), JSON.stringify({ bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ type: 'library' }] }));
    const bad = await drydock(['convert', 'bad.json', '--format', 'spdx-json']);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain('[SBOM_INVALID]');
    expect(bad.stderr).toContain('bad.json: components[0].name');
    writeFileSync(join(sandbox.dir, 'other.json'), '{"hello": "world"}');
    const other = await drydock(['sbom', 'sbom:other.json']);
    expect(other.code).toBe(6);
    expect(other.stderr).toContain('not a known SBOM format');
    const missing = await drydock(['convert', 'nope.json']);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('[IO_ERROR]');
    expect((await drydock(['inspect', 'sbom:other.json'])).code).toBe(2);
    expect((await drydock(['copy', 'sbom:other.json', 'oci-dir:out'])).code).toBe(2);
    const fmt = await drydock(['convert', 'other.json', '--format', 'sarif']);
    expect(fmt.code).toBe(2);
  });
});
