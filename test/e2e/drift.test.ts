/**
 * Drift and ps against real podman containers of the corpus base image (Debian with dpkg): an
 * untouched container drifts nowhere; one where a file is changed, a package binary modified, an
 * executable added, a file deleted and a small .deb (built here with dpkg-deb) installed with dpkg -i
 * reports exactly those. ps through podman's REST API (a `podman system service` started here) and
 * through its CLI agree. Skipped when podman cannot run containers here; fails in CI.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDrydockError } from '../../src/core/errors.js';
import { driftCommand, psCommand } from '../../src/cli/commands/runtime.js';
import { driftContainer } from '../../src/runtime/drift.js';
import { PodmanApiRuntime, PodmanCliRuntime, dockerRuntime } from '../../src/runtime/podman.js';

const CORPUS = [process.env.DRYDOCK_CORPUS, '/var/tmp/drydock-corpus', '/var/tmp/drydock-corpus-ci'].find((c) => c && existsSync(join(c, 'images', 'base.oci.tar')));
const RUN_ARGS = ['--runtime', '/usr/sbin/runc', '--cgroup-manager=cgroupfs'];
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

function podman(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync('podman', args, { encoding: 'utf8', input, timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}
function must(args: string[]): string {
  const r = podman(args);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r.out.trim();
}

const canRun = (() => {
  if (!CORPUS) return false;
  if (spawnSync('podman', ['--version']).status !== 0) return false;
  return spawnSync('dpkg-deb', ['--version']).status === 0;
})();
if (!canRun && process.env.CI) throw new Error('podman, dpkg-deb and the corpus base image are needed in CI');

const tag = `localhost/drydock-e2e-drift/base:${process.pid}`;
const names = { touched: `drydock-drift-touched-${process.pid}`, clean: `drydock-drift-clean-${process.pid}` };
let work = '';
let socket = '';
let service: ChildProcess | undefined;
let imageId = '';

describe.skipIf(!canRun)('drift and ps with podman', () => {
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'drydock-drift-'));
    const hadLatest = podman(['image', 'exists', 'localhost/latest:latest']).code === 0;
    imageId = must(['pull', '-q', `oci-archive:${join(CORPUS!, 'images', 'base.oci.tar')}`]).split('\n').pop()!;
    must(['tag', imageId, tag]);
    if (!hadLatest) podman(['untag', imageId, 'localhost/latest:latest']);
    for (const n of Object.values(names)) {
      const r = podman([...RUN_ARGS, 'run', '-d', '--name', n, '--label', 'drydock.test=drift', ...ULIMITS, tag, 'sleep', 'infinity']);
      if (r.code !== 0) throw new Error(`podman run failed (${r.err}); this machine cannot run containers`);
    }
    // a tiny Debian package: one executable
    const pkg = join(work, 'pkg');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(join(pkg, 'usr', 'bin'), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN', 'control'), 'Package: drydock-tiny\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Drydock Tests <tests@example.invalid>\nDescription: a package the drift test installs\n');
    writeFileSync(join(pkg, 'usr', 'bin', 'drydock-tiny'), '#!/bin/sh\necho tiny\n');
    chmodSync(join(pkg, 'usr', 'bin', 'drydock-tiny'), 0o755);
    const b = spawnSync('dpkg-deb', ['--root-owner-group', '--build', pkg, join(work, 'tiny.deb')], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`dpkg-deb failed: ${b.stderr}`);
    must(['cp', join(work, 'tiny.deb'), `${names.touched}:/tiny.deb`]);
    const sh = [
      'set -e',
      'echo drift >> /etc/debian_version',
      'printf "#x" >> /usr/bin/which.debianutils',
      'cp /bin/true /usr/local/bin/drydock-added',
      'rm /etc/issue.net',
      'dpkg -i /tiny.deb >/dev/null',
      'rm /tiny.deb',
      'touch /etc/motd',
    ].join('; ');
    must([...RUN_ARGS, 'exec', names.touched, 'sh', '-c', sh]);
    // podman's REST API on a private socket
    socket = join(work, 'podman.sock');
    service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(socket)) throw new Error('podman system service did not create its socket');
  });

  afterAll(() => {
    service?.kill('SIGTERM');
    for (const n of Object.values(names)) podman(['rm', '-f', '-t', '0', n]);
    podman(['rmi', tag]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('reports nothing for an untouched container', async () => {
    const r = await driftContainer(`podman://${names.clean}`, { cacheDir: join(work, 'cache') });
    expect(r.findings).toEqual([]);
    expect(r.files).toEqual([]);
    expect(r.packages).toEqual([]);
    expect(r.stats.entries).toBeGreaterThan(1000);
    expect(r.stats.hashedFiles).toBeGreaterThan(100); // the executables were compared by content
    // virtual filesystems and the runtime's mounts are left out, and said so
    const ex = r.excluded.map((e) => `${e.path}:${e.reason}`);
    for (const p of ['/proc:virtual', '/sys:virtual', '/dev:virtual', '/etc/hosts:mount', '/etc/resolv.conf:mount', '/etc/hostname:mount']) expect(ex).toContain(p);
  });

  it('reports exactly the changes made in a container, and the installed package', async () => {
    const r = await driftContainer(`podman://${names.touched}`, { cacheDir: join(work, 'cache') });
    const got = r.findings.map((f) => `${f.severity} ${f.kind} ${f.subject}`);
    const dpkgLog = r.files.find((f) => f.path === '/var/log/dpkg.log');
    expect(got.sort()).toEqual(
      [
        'critical modified-package-binary /usr/bin/which.debianutils',
        'high new-executable /usr/bin/drydock-tiny',
        'high new-executable /usr/local/bin/drydock-added',
        'medium package-installed-at-runtime deb/drydock-tiny',
        'info file-changed /etc/debian_version',
        'info file-deleted /etc/issue.net',
        // dpkg logs what it did
        ...(dpkgLog ? [`info file-${dpkgLog.status} /var/log/dpkg.log`] : []),
      ].sort(),
    );
    expect(r.packages).toEqual([{ status: 'installed', type: 'deb', name: 'drydock-tiny', version: '1.0-1', purl: expect.stringContaining('pkg:deb/') }]);
    const tiny = r.files.find((f) => f.path === '/usr/bin/drydock-tiny')!;
    expect(tiny).toMatchObject({ status: 'added', executable: true, ownedBy: 'drydock-tiny' });
    expect(tiny.sha256).toBe(createHash('sha256').update('#!/bin/sh\necho tiny\n').digest('hex'));
    const which = r.files.find((f) => f.path === '/usr/bin/which.debianutils')!;
    expect(which.changes).toEqual(['size']);
    expect(which.ownedBy).toBe('debianutils');
    // touch alone (same content, another mtime) is not a change
    expect(r.files.find((f) => f.path === '/etc/motd')).toBeUndefined();
    // the dpkg database changed, explained by the installed package: listed as files, no tampering finding
    expect(r.files.some((f) => f.path === '/var/lib/dpkg/status' && f.status === 'changed')).toBe(true);
  });

  it('proc://PID with --image compares the same way', async () => {
    const pid = Number(must(['inspect', '--format', '{{.State.Pid}}', names.touched]));
    const r = await driftContainer(`proc://${pid}`, { image: `oci-archive:${join(CORPUS!, 'images', 'base.oci.tar')}`, cacheDir: join(work, 'cache') });
    expect(r.findings.some((f) => f.kind === 'package-installed-at-runtime' && f.subject === 'deb/drydock-tiny')).toBe(true);
    expect(r.findings.some((f) => f.kind === 'modified-package-binary')).toBe(true);
    await expect(driftContainer(`proc://${pid}`)).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('ps lists the containers the same way through the API and the CLI', async () => {
    const api = (await new PodmanApiRuntime(socket).list()).filter((c) => c.labels['drydock.test'] === 'drift');
    const cli = (await new PodmanCliRuntime().list()).filter((c) => c.labels['drydock.test'] === 'drift');
    expect(api.map((c) => c.name)).toEqual([names.clean, names.touched].sort());
    const key = (c: (typeof api)[number]) => ({ id: c.id, name: c.name, image: c.image, imageId: c.imageId, imageDigest: c.imageDigest, pid: c.pid, rootfs: c.rootfs, labels: c.labels, startedAt: c.startedAt?.slice(0, 19) });
    expect(api.map(key)).toEqual(cli.map(key));
    for (const c of api) {
      expect(c.image).toBe(tag);
      expect(c.imageId).toBe(`sha256:${imageId}`);
      expect(c.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(c.rootfs).toBe(`/proc/${c.pid}/root`);
    }
    expect(api[0]!.repoDigests.length).toBeGreaterThan(0);
    await expect(new PodmanApiRuntime(socket).inspect('drydock-no-such-container')).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });

  it('a Docker Engine API (podman\'s compatible socket as DOCKER_HOST) lists the same containers; docker:// drift works', async () => {
    const docker = dockerRuntime({ host: `unix://${socket}` });
    expect(docker.name).toBe('docker');
    const viaDocker = (await docker.list()).filter((c) => c.labels['drydock.test'] === 'drift');
    const viaPodman = (await new PodmanApiRuntime(socket).list()).filter((c) => c.labels['drydock.test'] === 'drift');
    expect(viaDocker.map((c) => [c.id, c.pid, c.imageId])).toEqual(viaPodman.map((c) => [c.id, c.pid, c.imageId]));
    expect(docker.imageTarget(viaDocker[0]!)).toMatch(/^docker:[0-9a-f]{64}$/);
    const old = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = `unix://${socket}`;
    try {
      const r = await driftContainer(`docker://${names.clean}`, { cacheDir: join(work, 'cache'), image: `podman:${imageId}` });
      expect(r.findings).toEqual([]);
    } finally {
      if (old === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = old;
    }
  });

  it('the commands print JSON and gate with --fail-on', async () => {
    const psOut = join(work, 'ps.json');
    await psCommand().parseAsync(['node', 'ps', '--format', 'json', '--podman-socket', `unix://${socket}`, '-o', psOut]);
    const ps = JSON.parse(readFileSync(psOut, 'utf8'));
    expect(ps.via).toBe('api');
    expect(ps.containers.some((c: { name: string }) => c.name === names.touched)).toBe(true);

    const out = join(work, 'drift.json');
    const err = await driftCommand()
      .parseAsync(['node', 'drift', `podman://${names.touched}`, '--format', 'json', '-o', out, '--fail-on', 'high', '--cache-dir', join(work, 'cache'), '--quiet'])
      .then(() => undefined, (e: unknown) => e);
    expect(isDrydockError(err, 'CHECK_FAILED')).toBe(true);
    expect(JSON.parse(readFileSync(out, 'utf8')).findings.length).toBeGreaterThan(0);
    // an untouched container passes the gate
    await driftCommand().parseAsync(['node', 'drift', `podman://${names.clean}`, '--format', 'table', '-o', join(work, 'clean.txt'), '--fail-on', 'low', '--cache-dir', join(work, 'cache'), '--quiet']);
    expect(readFileSync(join(work, 'clean.txt'), 'utf8')).toContain('No drift');
  });
});

// ---------------------------------------------------------------------------------------------
// containerd (issue 8): a private containerd daemon (temporary root and state, native snapshotter,
// its own socket) runs two containers of the corpus base image through `ctr run`; drift reads them
// through ctr (tasks for the PID, containers info for the image) and the image exported from
// containerd's content store. And podman's storage read directly gives the same image as
// `podman image save`. Skipped when containerd or podman cannot run here; fails in CI.
// ---------------------------------------------------------------------------------------------

const canContainerd = (() => {
  if (!CORPUS || process.getuid?.() !== 0) return false;
  for (const bin of ['containerd', 'ctr', 'dpkg-deb']) if (spawnSync(bin, ['--version']).status !== 0) return false;
  return true;
})();
if (!canContainerd && process.env.CI) throw new Error('containerd, ctr (as root), dpkg-deb and the corpus base image are needed in CI');

describe.skipIf(!canContainerd)('drift and ps with containerd', () => {
  let dir = '';
  let address = '';
  let daemon: ChildProcess | undefined;
  const ns = `drydock-e2e-${process.pid}`;
  const ids = { touched: 'drift-touched', clean: 'drift-clean' };
  const ctr = (args: string[]): string => {
    const r = spawnSync('ctr', ['--address', address, '--namespace', ns, ...args], { encoding: 'utf8', timeout: 300_000 });
    if (r.status !== 0) throw new Error(`ctr ${args.join(' ')} exited ${r.status}: ${r.stderr}${r.error ? String(r.error) : ''}`);
    return r.stdout.trim();
  };
  const pidOf = (id: string): number => Number(ctr(['tasks', 'ls']).split('\n').find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/)[1]);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drydock-containerd-'));
    address = join(dir, 'containerd.sock');
    writeFileSync(
      join(dir, 'config.toml'),
      [
        'version = 2',
        `root = ${JSON.stringify(join(dir, 'root'))}`,
        `state = ${JSON.stringify(join(dir, 'state'))}`,
        '[grpc]',
        `  address = ${JSON.stringify(address)}`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        '  disable_tcp_service = true',
        '',
      ].join('\n'),
    );
    daemon = spawn('containerd', ['--config', join(dir, 'config.toml'), '--address', address], { stdio: 'ignore' });
    for (let i = 0; i < 100 && spawnSync('ctr', ['--address', address, 'version']).status !== 0; i++) await new Promise((r) => setTimeout(r, 100));
    ctr(['images', 'import', '--snapshotter', 'native', '--base-name', 'localhost/drydock-e2e/base', join(CORPUS!, 'images', 'base.oci.tar')]);
    let image = ctr(['images', 'ls', '--quiet']).split('\n')[0] ?? '';
    if (!image) {
      // an archive without ref names: imported under a generated name
      ctr(['images', 'import', '--snapshotter', 'native', join(CORPUS!, 'images', 'base.oci.tar')]);
      image = ctr(['images', 'ls', '--quiet']).split('\n')[0] ?? '';
    }
    for (const id of Object.values(ids)) ctr(['run', '--snapshotter', 'native', '-d', '--label', 'drydock.test=drift', image, id, 'sleep', 'infinity']);
    // the same tiny Debian package as above, written through the host's view of the container's root
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(join(pkg, 'usr', 'bin'), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN', 'control'), 'Package: drydock-tiny\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Drydock Tests <tests@example.invalid>\nDescription: a package the drift test installs\n');
    writeFileSync(join(pkg, 'usr', 'bin', 'drydock-tiny'), '#!/bin/sh\necho tiny\n');
    chmodSync(join(pkg, 'usr', 'bin', 'drydock-tiny'), 0o755);
    const b = spawnSync('dpkg-deb', ['--root-owner-group', '--build', pkg, join(dir, 'tiny.deb')], { encoding: 'utf8' });
    if (b.status !== 0) throw new Error(`dpkg-deb failed: ${b.stderr}`);
    writeFileSync(`/proc/${pidOf(ids.touched)}/root/tiny.deb`, readFileSync(join(dir, 'tiny.deb')));
    const sh = ['set -e', 'echo drift >> /etc/debian_version', 'cp /bin/true /usr/local/bin/drydock-added', 'rm /etc/issue.net', 'dpkg -i /tiny.deb >/dev/null', 'rm /tiny.deb', 'touch /etc/motd'].join('; ');
    ctr(['tasks', 'exec', '--exec-id', 'drift-setup', ids.touched, 'sh', '-c', sh]);
  }, 300_000);

  afterAll(() => {
    if (address && daemon) {
      for (const id of Object.values(ids)) {
        spawnSync('ctr', ['--address', address, '--namespace', ns, 'tasks', 'kill', '--signal', 'SIGKILL', id]);
      }
      for (const id of Object.values(ids)) {
        for (let i = 0; i < 50 && spawnSync('ctr', ['--address', address, '--namespace', ns, 'tasks', 'delete', id]).status !== 0; i++) spawnSync('sleep', ['0.1']);
        spawnSync('ctr', ['--address', address, '--namespace', ns, 'containers', 'delete', id]);
      }
    }
    daemon?.kill('SIGTERM');
    if (dir) {
      // the native snapshots hold root-owned trees; the daemon is gone once its socket is
      for (let i = 0; i < 50 && existsSync(address); i++) spawnSync('sleep', ['0.1']);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('ps lists the running containers with their PIDs, images and labels', async () => {
    const { ContainerdRuntime } = await import('../../src/runtime/containerd.js');
    const list = await new ContainerdRuntime({ address, namespaces: [ns] }).list();
    expect(list.map((c) => c.name)).toEqual([`${ns}/${ids.clean}`, `${ns}/${ids.touched}`]);
    for (const c of list) {
      expect(c).toMatchObject({ runtime: 'containerd', namespace: ns, state: 'running', snapshotter: 'native', labels: { 'drydock.test': 'drift' } });
      expect(c.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(c.rootfs).toBe(`/proc/${c.pid}/root`);
      expect(c.pid).toBe(pidOf(c.id));
      expect(c.mounts.map((m) => m.destination)).toContain('/proc');
    }
    // every namespace by default
    const all = await new ContainerdRuntime({ address }).list();
    expect(all.filter((c) => c.namespace === ns).length).toBe(2);
    await expect(new ContainerdRuntime({ address }).inspect(`${ns}/no-such-container`)).rejects.toMatchObject({ code: 'CONTAINER_NOT_FOUND' });
  });

  it('reports nothing for an untouched container', async () => {
    const r = await driftContainer(`containerd://${ns}/${ids.clean}`, { containerd: { address }, cacheDir: join(dir, 'cache'), tempDir: dir });
    expect(r.findings).toEqual([]);
    expect(r.files).toEqual([]);
    expect(r.packages).toEqual([]);
    expect(r.container).toMatchObject({ runtime: 'containerd', id: ids.clean, name: `${ns}/${ids.clean}` });
    expect(r.image.digest).toMatch(/^sha256:/);
    expect(r.stats.entries).toBeGreaterThan(1000);
    const ex = r.excluded.map((e) => `${e.path}:${e.reason}`);
    for (const p of ['/proc:virtual', '/sys:virtual', '/dev:virtual']) expect(ex).toContain(p);
    // the export is gone
    expect(existsSync(r.image.target.replace(/^oci-archive:/, ''))).toBe(false);
  });

  it('reports exactly the changes made in a container, and the installed package', async () => {
    const r = await driftContainer(`containerd://${ns}/${ids.touched}`, { containerd: { address }, cacheDir: join(dir, 'cache'), tempDir: dir });
    const got = r.findings.map((f) => `${f.severity} ${f.kind} ${f.subject}`);
    const dpkgLog = r.files.find((f) => f.path === '/var/log/dpkg.log');
    expect(got.sort()).toEqual(
      [
        'high new-executable /usr/bin/drydock-tiny',
        'high new-executable /usr/local/bin/drydock-added',
        'medium package-installed-at-runtime deb/drydock-tiny',
        'info file-changed /etc/debian_version',
        'info file-deleted /etc/issue.net',
        ...(dpkgLog ? [`info file-${dpkgLog.status} /var/log/dpkg.log`] : []),
      ].sort(),
    );
    expect(r.packages).toEqual([{ status: 'installed', type: 'deb', name: 'drydock-tiny', version: '1.0-1', purl: expect.stringContaining('pkg:deb/') }]);
    expect(r.files.find((f) => f.path === '/usr/bin/drydock-tiny')).toMatchObject({ status: 'added', executable: true, ownedBy: 'drydock-tiny' });
    expect(r.files.find((f) => f.path === '/etc/motd')).toBeUndefined();
  });

  it('the drift command takes containerd:// targets', async () => {
    const out = join(dir, 'drift.json');
    const prev = process.env.CONTAINERD_ADDRESS;
    process.env.CONTAINERD_ADDRESS = address;
    try {
      const err = await driftCommand()
        .parseAsync(['node', 'drift', `containerd://${ns}/${ids.touched}`, '--format', 'json', '-o', out, '--fail-on', 'medium', '--cache-dir', join(dir, 'cache'), '--quiet'])
        .then(() => undefined, (e: unknown) => e);
      expect(isDrydockError(err, 'CHECK_FAILED')).toBe(true);
    } finally {
      if (prev === undefined) delete process.env.CONTAINERD_ADDRESS;
      else process.env.CONTAINERD_ADDRESS = prev;
    }
    expect(JSON.parse(readFileSync(out, 'utf8')).container.runtime).toBe('containerd');
  });
});

describe.skipIf(!canRun)("podman: target read from podman's storage", () => {
  const storageTag = `localhost/drydock-e2e-storage/base:${process.pid}`;
  let id = '';
  beforeAll(() => {
    const hadLatest = podman(['image', 'exists', 'localhost/latest:latest']).code === 0;
    id = must(['pull', '-q', `oci-archive:${join(CORPUS!, 'images', 'base.oci.tar')}`]).split('\n').pop()!;
    must(['tag', id, storageTag]);
    if (!hadLatest) podman(['untag', id, 'localhost/latest:latest']);
  }, 120_000);
  afterAll(() => {
    podman(['untag', id, storageTag]);
  });

  it('gives the image podman image save gives, with every layer verified against its diff_id', async () => {
    const { openImage } = await import('../../src/image/open.js');
    const { openPodmanStorageReader } = await import('../../src/image/engines.js');
    expect(await openPodmanStorageReader(storageTag)).toBeDefined();
    expect(await openPodmanStorageReader('localhost/drydock-e2e-no-such/image:1')).toBeUndefined();
    const direct = await openImage(`podman:${storageTag}`);
    const saved = await openImage(`podman:${storageTag}`, {}).then(async (i) => {
      await i.close();
      const prev = process.env.DRYDOCK_PODMAN_STORAGE;
      process.env.DRYDOCK_PODMAN_STORAGE = 'off';
      try {
        return await openImage(`podman:${storageTag}`);
      } finally {
        if (prev === undefined) delete process.env.DRYDOCK_PODMAN_STORAGE;
        else process.env.DRYDOCK_PODMAN_STORAGE = prev;
      }
    });
    try {
      expect(direct.configDigest).toBe(`sha256:${id}`);
      expect(direct.configDigest).toBe(saved.configDigest);
      expect(direct.layers.map((l) => l.diffId)).toEqual(saved.layers.map((l) => l.diffId));
      expect(direct.reference).toBe(storageTag);
      // the rebuilt tar of every layer hashes to its diff_id (the reader's digest check errors otherwise)
      for (const l of direct.layers) {
        expect(l.digest).toBe(l.diffId);
        const h = createHash('sha256');
        for await (const c of await direct.openLayer(l.index)) h.update(c as Buffer);
        expect(`sha256:${h.digest('hex')}`).toBe(l.diffId);
        expect(await direct.verificationBinding(l.index)).toMatch(/^podman-storage:/);
      }
      // an id prefix names the same image
      const byId = await openImage(`podman:${id.slice(0, 12)}`);
      expect(byId.configDigest).toBe(direct.configDigest);
      await byId.close();
    } finally {
      await direct.close();
      await saved.close();
    }
  }, 180_000);
});
