import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDrydockError } from '../core/errors.js';
import { normalizeReference, parseTarget } from './target.js';

const tmp = mkdtempSync(join(tmpdir(), 'target-test-'));
const colonDir = join(tmp, 'with:colon');
mkdirSync(colonDir);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseTarget', () => {
  const table: [string, Record<string, unknown>][] = [
    ['alpine', { kind: 'registry', ref: 'alpine' }],
    ['alpine:3.19', { kind: 'registry', ref: 'alpine:3.19' }],
    ['localhost:5000/a/b:1', { kind: 'registry', ref: 'localhost:5000/a/b:1' }],
    ['registry:ghcr.io/x/y@sha256:' + 'a'.repeat(64), { kind: 'registry', ref: 'ghcr.io/x/y@sha256:' + 'a'.repeat(64) }],
    ['oci-dir:/x/layout', { kind: 'oci-dir', path: '/x/layout', ref: undefined }],
    ['oci-dir:/x/layout:latest', { kind: 'oci-dir', path: '/x/layout', ref: 'latest' }],
    ['oci:/x/layout:v1.2', { kind: 'oci-dir', path: '/x/layout', ref: 'v1.2' }],
    ['oci-archive:/x/a.tar', { kind: 'oci-archive', path: '/x/a.tar' }],
    ['oci-archive:/x/a.tar:tag', { kind: 'oci-archive', path: '/x/a.tar', ref: 'tag' }],
    ['docker-archive:/x/a.tar', { kind: 'docker-archive', path: '/x/a.tar' }],
    ['docker-archive:/x/a.tar:alpine:3', { kind: 'docker-archive', path: '/x/a.tar', ref: 'alpine:3' }],
    ['docker-archive:/x/a.tar:localhost:5000/app:1', { kind: 'docker-archive', path: '/x/a.tar', ref: 'localhost:5000/app:1' }],
    ['dir:/srv/root', { kind: 'dir', path: '/srv/root' }],
    ['dir:/srv/a:b', { kind: 'dir', path: '/srv/a:b' }],
    ['sbom:/x/app.cdx.json', { kind: 'sbom', path: '/x/app.cdx.json' }],
    ['sbom:./a:b.spdx.json', { kind: 'sbom', path: './a:b.spdx.json' }],
    ['podman:localhost/app:1', { kind: 'podman', ref: 'localhost/app:1' }],
    ['docker:alpine:3', { kind: 'docker', ref: 'alpine:3' }],
    ['docker-daemon:alpine', { kind: 'docker', ref: 'alpine' }],
    [`oci-dir:${colonDir}`, { kind: 'oci-dir', path: colonDir, ref: undefined }],
    [`oci-dir:${colonDir}:t1`, { kind: 'oci-dir', path: colonDir, ref: 't1' }],
  ];
  it.each(table)('%s', (input, want) => {
    const t = parseTarget(input);
    expect(t.input).toBe(input);
    for (const [k, v] of Object.entries(want)) expect((t as unknown as Record<string, unknown>)[k]).toBe(v);
  });

  it.each(['', 'oci-dir:', 'podman:', 'dir:', 'sbom:', '/abs/path', './rel', 'Upper', 'a b', 'registry:'])('rejects %j', (input) => {
    try {
      parseTarget(input);
      expect.unreachable();
    } catch (e) {
      expect(isDrydockError(e, 'TARGET_INVALID')).toBe(true);
    }
  });
});

describe('normalizeReference', () => {
  it.each([
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3', 'docker.io/library/alpine:3'],
    ['docker.io/library/alpine:3', 'docker.io/library/alpine:3'],
    ['index.docker.io/foo/bar', 'docker.io/foo/bar:latest'],
    ['localhost/app:1', 'localhost/app:1'],
    ['ghcr.io/a/b:c', 'ghcr.io/a/b:c'],
  ])('%s → %s', (a, b) => expect(normalizeReference(a)).toBe(b));
});
