import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../../../test/testkit/index.js';
import { openImage } from '../../image/open.js';
import type { PackageMetadataDpkg } from '../../model/package.js';
import { runCatalogerOnImage } from '../testing.js';
import { debianLicenseToSpdx, licensesFromCopyright } from './deb-license.js';
import { dpkgCataloger, parseDepends } from './dpkg.js';

const OS_RELEASE = { path: '/etc/os-release', content: 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n' };

const STATUS = `Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u9
Depends: libgcc-s1
Description: GNU C Library
 Contains the standard libraries.
 .
 More text.

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
Provides: libgcc1 (= 1:12.2.0-14)
Pre-Depends: libc6 (>= 2.35)

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: openssl
Status: hold ok installed
Architecture: amd64
Version: 3.0.15-1~deb12u1
Depends: libc6 (>= 2.34), libgcc1 | nothing, mawk | awk, missing-pkg

Package: mawk
Status: install ok installed
Architecture: amd64
Version: 1.3.4
Provides: awk
`;

const COPYRIGHT = `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: OpenSSL

Files: *
Copyright: 1998-2024 The OpenSSL Project
License: Apache-2.0

Files: debian/*
Copyright: Someone
License: GPL-2+ or Artistic

License: Apache-2.0
 Text
`;

describe('dpkg cataloger', () => {
  it('reads status, file lists, licenses and dependencies', async () => {
    const img = await buildImage({
      layers: [
        [OS_RELEASE, { path: '/var/lib/dpkg/status', content: 'Package: old\nStatus: install ok installed\nVersion: 1\n' }],
        [
          { path: '/var/lib/dpkg/status', content: STATUS },
          { path: '/var/lib/dpkg/info/libc6:amd64.list', content: '/.\n/lib\n/lib/x86_64-linux-gnu/libc.so.6\n' },
          { path: '/var/lib/dpkg/info/libc6:amd64.md5sums', content: `${'a'.repeat(32)}  lib/x86_64-linux-gnu/libc.so.6\n` },
          { path: '/lib/x86_64-linux-gnu/libc.so.6', content: 'elf' },
          { path: '/var/lib/dpkg/info/openssl.list', content: '/usr/bin/openssl\n' },
          { path: '/usr/share/doc/openssl/copyright', content: COPYRIGHT },
        ],
      ],
    });
    const r = await runCatalogerOnImage(dpkgCataloger, img);
    expect(r.issues).toEqual([]);
    const names = r.packages.map((p) => `${p.name}@${p.version}`).sort();
    expect(names).toEqual(['libc6@2.36-9+deb12u9', 'libgcc-s1@12.2.0-14', 'mawk@1.3.4', 'openssl@3.0.15-1~deb12u1']);
    const ssl = r.packages.find((p) => p.name === 'openssl')!;
    expect(ssl.purl).toBe('pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12');
    expect(ssl.licenses).toEqual(['Apache-2.0', 'Artistic-1.0-Perl', 'GPL-2.0-or-later']);
    expect(ssl.namespace).toBe('debian');
    expect(ssl.foundBy).toBe('dpkg');
    expect(ssl.locations[0]).toMatchObject({ path: '/var/lib/dpkg/status', layer: 1, role: 'database' });
    const libc = r.packages.find((p) => p.name === 'libc6')!;
    expect(libc.purl).toBe('pkg:deb/debian/libc6@2.36-9+deb12u9?arch=amd64&distro=debian-12&upstream=glibc');
    const lm = libc.metadata as PackageMetadataDpkg;
    expect(lm).toMatchObject({ source: 'glibc', sourceVersion: '2.36-9+deb12u9', architecture: 'amd64' });
    expect(lm.files).toEqual([{ path: '/lib/x86_64-linux-gnu/libc.so.6', digest: `md5:${'a'.repeat(32)}` }]);
    expect(libc.introducedBy?.index).toBe(1);
    const gcc = r.packages.find((p) => p.name === 'libgcc-s1')!;
    expect(gcc.metadata).toMatchObject({ source: 'gcc-12', sourceVersion: '12.2.0-14' });
    const id = (n: string) => r.packages.find((p) => p.name === n)!.id;
    const rel = r.relationships.map((x) => `${x.from}>${x.to}`).sort();
    expect(rel).toEqual(
      [
        `${id('libc6')}>${id('libgcc-s1')}`,
        `${id('libgcc-s1')}>${id('libc6')}`,
        `${id('openssl')}>${id('libc6')}`,
        `${id('openssl')}>${id('libgcc-s1')}`, // libgcc1 provided by libgcc-s1
        `${id('openssl')}>${id('mawk')}`,
      ].sort(),
    );
  });

  it('reads distroless status.d with md5sums', async () => {
    const img = await buildImage({
      layers: [
        [
          OS_RELEASE,
          { path: '/var/lib/dpkg/status.d/base-files', content: 'Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n' },
          { path: '/var/lib/dpkg/status.d/base-files.md5sums', content: `${'b'.repeat(32)}  etc/issue\n` },
          { path: '/var/lib/dpkg/status.d/tzdata', content: 'Package: tzdata\nVersion: 2024a-0+deb12u1\nArchitecture: all\n' },
        ],
      ],
    });
    const r = await runCatalogerOnImage(dpkgCataloger, img);
    expect(r.issues).toEqual([]);
    expect(r.packages.map((p) => p.name).sort()).toEqual(['base-files', 'tzdata']);
    const bf = r.packages.find((p) => p.name === 'base-files')!;
    expect((bf.metadata as PackageMetadataDpkg).files).toEqual([{ path: '/etc/issue', digest: `md5:${'b'.repeat(32)}` }]);
    expect(bf.locations.map((l) => l.path)).toEqual(['/var/lib/dpkg/status.d/base-files', '/var/lib/dpkg/status.d/base-files.md5sums']);
  });

  it('records issues for truncated and garbage databases and carries on', async () => {
    const truncated = STATUS.slice(0, STATUS.indexOf('Package: mawk') + 'Package: ma'.length);
    const img = await buildImage({
      layers: [
        [
          OS_RELEASE,
          { path: '/var/lib/dpkg/status', content: truncated },
          { path: '/var/lib/dpkg/status.d/garbage', content: Buffer.from([0, 1, 2, 3, 255, 0]) },
          { path: '/var/lib/dpkg/status.d/text', content: 'this is not\na control file\n' },
          { path: '/var/lib/dpkg/status.d/ok', content: 'Package: ok\nVersion: 1\n' },
        ],
      ],
    });
    const r = await runCatalogerOnImage(dpkgCataloger, img);
    expect(r.packages.map((p) => p.name).sort()).toEqual(['libc6', 'libgcc-s1', 'ok', 'openssl']);
    expect(r.issues.every((i) => i.code === 'ARCHIVE_CORRUPT')).toBe(true);
    const paths = r.issues.map((i) => i.path);
    expect(paths).toContain('/var/lib/dpkg/status');
    expect(paths).toContain('/var/lib/dpkg/status.d/garbage');
    expect(paths).toContain('/var/lib/dpkg/status.d/text');
    expect(r.issues.find((i) => i.path === '/var/lib/dpkg/status')!.message).toMatch(/truncated/);
  });

  it('parses dependency fields', () => {
    expect(parseDepends('a (>= 1) | b:any [amd64], c <!nocheck>,\n d')).toEqual([[{ name: 'a' }, { name: 'b', arch: 'any' }], [{ name: 'c' }], [{ name: 'd' }]]);
  });

  it('maps Debian license names', () => {
    expect(debianLicenseToSpdx('GPL-2+')).toBe('GPL-2.0-or-later');
    expect(debianLicenseToSpdx('GPL-2')).toBe('GPL-2.0-only');
    expect(debianLicenseToSpdx('LGPL-2.1+')).toBe('LGPL-2.1-or-later');
    expect(debianLicenseToSpdx('Expat')).toBe('MIT');
    expect(debianLicenseToSpdx('BSD-3-clause')).toBe('BSD-3-Clause');
    expect(debianLicenseToSpdx('public-domain')).toBeUndefined();
    expect(licensesFromCopyright('This is free software; see /usr/share/common-licenses/GPL-3.\n')).toEqual(['GPL-3.0-only']);
  });
});

const CORPUS = process.env.DRYDOCK_CORPUS ?? '/var/tmp/drydock-corpus';

function truth(name: string): Set<string> {
  const s = new Set<string>();
  for (const line of readFileSync(join(CORPUS, 'truth', `${name}.dpkg.tsv`), 'utf8').split('\n')) {
    if (line.trim()) s.add(line.split('\t').join('\t'));
  }
  return s;
}

describe.skipIf(!existsSync(join(CORPUS, 'images')))('dpkg against the corpus', () => {
  for (const name of ['base', 'app']) {
    it.skipIf(!existsSync(join(CORPUS, 'truth', `${name}.dpkg.tsv`)))(`${name}: same packages as dpkg-query`, async () => {
      const image = await openImage(`oci-dir:${join(CORPUS, 'images', name)}:latest`);
      try {
        const r = await runCatalogerOnImage(dpkgCataloger, image);
        const got = new Set(
          r.packages.map((p) => {
            const m = p.metadata as PackageMetadataDpkg;
            return [p.name, p.version, m.architecture, m.source, m.sourceVersion].join('\t');
          }),
        );
        const want = truth(name);
        const missing = [...want].filter((x) => !got.has(x));
        const extra = [...got].filter((x) => !want.has(x));
        console.log(`${name}: ${got.size} packages found, ${want.size} expected, ${missing.length} missing, ${extra.length} extra`);
        expect({ missing, extra }).toEqual({ missing: [], extra: [] });
        expect(r.issues).toEqual([]);
        const withFiles = r.packages.filter((p) => (p.metadata as PackageMetadataDpkg).files?.length).length;
        const withLicenses = r.packages.filter((p) => p.licenses?.length).length;
        console.log(`${name}: ${withFiles} with file lists, ${withLicenses} with licenses, ${r.relationships.length} relationships`);
        expect(withFiles).toBeGreaterThan(r.packages.length * 0.9);
      } finally {
        await image.close();
      }
    }, 120_000);
  }

  it.skipIf(!existsSync(join(CORPUS, 'images', 'distroless')))('distroless: one package per status.d file', async () => {
    const image = await openImage(`oci-dir:${join(CORPUS, 'images', 'distroless')}:latest`);
    try {
      const r = await runCatalogerOnImage(dpkgCataloger, image);
      const { buildImageFilesystem } = await import('../../layers/filesystem.js');
      const fs = await buildImageFilesystem(image, { cache: null });
      const all = fs.squashed().filter((f) => f.path.startsWith('/var/lib/dpkg/status.d/') && !f.path.endsWith('.md5sums') && f.type === 'file');
      await fs.close();
      // empty status.d files name no package: each one is an issue instead
      const dbFiles = all.filter((f) => f.size > 0);
      const empty = all.filter((f) => f.size === 0).map((f) => f.path);
      console.log(`distroless: ${all.length} status.d files (${empty.length} empty), ${r.packages.length} packages`);
      expect(r.issues.map((i) => i.path).sort()).toEqual(empty.sort());
      expect(r.packages.length).toBeGreaterThan(0);
      expect(new Set(r.packages.map((p) => p.locations[0]!.path))).toEqual(new Set(dbFiles.map((f) => f.path)));
    } finally {
      await image.close();
    }
  }, 120_000);
});
