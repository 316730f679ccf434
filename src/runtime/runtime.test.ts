import { mkdirSync, mkdtempSync, rmSync, symlinkSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { IssueLog } from '../core/issues.js';
import type { FileMeta } from '../layers/types.js';
import type { Package } from '../model/package.js';
import { classify, compareTrees, diffInventories, reachesThreshold, settlePending } from './compare.js';
import { containerFromInspect, podmanSocketOf } from './podman.js';
import { parseMountinfo, parsePid } from './procfs.js';
import { exclusionsOf, hashWalked, resolveInTree, RunningFilesystem, walkRoot, type RunningEntry } from './rootfs.js';

const MOUNTINFO = `77 50 0:40 / / rw,relatime - overlay overlay rw,lowerdir=/x
78 77 0:43 / /proc rw,nosuid - proc proc rw
79 77 0:44 / /dev rw,nosuid - tmpfs tmpfs rw
84 77 254:0 /run/x/.containerenv /run/.containerenv rw - ext4 /dev/vda rw
85 77 254:0 /vol /data\\040dir rw - ext4 /dev/vda rw
51 78 0:43 /bus /proc/bus ro - proc proc rw
bad line
`;

describe('procfs', () => {
  it('parses mountinfo, unescaping octal and skipping bad lines', () => {
    const m = parseMountinfo(MOUNTINFO);
    expect(m.map((x) => x.mountPoint)).toEqual(['/', '/proc', '/dev', '/run/.containerenv', '/data dir', '/proc/bus']);
    expect(m[1]).toMatchObject({ mountId: 78, parentId: 77, device: '0:43', fstype: 'proc', source: 'proc' });
  });
  it('leaves out virtual filesystems and mounts, outermost only', () => {
    expect(exclusionsOf(parseMountinfo(MOUNTINFO))).toEqual([
      { path: '/data dir', reason: 'mount', fstype: 'ext4' },
      { path: '/dev', reason: 'virtual', fstype: 'tmpfs' },
      { path: '/proc', reason: 'virtual', fstype: 'proc' },
      { path: '/run/.containerenv', reason: 'mount', fstype: 'ext4' },
      { path: '/sys', reason: 'virtual' },
    ]);
  });
  it('takes only decimal pids', () => {
    expect(parsePid('42')).toBe(42);
    for (const bad of ['0', '-1', '1/../2', 'self', '']) expect(() => parsePid(bad)).toThrow(/invalid process id/);
  });
});

describe('podman documents', () => {
  it('maps podman inspect and Docker-compatible inspect to one shape', () => {
    const podman = containerFromInspect({ Id: 'abc', Name: 'web', Image: '157c', ImageName: 'localhost/app:1', ImageDigest: 'sha256:dd', State: { Status: 'running', Running: true, Pid: 12, StartedAt: '2026-01-01T00:00:00Z' }, Config: { Labels: { b: '2', a: '1' } }, Mounts: [{ Destination: '/data', Source: '/srv', Type: 'bind' }] });
    expect(podman).toEqual({ runtime: 'podman', id: 'abc', name: 'web', image: 'localhost/app:1', imageId: 'sha256:157c', imageDigest: 'sha256:dd', repoDigests: [], startedAt: '2026-01-01T00:00:00Z', state: 'running', labels: { a: '1', b: '2' }, pid: 12, rootfs: '/proc/12/root', mounts: [{ destination: '/data', source: '/srv', type: 'bind' }] });
    const compat = containerFromInspect({ Id: 'abc', Name: '/web', Image: 'sha256:157c', State: { Status: 'exited', Running: false, Pid: 0, StartedAt: '0001-01-01T00:00:00Z' }, Config: { Image: 'localhost/app:1' } }, ['localhost/app@sha256:ee']);
    expect(compat).toMatchObject({ name: 'web', image: 'localhost/app:1', imageDigest: 'sha256:ee', repoDigests: ['localhost/app@sha256:ee'], state: 'exited' });
    expect(compat.pid).toBeUndefined();
    expect(compat.startedAt).toBeUndefined();
  });
  it('picks the API only when a socket is configured', () => {
    expect(podmanSocketOf({ env: {} })).toBeUndefined();
    expect(podmanSocketOf({ env: { CONTAINER_HOST: 'unix:///run/p.sock' } })).toBe('/run/p.sock');
    expect(podmanSocketOf({ env: { CONTAINER_HOST: 'ssh://host/run/p.sock' } })).toBeUndefined();
    expect(podmanSocketOf({ socket: '/s', env: { DRYDOCK_PODMAN_SOCKET: 'unix:///t' } })).toBe('/s');
    expect(() => podmanSocketOf({ socket: 'tcp://x:1', env: {} })).toThrow(/not supported/);
  });
});

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'drydock-rootfs-'));
  dirs.push(root);
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'proc'));
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'etc/os-release'), 'ID=debian\n');
  writeFileSync(join(root, 'proc/cpuinfo'), 'x');
  writeFileSync(join(root, 'usr/bin/tool'), '#!/bin/sh\n');
  chmodSync(join(root, 'usr/bin/tool'), 0o755);
  symlinkSync('/etc/passwd', join(root, 'etc/escape')); // absolute: inside the container, not the host
  symlinkSync('../../../../../../etc/hostname', join(root, 'etc/dotdot'));
  symlinkSync('/etc/os-release', join(root, 'etc/alias'));
  return root;
}

describe('walking a root', () => {
  it('uses lstat only, leaves out /proc and resolves links inside the root', async () => {
    const root = tree();
    const issues = new IssueLog();
    const w = await walkRoot({ root, rootDev: statSync(root).dev, mounts: [], issues });
    expect(w.complete).toBe(true);
    expect([...w.entries.keys()].sort()).toEqual(['/etc', '/etc/alias', '/etc/dotdot', '/etc/escape', '/etc/os-release', '/usr', '/usr/bin', '/usr/bin/tool']);
    expect(w.entries.get('/etc/escape')).toMatchObject({ type: 'symlink', linkname: '/etc/passwd' });
    // the host's /etc/passwd exists; the container's does not: nothing is resolved through the host
    expect(resolveInTree(w.entries, '/etc/escape')).toBeUndefined();
    expect(resolveInTree(w.entries, '/etc/dotdot')).toBeUndefined();
    expect(resolveInTree(w.entries, '/etc/alias')?.path).toBe('/etc/os-release');
    const fs = new RunningFilesystem(root, w.entries, [{ id: 'x', version: '1', paths: ['/etc/alias', '/etc/escape'] }], issues);
    expect((await fs.readFile('/etc/alias'))?.toString()).toBe('ID=debian\n');
    expect(await fs.readFile('/etc/escape')).toBeUndefined();
    expect(fs.selected('x').map((f) => f.path)).toEqual(['/etc/alias', '/etc/escape']);
  });

  it('stops at the entry limit with a coded issue and reports no deletions then', async () => {
    const root = tree();
    const issues = new IssueLog();
    const w = await walkRoot({ root, rootDev: statSync(root).dev, mounts: [], issues, limits: { maxEntries: 3 } });
    expect(w.complete).toBe(false);
    expect(issues.issues.map((i) => i.code)).toEqual(['LIMIT_EXCEEDED']);
  });

  it('refuses to read a file that is no longer the walked inode', async () => {
    const root = tree();
    const w = await walkRoot({ root, rootDev: statSync(root).dev, mounts: [], issues: new IssueLog() });
    const e = w.entries.get('/etc/os-release')!;
    expect(await hashWalked(root, e)).toMatchObject({ bytes: 10 });
    rmSync(join(root, 'etc/os-release'));
    symlinkSync('/etc/hostname', join(root, 'etc/os-release'));
    expect(await hashWalked(root, e)).toBeUndefined();
  });
});

function img(path: string, o: Partial<FileMeta> = {}): FileMeta {
  return { path, type: 'file', size: 4, mode: 0o644, uid: 0, gid: 0, mtime: 100, layer: 0, ...o };
}
function run(path: string, o: Partial<RunningEntry> = {}): RunningEntry {
  return { path, type: 'file', size: 4, mode: 0o644, uid: 0, gid: 0, mtime: 100, layer: 0, dev: 1, ino: 1, ...o };
}

describe('comparing trees', () => {
  const contents: Record<string, string> = { '/bin/ls': 'aaaa', '/etc/a': 'same', '/etc/t': 'same', '/etc/c': 'new!', '/x': 'xx' };
  const imageContents: Record<string, string> = { '/bin/ls': 'bbbb', '/etc/a': 'same' };
  async function compare(image: FileMeta[], running: RunningEntry[], complete = true) {
    return compareTrees({
      running: new Map(running.map((r) => [r.path, r])),
      complete,
      image,
      imageStat: (p) => image.find((i) => i.path === p),
      excluded: [{ path: '/proc', reason: 'virtual' }],
      hashRunning: async (e) => contents[e.path],
      hashImage: async (p) => imageContents[p],
      issues: new IssueLog(),
    });
  }

  it('finds added, changed and deleted files; executables by content; mtime alone is no change', async () => {
    const r = await compare(
      [img('/bin/ls', { mode: 0o755 }), img('/etc/a', { mtime: 1 }), img('/etc/gone'), img('/etc/m'), img('/proc/1')],
      [run('/bin/ls', { mode: 0o755 }), run('/etc/a'), run('/etc/m', { mode: 0o600 }), run('/x', { size: 2, mode: 0o700 }), run('/proc/2')],
    );
    expect(r.files.map((f) => [f.path, f.status, f.changes ?? []])).toEqual([
      ['/bin/ls', 'changed', ['content']],
      ['/etc/gone', 'deleted', []],
      ['/etc/m', 'changed', ['mode']],
      ['/x', 'added', []],
    ]);
    expect(r.hashedFiles).toBe(3); // /bin/ls (executable), /etc/a (mtime), /x (added)
  });

  it('settles same-size files of another mtime once the image digests are read, and skips deletions of a partial walk', async () => {
    const r = await compare([img('/etc/t', { mtime: 1 }), img('/etc/c', { mtime: 1 }), img('/etc/gone')], [run('/etc/t'), run('/etc/c')], false);
    expect(r.files).toEqual([]);
    expect(r.pending.map((f) => f.path)).toEqual(['/etc/c', '/etc/t']);
    settlePending(r, (p) => ({ '/etc/t': 'same', '/etc/c': 'old!' })[p]);
    expect(r.files.map((f) => [f.path, f.changes])).toEqual([['/etc/c', ['content']]]);
  });
});

function pkg(name: string, version: string, files: string[] = []): Package {
  return { id: name, type: 'deb', name, version, locations: [{ path: '/var/lib/dpkg/status', layer: 0 }], foundBy: 'dpkg', metadata: { kind: 'dpkg', files: files.map((path) => ({ path })) } };
}

describe('classifying', () => {
  it('diffs inventories', () => {
    expect(diffInventories([pkg('a', '1'), pkg('b', '1'), pkg('c', '1')], [pkg('a', '1'), pkg('b', '2'), pkg('d', '1')]).map((p) => `${p.status} ${p.name}`)).toEqual(['changed b', 'removed c', 'installed d']);
  });

  it('gives each drift its kind and severity', () => {
    const findings = classify({
      files: [
        { path: '/usr/bin/ls', status: 'changed', type: 'file', changes: ['content'], mode: 0o755, imageMode: 0o755, executable: true },
        { path: '/usr/lib/libx.so.1', status: 'changed', type: 'file', changes: ['size'], mode: 0o644, imageMode: 0o644 },
        { path: '/etc/conf', status: 'changed', type: 'file', changes: ['size'], mode: 0o644 },
        { path: '/tmp/run', status: 'changed', type: 'file', changes: ['mode'], mode: 0o755, imageMode: 0o644, executable: true },
        { path: '/opt/new', status: 'added', type: 'file', mode: 0o755, executable: true },
        { path: '/opt/data', status: 'added', type: 'file', mode: 0o644 },
        { path: '/etc/old', status: 'deleted', type: 'file' },
        { path: '/var/lib/dpkg/status', status: 'changed', type: 'file', changes: ['size'] },
      ],
      packages: [],
      imageOwners: new Map([['/usr/bin/ls', 'coreutils'], ['/usr/lib/libx.so.1', 'libx'], ['/etc/conf', 'conf']]),
    });
    expect(findings.map((f) => `${f.severity} ${f.kind} ${f.subject}`)).toEqual([
      'critical modified-package-binary /usr/bin/ls',
      'critical modified-package-binary /usr/lib/libx.so.1',
      'high new-executable /opt/new',
      'high new-executable /tmp/run',
      'high package-db-tampered /var/lib/dpkg/status',
      'info file-added /opt/data',
      'info file-changed /etc/conf',
      'info file-changed /var/lib/dpkg/status',
      'info file-deleted /etc/old',
    ]);
    expect(reachesThreshold(findings, 'critical')).toHaveLength(2);
    expect(reachesThreshold(findings, 'medium')).toHaveLength(5);
    expect(reachesThreshold(findings, 'negligible')).toHaveLength(9);
  });

  it('leaves database bookkeeping to the package findings when a package changed', () => {
    const findings = classify({
      files: [
        { path: '/var/lib/dpkg/status', status: 'changed', type: 'file', changes: ['size'] },
        { path: '/var/lib/dpkg/info/tiny.list', status: 'added', type: 'file', mode: 0o644 },
        { path: '/usr/bin/tiny', status: 'added', type: 'file', mode: 0o755, executable: true },
      ],
      packages: [{ status: 'installed', type: 'deb', name: 'tiny', version: '1' }, { status: 'removed', type: 'deb', name: 'old', imageVersion: '2' }],
      runningOwners: new Map([['/usr/bin/tiny', 'tiny']]),
    });
    expect(findings.map((f) => `${f.severity} ${f.kind} ${f.subject}`)).toEqual(['high new-executable /usr/bin/tiny', 'medium package-installed-at-runtime deb/tiny', 'low package-removed deb/old']);
    expect(findings[0]!.message).toContain('package tiny');
  });
});
