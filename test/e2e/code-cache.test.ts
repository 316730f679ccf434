/**
 * The CLI's V8 code cache (src/cli/code-cache.ts), through the built binary: written once, used
 * after, rejected caches recompiled and rewritten, never used from a directory others can write,
 * off when asked, and a command's output the same with and without it.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeCacheStats } from '../../src/cli/code-cache.js';
import { runCli, sandboxEnv } from '../harness/cli.js';

type Stats = CodeCacheStats;

function stats(stderr: string): Stats | undefined {
  const m = /drydock: code cache (\{.*\})/.exec(stderr);
  return m ? (JSON.parse(m[1]!) as Stats) : undefined;
}

describe('code cache of the CLI', () => {
  let root: string;
  let env: NodeJS.ProcessEnv;
  const cacheFiles = (s: Stats) => readdirSync(s.dir!).filter((f) => f.endsWith('.v8'));

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'drydock-codecache-'));
    env = sandboxEnv(root, { DRYDOCK_CODE_CACHE_DEBUG: '1' });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is written by the first run and used by the next, in a private directory', async () => {
    const first = await runCli(['--version'], { env });
    expect(first.code).toBe(0);
    const s1 = stats(first.stderr)!;
    expect(s1).toMatchObject({ hits: 0, rejected: 0 });
    expect(s1.misses).toBeGreaterThan(5); // the chunks of --version and commander's files
    expect(s1.written).toBe(s1.misses);
    expect(s1.dir).toContain(join(root, 'cache', 'drydock', 'code', `${process.version}-`));
    expect(statSync(s1.dir!).mode & 0o777).toBe(0o700);
    const files = cacheFiles(s1);
    expect(files).toHaveLength(s1.written);
    for (const f of files) expect(statSync(join(s1.dir!, f)).mode & 0o777).toBe(0o600);
    expect(readdirSync(s1.dir!).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const second = await runCli(['--version'], { env });
    expect(second.stdout).toBe(first.stdout);
    expect(stats(second.stderr)).toMatchObject({ hits: s1.misses, misses: 0, rejected: 0, written: 0 });
  });

  it('recompiles and rewrites caches V8 rejects (garbage, truncated)', async () => {
    const s = stats((await runCli(['--version'], { env })).stderr)!;
    const files = cacheFiles(s);
    writeFileSync(join(s.dir!, files[0]!), Buffer.alloc(4096, 0x5a));
    writeFileSync(join(s.dir!, files[1]!), Buffer.alloc(0));
    const run = await runCli(['--version'], { env });
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const after = stats(run.stderr)!;
    expect(after.rejected).toBe(2);
    expect(after.written).toBe(2);
    expect(stats((await runCli(['--version'], { env })).stderr)).toMatchObject({ misses: 0, rejected: 0 });
  });

  it('keeps the caches of four other builds, Node versions or flag sets at most', async () => {
    const s = stats((await runCli(['--version'], { env })).stderr)!;
    const code = join(s.dir!, '..');
    const day = 86_400;
    const now = Date.now() / 1000;
    const fakes = [['v18.0.0-a', 3], ['v19.0.0-b', 4], ['v20.0.0-c', 1], ['v20.0.0-d', 2], ['v20.0.0-e', 6]] as const;
    for (const [name, age] of fakes) {
      mkdirSync(join(code, name), { mode: 0o700 });
      writeFileSync(join(code, name, 'x.v8'), 'x');
      utimesSync(join(code, name), now - age * day, now - age * day);
    }
    // other V8 flags make another key: a new directory, which prunes
    const run = await runCli(['--version'], { env: { ...env, NODE_OPTIONS: '--max-old-space-size=1000' } });
    expect(run.code, run.stderr).toBe(0);
    const fresh = stats(run.stderr)!;
    expect(fresh.dir).not.toBe(s.dir);
    expect(fresh.hits).toBe(0);
    const left = readdirSync(code).sort();
    // the new key, and of the others the four most recent: the first key (now) and c, d, a
    expect(left).toEqual([basename(s.dir!), basename(fresh.dir!), 'v20.0.0-c', 'v20.0.0-d', 'v18.0.0-a'].sort());
  });

  it('is not used from a directory that others can write', async () => {
    const s = stats((await runCli(['--version'], { env })).stderr)!;
    chmodSync(s.dir!, 0o777);
    try {
      const run = await runCli(['--version'], { env });
      expect(run.code).toBe(0);
      const st = stats(run.stderr);
      // not installed: no statistics, nothing read or written, and the reason when asked
      expect(st).toBeUndefined();
      expect(run.stderr).toContain(`drydock: code cache off: ${s.dir} is not private to this user`);
      expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    } finally {
      chmodSync(s.dir!, 0o700);
    }
  });

  it('is off with DRYDOCK_CODE_CACHE=off, and long-running commands never use it', async () => {
    const offEnv = sandboxEnv(join(root, 'off'), { DRYDOCK_CODE_CACHE: 'off', DRYDOCK_CODE_CACHE_DEBUG: '1' });
    const run = await runCli(['--version'], { env: offEnv });
    expect(run.code).toBe(0);
    expect(stats(run.stderr)).toBeUndefined();
    expect(run.stderr).toContain('drydock: code cache off: DRYDOCK_CODE_CACHE');
    expect(() => readdirSync(join(root, 'off', 'cache', 'drydock', 'code'))).toThrow(/ENOENT/);
    // a cache directory that cannot be made: the command runs as without a cache
    const blocked = await runCli(['--version'], { env: { ...env, XDG_CACHE_HOME: '/dev/null/cache' } });
    expect(blocked.code).toBe(0);
    expect(stats(blocked.stderr)).toBeUndefined();
    expect(blocked.stderr).toMatch(/drydock: code cache off: \/dev\/null\/cache\/drydock\/code\/.*ENOTDIR/);
    // nor under a policy manifest, which checks what Node's own loader compiles
    const policy = join(root, 'policy.json');
    writeFileSync(policy, JSON.stringify({ resources: {}, onerror: 'log' }));
    const withPolicy = await runCli(['--version'], { env: { ...env, NODE_OPTIONS: `--experimental-policy=${policy}` } });
    expect(withPolicy.stderr).toContain('drydock: code cache off: --experimental-policy');
    const server = await runCli(['server', '--help'], { env: sandboxEnv(join(root, 'server'), { DRYDOCK_CODE_CACHE_DEBUG: '1' }) });
    expect(server.code).toBe(0);
    expect(server.stderr).not.toContain('code cache');
  });

  it('leaves ES modules, modules that import() and modules outside its roots to Node', () => {
    const dir = join(root, 'mods');
    const outside = join(root, 'outside');
    mkdirSync(dir);
    mkdirSync(outside);
    writeFileSync(join(dir, 'a.cjs'), 'exports.v = "cjs:" + require("./b.cjs").v;');
    writeFileSync(join(dir, 'b.cjs'), 'exports.v = "b";');
    writeFileSync(join(dir, 'm.mjs'), 'export const v = "esm";'); // require(esm): format 'module'
    // an ES module without import or export: compiled as a script, it would see require
    writeFileSync(join(dir, 'n.mjs'), 'globalThis.seenRequire = typeof require;');
    writeFileSync(join(dir, 'd.cjs'), 'exports.v = "dyn"; exports.load = () => import("node:os");');
    writeFileSync(join(outside, 'o.cjs'), 'exports.v = "outside";');
    const script = `
      import { createRequire } from 'node:module';
      import { codeCacheStats, installCodeCache } from ${JSON.stringify(join(import.meta.dirname, '../../dist/cli/code-cache.js'))};
      installCodeCache({ cacheDir: ${JSON.stringify(join(root, 'mods-cache'))}, roots: [${JSON.stringify(dir)}], v8Flags: '', build: 'test' });
      const req = createRequire(${JSON.stringify(join(dir, 'x.cjs'))});
      const d = req('./d.cjs');
      const os = await d.load();
      req('./n.mjs');
      const got = [req('./a.cjs').v, req('./m.mjs').v, d.v, typeof os.cpus, req('../outside/o.cjs').v, globalThis.seenRequire];
      process.stdout.write(JSON.stringify({ got, stats: codeCacheStats }));
    `;
    mkdirSync(join(root, 'mods-cache'), { mode: 0o700 });
    const run = () => {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, DRYDOCK_CODE_CACHE: '' } });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { got: string[]; stats: Stats };
    };
    const first = run();
    expect(first.got).toEqual(['cjs:b', 'esm', 'dyn', 'function', 'outside', 'undefined']);
    // a.cjs and b.cjs only: m.mjs and n.mjs are ES modules, d.cjs calls import(), o.cjs is outside the roots
    expect(first.stats).toMatchObject({ hits: 0, misses: 2, written: 0 }); // written at exit
    const second = run();
    expect(second.got).toEqual(first.got);
    expect(second.stats).toMatchObject({ hits: 2, misses: 0 });
  });

  it('gives the same output with and without it, dynamic imports included', async () => {
    // sign-blob with a generated key: chunks loaded later (require) and an npm package loaded with
    // import() from a cached chunk (the key's cipher)
    const keyEnv = { ...env, DRYDOCK_PASSWORD: 'pw' };
    const gen = await runCli(['generate-key-pair', '--output-key-prefix', join(root, 'k')], { env: keyEnv, cwd: root });
    expect(gen.code, gen.stderr).toBe(0);
    writeFileSync(join(root, 'blob.txt'), 'hello\n');
    const signArgs = ['sign-blob', '--key', join(root, 'k.key'), join(root, 'blob.txt')];
    const runs = [];
    for (const e of [keyEnv, keyEnv, { ...keyEnv, DRYDOCK_CODE_CACHE: 'off' }]) runs.push(await runCli(signArgs, { env: e, cwd: root }));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    // ECDSA signatures differ run to run; each one must verify
    for (const r of runs) {
      writeFileSync(join(root, 'sig'), r.stdout.trim());
      const v = await runCli(['verify-blob', '--key', join(root, 'k.pub'), '--signature', join(root, 'sig'), join(root, 'blob.txt')], { env, cwd: root });
      expect(v.code, v.stderr).toBe(0);
    }
    expect(stats(runs[1]!.stderr)!.hits).toBeGreaterThan(0);
    expect(stats(runs[1]!.stderr)!.misses).toBe(0);

    // an SBOM of a directory, byte for byte
    const sbomEnv = { ...env, SOURCE_DATE_EPOCH: '1700000000' };
    const args = ['sbom', `dir:${join(import.meta.dirname, '../../src/catalog')}`, '--format', 'cyclonedx-json', '--no-cache'];
    const cached = await runCli(args, { env: sbomEnv });
    const again = await runCli(args, { env: sbomEnv });
    const plain = await runCli(args, { env: { ...sbomEnv, DRYDOCK_CODE_CACHE: 'off' } });
    expect(cached.code, cached.stderr).toBe(0);
    expect(stats(again.stderr)!.misses).toBe(0);
    expect(again.stdout).toBe(plain.stdout);
    expect(cached.stdout).toBe(plain.stdout);
  });
});
