import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DrydockError } from './errors.js';

const live = new Set<string>();
let hooked = false;
let guard: TempGuard | undefined;

/** Told when the first work file appears and when the last one is gone (see setTempGuard). */
export interface TempGuard {
  arm(): void;
  disarm(): void;
}

/**
 * The CLI's one-shot commands pass a guard that handles SIGINT and SIGTERM while work files exist
 * (exiting through process.exit, so the exit hook removes them) and gives the signals back to their
 * default outside that window, so that a command blocked in a synchronous read stays killable.
 */
export function setTempGuard(g: TempGuard | undefined): void {
  if (guard && live.size) guard.disarm();
  guard = g;
  if (guard && live.size) guard.arm();
}

/**
 * Removes `path` (a work file or directory) if the process exits before the returned function is
 * called: an interrupted command (the CLI turns SIGINT and SIGTERM into an exit) leaves nothing behind.
 */
export function removeAtExit(path: string): () => void {
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const p of live) {
        try {
          rmSync(p, { recursive: true, force: true });
        } catch {
          // nothing more can be done while exiting
        }
      }
    });
  }
  live.add(path);
  if (live.size === 1) guard?.arm();
  return () => {
    if (live.delete(path) && live.size === 0) guard?.disarm();
  };
}

export interface TempDirectory {
  path: string;
  /** removes the directory and everything in it (idempotent) */
  remove(): Promise<void>;
}

/**
 * A new private directory under `parent` for work files (spilled executables, exported images, an
 * archive being written), removed by `remove()` or at exit (removeAtExit). IO_ERROR when it cannot
 * be created.
 */
export async function tempDirectory(parent: string, prefix: string): Promise<TempDirectory> {
  let path: string;
  try {
    path = await mkdtemp(join(parent, prefix));
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot create a temporary directory in ${parent} (${(e as Error).message})`, { cause: e });
  }
  const forget = removeAtExit(path);
  return {
    path,
    remove: async () => {
      forget();
      await rm(path, { recursive: true, force: true });
    },
  };
}
