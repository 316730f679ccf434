import { describe, expect, it } from 'vitest';
import type { Package } from '../model/package.js';
import { addDerivedCpes, cpeValue, debianUpstreamVersion, deriveCpes, formatCpe, rpmSourceName } from './cpe.js';

// the formatted-string pattern of NIST's cpe-naming_2.3.xsd (NISTIR 7695 §6.2)
const FS_PUNC = `\\\\[\\\\\\*\\?!"#$%&'\\(\\)\\+,/:;<=>@\\[\\]\\^\`\\{\\|}~]`;
const FS_VALUE = `(((\\?*|\\*?)([a-zA-Z0-9\\-\\._]|(${FS_PUNC}))+(\\?*|\\*?))|[\\*\\-])`;
const CPE23 = new RegExp(`^cpe:2\\.3:[aho\\*\\-](:${FS_VALUE}){5}(:(([a-zA-Z]{2,3}(-([a-zA-Z]{2}|[0-9]{3}))?)|[\\*\\-]))(:${FS_VALUE}){4}$`);

const pkg = (p: Partial<Package> & Pick<Package, 'type' | 'name' | 'version'>): Package => ({ id: 'x', locations: [], foundBy: 't', ...p });

describe('catalog/cpe', () => {
  it('binds values as NISTIR 7695 formatted strings', () => {
    expect(cpeValue('')).toBe('*');
    expect(cpeValue('-')).toBe('-');
    expect(cpeValue('node.js')).toBe('node.js');
    expect(cpeValue('1:2.36+deb12u4~rc')).toBe('1\\:2.36\\+deb12u4\\~rc');
    expect(cpeValue('a b')).toBeUndefined();
    expect(cpeValue('tést')).toBeUndefined();
    expect(formatCpe('OpenSSL', 'OpenSSL', '3.0.15')).toBe('cpe:2.3:a:openssl:openssl:3.0.15:*:*:*:*:*:*:*');
    expect(formatCpe('x', 'y z', '1')).toBeUndefined();
  });

  it('upstream versions of OS packages: no epoch, no distribution revision', () => {
    expect(debianUpstreamVersion('1:2.36-9+deb12u4')).toBe('2.36');
    expect(debianUpstreamVersion('3.0.15-1~deb12u1')).toBe('3.0.15');
    expect(debianUpstreamVersion('2.1.0-2-1')).toBe('2.1.0-2');
    expect(debianUpstreamVersion('20230311')).toBe('20230311');
    expect(debianUpstreamVersion('1.2.3+dfsg-1')).toBe('1.2.3');
    expect(debianUpstreamVersion('2.9.14+dfsg1.1-2')).toBe('2.9.14');
    expect(debianUpstreamVersion('4.0~repack-3')).toBe('4.0');
    expect(debianUpstreamVersion('1.0+git20230101-1')).toBe('1.0+git20230101');
    expect(rpmSourceName('openssl-3.0.7-24.el9.src.rpm')).toBe('openssl');
    expect(rpmSourceName('python3-urllib3-1.26.5-3.el9.noarch.rpm')).toBeUndefined();
    expect(rpmSourceName('gpg-pubkey-1-2.nosrc.rpm')).toBe('gpg-pubkey');
  });

  const cases: [string, Package, string | undefined][] = [
    ['deb: the source package and its upstream version', pkg({ type: 'deb', name: 'libssl3', version: '3.0.15-1~deb12u1', metadata: { kind: 'dpkg', source: 'openssl', sourceVersion: '3.0.15-1~deb12u1' } }), 'cpe:2.3:a:openssl:openssl:3.0.15:*:*:*:*:*:*:*'],
    ['deb: a binNMU version is the source version', pkg({ type: 'deb', name: 'libfoo1', version: '1.2-3+b1', metadata: { kind: 'dpkg', source: 'foo', sourceVersion: '1.2-3' } }), 'cpe:2.3:a:foo:foo:1.2:*:*:*:*:*:*:*'],
    ['apk: origin, -rN dropped', pkg({ type: 'apk', name: 'libcrypto3', version: '3.3.2-r0', metadata: { kind: 'apk', origin: 'openssl' } }), 'cpe:2.3:a:openssl:openssl:3.3.2:*:*:*:*:*:*:*'],
    ['rpm: source rpm name, version without epoch and release', pkg({ type: 'rpm', name: 'openssl-libs', version: '1:3.0.7-24.el9', metadata: { kind: 'rpm', epoch: 1, release: '24.el9', sourceRpm: 'openssl-3.0.7-24.el9.src.rpm' } }), 'cpe:2.3:a:openssl:openssl:3.0.7:*:*:*:*:*:*:*'],
    ['npm: scope as vendor, node.js as target software', pkg({ type: 'npm', namespace: 'babel', name: 'core', version: '7.24.0' }), 'cpe:2.3:a:babel:core:7.24.0:*:*:*:*:node.js:*:*'],
    ['npm: unscoped', pkg({ type: 'npm', name: 'lodash', version: '4.17.21' }), 'cpe:2.3:a:lodash:lodash:4.17.21:*:*:*:*:node.js:*:*'],
    ['pypi: normalised name', pkg({ type: 'pypi', name: 'Jinja2', version: '3.1.4' }), 'cpe:2.3:a:jinja2:jinja2:3.1.4:*:*:*:*:python:*:*'],
    ['pypi: separators fold to _', pkg({ type: 'pypi', name: 'typing.extensions', version: '4.0.0' }), 'cpe:2.3:a:typing_extensions:typing_extensions:4.0.0:*:*:*:*:python:*:*'],
    ['maven: organisation from the group', pkg({ type: 'maven', namespace: 'org.apache.logging.log4j', name: 'log4j-core', version: '2.14.1' }), 'cpe:2.3:a:apache:log4j-core:2.14.1:*:*:*:*:*:*:*'],
    ['maven: single-label group', pkg({ type: 'maven', namespace: 'junit', name: 'junit', version: '4.13.2' }), 'cpe:2.3:a:junit:junit:4.13.2:*:*:*:*:*:*:*'],
    ['go: github owner and repository', pkg({ type: 'golang', name: 'github.com/gin-gonic/gin', version: 'v1.9.1' }), 'cpe:2.3:a:gin-gonic:gin:1.9.1:*:*:*:*:*:*:*'],
    ['go: major-version suffix', pkg({ type: 'golang', name: 'github.com/evanw/v2', version: 'v2.0.0' }), 'cpe:2.3:a:evanw:evanw:2.0.0:*:*:*:*:*:*:*'],
    ['go: golang.org/x', pkg({ type: 'golang', name: 'golang.org/x/net', version: 'v0.23.0' }), 'cpe:2.3:a:golang:net:0.23.0:*:*:*:*:*:*:*'],
    ['go: stdlib', pkg({ type: 'golang', name: 'stdlib', version: 'go1.22.5' }), 'cpe:2.3:a:golang:go:1.22.5:*:*:*:*:*:*:*'],
    ['go: other hosts', pkg({ type: 'golang', name: 'k8s.io/client-go', version: 'v0.30.1' }), 'cpe:2.3:a:k8s:client-go:0.30.1:*:*:*:*:*:*:*'],
    ['go: a pseudo-version names no release', pkg({ type: 'golang', name: 'github.com/a/b', version: 'v0.0.0-20240101000000-0123456789ab' }), undefined],
    ['go: (devel) main module', pkg({ type: 'golang', name: 'github.com/a/b', version: '(devel)' }), undefined],
    ['composer: vendor/package', pkg({ type: 'composer', namespace: 'symfony', name: 'http-kernel', version: '6.4.0' }), 'cpe:2.3:a:symfony:http-kernel:6.4.0:*:*:*:*:*:*:*'],
    ['gem', pkg({ type: 'gem', name: 'rack', version: '2.2.8' }), 'cpe:2.3:a:rack:rack:2.2.8:*:*:*:*:ruby:*:*'],
    ['cargo', pkg({ type: 'cargo', name: 'openssl', version: '0.10.60' }), 'cpe:2.3:a:openssl:openssl:0.10.60:*:*:*:*:rust:*:*'],
    ['nuget', pkg({ type: 'nuget', name: 'Newtonsoft.Json', version: '13.0.1' }), 'cpe:2.3:a:newtonsoft.json:newtonsoft.json:13.0.1:*:*:*:*:*:*:*'],
    ['a version the binding cannot carry gives none', pkg({ type: 'npm', name: 'x', version: '1.0.0 beta' }), undefined],
    ['generic packages get none here', pkg({ type: 'generic', name: 'x', version: '1' }), undefined],
  ];
  for (const [title, p, want] of cases) {
    it(title, () => {
      const got = deriveCpes(p);
      expect(got).toEqual(want ? [want] : []);
      for (const c of got) expect(c).toMatch(CPE23);
    });
  }

  it('escaped characters still match the NIST pattern', () => {
    const c = deriveCpes(pkg({ type: 'deb', name: 'x', version: '1:2.0~rc1+git5-3', metadata: { kind: 'dpkg', source: 'x', sourceVersion: '1:2.0~rc1+git5-3' } }));
    expect(c).toEqual(['cpe:2.3:a:x:x:2.0\\~rc1\\+git5:*:*:*:*:*:*:*']);
    expect(c[0]).toMatch(CPE23);
  });

  it('keeps the CPEs a cataloger set (file classifiers know the NVD names)', () => {
    const own = pkg({ type: 'npm', name: 'x', version: '1.0.0', cpes: ['cpe:2.3:a:nodejs:node.js:20.1.0:*:*:*:*:*:*:*'] });
    const plain = pkg({ type: 'npm', name: 'y', version: '1.0.0' });
    addDerivedCpes([own, plain]);
    expect(own.cpes).toEqual(['cpe:2.3:a:nodejs:node.js:20.1.0:*:*:*:*:*:*:*']);
    expect(plain.cpes).toEqual(['cpe:2.3:a:y:y:1.0.0:*:*:*:*:node.js:*:*']);
  });
});

describe('catalog/cpe: the test pattern itself', () => {
  it('refuses unquoted punctuation and wrong arity', () => {
    expect('cpe:2.3:a:x:x:1\\:2:*:*:*:*:*:*:*').toMatch(CPE23);
    expect('cpe:2.3:a:x:x:1:2:*:*:*:*:*:*:*').not.toMatch(CPE23);
    expect('cpe:2.3:a:x:x:1+2:*:*:*:*:*:*:*').not.toMatch(CPE23);
    expect('cpe:2.3:a:x:x:1:*:*:*:*:*:*').not.toMatch(CPE23);
    expect('cpe:2.3:a:x:x:1 2:*:*:*:*:*:*:*').not.toMatch(CPE23);
  });
});
