/**
 * The store over SQL: one implementation for SQLite and PostgreSQL (src/store/sql.ts hides the
 * drivers). Every statement is parameterised; every change to a team's data writes an audit row in
 * the same transaction; finding changes enqueue their outbox events in that transaction too.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DrydockError } from '../core/errors.js';
import type { Inventory, Package } from '../model/package.js';
import type { Finding } from '../model/vuln.js';
import { insertMany, type Connection, type Param, type Sql } from './sql.js';
import type {
  AuditEntry, ChangedFinding, Collection, CreatedToken, EvaluationDiff, EvaluationRecord, FindingFilter,
  FindingMaterial, FindingState, ImageFilter, ImageInput, ImageRecord, InventoryRef, Job, JobInput, JobState,
  LookupKey, NewOutboxEvent, OutboxEvent, PackageHit, PackageQuery, PackageRef, Page, PageOptions,
  PutInventoryOptions, RegistrySpec, RuleSpec, Store, Stored, StoredFinding, Team, TeamContext, TokenInfo,
  TokenScope, TriageChange, TriageFilter, TriageInput, TriageRecord, TriageState, TriageTarget, VexJustification,
  PutWorkloadsResult, WorkloadFilter, WorkloadInput, WorkloadKind, WorkloadRecord,
  DriftContainerInput, DriftFilter, DriftFindingInput, DriftFindingRecord, DriftSeverityLevel, DriftState, PutDriftOptions, PutDriftResult,
} from './types.js';
import { DRIFT_SEVERITY_LEVELS, VEX_JUSTIFICATIONS } from './types.js';
import { byString } from '../core/compare.js';

export interface SqlStoreOptions {
  clock: Clock;
  /** claims of an outbox event before it becomes a dead letter (default 10) */
  outboxMaxAttempts?: number;
  /** first retry delay of a failed job, doubled per attempt up to an hour (default 1000 ms) */
  jobBackoffMs?: number;
}

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
const TOKEN_TOUCH_MS = 60_000;
const OWNER_LABELS = ['org.opencontainers.image.authors', 'drydock.owner'];
const TRIAGE_STATES: readonly TriageState[] = ['affected', 'not_affected', 'false_positive', 'accepted'];
const TOKEN_SCOPES: readonly TokenScope[] = ['read', 'write', 'admin'];

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOpt = (ms: unknown): string | undefined => (typeof ms === 'number' ? iso(ms) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function invalid(message: string): DrydockError {
  return new DrydockError('STORE_INPUT_INVALID', message);
}

function pageSize(p: PageOptions | undefined): number {
  const n = p?.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw invalid(`page size ${n} is not an integer between 1 and ${MAX_PAGE}`);
  return n;
}

function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string | undefined, shape: readonly ('s' | 'n')[]): (string | number)[] | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  if (!Array.isArray(key) || key.length !== shape.length || key.some((v, i) => typeof v !== (shape[i] === 's' ? 'string' : 'number'))) {
    throw invalid(`page cursor ${JSON.stringify(cursor.slice(0, 80))} is malformed`);
  }
  return key as (string | number)[];
}

/** Takes limit+1 rows, returns a page and the cursor of its last item. */
function toPage<R, T>(rows: R[], limit: number, map: (r: R) => T, key: (r: R) => (string | number)[]): Page<T> {
  const more = rows.length > limit;
  const items = more ? rows.slice(0, limit) : rows;
  const page: Page<T> = { items: items.map(map) };
  if (more) page.next = encodeCursor(key(items[items.length - 1]!));
  return page;
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function checkCtx(ctx: TeamContext): void {
  if (!ctx || typeof ctx.teamId !== 'string' || typeof ctx.actor !== 'string' || ctx.actor === '') {
    throw new DrydockError('INTERNAL', 'store call without a team context');
  }
}

/** The owners an image's labels name: comma-separated lists, trimmed, sorted, unique. */
export function ownersFromLabels(labels: Record<string, string>): string[] {
  const out = new Set<string>();
  for (const k of OWNER_LABELS) {
    for (const part of (labels[k] ?? '').split(',')) {
      const t = part.trim();
      if (t) out.add(t);
    }
  }
  return [...out].sort();
}

/** The fields of a finding whose change counts as "changed". */
export function findingMaterial(f: Finding): FindingMaterial {
  return {
    fixState: f.fixState,
    fixedVersions: [...f.fixedVersions],
    severity: f.severity,
    kev: f.kev !== undefined,
    suppressed: f.suppressed ? `${f.suppressed.kind}:${f.suppressed.rule}` : null,
  };
}

/** A finding event's id: the same team, image, vulnerability, package, transition and revision give the same id. */
export function findingEventId(teamId: string, digest: string, vulnId: string, packageId: string, transition: string, revision: number): string {
  return sha256([teamId, digest, vulnId, packageId, transition, String(revision)].join('\u0000'));
}

/** Default lookup key: the package type and the name, qualified by the namespace where it is part of the name. */
export function defaultLookupKeys(pkg: Package): LookupKey[] {
  const name = pkg.namespace && (pkg.type === 'maven' || pkg.type === 'npm' || pkg.type === 'composer' || pkg.type === 'golang')
    ? pkg.type === 'maven' ? `${pkg.namespace}:${pkg.name}` : pkg.type === 'npm' ? `@${pkg.namespace}/${pkg.name}` : `${pkg.namespace}/${pkg.name}`
    : pkg.name;
  return [{ ecosystem: pkg.type, name }];
}

function encodeTarget(t: TriageTarget): string {
  if ('purl' in t && typeof t.purl === 'string' && t.purl.startsWith('pkg:')) return `purl:${t.purl}`;
  if ('digest' in t && typeof t.digest === 'string' && t.digest !== '') return `image:${t.digest}`;
  throw invalid(`triage target ${JSON.stringify(t)} is neither a purl (pkg:...) nor an image digest`);
}

function decodeTarget(s: string): TriageTarget {
  return s.startsWith('purl:') ? { purl: s.slice(5) } : { digest: s.slice(6) };
}

interface ImageRow { id: number; repository: string; digest: string; labels: string; owners: string; first_seen: number; last_seen: number }
interface TokenRow { id: string; team_id: string; name: string; prefix: string; scope: TokenScope; created_at: number; last_used_at: number | null; revoked_at: number | null }
interface FindingRow { vuln_id: string; package_id: string; state: FindingState; revision: number; material: string; first_seen: number; last_changed: number; evaluation_id: number; db_identity: string; finding: string }
interface TriageRow { vuln_id: string; target: string; state: TriageState; justification: string | null; reason: string | null; until: number | null; updated_by: string; updated_at: number }
interface OutboxRow { id: string; team_id: string; kind: string; payload: string; attempts: number; created_at: number; last_error: string | null }
interface JobRow { id: string; queue: string; team_id: string | null; dedupe_key: string | null; payload: string; state: JobState; attempts: number; max_attempts: number; run_at: number; lease: string | null; lease_until: number | null; last_error: string | null }

function tokenInfo(r: TokenRow): TokenInfo {
  const t: TokenInfo = { id: r.id, teamId: r.team_id, name: r.name, prefix: r.prefix, scope: r.scope, createdAt: iso(r.created_at) };
  if (r.last_used_at !== null) t.lastUsedAt = iso(r.last_used_at);
  if (r.revoked_at !== null) t.revokedAt = iso(r.revoked_at);
  return t;
}

function storedFinding(r: FindingRow): StoredFinding {
  return {
    vulnerabilityId: r.vuln_id, packageId: r.package_id, state: r.state, revision: r.revision,
    firstSeen: iso(r.first_seen), lastChanged: iso(r.last_changed), evaluationId: r.evaluation_id,
    dbIdentity: r.db_identity, finding: JSON.parse(r.finding) as Finding,
  };
}

/** An image's finding as pre-serialised JSON: see SqlStore.listFindingsJson. */
export interface FindingJson {
  vulnerabilityId: string;
  /** the JSON text of the StoredFinding (keys in its order), plus `triage` when the image has a triage record for the vulnerability */
  json: string;
}

/** Anything that lists an image's findings pre-serialised (the SQL store does; the route falls back to listFindings). */
export interface FindingJsonLister {
  listFindingsJson(ctx: TeamContext, digest: string, filter?: FindingFilter): Promise<Page<FindingJson>>;
}

interface FindingJsonRow extends Omit<FindingRow, 'material'> {
  t_state: TriageState | null; t_justification: string | null; t_reason: string | null; t_until: number | null; t_updated_by: string | null; t_updated_at: number | null;
}

// The stored finding column holds JSON.stringify output, which JSON.parse + JSON.stringify reproduces byte for
// byte; so it is spliced in as is, and the text equals JSON.stringify({ ...storedFinding(r), triage }).
function findingJson(r: FindingJsonRow, digest: string): FindingJson {
  let triage = '';
  if (r.t_state !== null) {
    triage = `,"triage":${JSON.stringify(triageRecord({
      vuln_id: r.vuln_id, target: `image:${digest}`, state: r.t_state, justification: r.t_justification, reason: r.t_reason,
      until: r.t_until, updated_by: r.t_updated_by!, updated_at: r.t_updated_at!,
    }))}`;
  }
  const json = `{"vulnerabilityId":${JSON.stringify(r.vuln_id)},"packageId":${JSON.stringify(r.package_id)},"state":"${r.state}","revision":${r.revision},`
    + `"firstSeen":"${iso(r.first_seen)}","lastChanged":"${iso(r.last_changed)}","evaluationId":${r.evaluation_id},"dbIdentity":${JSON.stringify(r.db_identity)},`
    + `"finding":${r.finding}${triage}}`;
  return { vulnerabilityId: r.vuln_id, json };
}

/**
 * The WHERE clause of a page of an image's findings (states, keyset after the cursor, order, limit) and
 * its parameters, for columns prefixed with `col` ('' or a table alias); undefined when no state is asked for.
 */
function findingsPageQuery(ctx: TeamContext, digest: string, filter: FindingFilter, col: '' | 'f.'): { where: string; params: Param[]; limit: number } | undefined {
  const limit = pageSize(filter);
  const after = decodeCursor(filter.after, ['s', 's']);
  const states = filter.states ?? ['new', 'unchanged', 'changed'];
  if (states.length === 0) return undefined;
  const params: Param[] = [ctx.teamId, digest, ...states];
  let where = `${col}team_id = ? AND ${col}digest = ? AND ${col}state IN (${placeholders(states.length)})`;
  if (after) { where += ` AND (${col}vuln_id, ${col}package_id) > (?, ?)`; params.push(after[0], after[1]); }
  params.push(limit + 1);
  return { where: `${where} ORDER BY ${col}vuln_id, ${col}package_id LIMIT ?`, params, limit };
}

function triageRecord(r: TriageRow): TriageRecord {
  const t: TriageRecord = { vulnerabilityId: r.vuln_id, target: decodeTarget(r.target), state: r.state, updatedBy: r.updated_by, updatedAt: iso(r.updated_at) };
  if (r.justification !== null) t.justification = r.justification as VexJustification;
  if (r.until !== null) t.until = iso(r.until);
  if (r.reason !== null) t.reason = r.reason;
  return t;
}

function outboxEvent(r: OutboxRow): OutboxEvent {
  const e: OutboxEvent = { id: r.id, teamId: r.team_id, kind: r.kind, payload: JSON.parse(r.payload) as Record<string, unknown>, attempts: r.attempts, createdAt: iso(r.created_at) };
  if (r.last_error !== null) e.lastError = r.last_error;
  return e;
}

function job(r: JobRow): Job {
  const j: Job = {
    id: r.id, queue: r.queue, payload: JSON.parse(r.payload) as Record<string, unknown>, state: r.state,
    attempts: r.attempts, maxAttempts: r.max_attempts, runAt: iso(r.run_at),
  };
  if (r.team_id !== null) j.teamId = r.team_id;
  if (r.dedupe_key !== null) j.dedupeKey = r.dedupe_key;
  if (r.lease !== null) j.lease = r.lease;
  if (r.lease_until !== null) j.leaseUntil = iso(r.lease_until);
  if (r.last_error !== null) j.lastError = r.last_error;
  return j;
}

export class SqlStore implements Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly location: string;
  readonly registries: Collection<RegistrySpec>;
  readonly rules: Collection<RuleSpec>;
  readonly #db: Connection;
  readonly #clock: Clock;
  readonly #outboxMax: number;
  readonly #backoff: number;
  readonly #forUpdate: string;

  constructor(db: Connection, location: string, options: SqlStoreOptions) {
    this.#db = db;
    this.kind = db.dialect;
    this.location = location;
    this.#clock = options.clock;
    this.#outboxMax = options.outboxMaxAttempts ?? 10;
    this.#backoff = options.jobBackoffMs ?? 1000;
    // SQLite's BEGIN IMMEDIATE already excludes other writers
    this.#forUpdate = db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
    this.registries = new SqlCollection<RegistrySpec>(this, 'watched_registries', 'registry', validateRegistry);
    this.rules = new SqlCollection<RuleSpec>(this, 'notification_rules', 'notification rule', validateRule);
  }

  /** @internal for SqlCollection */
  get db(): Connection {
    return this.#db;
  }

  /** @internal */
  now(): number {
    return this.#clock.now().getTime();
  }

  /** @internal writes one audit row */
  async audit(q: Sql, teamId: string | null, actor: string, action: string, object: string, details?: Record<string, unknown>): Promise<void> {
    await q.run('INSERT INTO audit_log (team_id, actor, action, object, at, details) VALUES (?, ?, ?, ?, ?, ?)', [
      teamId, actor, action, object, this.now(), details ? JSON.stringify(details) : null,
    ]);
  }

  async schemaVersion(): Promise<number> {
    const r = await this.#db.all<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    return Number(r[0]?.v ?? 0);
  }

  async ping(): Promise<void> {
    await this.#db.all('SELECT 1 AS one');
  }

  close(): Promise<void> {
    return this.#db.close();
  }

  // ---------------------------------------------------------------- teams and tokens

  async createTeam(name: string, actor: string): Promise<Team> {
    if (typeof name !== 'string' || name.trim() === '' || name.length > 200) throw invalid(`team name ${JSON.stringify(name)} is empty or longer than 200 characters`);
    const id = randomUUID();
    const at = this.now();
    try {
      await this.#db.tx(async (q) => {
        await q.run('INSERT INTO teams (id, name, created_at) VALUES (?, ?, ?)', [id, name, at]);
        await this.audit(q, id, actor, 'team.create', id, { name });
      });
    } catch (e) {
      if (isUniqueViolation(e)) throw new DrydockError('STORE_CONFLICT', `team ${JSON.stringify(name)} already exists`, { cause: e });
      throw e;
    }
    return { id, name, createdAt: iso(at) };
  }

  async getTeam(id: string): Promise<Team | undefined> {
    const r = await this.#db.all<{ id: string; name: string; created_at: number }>('SELECT id, name, created_at FROM teams WHERE id = ?', [id]);
    return r[0] && { id: r[0].id, name: r[0].name, createdAt: iso(r[0].created_at) };
  }

  async getTeamByName(name: string): Promise<Team | undefined> {
    const r = await this.#db.all<{ id: string; name: string; created_at: number }>('SELECT id, name, created_at FROM teams WHERE name = ?', [name]);
    return r[0] && { id: r[0].id, name: r[0].name, createdAt: iso(r[0].created_at) };
  }

  async listTeams(): Promise<Team[]> {
    const r = await this.#db.all<{ id: string; name: string; created_at: number }>('SELECT id, name, created_at FROM teams ORDER BY name');
    return r.map((t) => ({ id: t.id, name: t.name, createdAt: iso(t.created_at) }));
  }

  async createToken(ctx: TeamContext, input: { name: string; scope: TokenScope }): Promise<CreatedToken> {
    checkCtx(ctx);
    if (!TOKEN_SCOPES.includes(input.scope)) throw invalid(`token scope ${JSON.stringify(input.scope)} is not read, write or admin`);
    const secret = `ddk_${randomBytes(32).toString('base64url')}`;
    const row: TokenRow = {
      id: randomUUID(), team_id: ctx.teamId, name: input.name, prefix: secret.slice(0, 12), scope: input.scope,
      created_at: this.now(), last_used_at: null, revoked_at: null,
    };
    await this.#db.tx(async (q) => {
      await q.run('INSERT INTO api_tokens (id, team_id, name, prefix, secret_sha256, scope, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        row.id, row.team_id, row.name, row.prefix, sha256(secret), row.scope, row.created_at,
      ]);
      await this.audit(q, ctx.teamId, ctx.actor, 'token.create', row.id, { name: row.name, scope: row.scope, prefix: row.prefix });
    });
    return { token: tokenInfo(row), secret };
  }

  async listTokens(ctx: TeamContext): Promise<TokenInfo[]> {
    checkCtx(ctx);
    const r = await this.#db.all<TokenRow>('SELECT id, team_id, name, prefix, scope, created_at, last_used_at, revoked_at FROM api_tokens WHERE team_id = ? ORDER BY created_at, id', [ctx.teamId]);
    return r.map(tokenInfo);
  }

  async revokeToken(ctx: TeamContext, tokenId: string): Promise<boolean> {
    checkCtx(ctx);
    return this.#db.tx(async (q) => {
      const n = await q.run('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND team_id = ? AND revoked_at IS NULL', [this.now(), tokenId, ctx.teamId]);
      if (n > 0) await this.audit(q, ctx.teamId, ctx.actor, 'token.revoke', tokenId);
      return n > 0;
    });
  }

  async authenticate(secret: string): Promise<TokenInfo | undefined> {
    if (typeof secret !== 'string' || !secret.startsWith('ddk_') || secret.length > 200) return undefined;
    const r = await this.#db.all<TokenRow>('SELECT id, team_id, name, prefix, scope, created_at, last_used_at, revoked_at FROM api_tokens WHERE secret_sha256 = ?', [sha256(secret)]);
    const row = r[0];
    if (!row || row.revoked_at !== null) return undefined;
    const now = this.now();
    if (row.last_used_at === null || now - row.last_used_at >= TOKEN_TOUCH_MS) {
      await this.#db.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [now, row.id]);
      row.last_used_at = now;
    }
    return tokenInfo(row);
  }

  // ---------------------------------------------------------------- images

  async #readImages(q: Sql, rows: ImageRow[]): Promise<ImageRecord[]> {
    if (rows.length === 0) return [];
    const tags = await q.all<{ image_id: number; tag: string; current: number }>(
      `SELECT image_id, tag, current FROM image_tags WHERE image_id IN (${placeholders(rows.length)}) ORDER BY tag`, rows.map((r) => r.id));
    const byImage = new Map<number, { current: string[]; past: string[] }>();
    for (const t of tags) {
      let e = byImage.get(t.image_id);
      if (!e) byImage.set(t.image_id, (e = { current: [], past: [] }));
      (t.current ? e.current : e.past).push(t.tag);
    }
    return rows.map((r) => ({
      repository: r.repository, digest: r.digest,
      tags: byImage.get(r.id)?.current ?? [], previousTags: byImage.get(r.id)?.past ?? [],
      labels: JSON.parse(r.labels) as Record<string, string>, owners: JSON.parse(r.owners) as string[],
      firstSeen: iso(r.first_seen), lastSeen: iso(r.last_seen),
    }));
  }

  async recordImage(ctx: TeamContext, image: ImageInput): Promise<ImageRecord> {
    checkCtx(ctx);
    if (!image.repository || !image.digest) throw invalid('an image needs a repository and a digest');
    const now = this.now();
    const tags = [...new Set(image.tags ?? [])].sort();
    return this.#db.tx(async (q) => {
      const labels = image.labels ? JSON.stringify(sortedRecord(image.labels)) : '{}';
      const owners = JSON.stringify(image.labels ? ownersFromLabels(image.labels) : []);
      const update = image.labels ? 'last_seen = excluded.last_seen, labels = excluded.labels, owners = excluded.owners' : 'last_seen = excluded.last_seen';
      const rows = await q.all<ImageRow>(
        `INSERT INTO images (team_id, repository, digest, labels, owners, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (team_id, repository, digest) DO UPDATE SET ${update}
         RETURNING id, repository, digest, labels, owners, first_seen, last_seen`,
        [ctx.teamId, image.repository, image.digest, labels, owners, now, now]);
      const row = rows[0]!;
      for (const tag of tags) {
        await q.run(
          `UPDATE image_tags SET current = 0 WHERE tag = ? AND current = 1 AND image_id IN
             (SELECT id FROM images WHERE team_id = ? AND repository = ? AND id <> ?)`,
          [tag, ctx.teamId, image.repository, row.id]);
        await q.run(
          `INSERT INTO image_tags (image_id, tag, current, first_seen, last_seen) VALUES (?, ?, 1, ?, ?)
           ON CONFLICT (image_id, tag) DO UPDATE SET current = 1, last_seen = excluded.last_seen`,
          [row.id, tag, now, now]);
      }
      await this.audit(q, ctx.teamId, ctx.actor, 'image.record', `${image.repository}@${image.digest}`, tags.length ? { tags } : undefined);
      return (await this.#readImages(q, [row]))[0]!;
    });
  }

  async getImage(ctx: TeamContext, repository: string, digest: string): Promise<ImageRecord | undefined> {
    checkCtx(ctx);
    const rows = await this.#db.all<ImageRow>('SELECT id, repository, digest, labels, owners, first_seen, last_seen FROM images WHERE team_id = ? AND repository = ? AND digest = ?', [ctx.teamId, repository, digest]);
    return (await this.#readImages(this.#db, rows))[0];
  }

  async imagesByDigest(ctx: TeamContext, digest: string): Promise<ImageRecord[]> {
    checkCtx(ctx);
    const rows = await this.#db.all<ImageRow>('SELECT id, repository, digest, labels, owners, first_seen, last_seen FROM images WHERE team_id = ? AND digest = ? ORDER BY repository', [ctx.teamId, digest]);
    return this.#readImages(this.#db, rows);
  }

  async listImages(ctx: TeamContext, filter: ImageFilter = {}): Promise<Page<ImageRecord>> {
    checkCtx(ctx);
    const limit = pageSize(filter);
    const after = decodeCursor(filter.after, ['s', 's']);
    const where = ['team_id = ?'];
    const params: Param[] = [ctx.teamId];
    if (filter.repository !== undefined) { where.push('repository = ?'); params.push(filter.repository); }
    if (after) { where.push('(repository, digest) > (?, ?)'); params.push(after[0], after[1]); }
    params.push(limit + 1);
    const rows = await this.#db.all<ImageRow>(
      `SELECT id, repository, digest, labels, owners, first_seen, last_seen FROM images WHERE ${where.join(' AND ')} ORDER BY repository, digest LIMIT ?`, params);
    const page = toPage(rows, limit, (r) => r, (r) => [r.repository, r.digest]);
    const items = await this.#readImages(this.#db, page.items);
    return page.next ? { items, next: page.next } : { items };
  }

  async applyRetention(ctx: TeamContext, olderThanDays: number): Promise<{ repository: string; digest: string }[]> {
    checkCtx(ctx);
    if (!(olderThanDays >= 0)) throw invalid(`retention of ${olderThanDays} days is not a non-negative number`);
    const cutoff = this.now() - olderThanDays * 86_400_000;
    return this.#db.tx(async (q) => {
      const victims = await q.all<{ id: number; repository: string; digest: string }>(
        `SELECT id, repository, digest FROM images i WHERE team_id = ? AND last_seen < ?
           AND NOT EXISTS (SELECT 1 FROM image_tags t WHERE t.image_id = i.id AND t.current = 1)
         ORDER BY repository, digest`, [ctx.teamId, cutoff]);
      for (const v of victims) await q.run('DELETE FROM images WHERE id = ?', [v.id]);
      for (const digest of new Set(victims.map((v) => v.digest))) {
        const still = await q.all('SELECT 1 AS x FROM images WHERE team_id = ? AND digest = ? LIMIT 1', [ctx.teamId, digest]);
        if (still.length > 0) continue;
        await q.run('DELETE FROM inventories WHERE team_id = ? AND digest = ?', [ctx.teamId, digest]);
        await q.run('DELETE FROM findings WHERE team_id = ? AND digest = ?', [ctx.teamId, digest]);
        await q.run('DELETE FROM evaluations WHERE team_id = ? AND digest = ?', [ctx.teamId, digest]);
      }
      const deleted = victims.map((v) => ({ repository: v.repository, digest: v.digest }));
      if (deleted.length) await this.audit(q, ctx.teamId, ctx.actor, 'image.retention', `${olderThanDays}d`, { deleted: deleted.length });
      return deleted;
    });
  }

  // ---------------------------------------------------------------- inventories

  async putInventory(ctx: TeamContext, digest: string, inventory: Inventory, options: PutInventoryOptions = {}): Promise<{ packages: number }> {
    checkCtx(ctx);
    if (!digest) throw invalid('an inventory needs an image digest');
    const keysOf = options.lookupKeys ?? defaultLookupKeys;
    const pkgRows: Param[][] = [];
    const keyRows: Param[][] = [];
    const seenPkg = new Set<string>();
    const seenKey = new Set<string>();
    for (const p of inventory.packages) {
      if (seenPkg.has(p.id)) continue;
      seenPkg.add(p.id);
      pkgRows.push([ctx.teamId, digest, p.id, p.type, p.namespace ?? '', p.name, p.version, p.purl ?? null]);
      for (const k of keysOf(p, inventory)) {
        const sk = `${k.ecosystem}\u0000${k.name}\u0000${p.id}`;
        if (seenKey.has(sk)) continue;
        seenKey.add(sk);
        keyRows.push([k.ecosystem, k.name, ctx.teamId, digest, p.id]);
      }
    }
    const json = JSON.stringify(inventory);
    await this.#db.tx(async (q) => {
      await q.run('DELETE FROM inventories WHERE team_id = ? AND digest = ?', [ctx.teamId, digest]);
      await q.run('INSERT INTO inventories (team_id, digest, inventory, package_count, stored_at) VALUES (?, ?, ?, ?, ?)', [ctx.teamId, digest, json, pkgRows.length, this.now()]);
      await insertMany(q, 'inventory_packages', ['team_id', 'digest', 'package_id', 'type', 'namespace', 'name', 'version', 'purl'], pkgRows);
      await insertMany(q, 'package_lookup', ['ecosystem', 'name', 'team_id', 'digest', 'package_id'], keyRows);
      await this.audit(q, ctx.teamId, ctx.actor, 'inventory.put', digest, { packages: pkgRows.length });
    });
    return { packages: pkgRows.length };
  }

  async getInventory(ctx: TeamContext, digest: string): Promise<Inventory | undefined> {
    checkCtx(ctx);
    const r = await this.#db.all<{ inventory: string }>('SELECT inventory FROM inventories WHERE team_id = ? AND digest = ?', [ctx.teamId, digest]);
    return r[0] ? (JSON.parse(r[0].inventory) as Inventory) : undefined;
  }

  async searchPackages(ctx: TeamContext, query: PackageQuery): Promise<Page<PackageHit>> {
    checkCtx(ctx);
    if (query.name === undefined && query.purl === undefined) throw invalid('a package search needs a name or a purl');
    const limit = pageSize(query);
    const after = decodeCursor(query.after, ['s', 's', 's']);
    const where = ['team_id = ?'];
    const params: Param[] = [ctx.teamId];
    for (const [col, v] of [['name', query.name], ['version', query.version], ['type', query.type], ['namespace', query.namespace], ['purl', query.purl]] as const) {
      if (v !== undefined) { where.push(`${col} = ?`); params.push(v); }
    }
    if (after) { where.push('(version, digest, package_id) > (?, ?, ?)'); params.push(after[0], after[1], after[2]); }
    params.push(limit + 1);
    // the order follows the (team_id, name|purl, version, digest, package_id) indexes: no sort, no scan of the team
    const rows = await this.#db.all<{ digest: string; package_id: string; type: string; namespace: string; name: string; version: string; purl: string | null }>(
      `SELECT digest, package_id, type, namespace, name, version, purl FROM inventory_packages WHERE ${where.join(' AND ')} ORDER BY version, digest, package_id LIMIT ?`, params);
    const page = toPage(rows, limit, (r) => r, (r) => [r.version, r.digest, r.package_id]);
    const digests = [...new Set(page.items.map((r) => r.digest))];
    const repos = new Map<string, string[]>();
    if (digests.length) {
      const imgs = await this.#db.all<{ digest: string; repository: string }>(
        `SELECT digest, repository FROM images WHERE team_id = ? AND digest IN (${placeholders(digests.length)}) ORDER BY repository`, [ctx.teamId, ...digests]);
      for (const i of imgs) (repos.get(i.digest) ?? repos.set(i.digest, []).get(i.digest)!).push(i.repository);
    }
    const items: PackageHit[] = page.items.map((r) => {
      const pkg: PackageHit['package'] = { id: r.package_id, type: r.type as PackageHit['package']['type'], name: r.name, version: r.version };
      if (r.namespace) pkg.namespace = r.namespace;
      if (r.purl !== null) pkg.purl = r.purl;
      return { digest: r.digest, repositories: repos.get(r.digest) ?? [], package: pkg };
    });
    return page.next ? { items, next: page.next } : { items };
  }

  async findPackages(keys: readonly LookupKey[]): Promise<PackageRef[]> {
    const out: PackageRef[] = [];
    const unique = [...new Map(keys.map((k) => [`${k.ecosystem}\u0000${k.name}`, k])).values()];
    for (let i = 0; i < unique.length; i += 200) {
      const chunk = unique.slice(i, i + 200);
      const rows = await this.#db.all<{ ecosystem: string; name: string; team_id: string; digest: string; package_id: string; version: string }>(
        `SELECT l.ecosystem, l.name, l.team_id, l.digest, l.package_id, p.version FROM package_lookup l
           JOIN inventory_packages p ON p.team_id = l.team_id AND p.digest = l.digest AND p.package_id = l.package_id
         WHERE ${chunk.map(() => '(l.ecosystem = ? AND l.name = ?)').join(' OR ')}`,
        chunk.flatMap((k) => [k.ecosystem, k.name]));
      for (const r of rows) out.push({ teamId: r.team_id, digest: r.digest, packageId: r.package_id, ecosystem: r.ecosystem, name: r.name, version: r.version });
    }
    return out.sort((a, b) => byString(a.ecosystem, b.ecosystem) || byString(a.name, b.name) || byString(a.teamId, b.teamId) || byString(a.digest, b.digest) || byString(a.packageId, b.packageId));
  }

  async listInventories(page: PageOptions = {}): Promise<Page<InventoryRef>> {
    const limit = pageSize(page);
    const after = decodeCursor(page.after, ['s', 's']);
    const rows = await this.#db.all<{ team_id: string; digest: string }>(
      `SELECT team_id, digest FROM inventories ${after ? 'WHERE (team_id, digest) > (?, ?) ' : ''}ORDER BY team_id, digest LIMIT ?`,
      after ? [after[0], after[1], limit + 1] : [limit + 1]);
    return toPage(rows, limit, (r) => ({ teamId: r.team_id, digest: r.digest }), (r) => [r.team_id, r.digest]);
  }

  // ---------------------------------------------------------------- findings

  async applyEvaluation(ctx: TeamContext, digest: string, findings: readonly Finding[], dbIdentity: string): Promise<EvaluationDiff> {
    checkCtx(ctx);
    if (!digest || !dbIdentity) throw invalid('an evaluation needs an image digest and a database identity');
    const incoming = new Map<string, Finding>();
    for (const f of findings) {
      const k = `${f.id}\u0000${f.package.id}`;
      if (!incoming.has(k)) incoming.set(k, f);
    }
    const now = this.now();
    return this.#db.tx(async (q) => {
      const existing = new Map<string, FindingRow>();
      for (const r of await q.all<FindingRow>(
        'SELECT vuln_id, package_id, state, revision, material, first_seen, last_changed, evaluation_id, db_identity, finding FROM findings WHERE team_id = ? AND digest = ?',
        [ctx.teamId, digest])) {
        existing.set(`${r.vuln_id}\u0000${r.package_id}`, r);
      }
      const evalRows = await q.all<{ id: number }>(
        'INSERT INTO evaluations (team_id, digest, db_identity, at, new_count, changed_count, resolved_count, unchanged_count) VALUES (?, ?, ?, ?, 0, 0, 0, 0) RETURNING id',
        [ctx.teamId, digest, dbIdentity, now]);
      const evaluationId = evalRows[0]!.id;
      const diff: EvaluationDiff = { evaluationId, digest, dbIdentity, at: iso(now), new: [], changed: [], resolved: [], unchanged: 0, eventIds: [] };
      const upserts: Param[][] = [];
      const events: Param[][] = [];
      const event = (transition: string, vulnId: string, packageId: string, revision: number, finding: Finding, extra: Record<string, unknown> = {}) => {
        const id = findingEventId(ctx.teamId, digest, vulnId, packageId, transition, revision);
        const payload = { event: `finding.${transition}`, teamId: ctx.teamId, digest, vulnerabilityId: vulnId, packageId, revision, evaluationId, dbIdentity, at: iso(now), ...extra, finding };
        events.push([id, ctx.teamId, `finding.${transition}`, JSON.stringify(payload), 'pending', 0, now, now]);
        diff.eventIds.push(id);
      };
      const sortedKeys = [...incoming.keys()].sort();
      for (const k of sortedKeys) {
        const f = incoming.get(k)!;
        const material = findingMaterial(f);
        const mjson = JSON.stringify(material);
        const fjson = JSON.stringify(f);
        const old = existing.get(k);
        let state: FindingState;
        let revision: number;
        let firstSeen = now;
        let lastChanged = now;
        if (!old || old.state === 'resolved') {
          state = 'new';
          revision = (old?.revision ?? 0) + 1;
          if (old) firstSeen = old.first_seen;
          diff.new.push(f);
          event('new', f.id, f.package.id, revision, f);
        } else if (old.material !== mjson) {
          state = 'changed';
          revision = old.revision + 1;
          firstSeen = old.first_seen;
          const previous = JSON.parse(old.material) as FindingMaterial;
          const changes = (Object.keys(material) as (keyof FindingMaterial)[]).filter((key) => JSON.stringify(material[key]) !== JSON.stringify(previous[key]));
          const c: ChangedFinding = { finding: f, changes, previous };
          diff.changed.push(c);
          event('changed', f.id, f.package.id, revision, f, { changes, previous });
        } else {
          diff.unchanged++;
          // the stored JSON follows the latest evaluation (EPSS, summaries) without a transition
          if (old.state === 'unchanged' && old.finding === fjson) continue;
          state = 'unchanged';
          revision = old.revision;
          firstSeen = old.first_seen;
          lastChanged = old.last_changed;
        }
        upserts.push([ctx.teamId, digest, f.id, f.package.id, state, revision, mjson, firstSeen, lastChanged, evaluationId, dbIdentity, fjson]);
      }
      await insertMany(q, 'findings',
        ['team_id', 'digest', 'vuln_id', 'package_id', 'state', 'revision', 'material', 'first_seen', 'last_changed', 'evaluation_id', 'db_identity', 'finding'],
        upserts,
        `ON CONFLICT (team_id, digest, vuln_id, package_id) DO UPDATE SET state = excluded.state, revision = excluded.revision,
           material = excluded.material, first_seen = excluded.first_seen, last_changed = excluded.last_changed,
           evaluation_id = excluded.evaluation_id, db_identity = excluded.db_identity, finding = excluded.finding`);
      const gone = [...existing.entries()].filter(([k, r]) => r.state !== 'resolved' && !incoming.has(k)).sort(([a], [b]) => (a < b ? -1 : 1));
      for (const [, r] of gone) {
        const revision = r.revision + 1;
        await q.run(
          "UPDATE findings SET state = 'resolved', revision = ?, last_changed = ?, evaluation_id = ?, db_identity = ? WHERE team_id = ? AND digest = ? AND vuln_id = ? AND package_id = ?",
          [revision, now, evaluationId, dbIdentity, ctx.teamId, digest, r.vuln_id, r.package_id]);
        const f = JSON.parse(r.finding) as Finding;
        diff.resolved.push(f);
        event('resolved', r.vuln_id, r.package_id, revision, f);
      }
      await insertMany(q, 'outbox', ['id', 'team_id', 'kind', 'payload', 'status', 'attempts', 'next_attempt_at', 'created_at'], events, 'ON CONFLICT (id) DO NOTHING');
      await q.run('UPDATE evaluations SET new_count = ?, changed_count = ?, resolved_count = ?, unchanged_count = ? WHERE id = ?',
        [diff.new.length, diff.changed.length, diff.resolved.length, diff.unchanged, evaluationId]);
      await this.audit(q, ctx.teamId, ctx.actor, 'findings.evaluate', digest, {
        evaluationId, dbIdentity, new: diff.new.length, changed: diff.changed.length, resolved: diff.resolved.length, unchanged: diff.unchanged,
      });
      return diff;
    });
  }

  async listFindings(ctx: TeamContext, digest: string, filter: FindingFilter = {}): Promise<Page<StoredFinding>> {
    checkCtx(ctx);
    const q = findingsPageQuery(ctx, digest, filter, '');
    if (!q) return { items: [] };
    const rows = await this.#db.all<FindingRow>(
      `SELECT vuln_id, package_id, state, revision, material, first_seen, last_changed, evaluation_id, db_identity, finding FROM findings
       WHERE ${q.where}`, q.params);
    return toPage(rows, q.limit, storedFinding, (r) => [r.vuln_id, r.package_id]);
  }

  /**
   * listFindings for the API: the same page, each finding as its JSON text with the image's triage record
   * joined in (one query; the finding JSON is never parsed nor re-serialised).
   */
  async listFindingsJson(ctx: TeamContext, digest: string, filter: FindingFilter = {}): Promise<Page<FindingJson>> {
    checkCtx(ctx);
    const q = findingsPageQuery(ctx, digest, filter, 'f.');
    if (!q) return { items: [] };
    const rows = await this.#db.all<FindingJsonRow>(
      `SELECT f.vuln_id, f.package_id, f.state, f.revision, f.first_seen, f.last_changed, f.evaluation_id, f.db_identity, f.finding,
         t.state AS t_state, t.justification AS t_justification, t.reason AS t_reason, t.until AS t_until, t.updated_by AS t_updated_by, t.updated_at AS t_updated_at
       FROM findings f LEFT JOIN triage t ON t.team_id = f.team_id AND t.vuln_id = f.vuln_id AND t.target = ?
       WHERE ${q.where}`, [encodeTarget({ digest }), ...q.params]);
    return toPage(rows, q.limit, (r) => findingJson(r, digest), (r) => [r.vuln_id, r.package_id]);
  }

  async listEvaluations(ctx: TeamContext, digest: string): Promise<EvaluationRecord[]> {
    checkCtx(ctx);
    const rows = await this.#db.all<{ id: number; digest: string; db_identity: string; at: number; new_count: number; changed_count: number; resolved_count: number; unchanged_count: number }>(
      'SELECT id, digest, db_identity, at, new_count, changed_count, resolved_count, unchanged_count FROM evaluations WHERE team_id = ? AND digest = ? ORDER BY id', [ctx.teamId, digest]);
    return rows.map((r) => ({
      id: r.id, digest: r.digest, dbIdentity: r.db_identity, at: iso(r.at),
      counts: { new: r.new_count, changed: r.changed_count, resolved: r.resolved_count, unchanged: r.unchanged_count },
    }));
  }

  async lastEvaluationIdentity(): Promise<string | undefined> {
    const rows = await this.#db.all<{ db_identity: string }>('SELECT db_identity FROM evaluations ORDER BY id DESC LIMIT 1');
    return rows[0]?.db_identity;
  }

  // ---------------------------------------------------------------- triage

  async setTriage(ctx: TeamContext, input: TriageInput): Promise<TriageRecord> {
    checkCtx(ctx);
    if (!input.vulnerabilityId) throw invalid('a triage decision needs a vulnerability id');
    if (!TRIAGE_STATES.includes(input.state)) throw invalid(`triage state ${JSON.stringify(input.state)} is not one of ${TRIAGE_STATES.join(', ')}`);
    if (input.state === 'not_affected' && !VEX_JUSTIFICATIONS.includes(input.justification as VexJustification)) {
      throw invalid(`triage state not_affected needs a justification (${VEX_JUSTIFICATIONS.join(', ')})`);
    }
    if (input.state !== 'not_affected' && input.justification !== undefined) throw invalid('only not_affected takes a justification');
    if (input.state === 'accepted' && !(input.until instanceof Date && !Number.isNaN(input.until.getTime()))) throw invalid('triage state accepted needs an until date');
    if (input.state !== 'accepted' && input.until !== undefined) throw invalid('only accepted takes an until date');
    const target = encodeTarget(input.target);
    const now = this.now();
    const until = input.until?.getTime() ?? null;
    const row: TriageRow = {
      vuln_id: input.vulnerabilityId, target, state: input.state, justification: input.justification ?? null,
      reason: input.reason ?? null, until, updated_by: ctx.actor, updated_at: now,
    };
    await this.#db.tx(async (q) => {
      const prev = await q.all<{ state: TriageState }>('SELECT state FROM triage WHERE team_id = ? AND vuln_id = ? AND target = ?' + this.#forUpdate.replace(' SKIP LOCKED', ''), [ctx.teamId, row.vuln_id, target]);
      await q.run(
        `INSERT INTO triage (team_id, vuln_id, target, state, justification, reason, until, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (team_id, vuln_id, target) DO UPDATE SET state = excluded.state, justification = excluded.justification,
           reason = excluded.reason, until = excluded.until, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
        [ctx.teamId, row.vuln_id, target, row.state, row.justification, row.reason, row.until, row.updated_by, row.updated_at]);
      await q.run(
        'INSERT INTO triage_history (team_id, vuln_id, target, from_state, to_state, justification, reason, until, actor, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [ctx.teamId, row.vuln_id, target, prev[0]?.state ?? null, row.state, row.justification, row.reason, row.until, ctx.actor, now]);
      await this.audit(q, ctx.teamId, ctx.actor, 'triage.set', `${row.vuln_id} ${target}`, { from: prev[0]?.state ?? null, to: row.state });
    });
    return triageRecord(row);
  }

  async getTriage(ctx: TeamContext, vulnerabilityId: string, target: TriageTarget): Promise<TriageRecord | undefined> {
    checkCtx(ctx);
    const r = await this.#db.all<TriageRow>(
      'SELECT vuln_id, target, state, justification, reason, until, updated_by, updated_at FROM triage WHERE team_id = ? AND vuln_id = ? AND target = ?',
      [ctx.teamId, vulnerabilityId, encodeTarget(target)]);
    return r[0] && triageRecord(r[0]);
  }

  async listTriage(ctx: TeamContext, filter: TriageFilter = {}): Promise<Page<TriageRecord>> {
    checkCtx(ctx);
    const limit = pageSize(filter);
    const after = decodeCursor(filter.after, ['s', 's']);
    const where = ['team_id = ?'];
    const params: Param[] = [ctx.teamId];
    if (filter.vulnerabilityId !== undefined) { where.push('vuln_id = ?'); params.push(filter.vulnerabilityId); }
    if (filter.target !== undefined) { where.push('target = ?'); params.push(encodeTarget(filter.target)); }
    if (after) { where.push('(vuln_id, target) > (?, ?)'); params.push(after[0], after[1]); }
    params.push(limit + 1);
    const rows = await this.#db.all<TriageRow>(
      `SELECT vuln_id, target, state, justification, reason, until, updated_by, updated_at FROM triage WHERE ${where.join(' AND ')} ORDER BY vuln_id, target LIMIT ?`, params);
    return toPage(rows, limit, triageRecord, (r) => [r.vuln_id, r.target]);
  }

  async triageHistory(ctx: TeamContext, vulnerabilityId: string, target: TriageTarget): Promise<TriageChange[]> {
    checkCtx(ctx);
    const rows = await this.#db.all<{ id: number; vuln_id: string; target: string; from_state: TriageState | null; to_state: TriageState; justification: string | null; reason: string | null; until: number | null; actor: string; at: number }>(
      'SELECT id, vuln_id, target, from_state, to_state, justification, reason, until, actor, at FROM triage_history WHERE team_id = ? AND vuln_id = ? AND target = ? ORDER BY id',
      [ctx.teamId, vulnerabilityId, encodeTarget(target)]);
    return rows.map((r) => {
      const c: TriageChange = { id: r.id, vulnerabilityId: r.vuln_id, target: decodeTarget(r.target), to: r.to_state, actor: r.actor, at: iso(r.at) };
      if (r.from_state !== null) c.from = r.from_state;
      if (r.justification !== null) c.justification = r.justification as VexJustification;
      if (r.until !== null) c.until = iso(r.until);
      if (r.reason !== null) c.reason = r.reason;
      return c;
    });
  }

  // ---------------------------------------------------------------- audit

  async listAudit(ctx: TeamContext, page: PageOptions = {}): Promise<Page<AuditEntry>> {
    checkCtx(ctx);
    const limit = pageSize(page);
    const after = decodeCursor(page.after, ['n']);
    const rows = await this.#db.all<{ id: number; team_id: string | null; actor: string; action: string; object: string; at: number; details: string | null }>(
      `SELECT id, team_id, actor, action, object, at, details FROM audit_log WHERE team_id = ?${after ? ' AND id < ?' : ''} ORDER BY id DESC LIMIT ?`,
      after ? [ctx.teamId, after[0], limit + 1] : [ctx.teamId, limit + 1]);
    return toPage(rows, limit, (r) => {
      const e: AuditEntry = { id: r.id, actor: r.actor, action: r.action, object: r.object, at: iso(r.at) };
      if (r.team_id !== null) e.teamId = r.team_id;
      if (r.details !== null) e.details = JSON.parse(r.details) as Record<string, unknown>;
      return e;
    }, (r) => [r.id]);
  }

  // ---------------------------------------------------------------- outbox

  async enqueueEvents(ctx: TeamContext, events: readonly NewOutboxEvent[]): Promise<number> {
    checkCtx(ctx);
    const now = this.now();
    return this.#db.tx(async (q) => {
      let n = 0;
      for (const e of events) {
        n += await q.run(
          "INSERT INTO outbox (id, team_id, kind, payload, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?) ON CONFLICT (id) DO NOTHING",
          [e.id, ctx.teamId, e.kind, JSON.stringify(e.payload), now, now]);
      }
      return n;
    });
  }

  async claimOutbox(n: number, leaseMs: number): Promise<OutboxEvent[]> {
    if (!(n >= 1) || !(leaseMs > 0)) throw invalid('an outbox claim needs n >= 1 and a positive lease');
    const now = this.now();
    return this.#db.tx(async (q) => {
      const due = await q.all<{ id: string; attempts: number }>(
        `SELECT id, attempts FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
         ORDER BY created_at, id LIMIT ?${this.#forUpdate}`, [now, now, n]);
      // a claim that ran out of lease counts as an attempt: a poison event still ends as a dead letter
      const dead = due.filter((d) => d.attempts >= this.#outboxMax).map((d) => d.id);
      const live = due.filter((d) => d.attempts < this.#outboxMax).map((d) => d.id);
      if (dead.length) {
        await q.run(`UPDATE outbox SET status = 'dead', lease_until = NULL, last_error = COALESCE(last_error, 'lease expired') WHERE id IN (${placeholders(dead.length)})`, dead);
      }
      if (live.length === 0) return [];
      const rows = await q.all<OutboxRow & { created_at: number }>(
        `UPDATE outbox SET attempts = attempts + 1, lease_until = ? WHERE id IN (${placeholders(live.length)})
         RETURNING id, team_id, kind, payload, attempts, created_at, last_error`, [now + leaseMs, ...live]);
      rows.sort((a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1));
      return rows.map(outboxEvent);
    });
  }

  async markDelivered(id: string): Promise<void> {
    await this.#db.run("UPDATE outbox SET status = 'delivered', lease_until = NULL WHERE id = ? AND status = 'pending'", [id]);
  }

  async markFailed(id: string, error: string, nextAttemptAt: Date): Promise<'retry' | 'dead'> {
    return this.#db.tx(async (q) => {
      const r = await q.all<{ attempts: number; status: string }>(`SELECT attempts, status FROM outbox WHERE id = ?${this.#forUpdate.replace(' SKIP LOCKED', '')}`, [id]);
      if (!r[0]) throw invalid(`outbox event ${id} does not exist`);
      if (r[0].status === 'dead') return 'dead';
      if (r[0].attempts >= this.#outboxMax) {
        await q.run("UPDATE outbox SET status = 'dead', lease_until = NULL, last_error = ? WHERE id = ?", [error.slice(0, 4000), id]);
        return 'dead';
      }
      await q.run("UPDATE outbox SET next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ? AND status = 'pending'", [nextAttemptAt.getTime(), error.slice(0, 4000), id]);
      return 'retry';
    });
  }

  async listDeadLetters(ctx: TeamContext, page: PageOptions = {}): Promise<Page<OutboxEvent>> {
    checkCtx(ctx);
    const limit = pageSize(page);
    const after = decodeCursor(page.after, ['n', 's']);
    const rows = await this.#db.all<OutboxRow>(
      `SELECT id, team_id, kind, payload, attempts, created_at, last_error FROM outbox WHERE team_id = ? AND status = 'dead'${after ? ' AND (created_at, id) > (?, ?)' : ''}
       ORDER BY created_at, id LIMIT ?`,
      after ? [ctx.teamId, after[0], after[1], limit + 1] : [ctx.teamId, limit + 1]);
    return toPage(rows, limit, outboxEvent, (r) => [r.created_at, r.id]);
  }

  async requeueDeadLetter(ctx: TeamContext, id: string): Promise<boolean> {
    checkCtx(ctx);
    return this.#db.tx(async (q) => {
      const n = await q.run("UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL WHERE id = ? AND team_id = ? AND status = 'dead'", [this.now(), id, ctx.teamId]);
      if (n > 0) await this.audit(q, ctx.teamId, ctx.actor, 'outbox.requeue', id);
      return n > 0;
    });
  }

  // ---------------------------------------------------------------- jobs

  async enqueueJob(input: JobInput): Promise<{ id: string; created: boolean }> {
    if (!input.queue) throw invalid('a job needs a queue name');
    const maxAttempts = input.maxAttempts ?? 5;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw invalid(`maxAttempts ${maxAttempts} is not a positive integer`);
    for (let tries = 0; tries < 3; tries++) {
      const id = randomUUID();
      const now = this.now();
      const n = await this.#db.run(
        `INSERT INTO jobs (id, queue, team_id, dedupe_key, payload, state, attempts, max_attempts, run_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [id, input.queue, input.teamId ?? null, input.dedupeKey ?? null, JSON.stringify(input.payload), maxAttempts, input.runAt?.getTime() ?? now, now, now]);
      if (n > 0) return { id, created: true };
      const r = await this.#db.all<{ id: string }>("SELECT id FROM jobs WHERE queue = ? AND dedupe_key = ? AND state IN ('queued', 'active')", [input.queue, input.dedupeKey ?? null]);
      if (r[0]) return { id: r[0].id, created: false };
    }
    throw new DrydockError('INTERNAL', `job of queue ${input.queue} could not be enqueued`);
  }

  async claimJobs(queue: string, n: number, leaseMs: number): Promise<Job[]> {
    if (!(n >= 1) || !(leaseMs > 0)) throw invalid('a job claim needs n >= 1 and a positive lease');
    const now = this.now();
    return this.#db.tx(async (q) => {
      const due = await q.all<{ id: string; attempts: number; max_attempts: number }>(
        `SELECT id, attempts, max_attempts FROM jobs WHERE queue = ?
           AND ((state = 'queued' AND run_at <= ?) OR (state = 'active' AND lease_until <= ?))
         ORDER BY run_at, id LIMIT ?${this.#forUpdate}`, [queue, now, now, n]);
      const dead = due.filter((d) => d.attempts >= d.max_attempts).map((d) => d.id);
      const live = due.filter((d) => d.attempts < d.max_attempts).map((d) => d.id);
      if (dead.length) {
        await q.run(`UPDATE jobs SET state = 'failed', lease = NULL, lease_until = NULL, last_error = COALESCE(last_error, 'lease expired'), updated_at = ? WHERE id IN (${placeholders(dead.length)})`, [now, ...dead]);
      }
      if (live.length === 0) return [];
      const lease = randomUUID();
      const rows = await q.all<JobRow>(
        `UPDATE jobs SET state = 'active', attempts = attempts + 1, lease = ?, lease_until = ?, updated_at = ? WHERE id IN (${placeholders(live.length)})
         RETURNING id, queue, team_id, dedupe_key, payload, state, attempts, max_attempts, run_at, lease, lease_until, last_error`,
        [lease, now + leaseMs, now, ...live]);
      rows.sort((a, b) => a.run_at - b.run_at || (a.id < b.id ? -1 : 1));
      return rows.map(job);
    });
  }

  async extendJobLease(id: string, lease: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    return (await this.#db.run("UPDATE jobs SET lease_until = ?, updated_at = ? WHERE id = ? AND lease = ? AND state = 'active'", [now + leaseMs, now, id, lease])) > 0;
  }

  async completeJob(id: string, lease: string): Promise<boolean> {
    return (await this.#db.run("UPDATE jobs SET state = 'done', lease = NULL, lease_until = NULL, updated_at = ? WHERE id = ? AND lease = ? AND state = 'active'", [this.now(), id, lease])) > 0;
  }

  async failJob(id: string, lease: string, error: string, retryAt?: Date): Promise<'retry' | 'failed' | 'lost'> {
    const now = this.now();
    return this.#db.tx(async (q) => {
      const r = await q.all<{ attempts: number; max_attempts: number }>(
        `SELECT attempts, max_attempts FROM jobs WHERE id = ? AND lease = ? AND state = 'active'${this.#forUpdate.replace(' SKIP LOCKED', '')}`, [id, lease]);
      if (!r[0]) return 'lost';
      const err = error.slice(0, 4000);
      if (r[0].attempts >= r[0].max_attempts) {
        await q.run("UPDATE jobs SET state = 'failed', lease = NULL, lease_until = NULL, last_error = ?, updated_at = ? WHERE id = ?", [err, now, id]);
        return 'failed';
      }
      const delay = Math.min(this.#backoff * 2 ** (r[0].attempts - 1), 3_600_000);
      await q.run("UPDATE jobs SET state = 'queued', lease = NULL, lease_until = NULL, last_error = ?, run_at = ?, updated_at = ? WHERE id = ?",
        [err, retryAt?.getTime() ?? now + delay, now, id]);
      return 'retry';
    });
  }

  async getJob(id: string): Promise<Job | undefined> {
    const r = await this.#db.all<JobRow>('SELECT id, queue, team_id, dedupe_key, payload, state, attempts, max_attempts, run_at, lease, lease_until, last_error FROM jobs WHERE id = ?', [id]);
    return r[0] && job(r[0]);
  }

  // ---------------------------------------------------------------- workloads

  async putWorkloads(ctx: TeamContext, source: string, workloads: readonly WorkloadInput[]): Promise<PutWorkloadsResult> {
    checkCtx(ctx);
    if (typeof source !== 'string' || source.trim() === '' || source.length > 253) throw invalid(`workload source ${JSON.stringify(source)} is empty or longer than 253 characters`);
    if (!Array.isArray(workloads) || workloads.length > MAX_WORKLOADS) throw invalid(`a workload report holds at most ${MAX_WORKLOADS} workloads`);
    const rows = new Map<string, WorkloadRow>();
    for (const w of workloads) {
      const row = workloadRow(w);
      const k = workloadKey(row);
      if (rows.has(k)) throw invalid(`workload ${row.namespace ? `${row.namespace}/` : ''}${row.name} container ${row.container} is reported twice by source ${source}`);
      rows.set(k, row);
    }
    const now = this.now();
    return this.#db.tx(async (q) => {
      const existing = await q.all<WorkloadRow & { first_seen: number }>(
        `SELECT ${WORKLOAD_COLUMNS} FROM workloads WHERE team_id = ? AND source = ?${this.#forUpdate.replace(' SKIP LOCKED', '')}`, [ctx.teamId, source]);
      const result: PutWorkloadsResult = { added: 0, changed: 0, removed: 0, unchanged: 0 };
      const old = new Map(existing.map((r) => [workloadKey(r), r]));
      const write: (readonly Param[])[] = [];
      for (const [k, r] of rows) {
        const o = old.get(k);
        old.delete(k);
        if (o && sameWorkload(o, r)) { result.unchanged++; continue; }
        if (o) {
          result.changed++;
          await q.run('DELETE FROM workloads WHERE team_id = ? AND source = ? AND kind = ? AND namespace = ? AND name = ? AND container = ?', [ctx.teamId, source, r.kind, r.namespace, r.name, r.container]);
        } else result.added++;
        write.push([ctx.teamId, source, r.kind, r.namespace, r.name, r.container, r.owner_kind, r.owner_name, r.labels, r.owners, r.node, r.image, r.digest, o?.first_seen ?? now, now]);
      }
      let driftResolved = 0;
      for (const o of old.values()) {
        await q.run('DELETE FROM workloads WHERE team_id = ? AND source = ? AND kind = ? AND namespace = ? AND name = ? AND container = ?', [ctx.teamId, source, o.kind, o.namespace, o.name, o.container]);
        result.removed++;
        // a host container that stopped takes its open drift findings with it (drift is reported per host container name)
        if (o.kind === 'container' && o.namespace === '') {
          driftResolved += await q.run("UPDATE drift_findings SET state = 'resolved', last_seen = ?, resolved_at = ? WHERE team_id = ? AND source = ? AND container = ? AND state = 'open'",
            [now, now, ctx.teamId, source, o.name]);
        }
      }
      if (driftResolved) result.driftResolved = driftResolved;
      await insertMany(q, 'workloads', ['team_id', 'source', 'kind', 'namespace', 'name', 'container', 'owner_kind', 'owner_name', 'labels', 'owners', 'node', 'image', 'digest', 'first_seen', 'last_seen'], write);
      // one statement marks the whole report as seen; an unchanged report writes nothing else
      await q.run('UPDATE workloads SET last_seen = ? WHERE team_id = ? AND source = ?', [now, ctx.teamId, source]);
      // a report that changes nothing is a heartbeat: not worth an audit row every interval
      if (result.added || result.changed || result.removed) {
        await this.audit(q, ctx.teamId, ctx.actor, 'workloads.put', source, { added: result.added, changed: result.changed, removed: result.removed, ...(driftResolved ? { driftResolved } : {}) });
      }
      return result;
    });
  }

  async listWorkloads(ctx: TeamContext, filter: WorkloadFilter = {}): Promise<Page<WorkloadRecord>> {
    checkCtx(ctx);
    const limit = pageSize(filter);
    const after = decodeCursor(filter.after, ['s', 's', 's', 's', 's']);
    const where = ['team_id = ?'];
    const params: Param[] = [ctx.teamId];
    if (filter.digest !== undefined) { where.push('digest = ?'); params.push(filter.digest); }
    if (filter.source !== undefined) { where.push('source = ?'); params.push(filter.source); }
    if (filter.namespace !== undefined) { where.push('namespace = ?'); params.push(filter.namespace); }
    if (after) { where.push('(source, kind, namespace, name, container) > (?, ?, ?, ?, ?)'); params.push(...after); }
    params.push(limit + 1);
    const rows = await this.#db.all<WorkloadRow & { team_id: string; source: string; first_seen: number; last_seen: number }>(
      `SELECT team_id, source, ${WORKLOAD_COLUMNS}, last_seen FROM workloads WHERE ${where.join(' AND ')} ORDER BY source, kind, namespace, name, container LIMIT ?`, params);
    return toPage(rows, limit, workloadRecord, (r) => [r.source, r.kind, r.namespace, r.name, r.container]);
  }

  async workloadsByDigests(digests: readonly string[]): Promise<WorkloadRecord[]> {
    const want = [...new Set(digests.filter((x) => typeof x === 'string' && x !== ''))];
    const out: WorkloadRecord[] = [];
    for (let i = 0; i < want.length; i += 500) {
      const chunk = want.slice(i, i + 500);
      const rows = await this.#db.all<WorkloadRow & { team_id: string; source: string; first_seen: number; last_seen: number }>(
        `SELECT team_id, source, ${WORKLOAD_COLUMNS}, last_seen FROM workloads WHERE digest IN (${placeholders(chunk.length)})
         ORDER BY team_id, source, kind, namespace, name, container`, chunk);
      out.push(...rows.map(workloadRecord));
    }
    if (want.length > 500) out.sort((a, b) => cmpKey([a.teamId, a.source, a.kind, a.namespace, a.name, a.container], [b.teamId, b.source, b.kind, b.namespace, b.name, b.container]));
    return out;
  }

  // ---------------------------------------------------------------- drift

  async putDriftFindings(ctx: TeamContext, source: string, container: DriftContainerInput, findings: readonly DriftFindingInput[], options: PutDriftOptions = {}): Promise<PutDriftResult> {
    checkCtx(ctx);
    if (typeof source !== 'string' || source.trim() === '' || source.length > 253) throw invalid(`drift source ${JSON.stringify(source)} is empty or longer than 253 characters`);
    const c = driftContainer(container);
    if (!Array.isArray(findings) || findings.length > MAX_DRIFT_FINDINGS) throw invalid(`a drift report holds at most ${MAX_DRIFT_FINDINGS} findings`);
    const notifyAt = options.notifyAt ?? 'medium';
    if (!DRIFT_SEVERITY_LEVELS.includes(notifyAt)) throw invalid(`drift notification severity ${JSON.stringify(notifyAt)} is not one of ${DRIFT_SEVERITY_LEVELS.join(', ')}`);
    const incoming = new Map<string, DriftFindingInput>();
    for (const f of findings) {
      const clean = driftFinding(f);
      const k = `${clean.kind}\u0000${clean.subject}`;
      // one finding per kind and subject: a repeat is the same finding
      if (!incoming.has(k)) incoming.set(k, clean);
    }
    const now = this.now();
    return this.#db.tx(async (q) => {
      const existing = new Map<string, DriftRow>();
      for (const r of await q.all<DriftRow>(
        `SELECT ${DRIFT_COLUMNS} FROM drift_findings WHERE team_id = ? AND source = ? AND container = ?${this.#forUpdate.replace(' SKIP LOCKED', '')}`, [ctx.teamId, source, c.name])) {
        existing.set(`${r.kind}\u0000${r.subject}`, r);
      }
      const result: PutDriftResult = { new: [], resolved: [], unchanged: 0, eventIds: [] };
      const write: Param[][] = [];
      const events: Param[][] = [];
      const rank = DRIFT_SEVERITY_LEVELS.indexOf(notifyAt);
      for (const k of [...incoming.keys()].sort()) {
        const f = incoming.get(k)!;
        const old = existing.get(k);
        const fjson = JSON.stringify(f);
        let revision: number;
        let firstSeen = now;
        if (!old || old.state === 'resolved') {
          revision = (old?.revision ?? 0) + 1;
          if (old) firstSeen = old.first_seen;
          const rec = driftRecord({ source, container: c.name, kind: f.kind, subject: f.subject, severity: f.severity, state: 'open', revision, container_id: c.id ?? '', image: c.image, digest: c.digest ?? '', finding: fjson, first_seen: firstSeen, last_seen: now, resolved_at: null });
          result.new.push(rec);
          if (DRIFT_SEVERITY_LEVELS.indexOf(f.severity) <= rank) {
            const id = driftEventId(ctx.teamId, source, c.name, f.kind, f.subject, revision);
            const payload = { event: 'drift.new', teamId: ctx.teamId, source, container: c, revision, at: iso(now), finding: f };
            events.push([id, ctx.teamId, 'drift.new', JSON.stringify(payload), 'pending', 0, now, now]);
            result.eventIds.push(id);
          }
        } else {
          result.unchanged++;
          revision = old.revision;
          firstSeen = old.first_seen;
        }
        write.push([ctx.teamId, source, c.name, f.kind, f.subject, f.severity, 'open', revision, c.id ?? '', c.image, c.digest ?? '', fjson, firstSeen, now, null]);
      }
      for (const [k, r] of [...existing.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (incoming.has(k) || r.state === 'resolved') continue;
        await q.run("UPDATE drift_findings SET state = 'resolved', last_seen = ?, resolved_at = ? WHERE team_id = ? AND source = ? AND container = ? AND kind = ? AND subject = ?",
          [now, now, ctx.teamId, source, c.name, r.kind, r.subject]);
        result.resolved.push(driftRecord({ ...r, state: 'resolved', last_seen: now, resolved_at: now }));
      }
      await insertMany(q, 'drift_findings',
        ['team_id', 'source', 'container', 'kind', 'subject', 'severity', 'state', 'revision', 'container_id', 'image', 'digest', 'finding', 'first_seen', 'last_seen', 'resolved_at'],
        write,
        `ON CONFLICT (team_id, source, container, kind, subject) DO UPDATE SET severity = excluded.severity, state = excluded.state, revision = excluded.revision,
           container_id = excluded.container_id, image = excluded.image, digest = excluded.digest, finding = excluded.finding,
           first_seen = excluded.first_seen, last_seen = excluded.last_seen, resolved_at = NULL`);
      await insertMany(q, 'outbox', ['id', 'team_id', 'kind', 'payload', 'status', 'attempts', 'next_attempt_at', 'created_at'], events, 'ON CONFLICT (id) DO NOTHING');
      // a report that changes nothing is a heartbeat: no audit row
      if (result.new.length || result.resolved.length) {
        await this.audit(q, ctx.teamId, ctx.actor, 'drift.put', `${source} ${c.name}`, { new: result.new.length, resolved: result.resolved.length, unchanged: result.unchanged });
      }
      return result;
    });
  }

  async listDriftFindings(ctx: TeamContext, filter: DriftFilter = {}): Promise<Page<DriftFindingRecord>> {
    checkCtx(ctx);
    const limit = pageSize(filter);
    const after = decodeCursor(filter.after, ['s', 's', 's', 's']);
    const states = filter.states ?? ['open'];
    if (states.length === 0) return { items: [] };
    if (states.some((x) => x !== 'open' && x !== 'resolved')) throw invalid(`drift states ${JSON.stringify(states)} are not open or resolved`);
    const where = ['team_id = ?', `state IN (${placeholders(states.length)})`];
    const params: Param[] = [ctx.teamId, ...states];
    if (filter.digest !== undefined) { where.push('digest = ?'); params.push(filter.digest); }
    if (filter.source !== undefined) { where.push('source = ?'); params.push(filter.source); }
    if (filter.container !== undefined) { where.push('container = ?'); params.push(filter.container); }
    if (after) { where.push('(source, container, kind, subject) > (?, ?, ?, ?)'); params.push(...after); }
    params.push(limit + 1);
    const rows = await this.#db.all<DriftRow>(
      `SELECT ${DRIFT_COLUMNS} FROM drift_findings WHERE ${where.join(' AND ')} ORDER BY source, container, kind, subject LIMIT ?`, params);
    return toPage(rows, limit, driftRecord, (r) => [r.source, r.container, r.kind, r.subject]);
  }
}

const MAX_DRIFT_FINDINGS = 100_000;
const DRIFT_COLUMNS = 'source, container, kind, subject, severity, state, revision, container_id, image, digest, finding, first_seen, last_seen, resolved_at';

interface DriftRow {
  source: string; container: string; kind: string; subject: string; severity: DriftSeverityLevel; state: DriftState; revision: number;
  container_id: string; image: string; digest: string; finding: string; first_seen: number; last_seen: number; resolved_at: number | null;
}

/** A drift event's id: the same for the same appearance of the same finding, on every report and redelivery. */
export function driftEventId(teamId: string, source: string, container: string, kind: string, subject: string, revision: number): string {
  return sha256(['drift', teamId, source, container, kind, subject, 'new', String(revision)].join('\u0000'));
}

const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

function driftText(v: unknown, what: string, max: number, required = true): string | undefined {
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > max) throw invalid(`drift ${what} ${JSON.stringify(v)?.slice(0, 100)} is not a string of 1 to ${max} characters`);
  return v;
}

function driftContainer(c: DriftContainerInput): DriftContainerInput {
  if (!c || typeof c !== 'object') throw invalid('a drift report needs its container');
  const out: DriftContainerInput = { name: driftText(c.name, 'container name', 253)!, image: driftText(c.image, 'container image', 1024)! };
  const id = driftText(c.id, 'container id', 253, false);
  if (id) out.id = id;
  const digest = driftText(c.digest, 'image digest', 200, false);
  if (digest !== undefined) {
    if (!DIGEST_RE.test(digest)) throw invalid(`drift image digest ${JSON.stringify(digest)} is not a digest`);
    out.digest = digest;
  }
  return out;
}

function driftFinding(f: DriftFindingInput): DriftFindingInput {
  if (!f || typeof f !== 'object') throw invalid('a drift finding must be an object');
  if (!DRIFT_SEVERITY_LEVELS.includes(f.severity)) throw invalid(`drift finding severity ${JSON.stringify(f.severity)} is not one of ${DRIFT_SEVERITY_LEVELS.join(', ')}`);
  const out: DriftFindingInput = { kind: driftText(f.kind, 'finding kind', 64)!, severity: f.severity, subject: driftText(f.subject, 'finding subject', 4096)!, message: driftText(f.message, 'finding message', 4096)! };
  const path = driftText(f.path, 'finding path', 4096, false);
  if (path) out.path = path;
  if (f.package !== undefined) {
    const p = f.package;
    if (!p || typeof p !== 'object') throw invalid('a drift finding\'s package must be an object');
    const pkg: NonNullable<DriftFindingInput['package']> = { type: driftText(p.type, 'package type', 64)!, name: driftText(p.name, 'package name', 1024)! };
    const version = driftText(p.version, 'package version', 1024, false);
    if (version) pkg.version = version;
    const imageVersion = driftText(p.imageVersion, 'package image version', 1024, false);
    if (imageVersion) pkg.imageVersion = imageVersion;
    out.package = pkg;
  }
  return out;
}

function driftRecord(r: DriftRow): DriftFindingRecord {
  const f = JSON.parse(r.finding) as DriftFindingInput;
  const container: DriftContainerInput = { name: r.container, image: r.image };
  if (r.container_id) container.id = r.container_id;
  if (r.digest) container.digest = r.digest;
  const rec: DriftFindingRecord = {
    ...f, kind: r.kind, subject: r.subject, severity: r.severity, source: r.source, container, state: r.state, revision: Number(r.revision),
    firstSeen: iso(Number(r.first_seen)), lastSeen: iso(Number(r.last_seen)),
  };
  if (r.resolved_at !== null && r.resolved_at !== undefined) rec.resolvedAt = iso(Number(r.resolved_at));
  return rec;
}

const MAX_WORKLOADS = 50_000;
const WORKLOAD_KINDS: readonly WorkloadKind[] = ['pod', 'container'];
/** Pod labels that name a workload's owners (comma-separated lists). */
export const WORKLOAD_OWNER_LABELS = ['drydock.owner', 'owner', 'team'] as const;
const WORKLOAD_COLUMNS = 'kind, namespace, name, container, owner_kind, owner_name, labels, owners, node, image, digest, first_seen';

interface WorkloadRow {
  kind: WorkloadKind; namespace: string; name: string; container: string; owner_kind: string | null; owner_name: string | null;
  labels: string; owners: string; node: string; image: string; digest: string;
}

function cmpKey(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

/** The owners a workload's labels name: drydock.owner, owner, team; trimmed, sorted, unique. */
export function workloadOwners(labels: Record<string, string>): string[] {
  const out = new Set<string>();
  for (const k of WORKLOAD_OWNER_LABELS) for (const part of (labels[k] ?? '').split(',')) if (part.trim()) out.add(part.trim());
  return [...out].sort();
}

function workloadRow(w: WorkloadInput): WorkloadRow {
  const text = (v: unknown, what: string, max = 512, required = true): string => {
    if (v === undefined && !required) return '';
    if (typeof v !== 'string' || (required && v === '') || v.length > max) throw invalid(`workload ${what} ${JSON.stringify(v)} is not a string of 1 to ${max} characters`);
    return v;
  };
  if (!w || typeof w !== 'object') throw invalid('a workload must be an object');
  if (!WORKLOAD_KINDS.includes(w.kind)) throw invalid(`workload kind ${JSON.stringify(w.kind)} is neither pod nor container`);
  const labels = w.labels ?? {};
  if (typeof labels !== 'object' || Object.values(labels).some((v) => typeof v !== 'string')) throw invalid(`labels of workload ${JSON.stringify(w.name)} are not a map of strings`);
  const digest = text(w.digest, 'digest', 200, false);
  if (digest && !/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/.test(digest)) throw invalid(`workload digest ${JSON.stringify(digest)} is not a digest`);
  if (w.owner !== undefined) { text(w.owner.kind, 'owner kind', 253); text(w.owner.name, 'owner name', 253); }
  return {
    kind: w.kind, namespace: text(w.namespace, 'namespace', 253, false), name: text(w.name, 'name', 253), container: text(w.container, 'container', 253),
    owner_kind: w.owner?.kind ?? null, owner_name: w.owner?.name ?? null, labels: JSON.stringify(sortedRecord(labels)),
    owners: JSON.stringify(workloadOwners(labels)), node: text(w.node, 'node', 253, false), image: text(w.image, 'image', 1024), digest,
  };
}

function workloadKey(r: Pick<WorkloadRow, 'kind' | 'namespace' | 'name' | 'container'>): string {
  return [r.kind, r.namespace, r.name, r.container].join('\u0000');
}

function sameWorkload(a: WorkloadRow, b: WorkloadRow): boolean {
  return a.owner_kind === b.owner_kind && a.owner_name === b.owner_name && a.labels === b.labels && a.node === b.node && a.image === b.image && a.digest === b.digest;
}

function workloadRecord(r: WorkloadRow & { team_id: string; source: string; first_seen: number; last_seen: number }): WorkloadRecord {
  const w: WorkloadRecord = {
    teamId: r.team_id, source: r.source, kind: r.kind, namespace: r.namespace, name: r.name,
    labels: JSON.parse(r.labels) as Record<string, string>, owners: JSON.parse(r.owners) as string[], node: r.node,
    container: r.container, image: r.image, firstSeen: iso(r.first_seen), lastSeen: iso(r.last_seen),
  };
  if (r.owner_kind !== null && r.owner_name !== null) w.owner = { kind: r.owner_kind, name: r.owner_name };
  if (r.digest) w.digest = r.digest;
  return w;
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => byString(a, b)));
}

function validateRegistry(s: RegistrySpec): void {
  if (!s.url || !Array.isArray(s.repositories) || !(s.pollIntervalSeconds >= 0)) {
    throw invalid(`registry ${JSON.stringify(s.name)} needs a url, a repositories list and a poll interval >= 0`);
  }
}

function validateRule(s: RuleSpec): void {
  if (!['webhook', 'slack', 'email'].includes(s.channel) || !s.target || typeof s.filter !== 'object' || s.filter === null) {
    throw invalid(`notification rule ${JSON.stringify(s.name)} needs a channel (webhook, slack, email), a target and a filter`);
  }
}

/** CRUD of one team-scoped configuration table (id, team_id, name, spec JSON). */
class SqlCollection<S extends { name: string }> implements Collection<S> {
  readonly #store: SqlStore;
  readonly #table: string;
  readonly #what: string;
  readonly #validate: (s: S) => void;

  constructor(store: SqlStore, table: string, what: string, validate: (s: S) => void) {
    this.#store = store;
    this.#table = table;
    this.#what = what;
    this.#validate = validate;
  }

  #check(spec: S): void {
    if (!spec || typeof spec.name !== 'string' || spec.name.trim() === '') throw invalid(`a ${this.#what} needs a name`);
    this.#validate(spec);
  }

  #row(r: { id: string; team_id: string; spec: string; created_at: number; updated_at: number }): Stored<S> {
    return { id: r.id, teamId: r.team_id, spec: JSON.parse(r.spec) as S, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at) };
  }

  #conflict(e: unknown, spec: S): unknown {
    return isUniqueViolation(e) ? new DrydockError('STORE_CONFLICT', `a ${this.#what} named ${JSON.stringify(spec.name)} already exists in this team`, { cause: e }) : e;
  }

  async create(ctx: TeamContext, spec: S): Promise<Stored<S>> {
    checkCtx(ctx);
    this.#check(spec);
    const id = randomUUID();
    const now = this.#store.now();
    try {
      await this.#store.db.tx(async (q) => {
        await q.run(`INSERT INTO ${this.#table} (id, team_id, name, spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`, [id, ctx.teamId, spec.name, JSON.stringify(spec), now, now]);
        await this.#store.audit(q, ctx.teamId, ctx.actor, `${this.#table}.create`, id, { name: spec.name });
      });
    } catch (e) {
      throw this.#conflict(e, spec);
    }
    return { id, teamId: ctx.teamId, spec: JSON.parse(JSON.stringify(spec)) as S, createdAt: iso(now), updatedAt: iso(now) };
  }

  async get(ctx: TeamContext, id: string): Promise<Stored<S> | undefined> {
    checkCtx(ctx);
    const r = await this.#store.db.all<{ id: string; team_id: string; spec: string; created_at: number; updated_at: number }>(
      `SELECT id, team_id, spec, created_at, updated_at FROM ${this.#table} WHERE id = ? AND team_id = ?`, [id, ctx.teamId]);
    return r[0] && this.#row(r[0]);
  }

  async list(ctx: TeamContext): Promise<Stored<S>[]> {
    checkCtx(ctx);
    const r = await this.#store.db.all<{ id: string; team_id: string; spec: string; created_at: number; updated_at: number }>(
      `SELECT id, team_id, spec, created_at, updated_at FROM ${this.#table} WHERE team_id = ? ORDER BY name, id`, [ctx.teamId]);
    return r.map((x) => this.#row(x));
  }

  async update(ctx: TeamContext, id: string, spec: S): Promise<Stored<S> | undefined> {
    checkCtx(ctx);
    this.#check(spec);
    const now = this.#store.now();
    let n = 0;
    try {
      n = await this.#store.db.tx(async (q) => {
        const c = await q.run(`UPDATE ${this.#table} SET name = ?, spec = ?, updated_at = ? WHERE id = ? AND team_id = ?`, [spec.name, JSON.stringify(spec), now, id, ctx.teamId]);
        if (c > 0) await this.#store.audit(q, ctx.teamId, ctx.actor, `${this.#table}.update`, id, { name: spec.name });
        return c;
      });
    } catch (e) {
      throw this.#conflict(e, spec);
    }
    return n > 0 ? this.get(ctx, id) : undefined;
  }

  async delete(ctx: TeamContext, id: string): Promise<boolean> {
    checkCtx(ctx);
    return this.#store.db.tx(async (q) => {
      const c = await q.run(`DELETE FROM ${this.#table} WHERE id = ? AND team_id = ?`, [id, ctx.teamId]);
      if (c > 0) await this.#store.audit(q, ctx.teamId, ctx.actor, `${this.#table}.delete`, id);
      return c > 0;
    });
  }
}
