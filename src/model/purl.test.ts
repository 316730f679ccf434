import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPackageUrlLib, packageUrl, packageUrlCollatorChecked } from './purl.js';

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

describe('packageurl-js loaded with a code-unit collator', () => {
  const req = createRequire(import.meta.url);
  /** a fresh instance of packageurl-js, loaded as loadPackageUrlLib does with or without the stand-in */
  const fresh = (codeUnitCollator: boolean) => {
    for (const k of Object.keys(req.cache)) if (k.includes(`${sep}packageurl-js${sep}`)) delete req.cache[k];
    return loadPackageUrlLib({ codeUnitCollator });
  };

  it('is what this installation does, and puts Intl.Collator back', () => {
    // an upgrade of packageurl-js turns the stand-in off until the comparison below is redone for it
    expect(packageUrlCollatorChecked()).toBe(true);
    const before = Intl.Collator;
    fresh(true);
    expect(Intl.Collator).toBe(before);
    expect(new Intl.Collator('da').compare('aa', 'z')).toBe(1);
  });

  it('writes and reads every package URL as the real collator does', () => {
    const real = fresh(false);
    const shim = fresh(true);
    expect(shim).not.toBe(real);
    // the package URLs of the SBOMs in the tests (ours and other tools'), and odd ones
    const texts = new Set<string>();
    for (const dir of ['../sbom/testdata', '../sbom/decode/testdata', '../report/testdata']) {
      const abs = join(import.meta.dirname, dir);
      for (const f of readdirSync(abs)) {
        if (!f.endsWith('.json')) continue;
        for (const m of readFileSync(join(abs, f), 'utf8').matchAll(/"(pkg:[^"\\\\]+)"/g)) texts.add(m[1]!);
      }
    }
    expect(texts.size).toBeGreaterThan(20);
    const odd: [string, string | null, string, string | null, Record<string, string> | null, string | null][] = [
      ['npm', '@Scope', 'Ünïcode-名前', '1.0.0+build', { zz: 'é', aa: 'a b', A_b: '1', 'x.y': 'c/d' }, 'lib/x'],
      ['oci', null, 'Alpine', 'sha256:abc', { repository_url: 'docker.io/library/alpine', tag: '3.20', arch: 'amd64' }, null],
      ['maven', 'org.Apache', 'commons-io', '2.0', { classifier: 'sources', type: 'jar' }, null],
      ['pypi', null, 'Django_Rest.Framework', '3.0', null, null],
      ['generic', 'a/b', 'c', '1', { checksum: 'sha1:0,sha256:1', download_url: 'https://x/y?z=1&q=2' }, 'sub/path'],
    ];
    for (const [type, ns, name, version, q, sub] of odd) {
      const make = (lib: typeof real) => new lib.PackageURL(type, ns, name, version, q, sub).toString();
      texts.add(make(real));
      expect(make(shim)).toBe(make(real));
    }
    for (const t of texts) {
      const a = (() => { try { return JSON.stringify(real.PackageURL.fromString(t)) + real.PackageURL.fromString(t).toString(); } catch (e) { return `error ${(e as Error).message}`; } })();
      const b = (() => { try { return JSON.stringify(shim.PackageURL.fromString(t)) + shim.PackageURL.fromString(t).toString(); } catch (e) { return `error ${(e as Error).message}`; } })();
      expect(b, t).toBe(a);
    }
  });
});
