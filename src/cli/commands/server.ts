/**
 * `drydock server`: runs the HTTP API; `drydock server token create` prints an API token of a team.
 * Options: options-server.ts.
 */
import { Command } from 'commander';
import { DrydockError } from '../../core/errors.js';
import { untilInterrupted } from '../context.js';
import { defaultDataDir } from '../../core/paths.js';
import { dbPathOf } from '../db-options.js';
import type { FormatName } from '../format.js';
import { addOptions, resolveOptions, type OptionKey } from '../options.js';

/** `server` and `token create` print plain text: no --format. */
export const SERVER_FORMATS: readonly FormatName[] = [];

const SERVE_KEYS: OptionKey[] = ['dataDir', 'listen', 'store', 'db', 'quiet'];
const TOKEN_KEYS: OptionKey[] = ['team', 'tokenScope', 'tokenName', 'dataDir', 'store', 'quiet'];

export function serverCommand(): Command {
  const server = new Command('server')
    .summary('run the Drydock server (HTTP API over the store and the vulnerability database)')
    .description(
      'Serve the REST API under /api/v1 (OpenAPI document at /api/v1/openapi.json), /healthz, /readyz and /metrics. ' +
        'The store is an embedded SQLite file in the data directory unless --store names another one (postgres://...). ' +
        '--db is the vulnerability database findings are matched against. Create a first token with `drydock server token create`.',
    );
  addOptions(server, SERVE_KEYS);
  // `server token create --store X`: options after a subcommand belong to it, not to `server`
  server.enablePositionalOptions();
  server.action(async () => {
    const { startServer } = await import('../../server/index.js');
    const v = resolveOptions(server, SERVE_KEYS);
    const running = await startServer({
      store: v.store as string,
      dataDir: (v.dataDir as string | undefined) ?? defaultDataDir(),
      listen: v.listen as string,
      vulnDbPath: await dbPathOf(v),
      logger: false,
    });
    process.stderr.write(`drydock server listening on ${running.url} (store ${running.store.location})\n`);
    await untilInterrupted();
    await running.close();
  });

  const token = new Command('token').summary('manage API tokens');
  const create = new Command('create')
    .summary('create an API token of a team and print its secret once')
    .description('Create the team if it does not exist, then a token of the given scope (admin by default). Only the secret\'s hash is stored: the printed secret cannot be shown again.');
  addOptions(create, TOKEN_KEYS);
  create.action(async () => {
    const v = resolveOptions(create, TOKEN_KEYS);
    const teamName = v.team as string | undefined;
    if (!teamName) throw new DrydockError('USAGE', 'drydock server token create needs --team NAME');
    const scope = v.tokenScope as 'read' | 'write' | 'admin';
    const { openStore } = await import('../../store/index.js');
    const store = await openStore(v.store as string, { dataDir: (v.dataDir as string | undefined) ?? defaultDataDir() });
    try {
      const team = (await store.getTeamByName(teamName)) ?? (await store.createTeam(teamName, 'cli'));
      const created = await store.createToken({ teamId: team.id, actor: 'cli' }, { name: (v.tokenName as string | undefined) ?? `cli-${scope}`, scope });
      process.stdout.write(`${created.secret}\n`);
      process.stderr.write(`token ${created.token.id} (${created.token.prefix}…, scope ${scope}) of team ${team.name}; the secret is shown once\n`);
    } finally {
      await store.close();
    }
  });
  token.addCommand(create);
  server.addCommand(token);
  return server;
}

const WORKER_KEYS: OptionKey[] = ['dataDir', 'store', 'db', 'quiet'];

/** `drydock worker`: more machines sharing the server's work through its store (PostgreSQL). */
export function workerCommand(): Command {
  const cmd = new Command('worker')
    .summary('run the server\'s jobs (re-evaluations, notifications) against a shared store')
    .description(
      'Take jobs from the store the server uses (re-evaluation after a database update, delivery of notifications) ' +
        'until interrupted. Any number of workers can share one PostgreSQL store: jobs are leased, and a worker that ' +
        'dies mid-job leaves it to another. `drydock server` runs a worker of its own unless told otherwise. A worker ' +
        'also watches the vulnerability database file and enqueues a re-evaluation when its identity changes.',
    );
  addOptions(cmd, WORKER_KEYS);
  cmd.action(async () => {
    const { startWorker } = await import('../../server/index.js');
    const v = resolveOptions(cmd, WORKER_KEYS);
    const quiet = v.quiet === true;
    const w = await startWorker({
      store: v.store as string,
      dataDir: (v.dataDir as string | undefined) ?? defaultDataDir(),
      vulnDbPath: await dbPathOf(v),
      log: (line) => {
        if (!quiet) process.stderr.write(`${line}\n`);
      },
    });
    if (!quiet) process.stderr.write('drydock worker running (Ctrl-C to stop)\n');
    await untilInterrupted();
    await w.stop();
  });
  return cmd;
}
