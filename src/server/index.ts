/**
 * The Drydock server: the HTTP API over a store and the vulnerability database. `startServer` opens the
 * store (SQLite in the data directory unless told otherwise), builds the app and listens.
 */
import { defaultDataDir } from '../core/paths.js';
import { join } from 'node:path';
import { DrydockError } from '../core/errors.js';
import { openStore, type Store } from '../store/index.js';
import { buildApp, type AppOptions, type DrydockApp } from './http/app.js';

export { buildApp, type AppOptions, type DrydockApp } from './http/app.js';
export { API_ERROR_CODES, type ApiErrorCode } from './http/errors.js';

export interface StartServerOptions extends Omit<AppOptions, 'store'> {
  /** a store URL (sqlite:PATH, sqlite:, postgres://...) or an open store (then close() leaves it open) */
  store?: string | Store;
  /** where `sqlite:` keeps drydock.sqlite (default ./drydock-data) */
  dataDir?: string;
  /** HOST:PORT (default 127.0.0.1:8080; port 0 picks a free one) */
  listen?: string;
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
    await app.listen({ host, port });
  } catch (e) {
    if (ownStore) await store.close();
    throw e;
  }
  const addr = app.server.address();
  const bound = typeof addr === 'object' && addr ? addr : { address: host, port };
  const h = bound.address.includes(':') ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${h}:${bound.port}`,
    app,
    store,
    close: async () => {
      await app.close();
      if (ownStore) await store.close();
    },
  };
}
