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

/** Where the server keeps its data by default (the embedded store): $XDG_DATA_HOME/drydock or ~/.local/share/drydock. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DRYDOCK_DATA_DIR) return env.DRYDOCK_DATA_DIR;
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'drydock');
}
