import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMAGE_OPTIONS, OPTIONS, addOptions, configFilePath, loadConfigFile, parseBytes, resolveOptions, type OptionKey } from './options.js';

const KEYS: OptionKey[] = ['format', 'output', 'verify', 'files', 'scope', 'all', ...IMAGE_OPTIONS];

/** A command with every option, parsed from `args` the way the CLI does. */
function parsed(args: string[]): Command {
  const cmd = new Command('t').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  addOptions(cmd, KEYS);
  cmd.action(() => {});
  cmd.parse(args, { from: 'user' });
  return cmd;
}

let dir = '';
const noConfig = (): NodeJS.ProcessEnv => ({ XDG_CONFIG_HOME: join(dir, 'empty-xdg') });
const cfg = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-options-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('resolveOptions', () => {
  it('gives the declared defaults', () => {
    const v = resolveOptions(parsed([]), KEYS, noConfig());
    expect(v).toMatchObject({
      format: 'table',
      scope: 'squashed',
      quiet: false,
      verify: false,
      files: false,
      all: false,
      noCache: false,
      passwordStdin: false,
      timeout: 30,
      retries: 4,
      concurrency: 4,
      maxUncompressed: 32 * 1024 ** 3,
      maxEntries: 5_000_000,
      insecureRegistry: [],
    });
    expect(v.platform).toBeUndefined();
    expect(v.cacheDir).toBeUndefined();
    expect(v.password).toBeUndefined();
  });

  it('precedence: flag > environment > config file > default', () => {
    const file = cfg('prec.yaml', 'platform: linux/s390x\ntimeout: 7\nretries: 9\nmax-uncompressed: 2GiB\n');
    const env = { ...noConfig(), DRYDOCK_CONFIG: file, DRYDOCK_PLATFORM: 'linux/arm64', DRYDOCK_TIMEOUT: '11' };
    expect(resolveOptions(parsed([]), KEYS, { ...noConfig(), DRYDOCK_CONFIG: file })).toMatchObject({ platform: 'linux/s390x', timeout: 7, retries: 9, maxUncompressed: 2 * 1024 ** 3 });
    expect(resolveOptions(parsed([]), KEYS, env)).toMatchObject({ platform: 'linux/arm64', timeout: 11, retries: 9, concurrency: 4 });
    expect(resolveOptions(parsed(['--platform', 'linux/amd64', '--timeout', '3']), KEYS, env)).toMatchObject({ platform: 'linux/amd64', timeout: 3, retries: 9 });
    // --config beats DRYDOCK_CONFIG
    const other = cfg('other.yaml', 'retries: 1\n');
    expect(resolveOptions(parsed(['--config', other]), KEYS, env)).toMatchObject({ retries: 1, timeout: 11 });
    // an empty environment variable counts as unset
    expect(resolveOptions(parsed([]), KEYS, { ...env, DRYDOCK_PLATFORM: '' })).toMatchObject({ platform: 'linux/s390x' });
  });

  it('reads $XDG_CONFIG_HOME/drydock/config.yaml by default, also as JSON', () => {
    const xdg = join(dir, 'xdg');
    mkdirSync(join(xdg, 'drydock'), { recursive: true });
    writeFileSync(join(xdg, 'drydock', 'config.yaml'), '{"cacheDir": "/var/cache/dd", "insecureRegistry": ["a:5000", "b"]}');
    expect(configFilePath(undefined, { XDG_CONFIG_HOME: xdg })).toBe(join(xdg, 'drydock', 'config.yaml'));
    expect(configFilePath(undefined, noConfig())).toBeUndefined();
    expect(resolveOptions(parsed([]), KEYS, { XDG_CONFIG_HOME: xdg })).toMatchObject({ cacheDir: '/var/cache/dd', insecureRegistry: ['a:5000', 'b'] });
  });

  it('lists: repeated flags, comma-separated environment, YAML lists; the flag replaces the others', () => {
    expect(resolveOptions(parsed(['--insecure-registry', 'a:5000', '--insecure-registry', 'b']), KEYS, noConfig()).insecureRegistry).toEqual(['a:5000', 'b']);
    expect(resolveOptions(parsed([]), KEYS, { ...noConfig(), DRYDOCK_INSECURE_REGISTRY: 'x, y:1,' }).insecureRegistry).toEqual(['x', 'y:1']);
    expect(resolveOptions(parsed(['--insecure-registry', 'z']), KEYS, { ...noConfig(), DRYDOCK_INSECURE_REGISTRY: 'x' }).insecureRegistry).toEqual(['z']);
  });

  it('booleans: flags, environment words, config values; --no-cache', () => {
    expect(resolveOptions(parsed(['--no-cache', '-q']), KEYS, noConfig())).toMatchObject({ noCache: true, quiet: true });
    expect(resolveOptions(parsed([]), KEYS, { ...noConfig(), DRYDOCK_NO_CACHE: 'yes', DRYDOCK_QUIET: '1' })).toMatchObject({ noCache: true, quiet: true });
    expect(resolveOptions(parsed([]), KEYS, { ...noConfig(), DRYDOCK_NO_CACHE: 'off' })).toMatchObject({ noCache: false });
    const file = cfg('bool.yaml', 'no-cache: true\nquiet: true\nverify: true\n');
    expect(resolveOptions(parsed(['--config', file]), KEYS, noConfig())).toMatchObject({ noCache: true, quiet: true, verify: true });
  });

  it('the password comes from the flag or the environment', () => {
    expect(resolveOptions(parsed(['--password', 'p1']), KEYS, { ...noConfig(), DRYDOCK_REGISTRY_PASSWORD: 'p2' }).password).toBe('p1');
    expect(resolveOptions(parsed([]), KEYS, { ...noConfig(), DRYDOCK_REGISTRY_PASSWORD: 'p2', DRYDOCK_REGISTRY_USERNAME: 'u' })).toMatchObject({ password: 'p2', username: 'u' });
  });

  it('bad flag values are USAGE errors (exit 2)', () => {
    for (const args of [['--timeout', 'x'], ['--timeout', '0'], ['--retries', '-1'], ['--concurrency', '0'], ['--max-entries', '1.5'], ['--max-uncompressed', '12 parsecs']]) {
      expect(() => resolveOptions(parsed(args), KEYS, noConfig()), args.join(' ')).toThrow(expect.objectContaining({ code: 'USAGE', exitCode: 2 }));
    }
    // commander itself refuses a bad --scope
    expect(() => parsed(['--scope', 'nope'])).toThrow(/Allowed choices/);
  });

  it('bad values from the environment or the config file are CONFIG_INVALID (exit 2) naming their origin', () => {
    expect(() => resolveOptions(parsed([]), KEYS, { ...noConfig(), DRYDOCK_TIMEOUT: 'soon' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', exitCode: 2, message: expect.stringContaining('$DRYDOCK_TIMEOUT') }),
    );
    expect(() => resolveOptions(parsed([]), KEYS, { ...noConfig(), DRYDOCK_MAX_UNCOMPRESSED: 'huge' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('$DRYDOCK_MAX_UNCOMPRESSED') }),
    );
    expect(() => resolveOptions(parsed([]), KEYS, { ...noConfig(), DRYDOCK_NO_CACHE: 'maybe' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    const file = cfg('badscope.yaml', 'scope: everything\n');
    expect(() => resolveOptions(parsed(['--config', file]), KEYS, noConfig())).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/scope.*badscope\.yaml|badscope\.yaml.*scope/) }),
    );
    // a flag overrides a bad environment value without reading it
    expect(resolveOptions(parsed(['--timeout', '5']), KEYS, { ...noConfig(), DRYDOCK_TIMEOUT: 'soon' }).timeout).toBe(5);
  });

  it('unknown keys, missing files and non-mappings in the config file are CONFIG_INVALID', () => {
    const unknown = cfg('unknown.yaml', 'timeout: 3\ntimeuot: 4\n');
    expect(() => resolveOptions(parsed(['--config', unknown]), KEYS, noConfig())).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('"timeuot"') }),
    );
    expect(() => loadConfigFile(join(dir, 'nope.yaml'))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => loadConfigFile(cfg('list.yaml', '- a\n- b\n'))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => loadConfigFile(cfg('broken.yaml', 'a: [\n'))).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(loadConfigFile(cfg('empty.yaml', ''))).toEqual({});
    // both spellings of a key
    expect(loadConfigFile(cfg('spell.yaml', 'cache-dir: /a\nmaxEntries: 3\n'))).toEqual({ cacheDir: '/a', maxEntries: 3 });
  });
});

describe('parseBytes', () => {
  it('reads plain numbers and binary units', () => {
    expect(parseBytes('512')).toBe(512);
    expect(parseBytes('1KiB')).toBe(1024);
    expect(parseBytes('1k')).toBe(1024);
    expect(parseBytes('1MiB')).toBe(1 << 20);
    expect(parseBytes('1.5 GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('2TB')).toBe(2 * 1024 ** 4);
    expect(() => parseBytes('-1')).toThrow();
    expect(() => parseBytes('1PiB')).toThrow();
  });
});

describe('OPTIONS declarations', () => {
  it('every option has a long flag, a help text, a unique config key and a unique env var', () => {
    const envs = new Set<string>();
    for (const [key, d] of Object.entries(OPTIONS)) {
      expect(d.key).toBe(key);
      expect(d.flags).toMatch(/--[a-z-]+/);
      expect(d.help.length).toBeGreaterThan(5);
      if (d.env) {
        expect(d.env).toMatch(/^DRYDOCK_[A-Z_]+$/);
        expect(envs.has(d.env)).toBe(false);
        envs.add(d.env);
      }
    }
  });
});
