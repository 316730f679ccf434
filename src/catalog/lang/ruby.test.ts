import { describe, expect, it } from 'vitest';
import type { Package } from '../../model/package.js';
import { runCatalogerOnDir, runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { parseGemspec, rubyInstalledCataloger, rubyLockCataloger, rubyStrings } from './ruby.js';

const nv = (p: Package) => `${p.name}@${p.version}`;

const RAKE = `# -*- encoding: utf-8 -*-
# stub: rake 13.0.6 ruby lib

Gem::Specification.new do |s|
  s.name = "rake".freeze
  s.version = "13.0.6"

  s.required_rubygems_version = Gem::Requirement.new(">= 1.3.2".freeze) if s.respond_to? :required_rubygems_version=
  s.authors = ["Hiroshi SHIBATA".freeze, "Eric Hodel".freeze]
  s.homepage = "https://github.com/ruby/rake".freeze
  s.licenses = ["MIT".freeze]
  s.add_runtime_dependency(%q<json>.freeze, ["~> 2.0"])
  s.add_development_dependency(%q<minitest>.freeze, [">= 0"])
end
`;
const JSON_GEM = `Gem::Specification.new do |spec|
  spec.name = 'json'
  spec.version = Gem::Version.new("2.6.3")
  spec.license = "Ruby"
end
`;

describe('ruby gemspecs', () => {
  it('parses the DSL subset', () => {
    expect(rubyStrings(`["a".freeze, 'b', %q<c>.freeze, %q{d}]`)).toEqual(['a', 'b', 'c', 'd']);
    expect(parseGemspec(RAKE)).toEqual({ name: 'rake', version: '13.0.6', licenses: ['MIT'], homepage: 'https://github.com/ruby/rake', deps: ['json'] });
    expect(parseGemspec(JSON_GEM)).toMatchObject({ name: 'json', version: '2.6.3', licenses: ['Ruby'] });
  });

  it('reports installed gems with runtime edges in the same specifications directory', async () => {
    const dir = '/usr/local/lib/ruby/gems/3.2.0/specifications';
    const img = await buildImage({
      layers: [
        [
          { path: `${dir}/rake-13.0.6.gemspec`, content: RAKE },
          { path: `${dir}/json-2.6.3.gemspec`, content: JSON_GEM },
          { path: `${dir}/broken-1.gemspec`, content: 'Gem::Specification.new do |s|\nend\n' },
          { path: '/app/my.gemspec', content: RAKE },
          { path: '/usr/local/lib/ruby/gems/3.2.0/specifications/default/erb-4.0.2.gemspec', content: 'Gem::Specification.new do |s|\n  s.name = "erb".freeze\n  s.version = "4.0.2"\nend\n' },
        ],
      ],
    });
    const r = await runCatalogerOnImage(rubyInstalledCataloger, img);
    expect(r.packages.map(nv).sort()).toEqual(['erb@4.0.2', 'json@2.6.3', 'rake@13.0.6']);
    const rake = r.packages.find((p) => p.name === 'rake')!;
    expect(rake).toMatchObject({ type: 'gem', purl: 'pkg:gem/rake@13.0.6', licenses: ['MIT'] });
    expect(r.relationships).toEqual([{ from: rake.id, to: r.packages.find((p) => p.name === 'json')!.id, type: 'depends-on' }]);
    expect(r.issues.map((i) => i.path)).toEqual([`${dir}/broken-1.gemspec`]);
  });
});

describe('Gemfile.lock (dir: targets)', () => {
  const LOCK = `GIT
  remote: https://github.com/x/y.git
  revision: abc
  specs:
    y (0.1.0)

GEM
  remote: https://rubygems.org/
  specs:
    actionpack (7.0.4)
      rack (~> 2.0, >= 2.2.0)
      nokogiri (>= 1.6)
    nokogiri (1.13.10-x86_64-linux)
      racc (~> 1.4)
    rack (2.2.4)
    racc (1.6.1)

PLATFORMS
  x86_64-linux

DEPENDENCIES
  actionpack
  y!

BUNDLED WITH
   2.3.26
`;
  it('reads specs, platforms and nested dependency edges', async () => {
    const r = await runCatalogerOnDir(rubyLockCataloger, { 'Gemfile.lock': LOCK });
    expect(r.packages.map(nv).sort()).toEqual(['actionpack@7.0.4', 'nokogiri@1.13.10', 'racc@1.6.1', 'rack@2.2.4', 'y@0.1.0']);
    expect(r.packages.find((p) => p.name === 'nokogiri')).toMatchObject({ purl: 'pkg:gem/nokogiri@1.13.10?platform=x86_64-linux' });
    const n = (id: string) => r.packages.find((p) => p.id === id)!.name;
    expect(r.relationships.map((e) => `${n(e.from)}>${n(e.to)}`).sort()).toEqual(['actionpack>nokogiri', 'actionpack>rack', 'nokogiri>racc']);
  });

  it('is silent on images', async () => {
    const img = await buildImage({ layers: [[{ path: '/app/Gemfile.lock', content: LOCK }]] });
    expect((await runCatalogerOnImage(rubyLockCataloger, img)).packages).toEqual([]);
  });
});
