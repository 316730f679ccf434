import { existsSync, readFileSync } from 'node:fs';
import { zipSync, type Zippable } from 'fflate';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../image/open.js';
import type { Package, PackageMetadataJava } from '../../model/package.js';
import { runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { javaArchiveCataloger, nameFromFile, parseManifest, readCentralDirectory, readEntry } from './java.js';

const zip = (files: Record<string, string | Buffer>, level: 0 | 6 = 6): Buffer =>
  Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, [Buffer.from(v), { level }]])) as Zippable));
const pom = (g: string, a: string, v: string) => `#Generated\ngroupId=${g}\nartifactId=${a}\nversion=${v}\n`;
const gav = (p: Package) => `${p.namespace ?? ''}:${p.name}@${p.version}`;
const meta = (p: Package) => p.metadata as PackageMetadataJava;

describe('zip reading', () => {
  it('reads the central directory and entries (stored and deflated)', () => {
    for (const level of [0, 6] as const) {
      const z = zip({ 'a.txt': 'hello'.repeat(100), 'META-INF/MANIFEST.MF': 'x' }, level);
      const es = readCentralDirectory(z);
      expect(es.map((e) => e.name)).toEqual(['a.txt', 'META-INF/MANIFEST.MF']);
      expect(readEntry(z, es[0]!, 1000).toString()).toBe('hello'.repeat(100));
      expect(() => readEntry(z, es[0]!, 10)).toThrow(/over the limit/);
    }
    expect(() => readCentralDirectory(Buffer.from('not a zip at all, no end record'))).toThrow();
  });

  it('parses manifests and file names', () => {
    expect(parseManifest('Manifest-Version: 1.0\r\nBundle-SymbolicName: org.exa\r\n mple.lib;singleton:=true\r\n\r\nName: x\r\nA: b\r\n')).toEqual({
      'Manifest-Version': '1.0',
      'Bundle-SymbolicName': 'org.example.lib;singleton:=true',
    });
    expect(nameFromFile('/x/commons-lang3-3.12.0.jar')).toEqual({ name: 'commons-lang3', version: '3.12.0' });
    expect(nameFromFile('log4j-1.2-1.2.17.jar')).toEqual({ name: 'log4j-1.2', version: '1.2.17' });
    expect(nameFromFile('guava-31.1-jre.jar')).toEqual({ name: 'guava', version: '31.1-jre' });
    expect(nameFromFile('plain.jar')).toEqual({ name: 'plain' });
  });
});

describe('java archives', () => {
  it('finds pom.properties, manifests, file names, nested archives and records bad ones', async () => {
    const inner = zip({ 'META-INF/maven/org.inner/inner/pom.properties': pom('org.inner', 'inner', '1.0.0'), 'org/inner/A.class': 'x' });
    const deepest = zip({ 'META-INF/MANIFEST.MF': 'Implementation-Title: deep\nImplementation-Version: 9\n' });
    let chain = deepest;
    for (let i = 0; i < 5; i++) chain = zip({ [`lib/level${i}.jar`]: chain, 'META-INF/MANIFEST.MF': `Implementation-Title: level${i}\nImplementation-Version: ${i}\n` });
    const war = zip({
      'META-INF/maven/com.example/webapp/pom.properties': pom('com.example', 'webapp', '2.0.0'),
      'WEB-INF/lib/inner-1.0.0.jar': inner,
      'WEB-INF/lib/broken.jar': 'garbage',
    });
    const shaded = zip({
      'META-INF/maven/com.example/shaded/pom.properties': pom('com.example', 'shaded', '3.0.0'),
      'META-INF/maven/com.google.guava/guava/pom.properties': pom('com.google.guava', 'guava', '31.1-jre'),
    });
    const osgi = zip({ 'META-INF/MANIFEST.MF': 'Manifest-Version: 1.0\nBundle-SymbolicName: org.example.bundle;singleton:=true\nBundle-Version: 4.5.6\nBundle-License: Apache-2.0\n' });
    const byName = zip({ 'a.class': 'x' });
    const img = await buildImage({
      layers: [
        [
          { path: '/opt/app/webapp.war', content: war },
          { path: '/opt/lib/shaded-3.0.0.jar', content: shaded },
          { path: '/opt/lib/osgi.jar', content: osgi },
          { path: '/opt/lib/byname-7.8.9.jar', content: byName },
          { path: '/opt/lib/deep.jar', content: chain },
        ],
      ],
    });
    const r = await runCatalogerOnImage(javaArchiveCataloger, img);
    const by = new Map(r.packages.map((p) => [gav(p), p]));
    expect([...by.keys()].sort()).toEqual([
      ':level0@0',
      ':level1@1',
      ':level2@2',
      ':level3@3',
      ':level4@4',
      'com.example:shaded@3.0.0',
      'com.example:webapp@2.0.0',
      'com.google.guava:guava@31.1-jre',
      'org.example:bundle@4.5.6',
      'org.inner:inner@1.0.0',
      ':byname@7.8.9',
    ].sort());
    const innerPkg = by.get('org.inner:inner@1.0.0')!;
    expect(innerPkg.purl).toBe('pkg:maven/org.inner/inner@1.0.0');
    expect(meta(innerPkg).virtualPath).toBe('webapp.war!/WEB-INF/lib/inner-1.0.0.jar');
    expect(meta(innerPkg).sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(innerPkg.locations[0]).toMatchObject({ path: '/opt/app/webapp.war', role: 'archive' });
    expect(by.get('org.example:bundle@4.5.6')!.licenses).toEqual(['Apache-2.0']);
    const rel = (from: string, to: string) => r.relationships.some((x) => x.from === by.get(from)!.id && x.to === by.get(to)!.id && x.type === 'contains');
    expect(rel('com.example:webapp@2.0.0', 'org.inner:inner@1.0.0')).toBe(true);
    expect(rel('com.example:shaded@3.0.0', 'com.google.guava:guava@31.1-jre')).toBe(true);
    const issues = r.issues.map((i) => `${i.code} ${i.message}`);
    expect(issues.some((m) => m.includes('broken.jar: not a readable zip'))).toBe(true);
    expect(issues.some((m) => m.startsWith('LIMIT_EXCEEDED') && m.includes('nested deeper'))).toBe(true);
  });

  it('stops zip bombs: declared sizes over the limits are not inflated', async () => {
    const big = zip({ 'META-INF/maven/g/a/pom.properties': pom('g', 'a', '1') + '#'.repeat(5 * 1024 * 1024) });
    const img = await buildImage({ layers: [[{ path: '/bomb.jar', content: big }]] });
    const r = await runCatalogerOnImage(javaArchiveCataloger, img);
    expect(r.issues.some((i) => i.code === 'LIMIT_EXCEEDED')).toBe(true);
  });
});

// the jars of the corpus app image as debootstrap installed them (/usr/share/java)
const CORPUS = '/var/tmp/drydock-corpus/work/rootfs-app/usr/share/java';
const TRUTH = '/var/tmp/drydock-corpus/truth/app.jars.txt';

describe.skipIf(!existsSync(CORPUS) || !existsSync(TRUTH))('java differential: corpus app jars', () => {
  it('finds a package for every jar of the truth list and none elsewhere', async () => {
    const truth = new Set(readFileSync(TRUTH, 'utf8').split('\n').filter(Boolean));
    const img = await openImage(`dir:${CORPUS}`);
    try {
      const r = await runCatalogerOnImage(javaArchiveCataloger, img);
      const jars = new Set(r.packages.map((p) => p.locations[0]!.path.split('/').pop()!));
      console.log(`java differential: truth ${truth.size} jars, jars with packages ${jars.size}: ${r.packages.map((p) => `${gav(p)} (${meta(p).virtualPath})`).join(', ')}`);
      expect(jars).toEqual(truth);
      expect(r.issues).toEqual([]);
    } finally {
      await img.close();
    }
  });
});
