/**
 * containerd through ctr: the parsing of ctr's tables and container info, against a stand-in ctr
 * (a shell script answering with output recorded from Debian's ctr 1.6). The real daemon is tested
 * in test/e2e/drift.test.ts.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerFromInfo, ContainerdRuntime, parseContainerdRef, parseTable } from './containerd.js';
import { resolveDriftTarget, runtimeNamed } from './drift.js';

const DIGEST = 'sha256:6570615c7872b4e0bba2c3398139e02285cd2ba1084da99294f18df77af01dea';
const INFO = {
  ID: 'web',
  Labels: { 'io.containerd.image.config.stop-signal': 'SIGTERM', app: 'shop' },
  Image: 'docker.io/library/base:1',
  Runtime: { Name: 'io.containerd.runc.v2' },
  SnapshotKey: 'web',
  Snapshotter: 'native',
  Spec: { mounts: [{ destination: '/sys', type: 'sysfs', source: 'sysfs' }, { destination: '/proc', type: 'proc', source: 'proc' }, { destination: '/data', type: 'bind', source: '/srv/data' }] },
};

describe('parsing', () => {
  it('splits NAMESPACE/ID and refuses anything else', () => {
    expect(parseContainerdRef('k8s.io/abc')).toEqual({ namespace: 'k8s.io', id: 'abc' });
    expect(parseContainerdRef('abc')).toEqual({ namespace: 'default', id: 'abc' });
    for (const bad of ['', 'a/b/c', '../x', 'ns/-rm', 'ns/', 'a b']) expect(() => parseContainerdRef(bad)).toThrow(expect.objectContaining({ code: 'TARGET_INVALID' }));
  });

  it('reads ctr tables by their header', () => {
    const rows = parseTable('TASK    PID     STATUS    \nweb     1130    RUNNING\nold     0       STOPPED\n');
    expect(rows).toEqual([
      { TASK: 'web', PID: '1130', STATUS: 'RUNNING' },
      { TASK: 'old', PID: '0', STATUS: 'STOPPED' },
    ]);
    expect(parseTable('')).toEqual([]);
  });

  it('makes a container from its info and task', () => {
    const c = containerFromInfo('prod', INFO, { pid: 42, status: 'RUNNING' }, DIGEST);
    expect(c).toEqual({
      runtime: 'containerd',
      id: 'web',
      name: 'prod/web',
      namespace: 'prod',
      image: 'docker.io/library/base:1',
      imageDigest: DIGEST,
      repoDigests: [],
      state: 'running',
      labels: { app: 'shop', 'io.containerd.image.config.stop-signal': 'SIGTERM' },
      pid: 42,
      rootfs: '/proc/42/root',
      mounts: [
        { destination: '/data', source: '/srv/data', type: 'bind' },
        { destination: '/proc', source: 'proc', type: 'proc' },
        { destination: '/sys', source: 'sysfs', type: 'sysfs' },
      ],
      snapshotter: 'native',
      snapshotKey: 'web',
    });
    const stopped = containerFromInfo('prod', INFO, { pid: 0, status: 'STOPPED' });
    expect(stopped.pid).toBeUndefined();
    expect(stopped.state).toBe('stopped');
  });
});

describe('a stand-in ctr', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drydock-ctr-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'ctr');
  const log = join(dir, 'calls');
  writeFileSync(join(dir, 'info.json'), JSON.stringify(INFO));
  writeFileSync(
    bin,
    [
      '#!/bin/sh',
      `echo "$*" >> ${log}`,
      'args="$*"',
      'case "$args" in',
      '  *"namespaces ls --quiet") printf "default\\nprod\\n" ;;',
      `  *"--namespace prod tasks ls") printf "TASK    PID     STATUS    \\nweb     %s    RUNNING\\ngone    0       STOPPED\\n" ${process.pid} ;;`,
      '  *"--namespace default tasks ls") printf "TASK    PID     STATUS    \\n" ;;',
      `  *"--namespace prod images ls") printf "REF TYPE DIGEST SIZE PLATFORMS LABELS\\ndocker.io/library/base:1 application/vnd.oci.image.manifest.v1+json ${DIGEST} 90.7 MiB linux/amd64 -\\n" ;;`,
      `  *"--namespace prod containers info web") cat ${join(dir, 'info.json')} ;;`,
      '  *"containers info"*) echo "ctr: container \\"$5\\" in namespace \\"prod\\": not found" >&2; exit 1 ;;',
      '  *) echo "unexpected: $args" >&2; exit 2 ;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(bin, 0o755);

  it('lists the running containers of every namespace, with the address given', async () => {
    const rt = new ContainerdRuntime({ ctr: bin, address: '/run/x.sock', env: {} });
    const list = await rt.list();
    expect(list.map((c) => [c.name, c.imageDigest, c.state])).toEqual([['prod/web', DIGEST, 'running']]);
    expect(list[0]!.startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(rt.imageTarget(list[0]!)).toBe('docker.io/library/base:1');
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(log, 'utf8').split('\n').filter(Boolean).every((l) => l.startsWith('--address /run/x.sock'))).toBe(true);
  });

  it('names a missing container CONTAINER_NOT_FOUND and a missing ctr RUNTIME_UNAVAILABLE', async () => {
    await expect(new ContainerdRuntime({ ctr: bin, env: {} }).inspect('prod/nope')).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    await expect(new ContainerdRuntime({ ctr: join(dir, 'no-ctr'), env: {} }).list()).rejects.toMatchObject({ code: 'RUNTIME_UNAVAILABLE' });
  });

  it('drift resolves containerd://NAMESPACE/ID, with --image used as given', async () => {
    const s = await resolveDriftTarget('containerd://prod/web', { runtime: new ContainerdRuntime({ ctr: bin, env: {} }), image: 'oci-archive:/x.tar' });
    expect(s).toMatchObject({ runtime: 'containerd', pid: process.pid, imageTarget: 'oci-archive:/x.tar' });
    expect(s.container.name).toBe('prod/web');
    expect(s.cleanup).toBeUndefined();
    await expect(resolveDriftTarget('containerd://prod/gone', { runtime: new ContainerdRuntime({ ctr: bin, env: {} }) })).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
    expect(runtimeNamed('containerd').name).toBe('containerd');
    expect(() => runtimeNamed('rkt')).toThrow(expect.objectContaining({ code: 'USAGE' }));
  });
});
