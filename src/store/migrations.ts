/**
 * Numbered schema migrations. The rule: a released migration is never edited; a change is a new
 * migration with the next number. Each is applied once, inside the transaction that records it in
 * schema_migrations; a database with a migration this code does not know is refused.
 */
import { DrydockError } from '../core/errors.js';
import type { Clock } from '../core/clock.js';
import type { Connection, Dialect } from './sql.js';

export interface Migration {
  version: number;
  name: string;
  /** SQL script; `{{serial}}` becomes an auto-incrementing integer primary key of the dialect */
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial',
    sql: `
CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL UNIQUE,
  scope TEXT NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX api_tokens_team ON api_tokens (team_id, created_at);

CREATE TABLE images (
  id {{serial}},
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  repository TEXT NOT NULL,
  digest TEXT NOT NULL,
  labels TEXT NOT NULL,
  owners TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  UNIQUE (team_id, repository, digest)
);
CREATE INDEX images_digest ON images (team_id, digest);
CREATE INDEX images_last_seen ON images (team_id, last_seen);
CREATE TABLE image_tags (
  image_id BIGINT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  current INTEGER NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (image_id, tag)
);

CREATE TABLE inventories (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  inventory TEXT NOT NULL,
  package_count INTEGER NOT NULL,
  stored_at BIGINT NOT NULL,
  PRIMARY KEY (team_id, digest)
);
CREATE TABLE inventory_packages (
  team_id TEXT NOT NULL,
  digest TEXT NOT NULL,
  package_id TEXT NOT NULL,
  type TEXT NOT NULL,
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  purl TEXT,
  PRIMARY KEY (team_id, digest, package_id),
  FOREIGN KEY (team_id, digest) REFERENCES inventories(team_id, digest) ON DELETE CASCADE
);
CREATE INDEX inventory_packages_name ON inventory_packages (team_id, name, version, digest, package_id);
CREATE INDEX inventory_packages_purl ON inventory_packages (team_id, purl, version, digest, package_id);
CREATE TABLE package_lookup (
  ecosystem TEXT NOT NULL,
  name TEXT NOT NULL,
  team_id TEXT NOT NULL,
  digest TEXT NOT NULL,
  package_id TEXT NOT NULL,
  PRIMARY KEY (ecosystem, name, team_id, digest, package_id),
  FOREIGN KEY (team_id, digest) REFERENCES inventories(team_id, digest) ON DELETE CASCADE
);
CREATE INDEX package_lookup_inventory ON package_lookup (team_id, digest);

CREATE TABLE evaluations (
  id {{serial}},
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  db_identity TEXT NOT NULL,
  at BIGINT NOT NULL,
  new_count INTEGER NOT NULL,
  changed_count INTEGER NOT NULL,
  resolved_count INTEGER NOT NULL,
  unchanged_count INTEGER NOT NULL
);
CREATE INDEX evaluations_digest ON evaluations (team_id, digest, id);
CREATE TABLE findings (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  vuln_id TEXT NOT NULL,
  package_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('new', 'unchanged', 'changed', 'resolved')),
  revision INTEGER NOT NULL,
  material TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_changed BIGINT NOT NULL,
  evaluation_id BIGINT NOT NULL,
  db_identity TEXT NOT NULL,
  finding TEXT NOT NULL,
  PRIMARY KEY (team_id, digest, vuln_id, package_id)
);

CREATE TABLE triage (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  vuln_id TEXT NOT NULL,
  target TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('affected', 'not_affected', 'false_positive', 'accepted')),
  justification TEXT,
  reason TEXT,
  until BIGINT,
  updated_by TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (team_id, vuln_id, target)
);
CREATE INDEX triage_target ON triage (team_id, target);
CREATE TABLE triage_history (
  id {{serial}},
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  vuln_id TEXT NOT NULL,
  target TEXT NOT NULL,
  from_state TEXT,
  to_state TEXT NOT NULL,
  justification TEXT,
  reason TEXT,
  until BIGINT,
  actor TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX triage_history_key ON triage_history (team_id, vuln_id, target, id);

CREATE TABLE audit_log (
  id {{serial}},
  team_id TEXT,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  at BIGINT NOT NULL,
  details TEXT
);
CREATE INDEX audit_log_team ON audit_log (team_id, id);

CREATE TABLE outbox (
  id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL,
  next_attempt_at BIGINT NOT NULL,
  lease_until BIGINT,
  last_error TEXT,
  created_at BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, created_at);
CREATE INDEX outbox_team ON outbox (team_id, status, created_at);

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  team_id TEXT,
  dedupe_key TEXT,
  payload TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'active', 'done', 'failed')),
  attempts INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  run_at BIGINT NOT NULL,
  lease TEXT,
  lease_until BIGINT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (queue, state, run_at);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (queue, dedupe_key) WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'active');

CREATE TABLE watched_registries (
  id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (team_id, name)
);
CREATE TABLE notification_rules (
  id TEXT PRIMARY KEY,
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  UNIQUE (team_id, name)
);
`,
  },
  {
    version: 2,
    name: 'workloads',
    sql: `
CREATE TABLE workloads (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  source TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('pod', 'container')),
  namespace TEXT NOT NULL,
  name TEXT NOT NULL,
  container TEXT NOT NULL,
  owner_kind TEXT,
  owner_name TEXT,
  labels TEXT NOT NULL,
  owners TEXT NOT NULL,
  node TEXT NOT NULL,
  image TEXT NOT NULL,
  digest TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (team_id, source, kind, namespace, name, container)
);
CREATE INDEX workloads_digest ON workloads (digest, team_id);
CREATE INDEX workloads_team_digest ON workloads (team_id, digest);
`,
  },
  {
    version: 3,
    name: 'drift',
    sql: `
CREATE TABLE drift_findings (
  team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  source TEXT NOT NULL,
  container TEXT NOT NULL,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  severity TEXT NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
  state TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
  revision BIGINT NOT NULL,
  container_id TEXT NOT NULL,
  image TEXT NOT NULL,
  digest TEXT NOT NULL,
  finding TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  resolved_at BIGINT,
  PRIMARY KEY (team_id, source, container, kind, subject)
);
CREATE INDEX drift_findings_team_digest ON drift_findings (team_id, digest);
`,
  },
];

export const LATEST_SCHEMA = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export function migrationSql(m: Migration, dialect: Dialect): string {
  if (dialect === 'sqlite') return m.sql.replaceAll('{{serial}}', 'INTEGER PRIMARY KEY AUTOINCREMENT');
  // byte-order collation on PostgreSQL, as SQLite compares: keyset pages and sort orders agree on both
  return m.sql.replaceAll('{{serial}}', 'BIGSERIAL PRIMARY KEY').replace(/\bTEXT\b/g, 'TEXT COLLATE "C"');
}

// an arbitrary constant that names Drydock's migration lock among PostgreSQL advisory locks
const PG_MIGRATION_LOCK = 7_301_942_117;

/**
 * Applies pending migrations in one transaction and returns the schema version. Idempotent;
 * concurrent openers serialise on a lock (PostgreSQL advisory lock, SQLite write lock).
 */
export async function migrate(conn: Connection, where: string, clock: Clock, migrations: readonly Migration[] = MIGRATIONS): Promise<number> {
  return conn.tx(async (q) => {
    if (q.dialect === 'postgres') await q.all('SELECT pg_advisory_xact_lock(?)', [PG_MIGRATION_LOCK]);
    await q.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    const applied = await q.all<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    const known = new Map(migrations.map((m) => [m.version, m]));
    const latest = migrations[migrations.length - 1]?.version ?? 0;
    for (const a of applied) {
      if (a.version > latest || !known.has(a.version)) {
        throw new DrydockError('STORE_SCHEMA', `store ${where} has schema version ${a.version} (${a.name}), newer than this drydock supports (${latest}); upgrade drydock`, {
          details: { schemaVersion: a.version, supported: latest },
        });
      }
      if (known.get(a.version)!.name !== a.name) {
        throw new DrydockError('STORE_SCHEMA', `store ${where} recorded migration ${a.version} as ${JSON.stringify(a.name)}, this drydock knows it as ${JSON.stringify(known.get(a.version)!.name)}`);
      }
    }
    const done = new Set(applied.map((a) => a.version));
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await q.exec(migrationSql(m, q.dialect));
      await q.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [m.version, m.name, clock.now().getTime()]);
    }
    return latest;
  });
}
