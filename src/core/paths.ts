/** Where Drydock keeps its cache and temporary files. Nothing is written anywhere else. */
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DRYDOCK_CACHE_DIR) return env.DRYDOCK_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'drydock');
}

export function defaultTempDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DRYDOCK_TMPDIR || tmpdir();
}
