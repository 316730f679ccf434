import { describe, expect, it } from 'vitest';
import { packageUrl } from './purl.js';

describe('packageUrl', () => {
  it('writes the qualifiers the ecosystems use, leaving out undefined and empty ones', () => {
    expect(packageUrl('deb', 'debian', 'openssl', '3.0.15-1~deb12u1', { arch: 'amd64', distro: 'debian-12', upstream: undefined, epoch: '' })).toBe(
      'pkg:deb/debian/openssl@3.0.15-1~deb12u1?arch=amd64&distro=debian-12',
    );
    expect(packageUrl('rpm', 'redhat', 'bash', '5.1.8-9.el9', { epoch: '1', arch: 'x86_64' })).toBe('pkg:rpm/redhat/bash@5.1.8-9.el9?arch=x86_64&epoch=1');
  });

  it('encodes namespaces and names, and leaves out an empty version', () => {
    expect(packageUrl('npm', '@babel', 'core', '7.26.0')).toBe('pkg:npm/%40babel/core@7.26.0');
    expect(packageUrl('golang', 'github.com/spf13', 'cobra', 'v1.8.1')).toBe('pkg:golang/github.com/spf13/cobra@v1.8.1');
    expect(packageUrl('pypi', undefined, 'requests', '')).toBe('pkg:pypi/requests');
  });

  it('is undefined when the parts do not make a package URL', () => {
    expect(packageUrl('npm', undefined, '', '1.0.0')).toBeUndefined();
    expect(packageUrl('', undefined, 'x', '1.0.0')).toBeUndefined();
  });
});
