import { describe, expect, it } from 'vitest';
import { buildImage } from '../../test/testkit/index.js';
import { detectDistro, parseOsRelease } from './distro.js';
import { runCatalogerOnImage } from './testing.js';
import type { Cataloger } from './types.js';

const reader = (files: Record<string, string>) => async (p: string) => (p in files ? Buffer.from(files[p]!) : undefined);

describe('os-release', () => {
  it('parses quotes, escapes and comments', () => {
    const kv = parseOsRelease('# comment\nNAME="Debian \\"GNU\\"/Linux"\nID=debian\nX=\'single $x\'\nY=bare\\ word # trailing\n\nbad line\n');
    expect(kv).toEqual({ NAME: 'Debian "GNU"/Linux', ID: 'debian', X: 'single $x', Y: 'bare word' });
  });

  it('reads debian, ubuntu, rhel and alpine os-release', async () => {
    expect(
      await detectDistro(reader({ '/etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n' })),
    ).toEqual({ id: 'debian', versionId: '12', versionCodename: 'bookworm', idLike: [], prettyName: 'Debian GNU/Linux 12 (bookworm)', name: 'Debian GNU/Linux', source: '/etc/os-release' });
    const u = await detectDistro(reader({ '/usr/lib/os-release': 'ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\nUBUNTU_CODENAME=noble\n' }));
    expect(u).toMatchObject({ id: 'ubuntu', idLike: ['debian'], versionId: '24.04', versionCodename: 'noble', source: '/usr/lib/os-release' });
    const r = await detectDistro(reader({ '/etc/os-release': 'ID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\nCPE_NAME="cpe:/o:redhat:enterprise_linux:9::baseos"\n' }));
    expect(r).toMatchObject({ id: 'rhel', versionId: '9.4', idLike: ['fedora'], cpeName: 'cpe:/o:redhat:enterprise_linux:9::baseos' });
    expect(await detectDistro(reader({ '/etc/os-release': 'ID=alpine\nVERSION_ID=3.20.0\n' }))).toMatchObject({ id: 'alpine', versionId: '3.20.0' });
  });

  it('falls back to release files', async () => {
    expect(await detectDistro(reader({ '/etc/alpine-release': '3.19.1\n' }))).toMatchObject({ id: 'alpine', versionId: '3.19.1', source: '/etc/alpine-release' });
    expect(await detectDistro(reader({ '/etc/debian_version': '11.9\n' }))).toMatchObject({ id: 'debian', versionId: '11' });
    expect(await detectDistro(reader({ '/etc/debian_version': 'trixie/sid\n' }))).toMatchObject({ id: 'debian', versionCodename: 'trixie' });
    expect(await detectDistro(reader({ '/etc/redhat-release': 'CentOS Linux release 7.9.2009 (Core)\n' }))).toMatchObject({ id: 'centos', versionId: '7.9.2009' });
    expect(await detectDistro(reader({ '/etc/lsb-release': 'DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=18.04\nDISTRIB_CODENAME=bionic\n' }))).toMatchObject({ id: 'ubuntu', versionId: '18.04' });
    expect(await detectDistro(reader({ '/etc/os-release': '# nothing\n' }))).toBeUndefined();
    expect(await detectDistro(reader({}))).toBeUndefined();
  });
});

describe('runCatalogerOnImage', () => {
  it('gives a cataloger its files, contents, locations and the distro', async () => {
    const img = await buildImage({
      layers: [
        [{ path: '/etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' }, { path: '/x/a.txt', content: 'old' }],
        [{ path: '/x/a.txt', content: 'new' }, { path: '/x/b.bin', content: 'no' }],
      ],
    });
    const probe: Cataloger = {
      name: 'probe',
      version: '1',
      tags: ['os'],
      selector: { globs: ['/x/*.txt'] },
      async catalog(ctx) {
        const f = ctx.files();
        expect(f.map((x) => x.path)).toEqual(['/x/a.txt']);
        expect((await ctx.read('/x/a.txt'))?.toString()).toBe('new');
        const loc = ctx.locate('/x/a.txt', 'database');
        expect(loc).toMatchObject({ path: '/x/a.txt', layer: 1, role: 'database' });
        expect(loc.layerDigest).toMatch(/^sha256:/);
        expect(ctx.distro?.id).toBe('debian');
        return { packages: [] };
      },
    };
    const r = await runCatalogerOnImage(probe, img);
    expect(r.distro?.versionId).toBe('12');
  });
});
