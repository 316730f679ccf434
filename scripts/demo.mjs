#!/usr/bin/env node
// `npm run demo`: the main job on an embedded default, with no setup beyond `npm ci`.
// Builds a small two-layer image with the project's testkit (an OCI layout in a temp dir),
// then runs `drydock inspect`, `inspect --verify`, `inspect --files --scope all-layers` and `sbom` on it,
// imports a small advisory feed written here (facts of real advisories, abridged) into a vulnerability
// database, and scans the image with it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildImage, writeOciLayout, whiteout } = await import(join(root, '.tmp/demo-build/test/testkit/index.js'));

const work = mkdtempSync(join(tmpdir(), 'drydock-demo-'));
try {
  const image = await buildImage({
    layers: [
      {
        createdBy: 'ADD rootfs.tar /',
        entries: [
          { path: '/etc/os-release', content: 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' },
          { path: '/usr/bin/tool', content: '#!/bin/sh\necho tool\n', mode: 0o755 },
          { path: '/usr/bin/helper', type: 'symlink', linkname: 'tool' },
          {
            path: '/var/lib/dpkg/status',
            content:
              'Package: openssl\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.0.15-1~deb12u1\nDepends: libssl3\n\n' +
              'Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\nVersion: 3.0.15-1~deb12u1\n',
          },
        ],
      },
      {
        createdBy: 'RUN rm /usr/bin/tool && echo mode=prod > /etc/app.conf',
        entries: [
          whiteout('/usr/bin/tool'),
          { path: '/etc/app.conf', content: 'mode=prod\n' },
          { path: '/app/node_modules/lodash/package.json', content: '{"name":"lodash","version":"4.17.15","license":"MIT"}' },
        ],
      },
    ],
    config: { cmd: ['/bin/sh'], env: ['PATH=/usr/bin:/bin'], labels: { 'org.opencontainers.image.title': 'drydock demo' } },
  });
  const layout = join(work, 'layout');
  writeOciLayout(layout, [{ image, tag: 'demo' }]);
  const target = `oci-dir:${layout}:demo`;
  const cache = ['--cache-dir', join(work, 'cache')];
  const feeds = join(work, 'advisories');
  mkdirSync(feeds);
  const advisory = (id, ecosystem, name, fixed, extra = {}) =>
    writeFileSync(join(feeds, `${id}.json`), JSON.stringify({ id, modified: '2025-06-01T00:00:00Z', ...extra, affected: [{ package: { ecosystem, name }, ranges: [{ type: ecosystem === 'npm' ? 'SEMVER' : 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }] }));
  advisory('GHSA-35jh-r3h4-6jhm', 'npm', 'lodash', '4.17.21', { aliases: ['CVE-2021-23337'], summary: 'Command Injection in lodash', severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' }] });
  advisory('GHSA-p6mc-m468-83gw', 'npm', 'lodash', '4.17.19', { aliases: ['CVE-2020-8203'], summary: 'Prototype Pollution in lodash', severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H' }] });
  advisory('DEBIAN-CVE-2024-9143', 'Debian:12', 'openssl', '3.0.15-1~deb12u1', { upstream: ['CVE-2024-9143'] });
  advisory('DEBIAN-CVE-2024-13176', 'Debian:12', 'openssl', '3.0.16-1~deb12u1', { upstream: ['CVE-2024-13176'] });
  const db = ['--db', join(work, 'vuln.db')];
  for (const args of [
    ['inspect', target, ...cache],
    ['inspect', target, '--verify', ...cache],
    ['inspect', target, '--files', '--scope', 'all-layers', ...cache],
    ['sbom', target, ...cache],
    ['db', 'import', feeds, ...db],
    ['scan', target, ...db, ...cache],
  ]) {
    process.stdout.write(`\n$ drydock ${args.join(' ').replaceAll(work, '$TMP')}\n`);
    const r = spawnSync(process.execPath, [join(root, 'dist/cli.js'), ...args], { stdio: 'inherit' });
    if (r.status !== 0) process.exit(r.status ?? 3);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
