/** The vulnerability-database options shared by `scan` and the `db` commands, mapped into the library's terms. */
import { DrydockError } from '../core/errors.js';
import { registryOptions, type CommandContext } from './context.js';
import { parseDuration, type OptionKey, type ResolvedValues } from './options.js';

/** Options of the commands that read the vulnerability database and may refresh it. */
export const DB_OPTIONS: OptionKey[] = ['db', 'dbMaxAge', 'skipDbUpdate', 'acceptStaleDb', 'dbSource'];

/** Downloads the configured feeds into the database (atomically); shared by `db update` and a scan's refresh. */
export async function runDbUpdate(v: ResolvedValues, ctx: CommandContext): Promise<unknown> {
  const { updateDb, DEFAULT_SOURCES, parseSourceSpec } = await import('../vulndb/index.js');
  const specs = (v.dbSource as string[] | undefined) ?? [];
  const sources = specs.length ? specs.map((s) => parseSourceSpec(s)) : DEFAULT_SOURCES;
  const reg = registryOptions(v);
  return updateDb(await dbPathOf(v), sources, {
    issues: ctx.issues,
    events: ctx.renderer.sink,
    timeoutMs: reg.timeoutMs,
    retries: reg.retries,
    ...(reg.caFile ? { caFile: reg.caFile } : {}),
  });
}

export async function dbPathOf(v: ResolvedValues): Promise<string> {
  if (v.db) return v.db as string;
  const { defaultDbPath } = await import('../vulndb/index.js');
  return defaultDbPath();
}

/** The staleness gate as the flags ask: refresh a stale database unless --skip-db-update; accept it only when told. */
export function freshnessOf(v: ResolvedValues, ctx: CommandContext): { maxAgeMs: number; acceptStale: boolean; update?: () => Promise<void> } {
  const maxAgeMs = parseDuration(v.dbMaxAge as string);
  if (v.acceptStaleDb === true && v.skipDbUpdate !== true) {
    throw new DrydockError('USAGE', '--accept-stale-db needs --skip-db-update (a scan that may update does not need to accept an old database)');
  }
  if (v.skipDbUpdate === true) return { maxAgeMs, acceptStale: v.acceptStaleDb === true };
  return {
    maxAgeMs,
    acceptStale: false,
    update: async () => {
      await runDbUpdate(v, ctx);
    },
  };
}
