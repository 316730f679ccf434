/**
 * The decoders: round trips through every encoder (the encoders' sample inventory), documents
 * written by other tools (hand-written from the specs: Syft JSON, Trivy-style CycloneDX 1.5, an
 * SPDX 2.2 with hasFiles, a CycloneDX 1.4 with nested components and bom-ref dependencies), and
 * malformed input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../core/clock.js';
import { isDrydockError } from '../../core/errors.js';
import type { Inventory, Package } from '../../model/package.js';
import { encodeCycloneDx, encodeNativeJson, encodeSpdx } from '../index.js';
import { L0, L1, sampleInventory } from '../testdata/sample-inventory.js';
import { decodeSbom, detectSbomFormat, parsePurl } from './index.js';

const clock: Clock = { now: () => new Date('2024-05-06T07:08:09Z') };
const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8');

/** What every format carries: one line per package. */
function core(inv: Inventory): string[] {
  return inv.packages.map((p) => `${p.type} ${p.namespace ?? ''} ${p.name} ${p.version} ${p.purl ?? ''} [${(p.licenses ?? []).join(' | ')}]`).sort();
}
/** Relationships by package name (ids may differ between formats). */
function rels(inv: Inventory, types?: string[]): string[] {
  const name = new Map(inv.packages.map((p) => [p.id, p.name]));
  return inv.relationships.filter((r) => !types || types.includes(r.type)).map((r) => `${name.get(r.from)} ${r.type} ${name.get(r.to)}`).sort();
}
const byName = (inv: Inventory, n: string): Package => {
  const p = inv.packages.find((x) => x.name === n);
  if (!p) throw new Error(`no package ${n}`);
  return p;
};

function expectInvalid(f: () => unknown, ...parts: string[]): void {
  try {
    f();
    expect.unreachable('expected SBOM_INVALID');
  } catch (e) {
    expect(isDrydockError(e, 'SBOM_INVALID'), String(e)).toBe(true);
    for (const p of parts) expect((e as Error).message).toContain(p);
  }
}

describe('round trips of the encoders', () => {
  const inv = sampleInventory();

  it('native json gives back the inventory unchanged', () => {
    expect(decodeSbom(encodeNativeJson(inv))).toEqual(JSON.parse(JSON.stringify(inv)));
  });

  for (const version of ['1.6', '1.5', '1.4'] as const) {
    it(`CycloneDX ${version} keeps packages, ids, relationships, layers, locations, distro, issues and options`, () => {
      const out = decodeSbom(encodeCycloneDx(inv, { version, clock }));
      expect(core(out)).toEqual(core(inv));
      // the same type, namespace, name, version and first path: the same content-derived ids
      expect(out.packages.map((p) => p.id).sort()).toEqual(inv.packages.map((p) => p.id).sort());
      // CycloneDX dependencies carry no kind: dev-depends-on comes back as depends-on
      expect(rels(out)).toEqual(['bash depends-on libtinfo6', 'express depends-on node']);
      for (const p of inv.packages) {
        const q = out.packages.find((x) => x.id === p.id)!;
        expect(q.introducedBy).toEqual(p.introducedBy);
        expect(q.locations.map((l) => [l.path, l.layer, l.layerDigest, l.diffId])).toEqual(p.locations.map((l) => [l.path, l.layer, l.layerDigest, l.diffId]));
        expect(q.cpes).toEqual(p.cpes);
        expect(q.foundBy).toBe(p.foundBy);
      }
      expect(out.source).toEqual(inv.source);
      expect(out.distro).toEqual(inv.distro);
      expect(out.issues).toEqual(inv.issues);
      expect(out.descriptor).toEqual(inv.descriptor);
    });
  }

  it('SPDX 2.3 keeps packages, ids, relationships (with their kinds), layer attribution, issues and options', () => {
    const out = decodeSbom(encodeSpdx(inv, { clock }));
    expect(core(out)).toEqual(core(inv));
    expect(out.packages.map((p) => p.id).sort()).toEqual(inv.packages.map((p) => p.id).sort());
    expect(rels(out)).toEqual(rels(inv));
    expect(rels(out)).toContain('express dev-depends-on node');
    for (const p of inv.packages) {
      const q = out.packages.find((x) => x.id === p.id)!;
      expect(q.introducedBy).toEqual(p.introducedBy);
      expect(q.locations.map((l) => l.path)).toEqual(p.locations.map((l) => l.path));
      expect(q.cpes).toEqual(p.cpes);
      expect(q.foundBy).toBe(p.foundBy);
    }
    expect(out.source).toEqual(inv.source); // layers rebuilt from the packages' layers
    expect(out.distro).toMatchObject({ id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' });
    expect(out.issues).toEqual(inv.issues);
    expect(out.descriptor).toEqual(inv.descriptor);
  });

  it('CycloneDX → SPDX → CycloneDX keeps names, versions, purls, licenses and dependencies', () => {
    const a = decodeSbom(encodeCycloneDx(inv, { clock }));
    const b = decodeSbom(encodeSpdx(a, { clock }));
    const c = decodeSbom(encodeCycloneDx(b, { clock }));
    expect(core(c)).toEqual(core(inv));
    expect(rels(c, ['depends-on'])).toEqual(rels(a, ['depends-on']));
    expect(c.packages.map((p) => p.introducedBy?.digest)).toEqual(a.packages.map((p) => p.introducedBy?.digest));
  });

  it('an ownership relationship survives CycloneDX and SPDX', () => {
    const base = sampleInventory();
    const bash = byName(base, 'bash');
    const express = byName(base, 'express');
    express.ownedBy = bash.id;
    base.relationships.push({ from: bash.id, to: express.id, type: 'owns-files-of' });
    for (const text of [encodeCycloneDx(base, { clock }), encodeSpdx(base, { clock })]) {
      const out = decodeSbom(text);
      expect(rels(out, ['owns-files-of'])).toEqual(['bash owns-files-of express']);
      expect(byName(out, 'express').ownedBy).toBe(byName(out, 'bash').id);
    }
  });
});

describe('documents of other tools', () => {
  it('Syft JSON: artifacts, cpes and licenses in both shapes, layers by diffID, relationships, distro, source', () => {
    const text = fixture('syft-alpine.json');
    expect(detectSbomFormat(JSON.parse(text))).toEqual({ format: 'syft-json', version: '16.0.11' });
    const inv = decodeSbom(text, { path: 'syft-alpine.json' });
    expect(core(inv)).toEqual([
      'apk alpine busybox 1.36.1-r15 pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1 [GPL-2.0-only]',
      'apk alpine musl 1.2.4-r2 pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1 [MIT]',
      'npm  left-pad  pkg:npm/left-pad []',
      'npm babel core 7.24.0 pkg:npm/%40babel/core@7.24.0 [MIT]',
    ]);
    const musl = byName(inv, 'musl');
    expect(musl.cpes).toHaveLength(2);
    expect(musl.foundBy).toBe('apk-db-cataloger');
    expect(musl.locations).toEqual([{ path: '/lib/apk/db/installed', layer: 0, layerDigest: `sha256:${'3'.repeat(64)}`, diffId: `sha256:${'1'.repeat(64)}` }]);
    expect(musl.introducedBy).toEqual({ index: 0, digest: `sha256:${'3'.repeat(64)}`, diffId: `sha256:${'1'.repeat(64)}` });
    expect(byName(inv, 'core').introducedBy?.index).toBe(1);
    expect(byName(inv, 'core').cpes).toEqual(['cpe:2.3:a:babel:core:7.24.0:*:*:*:*:*:*:*']);
    expect(rels(inv)).toEqual(['busybox depends-on musl', 'busybox owns-files-of core']);
    expect(byName(inv, 'core').ownedBy).toBe(byName(inv, 'busybox').id);
    expect(inv.distro).toMatchObject({ id: 'alpine', versionId: '3.19.1', prettyName: 'Alpine Linux v3.19' });
    expect(inv.source).toMatchObject({
      target: 'registry.example/team/web:1.4',
      kind: 'image',
      digest: `sha256:${'7'.repeat(64)}`,
      configDigest: `sha256:${'5'.repeat(64)}`,
      platform: 'linux/amd64',
    });
    expect(inv.source.layers).toHaveLength(2);
    expect(inv.descriptor).toEqual({ name: 'syft', version: '1.4.1' });
    // a missing version is kept as '' with an issue naming the file
    expect(byName(inv, 'left-pad').version).toBe('');
    expect(inv.issues).toEqual([expect.objectContaining({ code: 'SBOM_INVALID', severity: 'warning', path: 'syft-alpine.json' })]);
    expect(inv.issues[0]!.message).toContain('left-pad');
  });

  it('Trivy-style CycloneDX 1.5: OS component, layer properties, relative file paths, image as the source', () => {
    const inv = decodeSbom(fixture('trivy-debian.cdx-1.5.json'));
    expect(core(inv)).toEqual([
      'deb debian libc6 2.36-9+deb12u4 pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12.5 [LGPL-2.1 | GPL-2.0]',
      'deb debian tzdata 2024a-0+deb12u1 pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all&distro=debian-12.5 [MIT]',
      'pypi  pip 24.0 pkg:pypi/pip@24.0 [MIT]',
    ]);
    expect(inv.distro).toMatchObject({ id: 'debian', versionId: '12.5' });
    expect(inv.source).toMatchObject({ name: 'python:3.12-slim', kind: 'image', digest: `sha256:${'8'.repeat(64)}`, configDigest: `sha256:${'9'.repeat(64)}` });
    expect(inv.source.layers.map((l) => l.diffId)).toEqual([`sha256:${'1'.repeat(64)}`, `sha256:${'2'.repeat(64)}`]);
    const pip = byName(inv, 'pip');
    expect(pip.locations).toEqual([expect.objectContaining({ path: 'usr/local/lib/python3.12/site-packages/pip-24.0.dist-info/METADATA', layer: 1 })]);
    expect(pip.introducedBy?.index).toBe(1);
    expect(byName(inv, 'libc6').introducedBy?.index).toBe(0);
    // the OS and the image are not packages; their dependency edges are dropped
    expect(inv.relationships).toEqual([]);
    expect(inv.descriptor).toEqual({ name: 'trivy', version: '0.50.1' });
  });

  it('SPDX 2.2 of another generator: hasFiles, DEPENDENCY_OF, DEV_DEPENDENCY_OF, LicenseRefs, licenseConcluded fallback', () => {
    const text = fixture('example-generator.spdx-2.2.json');
    expect(detectSbomFormat(JSON.parse(text))).toEqual({ format: 'spdx-json', version: '2.2' });
    const inv = decodeSbom(text);
    expect(core(inv)).toEqual([
      'maven com.example.billing billing-service 2.8.0 pkg:maven/com.example.billing/billing-service@2.8.0 [Example Proprietary License]',
      'maven com.fasterxml.jackson.core jackson-core 2.15.2 pkg:maven/com.fasterxml.jackson.core/jackson-core@2.15.2 [Apache-2.0 OR MIT]',
      'maven com.fasterxml.jackson.core jackson-databind 2.15.2 pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.15.2 [Apache-2.0]',
      'maven junit junit 4.13.2 pkg:maven/junit/junit@4.13.2 [EPL-1.0]',
    ]);
    expect(byName(inv, 'billing-service').locations).toEqual([
      { path: '/opt/billing/billing-service.jar', layer: -1, role: 'owned-file' },
      { path: '/opt/billing/start.sh', layer: -1, role: 'owned-file' },
    ]);
    expect(byName(inv, 'jackson-databind').cpes).toEqual(['cpe:2.3:a:fasterxml:jackson-databind:2.15.2:*:*:*:*:*:*:*']);
    expect(rels(inv)).toEqual(['billing-service depends-on jackson-databind', 'billing-service dev-depends-on junit', 'jackson-databind depends-on jackson-core']);
    expect(inv.source).toMatchObject({ name: 'billing-service', kind: 'sbom', layers: [] });
    expect(inv.descriptor).toEqual({ name: 'example-sbom-generator', version: '3.2.0' });
  });

  it('CycloneDX 1.4 with nested components and bom-ref dependencies', () => {
    const inv = decodeSbom(fixture('nested.cdx-1.4.json'));
    expect(core(inv)).toEqual([
      'generic  vendored-lib  - []'.replace(' - ', '  '),
      'maven ch.qos.logback logback-classic 1.4.14 pkg:maven/ch.qos.logback/logback-classic@1.4.14?type=jar [EPL-1.0 OR LGPL-2.1-only]',
      'maven org.springframework spring-core 6.1.2 pkg:maven/org.springframework/spring-core@6.1.2?type=jar [Apache-2.0]',
      'maven org.springframework spring-jcl 6.1.2 pkg:maven/org.springframework/spring-jcl@6.1.2?type=jar []',
      'maven org.springframework.boot spring-boot 3.2.1 pkg:maven/org.springframework.boot/spring-boot@3.2.1?type=jar [Apache-2.0]',
    ]);
    expect(rels(inv)).toEqual([
      'spring-boot contains spring-core',
      'spring-boot depends-on logback-classic',
      'spring-boot depends-on spring-core',
      'spring-core contains spring-jcl',
      'spring-core depends-on spring-jcl',
    ]);
    expect(byName(inv, 'spring-boot').metadata).toEqual({ kind: 'java', groupId: 'org.springframework.boot', artifactId: 'spring-boot', sha1: '1b2c3d4e5f60718293a4b5c6d7e8f90112233445' });
    expect(byName(inv, 'logback-classic').cpes).toEqual(['cpe:2.3:a:qos:logback:1.4.14:*:*:*:*:*:*:*']);
    expect(inv.source).toMatchObject({ name: 'shop', kind: 'dir' });
    expect(inv.issues.map((i) => i.message)).toEqual([expect.stringContaining('vendored-lib')]);
    const ids = new Set(inv.packages.map((p) => p.id));
    expect(ids.size).toBe(inv.packages.length);
  });
});

describe('malformed input', () => {
  it('not JSON, not an object, or no known format', () => {
    expectInvalid(() => decodeSbom('{"bomFormat": "CycloneDX",', { path: '/tmp/x.json' }), '/tmp/x.json', 'not JSON');
    expectInvalid(() => decodeSbom('[1,2]', { path: 'list.json' }), 'list.json', 'an array');
    expectInvalid(() => decodeSbom('{"hello": "world"}', { path: 'w.json' }), 'w.json', 'not a known SBOM format');
    expectInvalid(() => decodeSbom('<?xml version="1.0"?><bom/>'), 'XML');
    expectInvalid(() => decodeSbom('SPDXVersion: SPDX-2.3\n'), 'tag-value');
    expectInvalid(() => decodeSbom({ bomFormat: 'CycloneDX', specVersion: '2.0' }), 'specVersion');
    expectInvalid(() => decodeSbom({ spdxVersion: 'SPDX-3.0' }), 'SPDX-3.0');
  });

  it('refuses CycloneDX components nested past the limit instead of exhausting the stack', () => {
    const nest = (depth: number): string => {
      let s = '{"type":"library","name":"leaf","version":"1"}';
      for (let i = 0; i < depth; i++) s = `{"type":"library","name":"n${i}","version":"1","components":[${s}]}`;
      return `{"bomFormat":"CycloneDX","specVersion":"1.5","components":[${s}]}`;
    };
    expect(decodeSbom(nest(20)).packages).toHaveLength(21);
    expectInvalid(() => decodeSbom(nest(100_000), { path: 'deep.cdx.json' }), 'deep.cdx.json', 'nested more than 64 levels');
  });

  it('names the file and the JSON path of the bad field', () => {
    const cdx = JSON.parse(encodeCycloneDx(sampleInventory(), { clock })) as { components: Record<string, unknown>[] };
    cdx.components[2]!.name = 42.5 as unknown as string; // numbers are read as text: still fine
    expect(() => decodeSbom(cdx)).not.toThrow();
    cdx.components[2]!.name = { x: 1 } as unknown as string;
    expectInvalid(() => decodeSbom(cdx, { path: 'app.cdx.json' }), 'app.cdx.json', 'components[2].name');
    const spdx = JSON.parse(encodeSpdx(sampleInventory(), { clock })) as { packages: unknown; relationships: Record<string, unknown>[] };
    spdx.relationships[1]!.relatedSpdxElement = undefined;
    expectInvalid(() => decodeSbom(spdx, { path: 'app.spdx.json' }), 'app.spdx.json', 'relationships[1].relatedSpdxElement');
    spdx.relationships[1]!.relatedSpdxElement = 'SPDXRef-x';
    spdx.packages = {};
    expectInvalid(() => decodeSbom(spdx), 'packages', 'expected an array');
    const syft = JSON.parse(fixture('syft-alpine.json')) as { artifacts: Record<string, unknown>[] };
    delete syft.artifacts[1]!.id;
    expectInvalid(() => decodeSbom(syft, { path: 's.json' }), 's.json', 'artifacts[1].id');
    const native = JSON.parse(encodeNativeJson(sampleInventory())) as { relationships: Record<string, unknown>[] };
    native.relationships[0]!.to = 'pkg-nope';
    expectInvalid(() => decodeSbom(native), 'relationships[0].to', 'pkg-nope');
  });
});

describe('parsePurl', () => {
  it.each([
    ['pkg:npm/%40types/node@20.1.0', { type: 'npm', namespace: '@types', name: 'node', version: '20.1.0', qualifiers: {} }],
    ['pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12', { type: 'deb', namespace: 'debian', name: 'bash', version: '5.2.15-2+b2', qualifiers: { arch: 'amd64', distro: 'debian-12' } }],
    ['pkg:golang/github.com/a/b@v1.2.3#sub', { type: 'golang', namespace: 'github.com/a', name: 'b', version: 'v1.2.3', qualifiers: {} }],
    ['pkg:pypi/pip', { type: 'pypi', name: 'pip', qualifiers: {} }],
  ])('%s', (s, want) => expect(parsePurl(s)).toEqual(want));
  it('rejects what is not a purl', () => {
    expect(parsePurl('npm/x@1')).toBeUndefined();
    expect(parsePurl('pkg:x')).toBeUndefined();
  });
});

describe('OS package sources from purls and Trivy properties', () => {
  it('reads upstream, arch and epoch qualifiers into OS metadata, and Trivy SrcName/SrcVersion', async () => {
    const { osMetadataOf } = await import('./common.js');
    expect(osMetadataOf('deb', 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl&distro=debian-12', '3.0.11-1~deb12u2')).toEqual({ kind: 'dpkg', source: 'openssl', architecture: 'amd64' });
    expect(osMetadataOf('deb', 'pkg:deb/debian/bsdutils@1:2.38.1-5%2Bb1?upstream=util-linux%402.38.1-5', '1:2.38.1-5+b1')).toEqual({ kind: 'dpkg', source: 'util-linux', sourceVersion: '2.38.1-5' });
    expect(osMetadataOf('apk', 'pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&upstream=openssl', '3.1.4-r5')).toEqual({ kind: 'apk', origin: 'openssl', architecture: 'x86_64' });
    expect(osMetadataOf('rpm', 'pkg:rpm/almalinux/openssl@3.0.7-24.el9?epoch=1&arch=x86_64', '3.0.7-24.el9')).toEqual({ kind: 'rpm', release: '24.el9', epoch: 1, architecture: 'x86_64' });
    expect(osMetadataOf('npm', 'pkg:npm/lodash@4.17.21', '4.17.21')).toBeUndefined();
    const doc = {
      bomFormat: 'CycloneDX', specVersion: '1.5', version: 1,
      components: [{
        'bom-ref': 'a', type: 'library', name: 'libssl3', version: '3.0.11-1~deb12u2', purl: 'pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64',
        properties: [
          { name: 'aquasecurity:trivy:SrcName', value: 'openssl' },
          { name: 'aquasecurity:trivy:SrcVersion', value: '3.0.11' },
          { name: 'aquasecurity:trivy:SrcRelease', value: '1~deb12u1' },
        ],
      }],
    };
    const inv = decodeSbom(doc as never);
    expect(inv.packages[0]!.metadata).toEqual({ kind: 'dpkg', source: 'openssl', sourceVersion: '3.0.11-1~deb12u1', architecture: 'amd64' });
  });
});
