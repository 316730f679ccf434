/**
 * The store interface the server, its workers and its notifier use. One interface, two backends
 * (SQLite, PostgreSQL); src/store/testdata/contract.ts is the contract both pass.
 *
 * Team scoping: every operation on a team's data takes a TeamContext, and its reads see only that
 * team's rows. The operations without one (outbox, jobs, stored-package lookup for re-evaluation)
 * are the workers' own and never reach an API client directly.
 */
import type { Inventory, Package, PackageType } from '../model/package.js';
import type { Finding } from '../model/vuln.js';

/** Who acts for which team: the team id and the actor recorded in the audit log (a token id, "system"). */
export interface TeamContext {
  teamId: string;
  actor: string;
}

export interface Page<T> {
  items: T[];
  /** opaque cursor of the next page; absent on the last page */
  next?: string;
}

export interface PageOptions {
  /** a cursor from a previous page */
  after?: string;
  /** page size, 1..1000 (default 100) */
  limit?: number;
}

// ---------------------------------------------------------------- teams and tokens

export interface Team {
  id: string;
  name: string;
  createdAt: string;
}

export type TokenScope = 'read' | 'write' | 'admin';

export interface TokenInfo {
  id: string;
  teamId: string;
  name: string;
  /** the first characters of the secret, safe to show ("ddk_1a2b3c4d") */
  prefix: string;
  scope: TokenScope;
  createdAt: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

export interface CreatedToken {
  token: TokenInfo;
  /** the plaintext secret: returned once, never stored */
  secret: string;
}

// ---------------------------------------------------------------- images and inventories

export interface ImageInput {
  repository: string;
  digest: string;
  /** tags that point at this digest now; the same tags on other digests of the repository stop being current */
  tags?: string[];
  /** image config labels; owners come from org.opencontainers.image.authors and drydock.owner */
  labels?: Record<string, string>;
}

export interface ImageRecord {
  repository: string;
  digest: string;
  /** tags currently pointing at this digest, sorted */
  tags: string[];
  /** tags seen on this digest before that now point elsewhere, sorted */
  previousTags: string[];
  labels: Record<string, string>;
  owners: string[];
  firstSeen: string;
  lastSeen: string;
}

export interface ImageFilter extends PageOptions {
  repository?: string;
}

/** An ecosystem lookup key: the advisory ecosystem and the package name as a feed spells them. */
export interface LookupKey {
  ecosystem: string;
  name: string;
}

export interface PutInventoryOptions {
  /**
   * The lookup keys of a package (match/ knows them: "Debian:12"/source name, "npm"/name). Default:
   * the package type and the name (with its namespace for maven and npm scopes).
   */
  lookupKeys?: (pkg: Package, inventory: Inventory) => LookupKey[];
}

export interface StoredPackage {
  id: string;
  type: PackageType;
  namespace?: string;
  name: string;
  version: string;
  purl?: string;
}

export interface PackageQuery extends PageOptions {
  /** package name (exact) */
  name?: string;
  /** version (exact) */
  version?: string;
  type?: PackageType;
  namespace?: string;
  /** purl (exact, with its version); alternative to name */
  purl?: string;
}

export interface PackageHit {
  digest: string;
  /** repositories of the team holding this digest, sorted */
  repositories: string[];
  package: StoredPackage;
}

/** A stored package found by lookup key, for incremental re-evaluation (all teams). */
export interface PackageRef {
  teamId: string;
  digest: string;
  packageId: string;
  ecosystem: string;
  name: string;
  version: string;
}

export interface InventoryRef {
  teamId: string;
  digest: string;
}

// ---------------------------------------------------------------- findings

export type FindingState = 'new' | 'unchanged' | 'changed' | 'resolved';

/** The fields whose change makes a finding "changed". EPSS moves daily and does not count. */
export interface FindingMaterial {
  fixState: Finding['fixState'];
  fixedVersions: string[];
  severity: Finding['severity'];
  kev: boolean;
  suppressed: string | null;
}

export interface StoredFinding {
  vulnerabilityId: string;
  packageId: string;
  state: FindingState;
  /** counts the finding's transitions (new = 1); part of its event ids */
  revision: number;
  firstSeen: string;
  lastChanged: string;
  evaluationId: number;
  /** the vulnerability database identity of the evaluation that last wrote the finding */
  dbIdentity: string;
  finding: Finding;
}

export interface ChangedFinding {
  finding: Finding;
  /** names of FindingMaterial fields that changed */
  changes: (keyof FindingMaterial)[];
  previous: FindingMaterial;
}

export interface EvaluationDiff {
  evaluationId: number;
  digest: string;
  dbIdentity: string;
  at: string;
  new: Finding[];
  changed: ChangedFinding[];
  /** the last stored version of each finding that disappeared */
  resolved: Finding[];
  unchanged: number;
  /** ids of the outbox events enqueued in the same transaction */
  eventIds: string[];
}

export interface EvaluationRecord {
  id: number;
  digest: string;
  dbIdentity: string;
  at: string;
  counts: { new: number; changed: number; resolved: number; unchanged: number };
}

export interface FindingFilter extends PageOptions {
  /** default: every state but resolved */
  states?: FindingState[];
}

// ---------------------------------------------------------------- triage

export type TriageState = 'affected' | 'not_affected' | 'false_positive' | 'accepted';

/** OpenVEX status justifications (https://github.com/openvex/spec/blob/main/OPENVEX-SPEC.md) */
export const VEX_JUSTIFICATIONS = [
  'component_not_present',
  'vulnerable_code_not_present',
  'vulnerable_code_not_in_execute_path',
  'vulnerable_code_cannot_be_controlled_by_adversary',
  'inline_mitigations_already_exist',
] as const;
export type VexJustification = (typeof VEX_JUSTIFICATIONS)[number];

/** What a triage decision covers: every image holding a package (purl), or one image (digest). */
export type TriageTarget = { purl: string } | { digest: string };

export interface TriageInput {
  vulnerabilityId: string;
  target: TriageTarget;
  state: TriageState;
  /** required for not_affected */
  justification?: VexJustification;
  /** required for accepted: the acceptance ends at this time */
  until?: Date;
  reason?: string;
}

export interface TriageRecord {
  vulnerabilityId: string;
  target: TriageTarget;
  state: TriageState;
  justification?: VexJustification;
  until?: string;
  reason?: string;
  updatedBy: string;
  updatedAt: string;
}

export interface TriageChange {
  id: number;
  vulnerabilityId: string;
  target: TriageTarget;
  from?: TriageState;
  to: TriageState;
  justification?: VexJustification;
  until?: string;
  reason?: string;
  actor: string;
  at: string;
}

export interface TriageFilter extends PageOptions {
  vulnerabilityId?: string;
  target?: TriageTarget;
}

// ---------------------------------------------------------------- audit

export interface AuditEntry {
  id: number;
  teamId?: string;
  actor: string;
  /** dotted verb: "token.create", "image.record", "findings.evaluate", "triage.set", ... */
  action: string;
  /** what it acted on: a token id, "repository@digest", a digest, ... */
  object: string;
  at: string;
  details?: Record<string, unknown>;
}

// ---------------------------------------------------------------- outbox and jobs

export interface OutboxEvent {
  /** stable: the same event always carries the same id, on every redelivery */
  id: string;
  teamId: string;
  kind: string;
  payload: Record<string, unknown>;
  /** claims so far, this one included */
  attempts: number;
  createdAt: string;
  lastError?: string;
}

export interface NewOutboxEvent {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
}

export interface JobInput {
  queue: string;
  payload: Record<string, unknown>;
  teamId?: string;
  /** at most one queued or active job per queue and key */
  dedupeKey?: string;
  runAt?: Date;
  /** default 5 */
  maxAttempts?: number;
}

export type JobState = 'queued' | 'active' | 'done' | 'failed';

export interface Job {
  id: string;
  queue: string;
  teamId?: string;
  dedupeKey?: string;
  payload: Record<string, unknown>;
  state: JobState;
  attempts: number;
  maxAttempts: number;
  runAt: string;
  /** the claim's token: complete, fail and extend need it, so a worker whose lease ran out cannot finish a job taken over by another */
  lease?: string;
  leaseUntil?: string;
  lastError?: string;
}

// ---------------------------------------------------------------- watched registries and notification rules

export interface RegistrySpec {
  name: string;
  /** registry base URL or host ("registry.example.com:5000") */
  url: string;
  /** repository names or globs ("team/*") */
  repositories: string[];
  /** poll interval; 0 = webhooks only */
  pollIntervalSeconds: number;
  /** name of the credentials entry to use (never the secret itself) */
  credentialsRef?: string;
}

export type NotificationChannel = 'webhook' | 'slack' | 'email';

export interface RuleSpec {
  name: string;
  channel: NotificationChannel;
  /** URL or e-mail address */
  target: string;
  /** name of the secret used to sign webhooks (never the secret itself) */
  secretRef?: string;
  /** route to owners from image labels in addition to target */
  toOwners?: boolean;
  /** one summary per period instead of one notification per event */
  digest?: 'hourly' | 'daily';
  filter: {
    minSeverity?: Finding['severity'];
    kevOnly?: boolean;
    fixAvailableOnly?: boolean;
    repositories?: string[];
    events?: ('new' | 'changed' | 'resolved')[];
  };
  enabled: boolean;
}

export interface Stored<S> {
  id: string;
  teamId: string;
  spec: S;
  createdAt: string;
  updatedAt: string;
}

/** CRUD of one team-scoped configuration object. */
export interface Collection<S extends { name: string }> {
  create(ctx: TeamContext, spec: S): Promise<Stored<S>>;
  get(ctx: TeamContext, id: string): Promise<Stored<S> | undefined>;
  list(ctx: TeamContext): Promise<Stored<S>[]>;
  /** replaces the spec; undefined when the id is not the team's */
  update(ctx: TeamContext, id: string, spec: S): Promise<Stored<S> | undefined>;
  delete(ctx: TeamContext, id: string): Promise<boolean>;
}

// ---------------------------------------------------------------- workloads

/** What runs an image: a Kubernetes pod's container, or a container of a host's runtime. */
export type WorkloadKind = 'pod' | 'container';

/** The controller that owns a pod (Deployment found through its ReplicaSet, DaemonSet, StatefulSet, Job, ...). */
export interface WorkloadOwner {
  kind: string;
  name: string;
}

/** One running container as an agent reports it. Key: source, kind, namespace, name, container. */
export interface WorkloadInput {
  kind: WorkloadKind;
  /** Kubernetes namespace; "" for a host's containers */
  namespace?: string;
  /** pod or container name */
  name: string;
  owner?: WorkloadOwner;
  labels?: Record<string, string>;
  /** Kubernetes node or host name */
  node?: string;
  /** container name inside the pod (a host container: its own name) */
  container: string;
  /** the image reference the container was started from */
  image: string;
  /** manifest digest ("sha256:..."), when the runtime knows it */
  digest?: string;
}

export interface WorkloadRecord {
  teamId: string;
  /** the agent or cluster that reported it */
  source: string;
  kind: WorkloadKind;
  namespace: string;
  name: string;
  owner?: WorkloadOwner;
  labels: Record<string, string>;
  /** owners named by the labels owner, team and drydock.owner; sorted */
  owners: string[];
  node: string;
  container: string;
  image: string;
  digest?: string;
  firstSeen: string;
  /** the last report of its source that held it */
  lastSeen: string;
}

export interface WorkloadFilter extends PageOptions {
  digest?: string;
  source?: string;
  namespace?: string;
}

export interface PutWorkloadsResult {
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
  /** open drift findings resolved because their host container is no longer running (present when any were) */
  driftResolved?: number;
}

// ---------------------------------------------------------------- drift

/** Severities of drift findings (src/runtime/types.ts DriftSeverity), most severe first. */
export type DriftSeverityLevel = 'critical' | 'high' | 'medium' | 'low' | 'info';
export const DRIFT_SEVERITY_LEVELS: readonly DriftSeverityLevel[] = ['critical', 'high', 'medium', 'low', 'info'];

/** One drift finding of a running container as the agent reports it. Key: kind and subject. */
export interface DriftFindingInput {
  /** new-executable, modified-package-binary, package-installed-at-runtime, file-changed, ... */
  kind: string;
  severity: DriftSeverityLevel;
  /** the path or the package (type/name) the finding is about */
  subject: string;
  message: string;
  path?: string;
  package?: { type: string; name: string; version?: string; imageVersion?: string };
}

/** The running container a drift report is about. Key (with the source): name. */
export interface DriftContainerInput {
  name: string;
  id?: string;
  /** the image reference it was started from */
  image: string;
  /** the image's manifest digest, when the runtime knows it */
  digest?: string;
}

export type DriftState = 'open' | 'resolved';

export interface DriftFindingRecord extends DriftFindingInput {
  source: string;
  container: DriftContainerInput;
  state: DriftState;
  /** counts the finding's appearances (new = 1, again after resolved = 2, ...); part of its event id */
  revision: number;
  firstSeen: string;
  /** the last report that held it (or resolved it) */
  lastSeen: string;
  resolvedAt?: string;
}

export interface DriftFilter extends PageOptions {
  digest?: string;
  source?: string;
  container?: string;
  /** default: open only */
  states?: DriftState[];
}

export interface PutDriftOptions {
  /** new findings at or above this severity enqueue a "drift.new" outbox event (default medium) */
  notifyAt?: DriftSeverityLevel;
}

export interface PutDriftResult {
  new: DriftFindingRecord[];
  resolved: DriftFindingRecord[];
  unchanged: number;
  /** ids of the outbox events enqueued in the same transaction */
  eventIds: string[];
}

// ---------------------------------------------------------------- the store

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** where it is, without credentials */
  readonly location: string;
  schemaVersion(): Promise<number>;
  /** a cheap round trip (readiness probes) */
  ping(): Promise<void>;
  close(): Promise<void>;

  // teams and tokens
  createTeam(name: string, actor: string): Promise<Team>;
  getTeam(id: string): Promise<Team | undefined>;
  getTeamByName(name: string): Promise<Team | undefined>;
  listTeams(): Promise<Team[]>;
  createToken(ctx: TeamContext, input: { name: string; scope: TokenScope }): Promise<CreatedToken>;
  listTokens(ctx: TeamContext): Promise<TokenInfo[]>;
  revokeToken(ctx: TeamContext, tokenId: string): Promise<boolean>;
  /** the token of a secret, unless unknown or revoked; records its last use */
  authenticate(secret: string): Promise<TokenInfo | undefined>;

  // images
  recordImage(ctx: TeamContext, image: ImageInput): Promise<ImageRecord>;
  getImage(ctx: TeamContext, repository: string, digest: string): Promise<ImageRecord | undefined>;
  /** every repository of the team holding the digest */
  imagesByDigest(ctx: TeamContext, digest: string): Promise<ImageRecord[]>;
  listImages(ctx: TeamContext, filter?: ImageFilter): Promise<Page<ImageRecord>>;
  /** deletes images not seen for `olderThanDays` and not currently tagged, with their inventories and findings when no repository holds the digest any more */
  applyRetention(ctx: TeamContext, olderThanDays: number): Promise<{ repository: string; digest: string }[]>;

  // inventories
  putInventory(ctx: TeamContext, digest: string, inventory: Inventory, options?: PutInventoryOptions): Promise<{ packages: number }>;
  getInventory(ctx: TeamContext, digest: string): Promise<Inventory | undefined>;
  /** portfolio search: where is package X (at version Y)? Ordered by version, digest, package id */
  searchPackages(ctx: TeamContext, query: PackageQuery): Promise<Page<PackageHit>>;
  /** stored packages by lookup key, across teams (incremental re-evaluation) */
  findPackages(keys: readonly LookupKey[]): Promise<PackageRef[]>;
  /** every stored inventory, across teams (full re-match) */
  listInventories(page?: PageOptions): Promise<Page<InventoryRef>>;

  // findings
  applyEvaluation(ctx: TeamContext, digest: string, findings: readonly Finding[], dbIdentity: string): Promise<EvaluationDiff>;
  listFindings(ctx: TeamContext, digest: string, filter?: FindingFilter): Promise<Page<StoredFinding>>;
  listEvaluations(ctx: TeamContext, digest: string): Promise<EvaluationRecord[]>;
  /** the vulnerability-database identity of the newest evaluation, across teams (undefined: none yet) */
  lastEvaluationIdentity(): Promise<string | undefined>;

  // triage
  setTriage(ctx: TeamContext, input: TriageInput): Promise<TriageRecord>;
  getTriage(ctx: TeamContext, vulnerabilityId: string, target: TriageTarget): Promise<TriageRecord | undefined>;
  listTriage(ctx: TeamContext, filter?: TriageFilter): Promise<Page<TriageRecord>>;
  triageHistory(ctx: TeamContext, vulnerabilityId: string, target: TriageTarget): Promise<TriageChange[]>;

  // audit
  listAudit(ctx: TeamContext, page?: PageOptions): Promise<Page<AuditEntry>>;

  // outbox
  /** enqueues events of the caller's own making (digests, tests); ids already present are ignored */
  enqueueEvents(ctx: TeamContext, events: readonly NewOutboxEvent[]): Promise<number>;
  /** claims up to n due events for leaseMs; a claim past its lease is due again */
  claimOutbox(n: number, leaseMs: number): Promise<OutboxEvent[]>;
  markDelivered(id: string): Promise<void>;
  /** back to pending at nextAttemptAt, or dead after the store's maximum number of attempts */
  markFailed(id: string, error: string, nextAttemptAt: Date): Promise<'retry' | 'dead'>;
  listDeadLetters(ctx: TeamContext, page?: PageOptions): Promise<Page<OutboxEvent>>;
  /** puts a dead event back into the queue, attempts reset */
  requeueDeadLetter(ctx: TeamContext, id: string): Promise<boolean>;

  // jobs
  enqueueJob(job: JobInput): Promise<{ id: string; created: boolean }>;
  claimJobs(queue: string, n: number, leaseMs: number): Promise<Job[]>;
  extendJobLease(id: string, lease: string, leaseMs: number): Promise<boolean>;
  completeJob(id: string, lease: string): Promise<boolean>;
  /** retry after backoff (or at retryAt), or failed for good after maxAttempts; 'lost' when the lease is no longer the caller's */
  failJob(id: string, lease: string, error: string, retryAt?: Date): Promise<'retry' | 'failed' | 'lost'>;
  getJob(id: string): Promise<Job | undefined>;

  // workloads
  /** replaces the set of workloads one source (an agent, a cluster) reports */
  putWorkloads(ctx: TeamContext, source: string, workloads: readonly WorkloadInput[]): Promise<PutWorkloadsResult>;
  /** the team's workloads, by source, kind, namespace, name, container */
  listWorkloads(ctx: TeamContext, filter?: WorkloadFilter): Promise<Page<WorkloadRecord>>;
  /** workloads running any of these digests, across teams (notifications filter by team) */
  workloadsByDigests(digests: readonly string[]): Promise<WorkloadRecord[]>;

  // drift
  /** replaces the open drift findings of one (source, container); new ones at or above notifyAt enqueue events */
  putDriftFindings(ctx: TeamContext, source: string, container: DriftContainerInput, findings: readonly DriftFindingInput[], options?: PutDriftOptions): Promise<PutDriftResult>;
  /** the team's drift findings, by source, container, kind, subject */
  listDriftFindings(ctx: TeamContext, filter?: DriftFilter): Promise<Page<DriftFindingRecord>>;

  // configuration
  readonly registries: Collection<RegistrySpec>;
  readonly rules: Collection<RuleSpec>;
}
