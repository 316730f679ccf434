/**
 * attest --sbom / --scan and verify-attestation --check-content on oci-dir images built by the testkit
 * (a dpkg status file and npm packages), with real catalogers. The attested SBOM passes; the same SBOM
 * with one package removed or one version changed fails and names exactly that package; an SBOM of
 * another image fails.
 */
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildImage, tempDir, writeOciLayout, type EntrySpec } from '../../test/testkit/index.js';
import { attestImage, compareInventories } from '../attest/image/index.js';
import { memorySigner } from '../sign/keys/index.js';
import { decodeSbom } from '../sbom/decode/index.js';
import { attestImageSbom, verifyImageAttestation } from './attest.js';

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = memorySigner(privateKey, 'test key');
const tmp = tempDir('drydock-scan-attest-');
afterAll(() => tmp.cleanup());
const cacheDir = join(tmp.dir, 'cache');

const dpkg = (pkgs: [string, string][]): string =>
  pkgs.map(([n, v]) => `Package: ${n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${v}\nMaintainer: Test <t@example.org>\n`).join('\n');
const npm = (name: string, version: string): EntrySpec => ({ path: `/app/node_modules/${name}/package.json`, content: JSON.stringify({ name, version, license: 'MIT' }) });

async function image(name: string, debs: [string, string][], npms: [string, string][]): Promise<string> {
  const img = await buildImage({
    layers: [
      [
        { path: '/etc/os-release', content: 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' },
        { path: '/var/lib/dpkg/status', content: dpkg(debs) },
      ],
      npms.map(([n, v]) => npm(n, v)),
    ],
  });
  const dir = join(tmp.dir, name);
  writeOciLayout(dir, img);
  return `oci-dir:${dir}`;
}

const DEBS: [string, string][] = [['libc6', '2.36-9+deb12u4'], ['zlib1g', '1:1.2.13.dfsg-1'], ['bash', '5.2.15-2+b2']];
const NPMS: [string, string][] = [['left-pad', '1.3.0'], ['lodash', '4.17.21']];

describe('attest --sbom, verify-attestation --check-content', () => {
  it('the attested SBOM of the image passes; edited SBOMs fail naming exactly the package', async () => {
    const target = await image('app', DEBS, NPMS);
    const a = await attestImageSbom(target, signer, { cacheDir });
    expect(a.inventory.packages.map((p) => p.purl?.replace(/\?.*/, '')).sort()).toEqual([
      'pkg:deb/debian/bash@5.2.15-2+b2',
      'pkg:deb/debian/libc6@2.36-9+deb12u4',
      'pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1',
      'pkg:npm/left-pad@1.3.0',
      'pkg:npm/lodash@4.17.21',
    ].sort());
    const ok = await verifyImageAttestation(target, { key: publicKey }, { type: 'cyclonedx', checkContent: { cacheDir } });
    expect(ok.checks).toHaveLength(1);
    expect(ok.checks[0]!.reason).toBeUndefined();
    expect(ok.checks[0]!.verified).toBe(true);
    expect(ok.checks[0]!.evidence).toContain('content');
    expect(ok.checks[0]!.content).toMatchObject({ passed: true, missing: [], extra: [], changed: [] });
    expect(ok.checks[0]!.content!.counts.matched).toBe(5);

    // the same SBOM edited: one package removed, one version changed (each attested properly, signed by the same key)
    const bom = a.statement.predicate as { components: { name: string; version?: string; purl?: string }[] };
    const without = { ...bom, components: bom.components.filter((c) => c.name !== 'zlib1g') };
    const changed = {
      ...bom,
      components: bom.components.map((c) => (c.name === 'lodash' ? { ...c, version: '4.17.20', ...(c.purl ? { purl: c.purl.replace('4.17.21', '4.17.20') } : {}) } : c)),
    };
    const removedTarget = await image('app-removed', DEBS, NPMS);
    await attestImage(removedTarget, { predicateType: 'https://cyclonedx.org/bom', predicate: without }, signer);
    const r1 = await verifyImageAttestation(removedTarget, { key: publicKey }, { type: 'cyclonedx', checkContent: { cacheDir } });
    expect(r1.checks[0]).toMatchObject({ verified: false, reason: 'content-mismatch' });
    expect(r1.checks[0]!.content!.extra.map((c) => c.key)).toEqual(['pkg:deb/debian/zlib1g']);
    expect(r1.checks[0]!.content!.missing).toEqual([]);
    expect(r1.checks[0]!.content!.changed).toEqual([]);
    expect(r1.checks[0]!.detail).toMatch(/not in the attested SBOM: pkg:deb\/debian\/zlib1g@1:1\.2\.13\.dfsg-1/);

    const changedTarget = await image('app-changed', DEBS, NPMS);
    await attestImage(changedTarget, { predicateType: 'https://cyclonedx.org/bom', predicate: changed }, signer);
    const r2 = await verifyImageAttestation(changedTarget, { key: publicKey }, { type: 'cyclonedx', checkContent: { cacheDir } });
    expect(r2.checks[0]).toMatchObject({ verified: false, reason: 'content-mismatch' });
    expect(r2.checks[0]!.content!.changed).toEqual([{ key: 'pkg:npm/lodash', name: 'lodash', attested: '4.17.20', image: '4.17.21' }]);
    expect(r2.checks[0]!.content!.missing).toEqual([]);
    expect(r2.checks[0]!.content!.extra).toEqual([]);

    // an SBOM of another image (one more npm package, one fewer deb), attested about this image
    const otherTarget = await image('other', DEBS.slice(1), [...NPMS, ['express', '4.19.2']]);
    const other = await attestImageSbom(otherTarget, signer, { cacheDir });
    const victim = await image('victim', DEBS, NPMS);
    await attestImage(victim, { predicateType: 'https://cyclonedx.org/bom', predicate: other.statement.predicate! }, signer);
    const r3 = await verifyImageAttestation(victim, { key: publicKey }, { checkContent: { cacheDir } });
    expect(r3.checks[0]).toMatchObject({ verified: false, reason: 'content-mismatch' });
    expect(r3.checks[0]!.content!.missing.map((c) => c.key)).toEqual(['pkg:npm/express']);
    expect(r3.checks[0]!.content!.extra.map((c) => c.key)).toEqual(['pkg:deb/debian/libc6']);
  }, 60_000);

  it('a non-SBOM attestation cannot pass --check-content', async () => {
    const target = await image('prov', DEBS, NPMS);
    await attestImage(target, { predicateType: 'https://slsa.dev/provenance/v0.2', predicate: { builder: { id: 'b' }, buildType: 't' } }, signer);
    const r = await verifyImageAttestation(target, { key: publicKey }, { checkContent: { cacheDir } });
    expect(r.checks[0]).toMatchObject({ verified: false, reason: 'predicate-type-mismatch' });
  });
});

describe('compareInventories', () => {
  const base = decodeSbom({
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    metadata: { tools: { components: [{ name: 'drydock', version: '1' }] }, properties: [{ name: 'drydock:option:catalogers', value: '["dpkg@1"]' }] },
    components: [
      { type: 'library', name: 'a', version: '1', purl: 'pkg:deb/debian/a@1?arch=amd64' },
      { type: 'file', name: '/etc/x', version: '' },
    ],
  });
  it('ignores qualifiers; non-packages and other catalogers are notes unless strict', () => {
    const image = decodeSbom({
      bomFormat: 'CycloneDX',
      specVersion: '1.6',
      components: [
        { type: 'library', name: 'a', version: '1', purl: 'pkg:deb/debian/a@1?arch=arm64&distro=debian-12' },
        { type: 'library', name: 'b', version: '2', purl: 'pkg:npm/b@2', properties: [{ name: 'drydock:foundBy', value: 'npm-installed' }] },
      ],
    });
    const r = compareInventories(base, image);
    expect(base.descriptor?.options?.catalogers).toEqual(['dpkg@1']);
    expect(r.passed).toBe(true);
    expect(r.notes.map((n) => n.kind).sort()).toEqual(['non-package', 'other-cataloger']);
    const strict = compareInventories(base, image, { strict: true });
    expect(strict.passed).toBe(false);
    // the same extra package when the attested tool ran that cataloger fails
    const withNpm = { ...base, descriptor: { name: 'drydock', version: '1', options: { catalogers: ['dpkg@1', 'npm-installed@1'] } } };
    const r2 = compareInventories(withNpm, image);
    expect(r2.passed).toBe(false);
    expect(r2.extra.map((c) => c.key)).toEqual(['pkg:npm/b']);
  });
});
