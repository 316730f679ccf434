import { describe, expect, it } from 'vitest';
import { DrydockError, isDrydockError } from '../core/errors.js';
import { formatPlatform, hostPlatform, parsePlatform, platformMatches, selectFromIndex } from './platform.js';
import type { Descriptor, ImageIndex } from './types.js';

const d = (n: number, platform?: Descriptor['platform'], annotations?: Record<string, string>): Descriptor => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  size: 100,
  ...(platform ? { platform } : {}),
  ...(annotations ? { annotations } : {}),
});

const index: ImageIndex = {
  schemaVersion: 2,
  manifests: [
    d(1, { os: 'linux', architecture: 'amd64' }),
    d(2, { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    d(3, { os: 'linux', architecture: 'arm', variant: 'v6' }),
    d(4, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    d(5, { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
  ],
};

describe('platforms', () => {
  it('parses and formats', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(formatPlatform(parsePlatform('Linux/ARM/v7'))).toBe('linux/arm/v7');
    for (const bad of ['linux', 'linux/', '/amd64', 'a/b/c/d', 'linux amd64']) {
      expect(() => parsePlatform(bad)).toThrow(DrydockError);
    }
  });

  it('maps the host', () => {
    const h = hostPlatform();
    expect(h.os).toBe('linux');
    if (process.arch === 'x64') expect(h).toEqual({ os: 'linux', architecture: 'amd64' });
    if (process.arch === 'arm64') expect(h).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  it('normalises when matching', () => {
    expect(platformMatches(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64', variant: 'v3' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/amd64/v2'), { os: 'linux', architecture: 'amd64' })).toBe(false);
    expect(platformMatches(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(true);
    expect(platformMatches(parsePlatform('linux/arm/v6'), { os: 'linux', architecture: 'arm', variant: 'v7' })).toBe(false);
    expect(platformMatches(parsePlatform('windows/amd64'), { os: 'linux', architecture: 'amd64' })).toBe(false);
  });

  it('selects from an index', () => {
    expect(selectFromIndex(index, parsePlatform('linux/amd64'), 'x').digest).toBe(index.manifests[0]?.digest);
    expect(selectFromIndex(index, parsePlatform('linux/arm64'), 'x').digest).toBe(index.manifests[1]?.digest);
    expect(selectFromIndex(index, parsePlatform('linux/arm/v6'), 'x').digest).toBe(index.manifests[2]?.digest);
    expect(selectFromIndex(index, parsePlatform('linux/arm'), 'x').digest).toBe(index.manifests[3]?.digest);
  });

  it('lists the available platforms when none matches, without attestations', () => {
    try {
      selectFromIndex(index, parsePlatform('linux/s390x'), 'example:1');
      expect.unreachable();
    } catch (e) {
      expect(isDrydockError(e, 'PLATFORM_NOT_FOUND')).toBe(true);
      const msg = (e as Error).message;
      expect(msg).toContain('example:1');
      expect(msg).toContain('linux/s390x');
      expect(msg).toContain('linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8');
      expect(msg).not.toContain('unknown');
    }
  });

  it('never picks an attestation manifest', () => {
    const only: ImageIndex = { schemaVersion: 2, manifests: [d(5, { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' })] };
    expect(() => selectFromIndex(only, parsePlatform('linux/amd64'), 'x')).toThrow(/available: none/);
  });
});
