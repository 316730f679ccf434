/**
 * A V8 code cache for the CLI's CommonJS chunks (dist/cli-chunks/*.cjs, scripts/bundle-cli.mjs)
 * and the CommonJS files of the npm packages they require.
 *
 * Node 20 compiles every script from source on every start (its own compile cache,
 * module.enableCompileCache, is Node 22). For a one-shot command that is a large share of the run:
 * parsing and compiling the ~500 KB an `sbom` loads. Here each module is compiled through vm.Script
 * with the bytecode V8 serialised in an earlier run (`cachedData`), and modules that had none (or
 * whose cache V8 rejected) are serialised at exit, after they ran, so the cache holds the functions
 * that actually executed, not only the eagerly compiled top level. A module that calls import() is
 * left to Node: on Node 20 a script compiled from a cache loses its dynamic-import callback.
 *
 * Layout: `<cache dir>/code/<key>/<sha256 of the source>.v8`, where key names the Node version, the
 * architecture, the V8 flags (V8 rejects a cache written under other flags; keying by them avoids
 * rewriting caches back and forth) and the build. A new key (a new build, Node or set of flags)
 * removes all but the four most recently written other keys, so upgrades do not pile up caches.
 * Files are written to a temporary name, flushed and renamed into place, so neither a concurrent run
 * nor a crash leaves half a file; V8 checks what it reads (its version, flags, source and payload
 * lengths) and rejects a mismatch, and a rejected cache only costs the compile it was meant to save.
 *
 * Trust: the cache holds bytecode this process runs, like Node 22's compile cache. It is used only
 * where nobody else can write: the cache directory, `code/` and the key's directory must belong to
 * the current user and not be writable by group or others, else it is not used (never an error:
 * the CLI runs as without it). `DRYDOCK_CODE_CACHE=off` turns it off.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join, sep } from 'node:path';
import { Script } from 'node:vm';

/** What Node's CommonJS loader calls to compile and run a module (not in @types/node). */
interface CompilingModule {
  exports: unknown;
  require(id: string): unknown;
  _compile(content: string, filename: string, format?: string): unknown;
}

interface Pending {
  script: Script;
  file: string;
}

export interface CodeCacheOptions {
  /** the cache directory (the user's default cache, core/paths.ts); code caches go to `code/` in it */
  cacheDir: string;
  /**
   * CommonJS modules under these directories are compiled here (the CLI's chunks and the npm
   * packages it requires); anything else, and a module V8 cannot compile as a script (an ES module
   * Node would detect), goes to Node's own loader
   */
  roots: string[];
  /** the V8 flags set before any chunk loads (part of the key) */
  v8Flags: string;
  /** names the build (part of the key, scripts/bundle-cli.mjs) */
  build: string;
  env?: NodeJS.ProcessEnv;
}

export interface CodeCacheStats {
  /** chunks compiled with a cache V8 accepted */
  hits: number;
  /** chunks compiled from source (no cache, or rejected) */
  misses: number;
  /** caches V8 rejected */
  rejected: number;
  /** caches written at exit */
  written: number;
  /** the directory in use, or why none is */
  dir?: string;
  off?: string;
}

/** `import(` anywhere (a comment too: then the module only misses the cache) */
const DYNAMIC_IMPORT = /\bimport\s*\(/;

export const codeCacheStats: CodeCacheStats = { hits: 0, misses: 0, rejected: 0, written: 0 };

/** Whether the directory is safe to run bytecode from: ours, and writable by nobody else. */
function privateDir(dir: string): boolean {
  const uid = process.getuid?.();
  if (uid === undefined) return false;
  const st = statSync(dir);
  return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
}

/**
 * Where the caches of this Node and these flags live, created if missing; undefined (with the
 * reason in codeCacheStats.off) when the cache is off or the directory is not private.
 */
export function codeCacheDir(opts: CodeCacheOptions): string | undefined {
  const env = opts.env ?? process.env;
  const setting = (env.DRYDOCK_CODE_CACHE ?? '').toLowerCase();
  if (setting === 'off' || setting === '0' || setting === 'false') {
    codeCacheStats.off = 'DRYDOCK_CODE_CACHE';
    return undefined;
  }
  const flags = [opts.v8Flags, ...process.execArgv, env.NODE_OPTIONS ?? ''].join(' ');
  // a policy manifest checks the integrity of what Node's loader compiles: never go around it
  if (flags.includes('--experimental-policy')) {
    codeCacheStats.off = '--experimental-policy';
    return undefined;
  }
  const key = `${process.version}-${createHash('sha256').update(`${process.arch}\0${opts.build}\0${flags}`).digest('hex').slice(0, 16)}`;
  const root = join(opts.cacheDir, 'code');
  const dir = join(root, key);
  try {
    let created = false;
    try {
      mkdirSync(dir, { mode: 0o700 });
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        created = true;
      }
    }
    // and the directories above it: whoever can write one of them can swap what is below
    if (![opts.cacheDir, root, dir].every(privateDir)) {
      codeCacheStats.off = `${dir} is not private to this user`;
      return undefined;
    }
    if (created) pruneOtherKeys(root, key);
  } catch (e) {
    codeCacheStats.off = `${dir}: ${(e as Error).message}`;
    return undefined;
  }
  codeCacheStats.dir = dir;
  return dir;
}

/** caches of other keys kept: a few builds or flag sets in use side by side do not evict each other */
const KEEP_OTHER_KEYS = 4;

/** Removes the caches of other builds, Node versions and flags but the four most recently written. */
function pruneOtherKeys(root: string, keep: string): void {
  const others: { path: string; mtime: number }[] = [];
  for (const name of readdirSync(root)) {
    if (name === keep) continue;
    const path = join(root, name);
    try {
      others.push({ path, mtime: lstatSync(path).mtimeMs });
    } catch {
      // removed meanwhile by another run
    }
  }
  others.sort((a, b) => b.mtime - a.mtime);
  for (const { path } of others.slice(KEEP_OTHER_KEYS)) rmSync(path, { recursive: true, force: true });
}

function writeAtomically(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
}

function requireFor(mod: CompilingModule): NodeJS.Require {
  const req = ((id: string) => mod.require(id)) as NodeJS.Require;
  const M = Module as unknown as { _resolveFilename(r: string, m: unknown, isMain: boolean, o?: unknown): string; _resolveLookupPaths(r: string, m: unknown): string[] | null; _cache: NodeJS.Require['cache']; _extensions: NodeJS.Require['extensions'] };
  req.resolve = ((request: string, options?: { paths?: string[] }) => M._resolveFilename(request, mod, false, options)) as NodeJS.RequireResolve;
  req.resolve.paths = (request: string) => M._resolveLookupPaths(request, mod);
  req.cache = M._cache;
  req.extensions = M._extensions;
  req.main = (process as { mainModule?: NodeJS.Module }).mainModule;
  return req;
}

/**
 * Installs the cache for the CLI's chunks. Returns false (and installs nothing) when the cache is
 * off or its directory cannot be used. Must run before the first chunk loads.
 */
export function installCodeCache(opts: CodeCacheOptions): boolean {
  const debug = !!(opts.env ?? process.env).DRYDOCK_CODE_CACHE_DEBUG;
  const dir = codeCacheDir(opts);
  if (!dir) {
    if (debug) process.stderr.write(`drydock: code cache off: ${codeCacheStats.off}\n`);
    return false;
  }
  const prefixes = opts.roots.map((r) => (r.endsWith(sep) ? r : r + sep));
  const pending: Pending[] = [];
  const proto = (Module as unknown as { prototype: CompilingModule }).prototype;
  const original = proto._compile;
  proto._compile = function compile(this: CompilingModule, content: string, filename: string, format?: string): unknown {
    // ES modules (require(esm)) and modules that call import() (a script compiled from a cache does
    // not get its dynamic-import callback back on Node 20) are Node's
    if (format === 'module' || !prefixes.some((p) => filename.startsWith(p)) || DYNAMIC_IMPORT.test(content)) return original.call(this, content, filename, format);
    const file = join(dir, `${createHash('sha256').update(content).digest('hex').slice(0, 40)}.v8`);
    let cachedData: Buffer | undefined;
    try {
      cachedData = readFileSync(file);
    } catch {
      cachedData = undefined;
    }
    let script: Script;
    try {
      script = new Script(Module.wrap(content), { filename, ...(cachedData ? { cachedData } : {}) });
    } catch {
      return original.call(this, content, filename, format); // Node reports the syntax error, or loads it as an ES module
    }
    if (cachedData && !script.cachedDataRejected) codeCacheStats.hits++;
    else {
      codeCacheStats.misses++;
      if (cachedData) codeCacheStats.rejected++;
      pending.push({ script, file });
    }
    const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    return fn.call(this.exports, this.exports, requireFor(this), this, filename, dirname(filename));
  };
  process.once('exit', () => {
    for (const { script, file } of pending) {
      try {
        writeAtomically(file, script.createCachedData());
        codeCacheStats.written++;
      } catch {
        // a full disk or a removed directory: the next run compiles from source again
      }
    }
    if (debug) process.stderr.write(`drydock: code cache ${JSON.stringify(codeCacheStats)}\n`);
  });
  return true;
}
