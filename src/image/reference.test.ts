import { describe, expect, it } from 'vitest';
import { isDrydockError } from '../core/errors.js';
import { familiarName, formatReference, parseReference, registryApiHost } from './reference.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  const ok: [string, string, string, string | undefined, string | undefined][] = [
    ['alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['alpine:3.19', 'docker.io', 'library/alpine', '3.19', undefined],
    ['library/alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['docker.io/alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['index.docker.io/library/alpine', 'docker.io', 'library/alpine', 'latest', undefined],
    ['user/app:v1', 'docker.io', 'user/app', 'v1', undefined],
    [`alpine@${D}`, 'docker.io', 'library/alpine', undefined, D],
    [`alpine:3.19@${D}`, 'docker.io', 'library/alpine', '3.19', D],
    ['localhost/foo', 'localhost', 'foo', 'latest', undefined],
    ['localhost:5000/foo/bar:x', 'localhost:5000', 'foo/bar', 'x', undefined],
    ['127.0.0.1:5000/a', '127.0.0.1:5000', 'a', 'latest', undefined],
    ['ghcr.io/o/r/s:1.0-rc_1', 'ghcr.io', 'o/r/s', '1.0-rc_1', undefined],
    ['[::1]:5000/img', '[::1]:5000', 'img', 'latest', undefined],
    ['Registry.Example.com/a', 'Registry.Example.com', 'a', 'latest', undefined],
    ['quay.io/a__b/c.d-e---f', 'quay.io', 'a__b/c.d-e---f', 'latest', undefined],
    ['example.com:443/x@sha512:' + 'b'.repeat(128), 'example.com:443', 'x', undefined, 'sha512:' + 'b'.repeat(128)],
  ];
  it.each(ok)('parses %s', (s, registry, repository, tag, digest) => {
    const r = parseReference(s);
    expect(r).toEqual({ registry, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) });
  });

  const bad = [
    '',
    'Alpine',
    'alpine:',
    'alpine:-x',
    'alpine@sha256:abc',
    'alpine@md5:' + 'a'.repeat(32),
    'a//b',
    '/a',
    'a/',
    'a b',
    'foo_/bar',
    '-foo',
    'a'.repeat(64).replace(/a/g, 'f'),
    'host:port/x',
    'example.com/UPPER',
    `example.com/${'a'.repeat(260)}`,
    `alpine:${'t'.repeat(129)}`,
    '@' + D,
    ':tag',
  ];
  it.each(bad)('rejects %j', (s) => {
    let err: unknown;
    try {
      parseReference(s);
    } catch (e) {
      err = e;
    }
    expect(isDrydockError(err, 'REFERENCE_INVALID')).toBe(true);
  });
});

describe('formatting', () => {
  it('formats full and familiar names', () => {
    const r = parseReference(`alpine:3.19@${D}`);
    expect(formatReference(r)).toBe(`docker.io/library/alpine:3.19@${D}`);
    expect(familiarName(r)).toBe(`alpine:3.19@${D}`);
    expect(familiarName(parseReference('user/app'))).toBe('user/app:latest');
    expect(familiarName(parseReference('ghcr.io/a/b:1'))).toBe('ghcr.io/a/b:1');
    expect(formatReference(parseReference('localhost:5000/x'))).toBe('localhost:5000/x:latest');
  });
  it('round-trips', () => {
    for (const s of ['docker.io/library/alpine:latest', `ghcr.io/a/b@${D}`, '127.0.0.1:5000/x/y:z']) {
      expect(formatReference(parseReference(s))).toBe(s);
    }
  });
  it('maps API hosts', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io');
    expect(registryApiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });
});
