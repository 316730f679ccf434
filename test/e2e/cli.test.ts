/**
 * End-to-end tests of the built CLI (`node dist/cli.js`, built by `npm run build`) on images made
 * by the testkit: the exit-code contract, help, options from flags / env / config, output files,
 * verification records, platforms, docker-archive selection, and hostile or broken input.
 *
 * Every run gets its own HOME, XDG dirs, TMPDIR and working directory inside one sandbox, so a
 * run never reads the developer's config and never writes outside the sandbox.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, type CliRun } from '../harness/cli.js';
import {
  buildImage,
  buildIndex,
  rawTar,
  sampleImage,
  sha256,
  tempDir,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  type BuiltImage,
  type BuiltLayer,
} from '../testkit/index.js';


type Run = CliRun;

let sandbox: { dir: string; cleanup: () => void };
let S = ''; // sandbox root
let CWD = ''; // working directory of every run (must stay empty)
let CACHE = ''; // default cache dir of every run

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'NODE_OPTIONS', 'SYSTEMROOT', 'LANG']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return {
    ...env,
    HOME: join(S, 'home'),
    XDG_CONFIG_HOME: join(S, 'xdg-config'),
    XDG_CACHE_HOME: join(S, 'xdg-cache'),
    TMPDIR: join(S, 'tmp'),
    DRYDOCK_CACHE_DIR: CACHE,
  };
}

/** Runs the CLI; never throws. A run that outlives `timeoutMs` is killed (code null). */
function drydock(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return runCli(args, { cwd: CWD, env: { ...baseEnv(), ...opts.env }, timeoutMs: opts.timeoutMs ?? 20_000, maxBuffer: 64 << 20 });
}

/** A fatal error in the contract's shape: one `drydock: error [CODE]:` line, no stack trace. */
function expectError(r: Run, code: string, exit: number): void {
  expect(r.stderr, r.stderr).toMatch(new RegExp(`^drydock: error \\[${code}\\]: `, 'm'));
  expect(r.code, r.stderr).toBe(exit);
  expectNoCrash(r);
}

function expectNoCrash(r: Run): void {
  expect(r.code, 'killed: the run hung').not.toBeNull();
  expect(r.stderr).not.toMatch(/internal error|\n\s+at .+:\d+:\d+\)?$|TypeError|RangeError|ReferenceError/m);
}

/** Rebuilds an image around the given layers (manifest, config and blobs stay consistent). */
function withLayers(base: BuiltImage, layers: { blob: Buffer; diffId: string; mediaType: string }[]): BuiltImage {
  const config = JSON.parse(base.config.toString()) as Record<string, unknown>;
  config.rootfs = { type: 'layers', diff_ids: layers.map((l) => l.diffId) };
  config.history = layers.map((_, i) => ({ created_by: `custom layer ${i}` }));
  const configBytes = Buffer.from(JSON.stringify(config));
  const configDigest = sha256(configBytes);
  const built: BuiltLayer[] = layers.map((l) => ({ tar: Buffer.alloc(0), blob: l.blob, digest: sha256(l.blob), diffId: l.diffId, mediaType: l.mediaType, compression: 'gzip' }));
  const manifest = {
    schemaVersion: 2,
    mediaType: base.manifest.mediaType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
    layers: built.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.blob.length })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const blobs = new Map<string, Buffer>([[configDigest, configBytes]]);
  for (const l of built) blobs.set(l.digest, l.blob);
  return { ...base, manifest: { bytes, mediaType: manifest.mediaType, digest: sha256(bytes) }, config: configBytes, configDigest, blobs, diffIds: built.map((l) => l.diffId), layers: built };
}

function gzLayer(tar: Buffer): { blob: Buffer; diffId: string; mediaType: string } {
  return { blob: gzipSync(tar), diffId: sha256(tar), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' };
}

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length));
}

/** Every path below `dir` (relative), for before/after comparisons; `skip` names top-level entries not to walk. */
function tree(dir: string, skip: string[] = []): string[] {
  const out: string[] = [];
  const visit = (d: string, rel: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return; // removed meanwhile by a concurrent run
    }
    for (const n of entries) {
      const p = rel ? `${rel}/${n.name}` : n.name;
      if (!rel && skip.includes(n.name)) continue;
      out.push(p);
      if (n.isDirectory()) visit(join(d, n.name), p);
    }
  };
  if (existsSync(dir)) visit(dir, '');
  return out.sort();
}

const F: Record<string, string> = {}; // fixture paths
let sample: BuiltImage;
let amd: BuiltImage;
let arm: BuiltImage;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  sandbox = tempDir('drydock-cli-e2e-');
  S = sandbox.dir;
  CWD = join(S, 'cwd');
  CACHE = join(S, 'cache');
  for (const d of ['cwd', 'home', 'xdg-config', 'xdg-cache', 'tmp', 'fx', 'out']) mkdirSync(join(S, d), { recursive: true });
  const fx = (n: string) => (F[n] = join(S, 'fx', n));

  sample = await sampleImage();
  writeOciLayout(fx('sample'), sample);
  await writeOciArchive(fx('sample.oci.tar'), sample);

  amd = await buildImage({ layers: [[{ path: '/arch', content: 'amd64' }]], platform: { os: 'linux', architecture: 'amd64' } });
  arm = await buildImage({ layers: [[{ path: '/arch', content: 'arm64' }]], platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  writeOciLayout(fx('multi'), buildIndex([amd, arm]));

  const app1 = await buildImage({ layers: [[{ path: '/app', content: 'one' }]], config: { labels: { app: '1' } } });
  const app2 = await buildImage({ layers: [[{ path: '/app', content: 'two' }]], config: { labels: { app: '2' } } });
  await writeDockerArchive(fx('two.docker.tar'), [
    { image: app1, repoTags: ['app:1.0'] },
    { image: app2, repoTags: ['app:2.0', 'example.com/app:latest'] },
  ]);

  // hostile layer: "..", absolute paths, a link escaping the root, and a symlink loop
  const hostile = await rawTar([
    { path: 'ok/', type: 'dir' },
    { path: 'ok/file', content: 'fine' },
    { path: '../escape-dotdot', content: 'evil' },
    { path: 'ok/../../escape-nested', content: 'evil' },
    { path: '/escape-absolute', content: 'evil' },
    { path: 'loop-a', type: 'symlink', linkname: 'loop-b' },
    { path: 'loop-b', type: 'symlink', linkname: 'loop-a' },
    { path: 'self', type: 'symlink', linkname: '.' },
    { path: 'ok/up', type: 'symlink', linkname: '../../../../etc' },
    { path: 'ok/hard-escape', type: 'hardlink', linkname: '../../etc/passwd' },
  ]);
  writeOciLayout(fx('hostile'), withLayers(sample, [gzLayer(hostile)]));

  // a corrupt gzip stream whose blob digest is right (so only decompression can notice)
  const good = gzipSync(await rawTar([{ path: 'f', content: 'x'.repeat(50_000) + Math.random() }]));
  const bad = Buffer.from(good);
  for (let i = 20; i < bad.length - 20; i += 7) bad[i] = bad[i]! ^ 0x55;
  writeOciLayout(fx('badgzip'), withLayers(sample, [{ blob: bad, diffId: sha256('whatever'), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }]));

  // a bomb: 8 MiB of zeros in one file, a few KiB compressed; and a layer with 50 entries
  const bombTar = await rawTar([{ path: 'zeros', content: Buffer.alloc(8 << 20) }]);
  writeOciLayout(fx('bomb'), withLayers(sample, [gzLayer(bombTar)]));
  const many = await rawTar(Array.from({ length: 50 }, (_, i) => ({ path: `f${i}`, content: String(i) })));
  writeOciLayout(fx('many'), withLayers(sample, [gzLayer(many)]));

  // missing blobs
  writeOciLayout(fx('noconfig'), sample, { omitBlobs: [sample.configDigest] });
  writeOciLayout(fx('nolayers'), sample, { omitBlobs: sample.layers.map((l) => l.digest) });

  // unknown layer media type
  const weird = await buildImage({ layers: [{ entries: [{ path: '/x', content: 'x' }], mediaType: 'application/vnd.example.weird.layer' }] });
  writeOciLayout(fx('weirdlayer'), weird);

  // schema 1 manifest referenced from index.json
  const s1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'library/old', tag: 'latest', architecture: 'amd64', fsLayers: [], history: [] }));
  const s1Type = 'application/vnd.docker.distribution.manifest.v1+prettyjws';
  writeOciLayout(fx('schema1'), sample, { extraBlobs: new Map([[sha256(s1), s1]]) });
  writeFileSync(join(F.schema1!, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: s1Type, digest: sha256(s1), size: s1.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }] }));

  // a layout whose index.json is not JSON; a manifest blob whose bytes do not match its name
  writeOciLayout(fx('badindex'), sample);
  writeFileSync(join(F.badindex!, 'index.json'), '{"schemaVersion": 2, "manifests": [');
  writeOciLayout(fx('badmanifest'), sample);
  writeFileSync(blobPath(F.badmanifest!, sample.manifest.digest), Buffer.from(sample.manifest.bytes.toString().replace('"schemaVersion":2', '"schemaVersion":3')));

  // layers cut short (their digests name the cut bytes, so only reading them can notice)
  const longTar = await rawTar([{ path: 'big', content: Buffer.alloc(300_000, 7) }, { path: 'after', content: 'x' }]);
  const cutTar = longTar.subarray(0, 100_000);
  writeOciLayout(fx('cuttar'), withLayers(sample, [{ blob: cutTar, diffId: sha256(cutTar), mediaType: 'application/vnd.oci.image.layer.v1.tar' }]));
  const gz = gzipSync(longTar);
  const cutGz = gz.subarray(0, Math.floor(gz.length / 2));
  writeOciLayout(fx('cutgzip'), withLayers(sample, [{ blob: cutGz, diffId: sha256(longTar), mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }]));

  // truncated oci-archive
  const full = readFileSync(F['sample.oci.tar']!);
  writeFileSync(fx('truncated.oci.tar'), full.subarray(0, Math.floor(full.length / 2)));
});

afterAll(() => {
  sandbox?.cleanup();
});

describe.concurrent('exit-code contract: usage errors exit 2', () => {
  it('succeeds with 0 on a good image', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.sample}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(sample.manifest.digest);
    expect(r.stderr).toBe('');
  });

  it.each([
    ['unknown option', ['inspect', 'oci-dir:/x', '--bogus'], /unknown option '--bogus'/],
    ['unknown command', ['frobnicate'], /unknown command/],
    ['missing argument', ['inspect'], /missing required argument 'target'/],
    ['missing copy destination', ['copy', 'oci-dir:/x'], /missing required argument 'dest'/],
    ['bad --format', ['inspect', 'oci-dir:/x', '--format', 'xml'], /unknown format "xml"/],
    ['bad format version', ['inspect', 'oci-dir:/x', '--format', 'cyclonedx-json@9'], /no spec version 9|not available/],
    ['bad --scope', ['inspect', 'oci-dir:/x', '--files', '--scope', 'everything'], /--scope/],
    ['bad --timeout', ['inspect', 'oci-dir:/x', '--timeout', 'soon'], /--timeout/],
    ['bad --max-uncompressed', ['inspect', 'oci-dir:/x', '--max-uncompressed', 'lots'], /invalid size/],
    ['no command', [], /Usage: drydock/],
  ])('%s', async (_name, args, message) => {
    const r = await drydock(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expectNoCrash(r);
  });

  it('--format sarif on inspect is FORMAT_UNSUPPORTED (exit 2) and names the formats inspect takes', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.sample}`, '--format', 'sarif']);
    expectError(r, 'FORMAT_UNSUPPORTED', 2);
    expect(r.stderr).toMatch(/table, json/);
    expect(r.stdout).toBe('');
  });

  it('a bad --platform is PLATFORM_INVALID (exit 2)', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.multi}`, '--platform', 'linux']);
    expectError(r, 'PLATFORM_INVALID', 2);
  });

  it('a bad target is TARGET_INVALID (exit 2)', async () => {
    const r = await drydock(['inspect', 'Not A Reference!']);
    expectError(r, 'TARGET_INVALID', 2);
  });

  it('copy with a bad --platform is PLATFORM_INVALID and creates nothing at the destination', async () => {
    const dest = join(S, 'out', 'copy-bad-platform');
    const r = await drydock(['copy', `oci-dir:${F.multi}`, `oci-dir:${dest}`, '--platform', 'linux/']);
    expectError(r, 'PLATFORM_INVALID', 2);
    expect(existsSync(dest)).toBe(false);
  });

  it('copy to a read-only target kind is a usage error', async () => {
    const r = await drydock(['copy', `oci-dir:${F.sample}`, `docker-archive:${join(S, 'out', 'x.tar')}`]);
    expect(r.code, r.stderr).toBe(2);
    expectNoCrash(r);
    expect(existsSync(join(S, 'out', 'x.tar'))).toBe(false);
  });

  it('runtime errors exit 3+ with "drydock: error [CODE]: message" naming the object', async () => {
    const missing = join(S, 'no-such-layout');
    const r = await drydock(['inspect', `oci-dir:${missing}`]);
    expectError(r, 'IMAGE_NOT_FOUND', 3);
    expect(r.stderr).toContain(missing);
  });
});

describe.concurrent('help and version', () => {
  it.each(['inspect', 'copy'])('%s --help lists the targets and the exit codes', async (cmd) => {
    const r = await drydock([cmd, '--help']);
    expect(r.code).toBe(0);
    for (const t of ['registry:REF', 'oci-dir:PATH', 'oci-archive:PATH', 'docker-archive:PATH', 'dir:PATH', 'podman:REF', 'docker:REF']) {
      expect(r.stdout).toContain(t);
    }
    expect(r.stdout).toMatch(/Exit codes: 0 success, 1 a check failed, 2 usage error, 3 and above runtime errors/);
    expect(r.stdout).toContain('--format');
    expect(r.stdout).toMatch(/\[env:\s+DRYDOCK_PLATFORM\]/);
    // descriptions wrap to the terminal, not at hard line breaks
    expect(r.stdout).not.toMatch(/^\S.{0,40}\n\S/m);
  });

  it('drydock --help lists the commands and the exit codes; help COMMAND works', async () => {
    const r = await drydock(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/inspect \[options\] <target>/);
    expect(r.stdout).toMatch(/copy \[options\] <source> <dest>/);
    expect(r.stdout).toMatch(/Exit codes:/);
    const h = await drydock(['help', 'inspect']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--verify');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version']) {
      const r = await drydock([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });
});

describe.concurrent('inspect --format json', () => {
  it('has the documented field names', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.sample}`, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, any>;
    expect(j.digest).toBe(sample.manifest.digest);
    expect(j.platform).toBe('linux/amd64');
    expect(j.configDigest).toBe(sample.configDigest);
    expect(j.config).toMatchObject({ cmd: ['/bin/sh'], labels: { 'org.example': 'testkit' } });
    expect(Array.isArray(j.layers)).toBe(true);
    expect(j.layers).toHaveLength(2);
    for (const [i, l] of (j.layers as Record<string, unknown>[]).entries()) {
      expect(Object.keys(l).sort()).toEqual(['createdBy', 'diffId', 'digest', 'index', 'mediaType', 'size', 'verified']);
      expect(l).toEqual({
        index: i,
        digest: sample.layers[i]!.digest,
        diffId: sample.layers[i]!.diffId,
        size: sample.layers[i]!.blob.length,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        createdBy: i === 0 ? 'ADD rootfs.tar /' : 'RUN rm /tmp/junk && ln -s /bin/sh /bin/bash',
        verified: false,
      });
    }
  });

  it('reads the same image from an oci-archive and from a docker-archive', async () => {
    const a = await drydock(['inspect', `oci-archive:${F['sample.oci.tar']}`, '--format', 'json', '--verify']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).digest).toBe(sample.manifest.digest);
    const d = await drydock(['inspect', `docker-archive:${F['two.docker.tar']}:app:2.0`, '--format', 'json', '--verify']);
    expect(d.code, d.stderr).toBe(0);
    const j = JSON.parse(d.stdout);
    expect(j.manifestDerived).toBe(true);
    expect(j.config.labels).toEqual({ app: '2' });
    expect(j.layers.every((l: { verified: boolean }) => l.verified)).toBe(true);
  });
});

describe.concurrent('--output FILE', () => {
  it('writes the file and leaves no temporary file', async () => {
    const dir = join(S, 'out', 'ok');
    mkdirSync(dir);
    const file = join(dir, 'inspect.json');
    const r = await drydock(['inspect', `oci-dir:${F.sample}`, '--format', 'json', '--output', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(readFileSync(file, 'utf8')).digest).toBe(sample.manifest.digest);
    expect(readdirSync(dir)).toEqual(['inspect.json']);
  });

  it('on failure leaves no partial file and keeps an existing one', async () => {
    const dir = join(S, 'out', 'fail');
    mkdirSync(dir);
    const file = join(dir, 'files.json');
    writeFileSync(file, 'previous result\n');
    const r = await drydock(['inspect', `oci-dir:${F.bomb}`, '--files', '--format', 'json', '--max-uncompressed', '1MiB', '-o', file]);
    expectError(r, 'LIMIT_EXCEEDED', 6);
    expect(readdirSync(dir)).toEqual(['files.json']);
    expect(readFileSync(file, 'utf8')).toBe('previous result\n');
  });

  it('an unwritable output is IO_ERROR (exit 4) and leaves nothing behind', async () => {
    const file = join(S, 'out', 'no-such-dir', 'x.json');
    const r = await drydock(['inspect', `oci-dir:${F.sample}`, '-o', file]);
    expectError(r, 'IO_ERROR', 4);
    expect(r.stderr).toContain(file);
    expect(existsSync(join(S, 'out', 'no-such-dir'))).toBe(false);
  });
});

describe.concurrent('options from flags, environment and config file', () => {
  const arch = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await drydock(['inspect', `oci-dir:${F.multi}`, '--format', 'json', ...args], { env });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout).platform as string;
  };

  it('flag > env > config file > default for --platform', async () => {
    const cfg = join(S, 'out', 'platform.yaml');
    writeFileSync(cfg, 'platform: linux/arm64\n');
    expect(await arch([])).toBe(process.arch === 'arm64' ? 'linux/arm64/v8' : 'linux/amd64');
    expect(await arch(['--config', cfg])).toBe('linux/arm64/v8');
    expect(await arch([], { DRYDOCK_CONFIG: cfg })).toBe('linux/arm64/v8');
    expect(await arch(['--config', cfg], { DRYDOCK_PLATFORM: 'linux/amd64' })).toBe('linux/amd64');
    expect(await arch(['--config', cfg, '--platform', 'linux/amd64'], { DRYDOCK_PLATFORM: 'linux/arm64' })).toBe('linux/amd64');
    expect(await arch(['--platform', 'linux/arm64'], { DRYDOCK_PLATFORM: 'linux/amd64' })).toBe('linux/arm64/v8');
  });

  it('reads $XDG_CONFIG_HOME/drydock/config.yaml when no config is named', async () => {
    const dir = join(S, 'out', 'xdg-other', 'drydock');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), 'platform: linux/arm64/v8\nformat: json\n');
    const r = await drydock(['inspect', `oci-dir:${F.multi}`], { env: { XDG_CONFIG_HOME: join(S, 'out', 'xdg-other') } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).platform).toBe('linux/arm64/v8');
  });

  it('an unknown config key is CONFIG_INVALID (exit 2) naming the key and the file', async () => {
    const cfg = join(S, 'out', 'unknown.yaml');
    writeFileSync(cfg, 'platform: linux/amd64\nplatfrom: linux/arm64\n');
    const r = await drydock(['inspect', `oci-dir:${F.sample}`, '--config', cfg]);
    expectError(r, 'CONFIG_INVALID', 2);
    expect(r.stderr).toContain('platfrom');
    expect(r.stderr).toContain(cfg);
  });

  it('a missing or malformed config file is CONFIG_INVALID (exit 2)', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.sample}`], { env: { DRYDOCK_CONFIG: join(S, 'out', 'missing.yaml') } });
    expectError(r, 'CONFIG_INVALID', 2);
    const bad = join(S, 'out', 'bad.yaml');
    writeFileSync(bad, 'platform: [unclosed\n');
    expectError(await drydock(['inspect', `oci-dir:${F.sample}`, '--config', bad]), 'CONFIG_INVALID', 2);
  });

  it('a bad value in the config file or the environment is CONFIG_INVALID (exit 2)', async () => {
    const cfg = join(S, 'out', 'badvalue.yaml');
    writeFileSync(cfg, 'timeout: soon\n');
    const r = await drydock(['inspect', `oci-dir:${F.sample}`, '--config', cfg]);
    expectError(r, 'CONFIG_INVALID', 2);
    expect(r.stderr).toContain('timeout');
    const e = await drydock(['inspect', `oci-dir:${F.sample}`], { env: { DRYDOCK_MAX_ENTRIES: '-3' } });
    expectError(e, 'CONFIG_INVALID', 2);
    expect(e.stderr).toContain('DRYDOCK_MAX_ENTRIES');
  });

  it('limits come from the environment and the config file too', async () => {
    expectError(await drydock(['inspect', `oci-dir:${F.many}`, '--files'], { env: { DRYDOCK_MAX_ENTRIES: '10' } }), 'LIMIT_EXCEEDED', 6);
    const cfg = join(S, 'out', 'limits.yaml');
    writeFileSync(cfg, 'max-uncompressed: 1MiB\n');
    expectError(await drydock(['inspect', `oci-dir:${F.bomb}`, '--files', '--config', cfg]), 'LIMIT_EXCEEDED', 6);
    // the flag wins over both
    const ok = await drydock(['inspect', `oci-dir:${F.bomb}`, '--files', '--config', cfg, '--max-uncompressed', '64MiB'], { env: { DRYDOCK_MAX_UNCOMPRESSED: '1MiB' } });
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe.concurrent('verification records: inspect reads no layer without --verify', () => {
  it('inspects a layout whose layer blobs are gone; --verify and --files then fail with BLOB_NOT_FOUND', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.nolayers}`, '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.layers.map((l: { verified: boolean }) => l.verified)).toEqual([false, false]);
    const v = await drydock(['inspect', `oci-dir:${F.nolayers}`, '--verify']);
    expectError(v, 'BLOB_NOT_FOUND', 3);
    expect(v.stderr).toMatch(/sha256:[0-9a-f]{64}/);
    expectError(await drydock(['inspect', `oci-dir:${F.nolayers}`, '--files']), 'BLOB_NOT_FOUND', 3);
  });

  it('a --verify run records verification; a later plain inspect shows it until the blob file changes', async () => {
    const { dir, cleanup } = tempDir('drydock-verify-');
    try {
      const layout = join(dir, 'layout');
      writeOciLayout(layout, sample);
      const cache = join(dir, 'cache');
      const verified = async (extra: string[] = []) => {
        const r = await drydock(['inspect', `oci-dir:${layout}`, '--format', 'json', '--cache-dir', cache, ...extra]);
        expect(r.code, r.stderr).toBe(0);
        return (JSON.parse(r.stdout).layers as { verified: boolean }[]).map((l) => l.verified);
      };
      expect(await verified()).toEqual([false, false]);
      expect(await verified(['--verify'])).toEqual([true, true]);
      expect(await verified()).toEqual([true, true]);
      // another cache knows nothing; --no-cache neither reads nor writes records
      expect(await verified(['--no-cache'])).toEqual([false, false]);
      // touching the blob file (new mtime) voids its record
      const blob0 = blobPath(layout, sample.layers[0]!.digest);
      const later = new Date(Date.now() + 60_000);
      utimesSync(blob0, later, later);
      expect(await verified()).toEqual([false, true]);
      // replacing the file (same bytes, new inode) voids the record too
      const blob1 = blobPath(layout, sample.layers[1]!.digest);
      const bytes = readFileSync(blob1);
      unlinkSync(blob1);
      writeFileSync(blob1, bytes);
      expect(await verified()).toEqual([false, false]);
      // a corrupted blob: --verify says which
      const b = readFileSync(blob0);
      b[b.length - 12] = b[b.length - 12]! ^ 0xff;
      writeFileSync(blob0, b);
      const r = await drydock(['inspect', `oci-dir:${layout}`, '--verify', '--cache-dir', cache]);
      expect(r.code, r.stderr).toBe(6);
      expect(r.stderr).toMatch(/^drydock: error \[(DIGEST_MISMATCH|DECOMPRESS_FAILED)\]: .*sha256:/m);
      expect(await verified()).toEqual([false, false]);
    } finally {
      cleanup();
    }
  });
});

describe.concurrent('platforms and several images', () => {
  it('--platform picks the matching manifest of an index', async () => {
    for (const [p, want] of [['linux/aarch64', arm], ['linux/amd64', amd]] as const) {
      const r = await drydock(['inspect', `oci-dir:${F.multi}`, '--platform', p, '--format', 'json']);
      expect(r.code, r.stderr).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.digest).toBe(want.manifest.digest);
      expect(j.indexDigest).toMatch(/^sha256:/);
    }
  });

  it('a platform the index lacks is PLATFORM_NOT_FOUND (exit 3) listing the available ones', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.multi}`, '--platform', 'linux/s390x']);
    expectError(r, 'PLATFORM_NOT_FOUND', 3);
    expect(r.stderr).toContain('linux/s390x');
    expect(r.stderr).toContain('linux/amd64, linux/arm64/v8');
  });

  it('a docker-archive with several images: ambiguous without REF (listing RepoTags), picked by REF', async () => {
    const r = await drydock(['inspect', `docker-archive:${F['two.docker.tar']}`]);
    expectError(r, 'IMAGE_AMBIGUOUS', 3);
    for (const t of ['app:1.0', 'app:2.0', 'example.com/app:latest']) expect(r.stderr).toContain(t);
    for (const [ref, label] of [['app:1.0', '1'], ['example.com/app:latest', '2'], ['@1', '2']] as const) {
      const p = await drydock(['inspect', `docker-archive:${F['two.docker.tar']}:${ref}`, '--format', 'json']);
      expect(p.code, `${ref}: ${p.stderr}`).toBe(0);
      expect(JSON.parse(p.stdout).config.labels).toEqual({ app: label });
    }
    const none = await drydock(['inspect', `docker-archive:${F['two.docker.tar']}:app:3.0`]);
    expectError(none, 'IMAGE_NOT_FOUND', 3);
    expect(none.stderr).toContain('app:1.0');
  });
});

describe.concurrent('bad input end to end', () => {
  it('a truncated oci-archive is a coded error naming the archive', async () => {
    const r = await drydock(['inspect', `oci-archive:${F['truncated.oci.tar']}`, '--verify']);
    expect(r.code, r.stderr).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toMatch(/^drydock: error \[(ARCHIVE_CORRUPT|BLOB_NOT_FOUND|IMAGE_NOT_FOUND)\]: /m);
    expect(r.stderr).toContain('truncated.oci.tar');
    expectNoCrash(r);
  });

  it('a corrupt gzip layer is DECOMPRESS_FAILED (exit 6) naming the layer, with --verify and with --files', async () => {
    const layer = (JSON.parse(readFileSync(join(F.badgzip!, 'index.json'), 'utf8')) as { manifests: unknown[] }).manifests.length;
    expect(layer).toBe(1);
    for (const args of [['--verify'], ['--files']]) {
      const r = await drydock(['inspect', `oci-dir:${F.badgzip}`, ...args]);
      expectError(r, 'DECOMPRESS_FAILED', 6);
      expect(r.stderr).toMatch(/layer sha256:[0-9a-f]{64}/);
    }
  });

  it('unsafe entries (.., absolute, link escapes) are warnings; --files lists the rest; nothing is written outside', async () => {
    // the cache, the temp dir and the output dir of other (concurrent) tests are not compared
    const mine = () => tree(S, ['cache', 'tmp', 'out']);
    const before = mine();
    const r = await drydock(['inspect', `oci-dir:${F.hostile}`, '--files', '--format', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: \[PATH_UNSAFE\] .*\.\.\/escape-dotdot/m);
    expect(r.stderr).toMatch(/^warning: \[PATH_UNSAFE\] .*escape-nested/m);
    const paths = (JSON.parse(r.stdout).files as { path: string }[]).map((f) => f.path);
    expect(paths).toContain('/ok/file');
    expect(paths.filter((p) => p.includes('escape-dotdot') || p.includes('escape-nested'))).toEqual([]);
    // a hard link may only name a path inside the image
    expect(r.stderr).toMatch(/^warning: \[PATH_UNSAFE\] .*hard-escape/m);
    expect(paths).not.toContain('/ok/hard-escape');
    expect(paths.every((p) => p.startsWith('/') && !p.split('/').includes('..'))).toBe(true);
    // an absolute name is read relative to the root, like tar does
    expect(paths.filter((p) => p.includes('escape-absolute')).every((p) => p === '/escape-absolute')).toBe(true);
    // symlink loops are listed, not followed
    expect(paths).toEqual(expect.arrayContaining(['/loop-a', '/loop-b', '/self', '/ok/up']));
    const after = mine();
    expect(after).toEqual(before);
    expect(readdirSync(CWD)).toEqual([]);
    for (const n of ['escape-dotdot', 'escape-nested', 'escape-absolute']) {
      expect(existsSync(join(S, n))).toBe(false);
      expect(existsSync(join(S, 'fx', n))).toBe(false);
      expect(existsSync(join('/', n))).toBe(false);
    }
    const q = await drydock(['inspect', `oci-dir:${F.hostile}`, '--files', '--quiet']);
    expect(q.code).toBe(0);
    expect(q.stderr).toBe('');
  });

  it('a decompression bomb hits --max-uncompressed: LIMIT_EXCEEDED (exit 6), with --files and --verify', async () => {
    for (const args of [['--files'], ['--verify']]) {
      const r = await drydock(['inspect', `oci-dir:${F.bomb}`, ...args, '--max-uncompressed', '1MiB']);
      expectError(r, 'LIMIT_EXCEEDED', 6);
      expect(r.stderr).toMatch(/1048576/);
    }
    const ok = await drydock(['inspect', `oci-dir:${F.bomb}`, '--files', '--format', 'json']);
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('--max-entries: LIMIT_EXCEEDED (exit 6)', async () => {
    expectError(await drydock(['inspect', `oci-dir:${F.many}`, '--files', '--max-entries', '10']), 'LIMIT_EXCEEDED', 6);
    expect((await drydock(['inspect', `oci-dir:${F.many}`, '--files', '--max-entries', '100'])).code).toBe(0);
  });

  it('a manifest naming a missing config blob is BLOB_NOT_FOUND (exit 3) naming the digest', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.noconfig}`]);
    expectError(r, 'BLOB_NOT_FOUND', 3);
    expect(r.stderr).toContain(sample.configDigest);
  });

  it('an unknown layer media type is MEDIA_TYPE_UNSUPPORTED (exit 3) naming it', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.weirdlayer}`]);
    expectError(r, 'MEDIA_TYPE_UNSUPPORTED', 3);
    expect(r.stderr).toContain('application/vnd.example.weird.layer');
  });

  it('a schema 1 manifest in a layout is MANIFEST_UNSUPPORTED (exit 3)', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.schema1}`]);
    expectError(r, 'MANIFEST_UNSUPPORTED', 3);
    expect(r.stderr).toMatch(/schema 1/);
  });

  it('an index.json that is not JSON is MANIFEST_INVALID (exit 6); a manifest blob that does not match its digest is DIGEST_MISMATCH (exit 6)', async () => {
    const r = await drydock(['inspect', `oci-dir:${F.badindex}`]);
    expectError(r, 'MANIFEST_INVALID', 6);
    expect(r.stderr).toContain('index.json');
    const m = await drydock(['inspect', `oci-dir:${F.badmanifest}`]);
    expectError(m, 'DIGEST_MISMATCH', 6);
    expect(m.stderr).toContain(sample.manifest.digest);
  });

  it('a layer tar cut short is ARCHIVE_CORRUPT, a gzip stream cut short DECOMPRESS_FAILED (exit 6)', async () => {
    const t = await drydock(['inspect', `oci-dir:${F.cuttar}`, '--files']);
    expectError(t, 'ARCHIVE_CORRUPT', 6);
    expect(t.stderr).toMatch(/layer sha256:[0-9a-f]{64}/);
    for (const args of [['--files'], ['--verify']]) {
      const g = await drydock(['inspect', `oci-dir:${F.cutgzip}`, ...args]);
      expectError(g, 'DECOMPRESS_FAILED', 6);
    }
  });

  it('a file that is no archive at all is ARCHIVE_CORRUPT or IMAGE_NOT_FOUND, not a crash', async () => {
    const junk = join(S, 'out', 'junk.tar');
    writeFileSync(junk, Buffer.from('this is not a tar file at all\n'.repeat(40)));
    for (const kind of ['oci-archive', 'docker-archive']) {
      const r = await drydock(['inspect', `${kind}:${junk}`]);
      expect(r.code, r.stderr).toBeGreaterThanOrEqual(3);
      expect(r.stderr).toMatch(/^drydock: error \[[A-Z_]+\]: .*junk\.tar/m);
      expectNoCrash(r);
    }
  });
});

/** A fake registry: /v2/ answers 200; /v2/status/<code>/... answers <code> (401 with a Basic challenge). */
function startStatusRegistry(): Promise<{ server: HttpServer; host: string; seen: string[] }> {
  const seen: string[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    if (req.url === '/v2/' || req.url === '/v2') {
      res.writeHead(200, { 'content-type': 'application/json', 'docker-distribution-api-version': 'registry/2.0' });
      res.end('{}');
      return;
    }
    const m = /^\/v2\/status\/(\d{3})\//.exec(req.url ?? '');
    const status = m ? Number(m[1]) : 404;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (status === 401) headers['www-authenticate'] = 'Basic realm="drydock-test"';
    if (status === 429) headers['retry-after'] = '0';
    res.writeHead(status, headers);
    const code = { 401: 'UNAUTHORIZED', 403: 'DENIED', 404: 'MANIFEST_UNKNOWN', 429: 'TOOMANYREQUESTS' }[status] ?? 'UNKNOWN';
    res.end(JSON.stringify({ errors: [{ code, message: `status ${status} from the test registry` }] }));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen }));
  });
}

describe.concurrent('registries that fail', () => {
  let reg: { server: HttpServer; host: string; seen: string[] };
  let hang: NetServer;
  let hangHost = '';
  const sockets = new Set<Socket>();
  const PASSWORD = 'hunter2-Sup3r-S3cret';

  beforeAll(async () => {
    reg = await startStatusRegistry();
    hang = createNetServer((s) => {
      sockets.add(s); // accept and never answer
      s.on('error', () => {});
    });
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    hangHost = `127.0.0.1:${(hang.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => hang?.close(r));
    await new Promise((r) => reg?.server.close(r));
  });

  const insecure = () => ['--insecure-registry', reg.host, '--retries', '0', '--timeout', '5'];

  it.each([
    [401, 'AUTH_REQUIRED', 5],
    [403, 'AUTH_DENIED', 5],
    [404, 'IMAGE_NOT_FOUND', 3],
    [429, 'RATE_LIMITED', 5],
    [500, 'REGISTRY_ERROR', 5],
    [503, 'REGISTRY_ERROR', 5],
  ])('status %i: %s (exit %i) naming the reference', async (status, code, exit) => {
    const ref = `${reg.host}/status/${status}/app:1.0`;
    const r = await drydock(['inspect', ref, ...insecure()]);
    expectError(r, code, exit);
    expect(r.stderr).toContain(`status/${status}/app`);
    expect(r.stdout).toBe('');
  });

  it('never prints the password, given by flag or by environment', async () => {
    const basic = Buffer.from(`someone:${PASSWORD}`).toString('base64');
    const runs = [
      await drydock(['inspect', `${reg.host}/status/401/app:1.0`, ...insecure(), '--username', 'someone', '--password', PASSWORD]),
      await drydock(['inspect', `${reg.host}/status/401/app:1.0`, ...insecure(), '--username', 'someone'], { env: { DRYDOCK_REGISTRY_PASSWORD: PASSWORD } }),
      await drydock(['inspect', `${reg.host}/status/503/app:1.0`, '--insecure-registry', reg.host, '--retries', '1', '--username', 'someone', '--password', PASSWORD]),
      await drydock(['copy', `oci-dir:${F.sample}`, `${reg.host}/status/401/app:1.0`, ...insecure(), '--username', 'someone', '--password', PASSWORD]),
    ];
    expect(reg.seen.some((s) => s.includes(basic))).toBe(true); // the credentials were used
    for (const r of runs) {
      expect(r.code, r.stderr).toBeGreaterThanOrEqual(3);
      expectNoCrash(r);
      for (const out of [r.stdout, r.stderr]) {
        expect(out).not.toContain(PASSWORD);
        expect(out).not.toContain(basic);
      }
    }
  });

  it('a registry that accepts and never answers: --timeout 1 gives TIMEOUT (exit 5) within a few seconds', async () => {
    for (const args of [['--insecure-registry', hangHost], []]) {
      const r = await drydock(['inspect', `${hangHost}/app:1.0`, '--timeout', '1', '--retries', '0', ...args], { timeoutMs: 15_000 });
      expectError(r, 'TIMEOUT', 5);
      expect(r.stderr).toContain(hangHost);
      expect(r.ms).toBeLessThan(10_000); // --timeout 1: a few seconds, even on a loaded machine
    }
  });

  it('a closed port is NETWORK_ERROR (exit 5)', async () => {
    const s = createNetServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const r = await drydock(['inspect', `127.0.0.1:${port}/app:1.0`, '--insecure-registry', `127.0.0.1:${port}`, '--retries', '0', '--timeout', '2']);
    expectError(r, 'NETWORK_ERROR', 5);
  });
});

describe('nothing is left behind', () => {
  it('the working directory stays empty and temporary files are removed', () => {
    expect(readdirSync(CWD)).toEqual([]);
    expect(tree(join(S, 'tmp'))).toEqual([]);
    expect(tree(join(S, 'home'))).toEqual([]);
    expect(tree(join(S, 'xdg-cache'))).toEqual([]);
    expect(tree(join(S, 'xdg-config'))).toEqual([]);
    expect(statSync(CACHE).isDirectory()).toBe(true);
  });
});

