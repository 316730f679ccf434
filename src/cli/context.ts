/** Maps resolved CLI values into the library's typed options, and runs a command with the exit-code contract. */
import { readFileSync } from 'node:fs';
import { DrydockError, EXIT } from '../core/errors.js';
import { IssueLog } from '../core/issues.js';
import type { OpenImageOptions, RegistryOptions } from '../image/types.js';
import type { ScanCommonOptions } from '../scan/inspect.js';
import type { ResolvedValues } from './options.js';
import { createRenderer, type Renderer } from './progress.js';

export interface CommandContext {
  renderer: Renderer;
  issues: IssueLog;
}

export function newContext(values: ResolvedValues): CommandContext {
  const renderer = createRenderer({ quiet: values.quiet === true });
  const issues = new IssueLog((i) => renderer.issue(i));
  return { renderer, issues };
}

export function registryOptions(v: ResolvedValues): RegistryOptions {
  let password = v.password as string | undefined;
  if (v.passwordStdin === true) {
    try {
      password = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new DrydockError('USAGE', 'cannot read the password from standard input', { cause: e });
    }
  }
  return {
    insecure: (v.insecureRegistry as string[] | undefined) ?? [],
    ...(v.caFile ? { caFile: v.caFile as string } : {}),
    ...(v.username ? { username: v.username as string } : {}),
    ...(password ? { password } : {}),
    timeoutMs: ((v.timeout as number | undefined) ?? 30) * 1000,
    retries: (v.retries as number | undefined) ?? 4,
    concurrency: (v.concurrency as number | undefined) ?? 4,
  };
}

export function imageOptions(v: ResolvedValues, ctx: CommandContext): OpenImageOptions {
  return {
    ...(v.platform ? { platform: v.platform as string } : {}),
    registry: registryOptions(v),
    events: ctx.renderer.sink,
    issues: ctx.issues,
    ...(v.tmpDir ? { tempDir: v.tmpDir as string } : {}),
  };
}

export function scanOptions(v: ResolvedValues, ctx: CommandContext): ScanCommonOptions {
  return {
    image: imageOptions(v, ctx),
    cacheDir: v.noCache === true ? null : ((v.cacheDir as string | undefined) ?? undefined),
    limits: {
      maxUncompressedBytes: v.maxUncompressed as number,
      maxEntries: v.maxEntries as number,
    },
    events: ctx.renderer.sink,
    issues: ctx.issues,
    ...(v.tmpDir ? { tempDir: v.tmpDir as string } : {}),
    concurrency: Math.min(4, (v.concurrency as number | undefined) ?? 2),
  };
}

/** Prints an error the way every command does and returns its exit code. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (e instanceof DrydockError) {
    let msg = `drydock: error [${e.code}]: ${e.message}`;
    let cause = e.cause;
    for (let depth = 0; cause && depth < 3; depth++) {
      const m = cause instanceof Error ? cause.message : String(cause);
      if (m && !msg.includes(m)) msg += `\n  caused by: ${m}`;
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    stderr.write(`${msg}\n`);
    return e.exitCode;
  }
  stderr.write(`drydock: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT.runtime;
}

/** Resolves at the first SIGINT or SIGTERM (the long-running commands: server, worker, agent). */
export function untilInterrupted(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
