/** Options of the server commands (server, server token create), merged into OPTIONS in options.ts. */
import { d } from './option-decl.js';

export const SERVER_OPTIONS = {
  dataDir: d({ key: 'dataDir', flags: '--data-dir <dir>', env: 'DRYDOCK_DATA_DIR', kind: 'string', help: 'server data directory: the embedded SQLite store, and imports/ for path targets the server may scan (default: $XDG_DATA_HOME/drydock or ~/.local/share/drydock)' }),
  listen: d({ key: 'listen', flags: '--listen <host:port>', env: 'DRYDOCK_LISTEN', kind: 'string', default: '127.0.0.1:8080', help: 'address the HTTP API listens on' }),
  store: d({ key: 'store', flags: '--store <url>', env: 'DRYDOCK_STORE', kind: 'string', default: 'sqlite:', help: 'store URL: sqlite:PATH, sqlite: (in the data directory) or postgres://...' }),
  team: d({ key: 'team', flags: '--team <name>', kind: 'string', help: 'team that owns the token (created when it does not exist)' }),
  tokenScope: d({ key: 'tokenScope', flags: '--token-scope <scope>', kind: 'string', default: 'admin', choices: ['read', 'write', 'admin'], help: 'what the token may do: read, write (uploads, triage, rules) or admin (tokens, registries, audit)' }),
  tokenName: d({ key: 'tokenName', flags: '--token-name <name>', kind: 'string', help: 'token name (default: cli-<scope>)' }),
} as const;
