/** Options of the server commands (server, server token create), merged into OPTIONS in options.ts. */
import { d } from './option-decl.js';

export const SERVER_OPTIONS = {
  dataDir: d({ key: 'dataDir', flags: '--data-dir <dir>', env: 'DRYDOCK_DATA_DIR', kind: 'string', help: 'server data directory: the embedded SQLite store, and imports/ for path targets the server may scan (default: $XDG_DATA_HOME/drydock or ~/.local/share/drydock)' }),
  listen: d({ key: 'listen', flags: '--listen <host:port>', env: 'DRYDOCK_LISTEN', kind: 'string', default: '127.0.0.1:8080', help: 'address the HTTP API listens on' }),
  store: d({ key: 'store', flags: '--store <url>', env: 'DRYDOCK_STORE', kind: 'string', default: 'sqlite:', help: 'store URL: sqlite:PATH, sqlite: (in the data directory) or postgres://...' }),
  team: d({ key: 'team', flags: '--team <name>', kind: 'string', help: 'team that owns the token (created when it does not exist)' }),
  tokenScope: d({ key: 'tokenScope', flags: '--token-scope <scope>', kind: 'string', default: 'admin', choices: ['read', 'write', 'admin'], help: 'what the token may do: read, write (uploads, triage, rules) or admin (tokens, registries, audit)' }),
  tokenName: d({ key: 'tokenName', flags: '--token-name <name>', kind: 'string', help: 'token name (default: cli-<scope>)' }),
  server: d({ key: 'server', flags: '--server <url>', env: 'DRYDOCK_SERVER', kind: 'string', help: 'the Drydock server (http://host:8080): scan uploads its SBOM there (POST /api/v1/sboms); agent reports workloads to it' }),
  serverToken: d({ key: 'serverToken', flags: '--server-token <token>', env: 'DRYDOCK_SERVER_TOKEN', kind: 'string', hidden: true, help: 'API token (scope write) for --server; prefer the environment variable' }),
  kubeconfig: d({ key: 'kubeconfig', flags: '--kubeconfig <file>', env: 'DRYDOCK_KUBECONFIG', kind: 'string', help: 'agent: report the pods of the cluster of this kubeconfig' }),
  inCluster: d({ key: 'inCluster', flags: '--in-cluster', kind: 'bool', default: false, help: 'agent: report the pods of the cluster the agent runs in (its service account; a DaemonSet or Deployment)' }),
  interval: d({ key: 'interval', flags: '--interval <duration>', env: 'DRYDOCK_AGENT_INTERVAL', kind: 'string', default: '30s', help: 'agent: how often changes are sent and the runtime is listed (e.g. 30s, 5m)' }),
  driftInterval: d({ key: 'driftInterval', flags: '--drift-interval <duration>', env: 'DRYDOCK_AGENT_DRIFT_INTERVAL', kind: 'string', default: '10m', help: 'agent: how often each running host container is compared with its image and the drift reported (0: never)' }),
  source: d({ key: 'source', flags: '--source <name>', env: 'DRYDOCK_AGENT_SOURCE', kind: 'string', help: 'agent: the source name of the report (default: cluster/<name> for pods, host/<hostname> for containers)' }),
} as const;
