import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Package } from '../../model/package.js';
import { runCatalogerOnDir } from '../testing.js';

import { javaDeclaredCataloger, parseXml } from './java-declared.js';

const nv = (p: Package) => `${p.namespace ? `${p.namespace}:` : ""}${p.name}@${p.version}`;


describe('pom.xml and gradle.lockfile (dir: targets)', () => {
  const POM = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <!-- a comment with <dependency> inside -->
  <modelVersion>4.0.0</modelVersion>
  <parent><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-parent</artifactId><version>3.2.0</version></parent>
  <groupId>com.example</groupId>
  <artifactId>app</artifactId>
  <version>1.0.0</version>
  <properties>
    <jackson.version>2.16.1</jackson.version>
    <guava.version>\${guava.major}.0-jre</guava.version>
    <guava.major>33</guava.major>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.9</version></dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-databind</artifactId><version>\${jackson.version}</version></dependency>
    <dependency><groupId>com.google.guava</groupId><artifactId>guava</artifactId><version>\${guava.version}</version></dependency>
    <dependency><groupId>\${project.groupId}</groupId><artifactId>app-core</artifactId><version>\${project.version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId></dependency>
    <dependency><groupId>junit</groupId><artifactId>junit</artifactId><version>4.13.2</version><scope>test</scope></dependency>
    <dependency><groupId>org.springframework.boot</groupId><artifactId>spring-boot-starter-web</artifactId></dependency>
    <dependency><groupId>x</groupId><artifactId>y</artifactId><version>\${undefined.prop}</version></dependency>
  </dependencies>
  <build><plugins><plugin><groupId>p</groupId><artifactId>q</artifactId><version>1</version>
    <dependencies><dependency><groupId>plugin</groupId><artifactId>dep</artifactId><version>9</version></dependency></dependencies>
  </plugin></plugins></build>
</project>
`;
  it('parses xml', () => {
    const d = parseXml('<a x="1>2"><b>t&amp;<![CDATA[<c>]]></b><c/></a>');
    expect(d.children[0]!.children.map((c) => [c.name, c.text])).toEqual([['b', 't&<c>'], ['c', '']]);
    expect(() => parseXml('<a><b></a>')).toThrow();
  });

  it('reports pom dependencies with resolved properties, unresolvable ones as issues', async () => {
    const r = await runCatalogerOnDir(javaDeclaredCataloger, { 'pom.xml': POM });
    expect(r.packages.map(nv).sort()).toEqual([
      'com.example:app-core@1.0.0',
      'com.fasterxml.jackson.core:jackson-databind@2.16.1',
      'com.google.guava:guava@33.0-jre',
      'junit:junit@4.13.2',
      'org.slf4j:slf4j-api@2.0.9',
    ]);
    expect(r.packages.find((p) => p.name === 'guava')).toMatchObject({ type: 'maven', purl: 'pkg:maven/com.google.guava/guava@33.0-jre' });
    expect(r.packages.find((p) => p.name === 'junit')!.metadata).toMatchObject({ manifest: { scope: 'test' } });
    expect(r.issues.map((i) => i.message).join('\n')).toMatch(/spring-boot-starter-web[\s\S]*x:y/);
    expect(r.issues).toHaveLength(2);
  });

  it('inherits properties and dependencyManagement from parent poms in the tree (relativePath, default ../pom.xml)', async () => {
    const root = `<project><groupId>com.example</groupId><artifactId>parent</artifactId><version>2.0.0</version><packaging>pom</packaging>
  <parent><groupId>com.example</groupId><artifactId>bom</artifactId><version>1</version><relativePath>bom/pom.xml</relativePath></parent>
  <properties><jackson.version>2.15.0</jackson.version><netty.version>4.1.100.Final</netty.version></properties>
  <dependencyManagement><dependencies>
    <dependency><groupId>io.netty</groupId><artifactId>netty-codec</artifactId><version>\${netty.version}</version></dependency>
  </dependencies></dependencyManagement>
</project>`;
    const bom = `<project><groupId>com.example</groupId><artifactId>bom</artifactId><version>1</version>
  <dependencyManagement><dependencies>
    <dependency><groupId>org.yaml</groupId><artifactId>snakeyaml</artifactId><version>2.2</version></dependency>
  </dependencies></dependencyManagement>
</project>`;
    const module = `<project><parent><groupId>com.example</groupId><artifactId>parent</artifactId><version>2.0.0</version></parent>
  <artifactId>service</artifactId>
  <properties><jackson.version>2.16.1</jackson.version></properties>
  <dependencies>
    <dependency><groupId>com.fasterxml.jackson.core</groupId><artifactId>jackson-core</artifactId><version>\${jackson.version}</version></dependency>
    <dependency><groupId>io.netty</groupId><artifactId>netty-codec</artifactId></dependency>
    <dependency><groupId>org.yaml</groupId><artifactId>snakeyaml</artifactId></dependency>
    <dependency><groupId>\${project.groupId}</groupId><artifactId>api</artifactId><version>\${project.version}</version></dependency>
  </dependencies>
</project>`;
    // a parent whose coordinates differ from the <parent> element is not this module's parent (Maven checks)
    const stranger = `<project><parent><groupId>com.example</groupId><artifactId>other-parent</artifactId><version>1</version></parent>
  <artifactId>stranger</artifactId>
  <dependencies><dependency><groupId>io.netty</groupId><artifactId>netty-codec</artifactId></dependency></dependencies>
</project>`;
    const r = await runCatalogerOnDir(javaDeclaredCataloger, { 'pom.xml': root, 'bom/pom.xml': bom, 'service/pom.xml': module, 'stranger/pom.xml': stranger });
    const svc = r.packages.filter((p) => p.locations[0]!.path.endsWith('service/pom.xml')).map(nv).sort();
    expect(svc).toEqual(['com.example:api@2.0.0', 'com.fasterxml.jackson.core:jackson-core@2.16.1', 'io.netty:netty-codec@4.1.100.Final', 'org.yaml:snakeyaml@2.2']);
    expect(r.packages.filter((p) => p.locations[0]!.path.endsWith('stranger/pom.xml'))).toEqual([]);
    expect(r.issues.map((i) => i.message).join('\n')).toMatch(/netty-codec: version not declared in this pom or its local parents/);
  });

  it('reports gradle lock entries', async () => {
    const lock = '# This is a Gradle generated file for dependency locking.\n# Manual edits can break the build and are not advised.\n# This file is expected to be part of source control.\ncom.google.guava:guava:31.1-jre=compileClasspath,runtimeClasspath\norg.slf4j:slf4j-api:2.0.9=runtimeClasspath\nempty=annotationProcessor\n';
    const r = await runCatalogerOnDir(javaDeclaredCataloger, { 'gradle.lockfile': lock, 'bad/pom.xml': '<project><dependencies>' });
    expect(r.packages.map(nv).sort()).toEqual(['com.google.guava:guava@31.1-jre', 'org.slf4j:slf4j-api@2.0.9']);
    expect(r.packages[0]!.locations[0]!.role).toBe('lockfile');
    expect(r.issues).toHaveLength(1);
  });
});
