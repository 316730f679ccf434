/** Runs the built CLI (`dist/cli.js`) as a child process, the way the end-to-end tests need it. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../dist/cli.js');

export interface CliRun {
  /** exit code; null when the run was killed (timeout) */
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** An environment that keeps a run inside `root` (its own HOME, XDG dirs and TMPDIR) with the caller's PATH. */
export function sandboxEnv(root: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['PATH', 'NODE_OPTIONS', 'SYSTEMROOT', 'LANG']) if (process.env[k] !== undefined) env[k] = process.env[k];
  return {
    ...env,
    HOME: join(root, 'home'),
    XDG_CONFIG_HOME: join(root, 'xdg-config'),
    XDG_CACHE_HOME: join(root, 'cache'),
    TMPDIR: join(root, 'tmp'),
    ...extra,
  };
}

/** Runs `drydock ARGS`; never throws. A run that outlives `timeoutMs` is killed (code null). */
export function runCli(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; maxBuffer?: number } = {},
): Promise<CliRun> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      {
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
        env: opts.env ?? process.env,
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: opts.maxBuffer ?? 256 << 20,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - start });
      },
    );
  });
}
