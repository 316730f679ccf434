/**
 * Acceptance tests on the corpus of real images (../shared/corpus/build.sh), through the built CLI.
 * DRYDOCK_CORPUS points at the corpus (scripts/test.sh builds it with SKIP_BIG=1); without it these
 * tests are skipped locally and fail in CI (CI=true), so a missing corpus cannot pass silently.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, cpSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliRun } from '../harness/cli.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';

const CORPUS = process.env.DRYDOCK_CORPUS ?? (existsSync('/var/tmp/drydock-corpus/images/app') ? '/var/tmp/drydock-corpus' : undefined);

if (!CORPUS && process.env.CI) {
  throw new Error('DRYDOCK_CORPUS is not set in CI: scripts/test.sh builds the corpus first');
}

const images = CORPUS
  ? ['base', 'app', 'distroless', 'big'].filter((n) => existsSync(join(CORPUS, 'images', n, 'index.json')))
  : [];

function drydock(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, { env: { ...process.env, ...env }, timeoutMs: 600_000, maxBuffer: 1 << 30 });
}

async function inspectJson(target: string, extra: string[] = []): Promise<any> {
  const r = await drydock(['inspect', target, '--format', 'json', '--quiet', ...extra]);
  if (r.code !== 0) throw new Error(`inspect ${target} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function configDiffIds(layoutDir: string): string[] {
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8'));
  const blob = (d: string) => readFileSync(join(layoutDir, 'blobs', ...d.split(':')));
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
  return JSON.parse(blob(manifest.config.digest).toString()).rootfs.diff_ids;
}

/** path → {type, size} of a tree unpacked by umoci, as lstat sees it */
function walkTree(root: string): Map<string, { type: string; size: number }> {
  const out = new Map<string, { type: string; size: number }>();
  const visit = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const p = `${rel}/${name}`;
      const st = lstatSync(abs);
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'other';
      out.set(p, { type, size: type === 'file' ? st.size : 0 });
      if (type === 'dir') visit(abs, p);
    }
  };
  visit(root, '');
  return out;
}

describe.skipIf(images.length === 0)('corpus: the same image from every form', () => {
  let registry: TestRegistry;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'drydock-corpus-'));
    registry = await startRegistry({ auth: 'none' });
    for (const n of images) {
      const r = spawnSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${join(CORPUS!, 'images', n)}:latest`, `docker://${registry.host}/corpus/${n}:latest`]);
      if (r.status !== 0) throw new Error(`skopeo push ${n}: ${r.stderr}`);
    }
    const zstdLayout = join(CORPUS!, 'work', 'app-zstd');
    if (existsSync(zstdLayout)) {
      const r = spawnSync('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${zstdLayout}:latest`, `docker://${registry.host}/corpus/app:zstd`]);
      if (r.status !== 0) throw new Error(`skopeo push app:zstd: ${r.stderr}`);
    }
  }, 600_000);

  afterAll(async () => {
    await registry?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it.each(images)('%s: computed diffIDs agree across oci-dir, oci-archive, docker-archive and registry', async (n) => {
    const expected = configDiffIds(join(CORPUS!, 'images', n));
    const cacheDir = join(work, `cache-${n}`);
    const targets = [
      `oci-dir:${join(CORPUS!, 'images', n)}:latest`,
      `oci-archive:${join(CORPUS!, 'images', `${n}.oci.tar`)}`,
      `docker-archive:${join(CORPUS!, 'images', `${n}.docker.tar`)}`,
      `${registry.host}/corpus/${n}:latest`,
    ];
    const skopeo = JSON.parse(spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/corpus/${n}:latest`]).stdout.toString());
    for (const t of targets) {
      const r = await inspectJson(t, ['--verify', '--cache-dir', cacheDir, '--insecure-registry', registry.host]);
      expect(r.layers.map((l: any) => l.diffId), t).toEqual(expected);
      expect(r.layers.every((l: any) => l.verified === true), t).toBe(true);
      if (t.startsWith(registry.host)) expect(r.digest).toBe(skopeo.Digest);
    }
  }, 600_000);

  it.skipIf(!CORPUS || !existsSync(join(CORPUS, 'work', 'app-zstd')))('app:zstd from the registry has the same diffIDs as app', async () => {
    const r = await inspectJson(`${registry.host}/corpus/app:zstd`, ['--verify', '--no-cache', '--insecure-registry', registry.host]);
    expect(r.layers.every((l: any) => l.mediaType.endsWith('+zstd'))).toBe(true);
    expect(r.layers.map((l: any) => l.diffId)).toEqual(configDiffIds(join(CORPUS!, 'images', 'app')));
  }, 300_000);

  it('a layer blob altered by one byte is refused with a digest error', async () => {
    const copy = join(work, 'tampered');
    cpSync(join(CORPUS!, 'images', 'distroless'), copy, { recursive: true });
    const index = JSON.parse(readFileSync(join(copy, 'index.json'), 'utf8'));
    const manifest = JSON.parse(readFileSync(join(copy, 'blobs', ...index.manifests[0].digest.split(':'))).toString());
    const layer = join(copy, 'blobs', ...manifest.layers[0].digest.split(':'));
    const bytes = readFileSync(layer);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(layer, bytes);
    const r = await drydock(['inspect', `oci-dir:${copy}:latest`, '--verify', '--no-cache', '--format', 'json']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/DIGEST_MISMATCH/);
    expect(r.stderr).toContain(manifest.layers[0].digest);
  }, 120_000);

  it.each(images.filter((n) => n !== 'big'))('%s: --files lists exactly what umoci unpack produces', async (n) => {
    const bundle = join(work, `bundle-${n}`);
    const u = spawnSync('umoci', ['unpack', '--image', `${join(CORPUS!, 'images', n)}:latest`, bundle]);
    if (u.status !== 0) throw new Error(`umoci unpack: ${u.stderr}`);
    const truth = walkTree(join(bundle, 'rootfs'));
    const r = await inspectJson(`oci-dir:${join(CORPUS!, 'images', n)}:latest`, ['--files', '--no-cache']);
    const ours = new Map<string, { type: string; size: number }>();
    const byPath = new Map<string, any>(r.files.map((f: any) => [f.path, f]));
    for (const f of r.files) {
      if (f.path === '/') continue;
      // a hard link unpacks as a regular file with its target's size
      if (f.type === 'hardlink') {
        const target = byPath.get(f.linkname);
        ours.set(f.path, { type: 'file', size: target?.size ?? -1 });
      } else {
        ours.set(f.path, { type: f.type, size: f.type === 'file' ? f.size : 0 });
      }
    }
    const missing = [...truth.keys()].filter((p) => !ours.has(p)).slice(0, 20);
    const extra = [...ours.keys()].filter((p) => !truth.has(p)).slice(0, 20);
    expect({ missing, extra }).toEqual({ missing: [], extra: [] });
    const differ = [...truth].filter(([p, t]) => {
      const o = ours.get(p)!;
      return o.type !== t.type || o.size !== t.size;
    }).slice(0, 20);
    expect(differ).toEqual([]);
    expect(ours.size).toBe(truth.size);
    rmSync(bundle, { recursive: true, force: true });
  }, 300_000);

  it.skipIf(!images.includes('app'))('app: /usr/bin/curl is gone from the squashed view, and all-layers says who wrote and deleted it', async () => {
    const target = `oci-archive:${join(CORPUS!, 'images', 'app.oci.tar')}`;
    const squashed = await inspectJson(target, ['--files', '--no-cache']);
    expect(squashed.files.some((f: any) => f.path === '/usr/bin/curl')).toBe(false);
    const all = await inspectJson(target, ['--files', '--scope', 'all-layers', '--no-cache']);
    const curl = all.files.filter((f: any) => f.path === '/usr/bin/curl');
    expect(curl).toHaveLength(1);
    // the first layer (index 0) wrote it, the fourth (index 3) deleted it
    expect(curl[0]).toMatchObject({ layer: 0, status: 'deleted', by: 3, type: 'file' });
    expect(all.layers[0].createdBy).toMatch(/debootstrap/);
    expect(all.layers[3].createdBy).toMatch(/rm \/usr\/bin\/curl/);
  }, 300_000);

  it.skipIf(!images.includes('app'))('copy registry -> oci-dir -> registry keeps the manifest digest', async () => {
    const src = `${registry.host}/corpus/app:latest`;
    const layout = join(work, 'copy-layout');
    const insecure = ['--insecure-registry', registry.host, '--quiet'];
    const a = await drydock(['copy', src, `oci-dir:${layout}:v1`, ...insecure]);
    expect(a.code, a.stderr).toBe(0);
    const b = await drydock(['copy', `oci-dir:${layout}:v1`, `${registry.host}/copied/app:v1`, ...insecure]);
    expect(b.code, b.stderr).toBe(0);
    const raw = (ref: string) => spawnSync('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]).stdout.toString();
    const digestOf = (ref: string) => JSON.parse(spawnSync('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`]).stdout.toString()).Digest;
    expect(raw(`${registry.host}/copied/app:v1`)).toBe(raw(src));
    expect(digestOf(`${registry.host}/copied/app:v1`)).toBe(digestOf(src));
    // the layout is a valid OCI layout by the reference tool
    const ls = spawnSync('umoci', ['ls', '--layout', layout]);
    expect(ls.stdout.toString()).toContain('v1');
  }, 300_000);
});
