import { describe, expect, it } from 'vitest';
import { buildImage } from '../../../test/testkit/index.js';
import type { PackageMetadataApk } from '../../model/package.js';
import { runCatalogerOnImage } from '../testing.js';
import { apkCataloger } from './apk.js';

const sha1 = Buffer.alloc(20, 7);
const DB = `C:Q1abc=
P:musl
V:1.2.5-r0
A:x86_64
S:383152
I:622592
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712318813
c:5bcb4f5b
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1${sha1.toString('base64')}
R:libc.musl-x86_64.so.1

P:busybox-binsh
V:1.36.1-r29
A:x86_64
L:GPL-2.0-only
o:busybox
D:busybox=1.36.1-r29 so:libc.musl-x86_64.so.1 !conflicting
p:/bin/sh cmd:sh=1.36.1-r29
F:bin
R:sh

P:busybox
V:1.36.1-r29
A:x86_64
L:GPL-2.0-only
o:busybox
D:so:libc.musl-x86_64.so.1
`;

describe('apk cataloger', () => {
  it('reads the installed database', async () => {
    const img = await buildImage({ layers: [[{ path: '/etc/os-release', content: 'ID=alpine\nVERSION_ID=3.20.0\n' }, { path: '/lib/apk/db/installed', content: DB }]] });
    const r = await runCatalogerOnImage(apkCataloger, img);
    expect(r.issues).toEqual([]);
    expect(r.packages.map((p) => p.name)).toEqual(['musl', 'busybox-binsh', 'busybox']);
    const musl = r.packages[0]!;
    expect(musl.purl).toBe('pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.0');
    expect(musl.licenses).toEqual(['MIT']);
    const mm = musl.metadata as PackageMetadataApk;
    expect(mm.files).toEqual([{ path: '/lib/ld-musl-x86_64.so.1', digest: `sha1:${sha1.toString('hex')}` }, { path: '/lib/libc.musl-x86_64.so.1' }]);
    expect(mm.provides).toEqual(['so:libc.musl-x86_64.so.1=1']);
    const binsh = r.packages[1]!;
    expect(binsh.purl).toBe('pkg:apk/alpine/busybox-binsh@1.36.1-r29?arch=x86_64&distro=alpine-3.20.0&upstream=busybox');
    const id = (n: string) => r.packages.find((p) => p.name === n)!.id;
    expect(r.relationships.map((x) => `${x.from}>${x.to}`).sort()).toEqual(
      [`${id('busybox-binsh')}>${id('busybox')}`, `${id('busybox-binsh')}>${id('musl')}`, `${id('busybox')}>${id('musl')}`].sort(),
    );
  });

  it('records issues for truncated and garbage databases', async () => {
    const cut = DB.slice(0, DB.indexOf('P:busybox\n') + 4);
    const img = await buildImage({ layers: [[{ path: '/lib/apk/db/installed', content: cut + '\ngarbage line here\n' }]] });
    const r = await runCatalogerOnImage(apkCataloger, img);
    expect(r.packages.map((p) => p.name)).toEqual(['musl', 'busybox-binsh']);
    expect(r.issues.length).toBeGreaterThan(0);
    const g = await runCatalogerOnImage(apkCataloger, await buildImage({ layers: [[{ path: '/lib/apk/db/installed', content: Buffer.from([0, 1, 2]) }]] }));
    expect(g.packages).toEqual([]);
    expect(g.issues[0]).toMatchObject({ code: 'ARCHIVE_CORRUPT', path: '/lib/apk/db/installed' });
  });
});
