/**
 * The Drydock server: the HTTP API over a store and the vulnerability database. `startServer` opens the
 * store (SQLite in the data directory unless told otherwise), builds the app and listens.
 */
import { defaultDataDir } from '../core/paths.js';
import { join } from 'node:path';
import { DrydockError } from '../core/errors.js';
import { openStore, type Store } from '../store/index.js';
import { buildApp, type AppOptions, type DrydockApp } from './http/app.js';
import { VulnDbHandle } from './http/evaluate.js';
import { enqueueReevaluation } from './reevaluate.js';
import { runWorker } from './worker.js';
import { startWatcher } from './watch/jobs.js';

export { buildApp, type AppOptions, type DrydockApp } from './http/app.js';
export { API_ERROR_CODES, type ApiErrorCode } from './http/errors.js';

export interface StartServerOptions extends Omit<AppOptions, 'store'> {
  /** a store URL (sqlite:PATH, sqlite:, postgres://...) or an open store (then close() leaves it open) */
  store?: string | Store;
  /** where `sqlite:` keeps drydock.sqlite (default $XDG_DATA_HOME/drydock) */
  dataDir?: string;
  /** HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one) */
  listen?: string;
  /** run the job worker (re-evaluation, notifications) in this process; default true (the embedded setup) */
  worker?: boolean;
  /** how often the vulnerability database file is checked for a new identity, ms (default 30 s; 0: never) */
  dbWatchMs?: number;
}

export interface RunningServer {
  /** http://HOST:PORT */
  url: string;
  app: DrydockApp;
  store: Store;
  close(): Promise<void>;
}

/** "HOST:PORT", "[::1]:PORT" or ":PORT" → host and port. */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new DrydockError('USAGE', `invalid listen address ${JSON.stringify(s)}; use HOST:PORT`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? defaultDataDir();
  const ownStore = typeof opts.store !== 'object';
  const store = typeof opts.store === 'object' ? opts.store : await openStore(opts.store ?? 'sqlite:', { dataDir });
  const { host, port } = parseListen(opts.listen ?? '127.0.0.1:8080');
  let app: DrydockApp;
  try {
    app = await buildApp({ ...opts, store, scanRoots: opts.scanRoots ?? [join(dataDir, 'imports')] });
    await app.listen({ host, port }).catch(async (e: NodeJS.ErrnoException) => {
      await app.close();
      const why = { EADDRINUSE: 'the address is already in use', EACCES: 'permission denied', EADDRNOTAVAIL: 'no such local address' }[e.code ?? ''];
      throw new DrydockError('NETWORK_ERROR', `cannot listen on ${opts.listen ?? '127.0.0.1:8080'}: ${why ?? e.message}`, { cause: e });
    });
  } catch (e) {
    if (ownStore) await store.close();
    throw e;
  }
  const watch = watchDatabase(app.vulnDb, store, opts.dbWatchMs ?? 30_000, (e) => app.log.error(e));
  const stopWorker = new AbortController();
  const worker = opts.worker === false
    ? undefined
    : runWorker(store, () => app.vulnDb.get().db, { signal: stopWorker.signal, scan: { sbomOptions: opts.sbomOptions ?? {} } }).catch((e: unknown) => {
        if (!stopWorker.signal.aborted) app.log.error(e);
      });
  // watched registries: polled on their schedules, pushes received on /api/v1/hooks/registry
  const watcher = opts.worker === false
    ? undefined
    : startWatcher(store, { db: app.vulnDb, sbomOptions: opts.sbomOptions ?? {}, ...(opts.sbomOptions?.image?.registry ? { registryOptions: opts.sbomOptions.image.registry } : {}) });
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr : { address: host, port };
  const h = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${h}:${bound.port}`,
    app,
    store,
    close: async () => {
      watch.stop();
      await watcher?.stop();
      stopWorker.abort();
      await worker;
      await app.close();
      if (ownStore) await store.close();
    },
  };
}

/**
 * A db update or import gives the database a new identity: enqueue a re-evaluation of the stored inventories
 * from its change log (deduplicated by identity, so several processes watching the same file are harmless).
 */
export function watchDatabase(handle: VulnDbHandle, store: Store, everyMs: number, onError: (e: unknown) => void): { stop(): void } {
  handle.onIdentityChange = (from, to) => {
    void enqueueReevaluation(store, { fromIdentity: from, toIdentity: to }).catch(onError);
  };
  // opened now: its identity is the one later changes are measured from. A database updated while no server
  // ran is caught up here: from the identity of the newest evaluation when the change log still holds it
  if (handle.ready()) void catchUp(handle, store).catch(onError);
  const t = everyMs > 0 ? setInterval(() => handle.ready(), everyMs) : undefined;
  t?.unref();
  return { stop: () => t && clearInterval(t) };
}

export interface StartWorkerOptions {
  store?: string | Store;
  dataDir?: string;
  vulnDbPath: string;
  dbWatchMs?: number;
  log?: (line: string) => void;
}

/** `drydock worker`: runs the jobs (re-evaluations, notifications) of a shared store until stop(). */
export async function startWorker(opts: StartWorkerOptions): Promise<{ done: Promise<unknown>; stop(): Promise<void> }> {
  const ownStore = typeof opts.store !== 'object';
  const store = typeof opts.store === 'object' ? opts.store : await openStore(opts.store ?? 'sqlite:', { dataDir: opts.dataDir ?? defaultDataDir() });
  const handle = new VulnDbHandle(opts.vulnDbPath);
  const log = opts.log ?? (() => {});
  const watch = watchDatabase(handle, store, opts.dbWatchMs ?? 30_000, (e) => log(`re-evaluation not enqueued: ${e instanceof Error ? e.message : String(e)}`));
  const abort = new AbortController();
  const done = runWorker(store, () => handle.get().db, {
    signal: abort.signal,
    log: (ev) => log('job' in ev ? `${ev.type} ${ev.job.queue} ${ev.job.id}${'error' in ev ? `: ${ev.error}` : ''}` : `${ev.type} ${JSON.stringify(ev.summary)}`),
  });
  const watcher = startWatcher(store, { db: handle });
  return {
    done,
    stop: async () => {
      watch.stop();
      await watcher.stop();
      abort.abort();
      await done.catch(() => undefined);
      handle.close();
      if (ownStore) await store.close();
    },
  };
}

async function catchUp(handle: VulnDbHandle, store: Store): Promise<void> {
  const last = await store.lastEvaluationIdentity();
  const { db, info } = handle.get();
  if (!last || last === info.digest) return;
  const known = db.history().some((h) => h.digest === last);
  await enqueueReevaluation(store, known ? { fromIdentity: last, toIdentity: info.digest } : { toIdentity: info.digest, full: true });
}
