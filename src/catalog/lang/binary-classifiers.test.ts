import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { binaryClassifierCataloger, classifiersFor, CLASSIFIERS, scan } from './binary-classifiers.js';

const pad = (s: string) => Buffer.concat([Buffer.alloc(300, 0x41), Buffer.from(s, 'latin1'), Buffer.alloc(300, 0x42)]);
const byId = (id: string) => CLASSIFIERS.find((c) => c.id === id)!;
const none = () => false;

describe('binary classifiers', () => {
  it('selects classifiers by path', () => {
    expect(classifiersFor('/usr/local/bin/node').map((c) => c.id)).toEqual(['node-binary']);
    expect(classifiersFor('/usr/local/lib/libpython3.12.so.1.0').map((c) => c.id)).toEqual(['python-binary']);
    expect(classifiersFor('/opt/java/openjdk/release').map((c) => c.id)).toEqual(['jdk-release']);
    expect(classifiersFor('/usr/lib/x86_64-linux-gnu/libcrypto.so.3').map((c) => c.id)).toEqual(['openssl-binary']);
    expect(classifiersFor('/usr/bin/nodes')).toEqual([]);
  });

  it('does not read the files the OS packages cataloged before it own', async () => {
    const img = await buildImage({
      layers: [
        [
          { path: '/usr/bin/openssl', content: pad('OpenSSL 3.0.15 3 Sep 2024'), mode: 0o755 },
          { path: '/opt/ssl/bin/openssl', content: pad('OpenSSL 3.3.0 9 Apr 2024'), mode: 0o755 },
          { path: '/bin/busybox', content: pad('BusyBox v1.36.1 (2023-11-07 18:53:09 UTC)'), mode: 0o755 },
        ],
      ],
    });
    const asked: string[][] = [];
    const read: string[] = [];
    const r = await runCatalogerOnImage(binaryClassifierCataloger, img, {
      wrap: (ctx) => ({
        ...ctx,
        read: (p) => (read.push(p), ctx.read(p)),
        ownedByOsPackages: (paths) => (asked.push([...paths]), new Set(paths.filter((p) => p === '/usr/bin/openssl' || p === '/bin/busybox'))),
      }),
    });
    expect(asked).toEqual([['/bin/busybox', '/opt/ssl/bin/openssl', '/usr/bin/openssl']]);
    expect(read).toEqual(['/opt/ssl/bin/openssl']);
    expect(r.packages.map((p) => `${p.name}@${p.version} ${p.locations[0]!.path}`)).toEqual(['openssl@3.3.0 /opt/ssl/bin/openssl']);
  });

  it('scans windows around anchors only', () => {
    expect(scan(pad('xx BusyBox v1.36.1 (2023'), 'BusyBox v', /BusyBox v(\d+\.\d+\.\d+)/)?.[1]).toBe('1.36.1');
    expect(scan(pad('BusyBox vX'), 'BusyBox v', /BusyBox v(\d+)/)).toBeUndefined();
  });

  it('reports runtimes found in an image with purls, CPEs, evidence and the path for OS-ownership filtering', async () => {
    const img = await buildImage({
      layers: [
        [
          { path: '/usr/local/bin/node', content: pad('\0node.js/v20.11.1\0'), mode: 0o755 },
          { path: '/usr/local/bin/python3.12', content: pad('\x003.12.1\x00%.80s ('), mode: 0o755 },
          { path: '/usr/local/bin/python3.12-config', content: '#!/bin/sh\necho 3.12.1\n', mode: 0o755 },
          { path: '/usr/local/bin/python3', type: 'symlink', linkname: 'python3.12' },
          { path: '/opt/java/openjdk/release', content: 'IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="17.0.2"\nJAVA_RUNTIME_VERSION="17.0.2+8"\n' },
          { path: '/etc/release', content: 'not a jdk\n' },
          { path: '/usr/local/go/VERSION', content: 'go1.21.5\ntime 2023-11-29T21:17:11Z\n' },
          { path: '/usr/lib/libcrypto.so.3', content: pad('\0OpenSSL 3.0.15 3 Sep 2024\0') },
          { path: '/usr/lib/libssl.so.1.1', content: pad('OpenSSL 1.1.1w  11 Sep 2023') },
          { path: '/bin/busybox', content: pad('BusyBox v1.36.1 (2023-11-07 18:53:09 UTC)'), mode: 0o755 },
          { path: '/usr/bin/openssl', content: pad('no version here'), mode: 0o755 },
        ],
      ],
    });
    const r = await runCatalogerOnImage(binaryClassifierCataloger, img);
    const got = r.packages.map((p) => `${p.name}@${p.version} ${p.locations[0]!.path}`).sort();
    expect(got).toEqual([
      'busybox@1.36.1 /bin/busybox',
      'go@1.21.5 /usr/local/go/VERSION',
      'node@20.11.1 /usr/local/bin/node',
      'openjdk@17.0.2 /opt/java/openjdk/release',
      'openssl@1.1.1w /usr/lib/libssl.so.1.1',
      'openssl@3.0.15 /usr/lib/libcrypto.so.3',
      'python@3.12.1 /usr/local/bin/python3.12',
    ]);
    const node = r.packages.find((p) => p.name === 'node')!;
    expect(node).toMatchObject({
      type: 'binary',
      purl: 'pkg:generic/node@20.11.1',
      cpes: ['cpe:2.3:a:nodejs:node.js:20.11.1:*:*:*:*:*:*:*'],
      evidence: ['/usr/local/bin/node: node.js/v20.11.1'],
      metadata: { kind: 'generic', classifier: 'node-binary', path: '/usr/local/bin/node' },
      foundBy: 'binary-classifier',
    });
    expect(r.packages.find((p) => p.name === 'openjdk')!.metadata).toMatchObject({ implementor: 'Eclipse Adoptium', runtimeVersion: '17.0.2+8' });
    expect(r.packages.find((p) => p.name === 'openssl' && p.version === '3.0.15')!.cpes).toEqual(['cpe:2.3:a:openssl:openssl:3.0.15:*:*:*:*:*:*:*']);
    expect(r.issues).toEqual([]);
  });

  it('recognises the real runtimes of this machine', () => {
    const real: [string, string, string][] = [
      ['node-binary', '/usr/bin/node', process.version.slice(1)],
      ['openssl-binary', '/usr/lib/x86_64-linux-gnu/libcrypto.so.3', ''],
      ['openssl-binary', '/usr/bin/openssl', ''],
      ['python-binary', '/usr/bin/python3.11', ''],
      ['python-binary', '/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0', ''],
      ['go-distribution', '/usr/lib/go/VERSION', ''],
    ];
    let checked = 0;
    for (const [id, path, want] of real) {
      if (!existsSync(path)) continue;
      const r = byId(id).classify(path, readFileSync(path), none);
      expect(r, path).toBeDefined();
      if (want && process.execPath === '/usr/bin/node') expect(r!.version).toBe(want);
      expect(r!.version).toMatch(/^\d+\.\d+(\.\d+)?[a-z]*$/);
      checked++;
    }
    if (existsSync('/usr/lib/go/bin/go')) {
      const r = byId('go-distribution').classify('/usr/lib/go/bin/go', readFileSync('/usr/lib/go/bin/go'), none);
      expect(r?.name).toBe('go');
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(0);
  });
});
