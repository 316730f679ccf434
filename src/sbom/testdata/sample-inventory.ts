/**
 * The hand-built inventory behind the encoder goldens (src/sbom/sbom.test.ts) and the decoder
 * round trips (src/sbom/decode/decode.test.ts).
 */
import { packageId, type Inventory, type Package } from '../../model/index.js';

export const L0 = { index: 0, digest: `sha256:${'a'.repeat(64)}`, diffId: `sha256:${'b'.repeat(64)}`, createdBy: 'debootstrap --variant=minbase bookworm' };
export const L1 = { index: 1, digest: `sha256:${'c'.repeat(64)}`, diffId: `sha256:${'d'.repeat(64)}`, createdBy: 'COPY app/ /app/ # buildkit' };

function pkg(p: Omit<Package, 'id'>): Package {
  return { ...p, id: packageId(p) };
}

export function sampleInventory(): Inventory {
  const bash = pkg({
    type: 'deb',
    namespace: 'debian',
    name: 'bash',
    version: '5.2.15-2+b2',
    purl: 'pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64&distro=debian-12',
    cpes: ['cpe:2.3:a:gnu:bash:5.2.15-2\\+b2:*:*:*:*:*:*:*', 'cpe:2.3:a:bash:bash:5.2.15-2\\+b2:*:*:*:*:*:*:*'],
    licenses: ['GPL-3.0-or-later'],
    locations: [{ path: '/var/lib/dpkg/status', layer: 0, layerDigest: L0.digest, diffId: L0.diffId, role: 'database' }],
    introducedBy: L0,
    foundBy: 'dpkg',
    metadata: { kind: 'dpkg', source: 'bash', architecture: 'amd64', depends: ['base-files (>= 2.1.12)', 'libtinfo6'] },
  });
  const libtinfo = pkg({
    type: 'deb',
    namespace: 'debian',
    name: 'libtinfo6',
    version: '6.4-4',
    purl: 'pkg:deb/debian/libtinfo6@6.4-4?arch=amd64&distro=debian-12',
    licenses: ['X11', 'some custom licence text'],
    locations: [{ path: '/var/lib/dpkg/status', layer: 0, layerDigest: L0.digest, diffId: L0.diffId, role: 'database' }],
    introducedBy: L0,
    foundBy: 'dpkg',
    metadata: { kind: 'dpkg', files: [{ path: '/usr/lib/x86_64-linux-gnu/libtinfo.so.6' }] },
  });
  const express = pkg({
    type: 'npm',
    name: 'express',
    version: '4.17.1',
    purl: 'pkg:npm/express@4.17.1',
    licenses: ['MIT'],
    locations: [{ path: '/app/node_modules/express/package.json', layer: 1, layerDigest: L1.digest, diffId: L1.diffId, role: 'manifest' }],
    introducedBy: L1,
    foundBy: 'npm-installed',
  });
  const scoped = pkg({
    type: 'npm',
    namespace: 'types',
    name: 'node',
    version: '20.1.0',
    purl: 'pkg:npm/%40types/node@20.1.0',
    licenses: ['(MIT OR Apache-2.0)'],
    locations: [{ path: '/app/node_modules/@types/node/package.json', layer: 1, layerDigest: L1.digest, diffId: L1.diffId, role: 'manifest' }],
    introducedBy: L1,
    foundBy: 'npm-installed',
  });
  const packages = [bash, libtinfo, express, scoped].sort((a, b) => (a.type + a.name < b.type + b.name ? -1 : 1));
  return {
    source: {
      target: 'registry.example:5000/corpus/app:latest',
      kind: 'registry',
      name: 'registry.example:5000/corpus/app:latest',
      digest: `sha256:${'e'.repeat(64)}`,
      configDigest: `sha256:${'f'.repeat(64)}`,
      platform: 'linux/amd64',
      layers: [L0, L1],
    },
    distro: { id: 'debian', versionId: '12', versionCodename: 'bookworm', idLike: [], prettyName: 'Debian GNU/Linux 12 (bookworm)', source: '/etc/os-release' },
    packages,
    relationships: [
      { from: bash.id, to: libtinfo.id, type: 'depends-on' },
      { from: express.id, to: scoped.id, type: 'dev-depends-on' },
    ],
    issues: [{ code: 'ARCHIVE_CORRUPT', severity: 'warning', message: 'cannot parse /app/node_modules/broken/package.json', path: '/app/node_modules/broken/package.json', layer: L1.digest }],
    descriptor: { name: 'drydock', version: '0.1.0', options: { catalogers: ['dpkg@1', 'npm-installed@1'], scope: 'squashed' } },
  };
}

