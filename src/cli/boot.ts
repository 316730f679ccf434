/**
 * The CLI's first module: it sets the V8 flags of one-shot commands, installs the code cache, and
 * loads the command line from the bundle (dist/cli-chunks/run.cjs, scripts/bundle-cli.mjs). The
 * first two must happen before any command module compiles:
 * V8 applies its flags to functions compiled after they are set, and rejects a code cache written
 * under other flags.
 */
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { defaultCacheDir } from '../core/paths.js';
import { installCodeCache } from './code-cache.js';
import { commandName, LONG_RUNNING } from './long-running.js';

/**
 * V8 flags of one-shot commands (all but LONG_RUNNING). `--no-incremental-marking`: they stream
 * hundreds of MB through Buffers, about every 64 MB of which starts a collection for external memory;
 * with incremental marking each runs as dozens of steps interleaved with the work, and marking the
 * small heap at once is cheaper (cold sbom of the corpus app image 1.09 -> 0.90 s as a docker-archive,
 * 1.50 -> 1.35 s as an oci-archive, and less RSS). `--interrupt-budget=600000` makes the optimising
 * compiler wait for about 9 times more executed bytecode than V8's default before it compiles a
 * function: at the default V8 spent 0.24 s of background CPU on a cold sbom of app compiling functions
 * that then ran only briefly, on the core the reads and zlib need (1.57 -> 1.47 s, docs/benchmarks.md).
 */
export const ONE_SHOT_V8_FLAGS = '--no-incremental-marking --interrupt-budget=600000';

/** Where the CLI's npm packages are: node_modules beside dist/, or the one it is installed in. */
function packageDirs(entryUrl: string): string[] {
  const root = fileURLToPath(new URL('../', entryUrl));
  const dirs = [join(root, 'node_modules')];
  if (basename(dirname(root)) === 'node_modules') dirs.push(dirname(root)); // installed as a dependency
  return dirs;
}

/** Set by scripts/bundle-cli.mjs: a hash of the chunks, which keys the code cache. */
declare const __DRYDOCK_BUILD__: string | undefined;

export function boot(entryUrl: string): void {
  const oneShot = !LONG_RUNNING.has(commandName(process.argv) ?? '');
  if (oneShot) setFlagsFromString(ONE_SHOT_V8_FLAGS);
  const chunkDir = fileURLToPath(new URL('./cli-chunks/', entryUrl));
  // long-running commands start once; their start-up is not worth a cache
  if (oneShot) installCodeCache({ cacheDir: defaultCacheDir(), roots: [chunkDir, ...packageDirs(entryUrl)], v8Flags: ONE_SHOT_V8_FLAGS, build: typeof __DRYDOCK_BUILD__ === 'string' ? __DRYDOCK_BUILD__ : 'unbundled' });
  createRequire(entryUrl)(join(chunkDir, 'run.cjs'));
}
