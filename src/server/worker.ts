/**
 * The worker loop: claims jobs of the "reevaluate", "scan", "retention" and "deliver" queues under a
 * lease, runs them and completes or fails them with that lease; every round it also turns the digest
 * items whose period ended into summaries (collectDigests) and delivers the outbox. A worker that dies leaves its leases to run out; another
 * worker then takes the job up again, and since re-evaluation and delivery are idempotent (stable event
 * ids, deliveries keyed by event, rule and destination) nothing is lost and no event changes its id.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../core/clock.js';
import { DrydockError } from '../core/errors.js';
import type { SbomOptions } from '../scan/sbom.js';
import type { Job, Store } from '../store/index.js';
import type { VulnDb } from '../vulndb/index.js';
import { SCAN_QUEUE, scanAndIngest, type IngestResult, type ScanRequest } from './http/routes.js';
import { collectDigests, deliverOutbox, emptyDeliverySummary, type DeliverOptions, type DeliverySummary } from './notify.js';
import { reevaluate, type ReevaluateOptions, type ReevaluationSummary } from './reevaluate.js';

export const REEVALUATE_QUEUE = 'reevaluate';
export const DELIVER_QUEUE = 'deliver';
export { SCAN_QUEUE };
export const RETENTION_QUEUE = 'retention';
export const RETENTION_ACTOR = 'system:retention';
export const RETENTION_DAYS_ENV = 'DRYDOCK_RETENTION_DAYS';

/** The payload of a "scan" job (POST /api/v1/scans?async=true): the request and who made it. */
export interface ScanJobPayload extends ScanRequest {
  /** the token id that asked, recorded as the actor */
  actor: string;
}

export interface RetentionSettings {
  /** images not seen for this many days and not currently tagged are deleted (store.applyRetention) */
  days: number;
  /** how often the retention job runs (default 1 hour) */
  everyMs?: number;
}

function scanRequestOf(p: ScanJobPayload): ScanRequest {
  return { target: p.target, ...(p.repository ? { repository: p.repository } : {}), ...(p.tags ? { tags: p.tags } : {}), ...(p.labels ? { labels: p.labels } : {}) };
}

/** DRYDOCK_RETENTION_DAYS as settings; undefined when unset or empty (no retention). */
export function retentionFromEnv(env: NodeJS.ProcessEnv = process.env): RetentionSettings | undefined {
  const v = env[RETENTION_DAYS_ENV]?.trim();
  if (!v) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new DrydockError('CONFIG_INVALID', `${RETENTION_DAYS_ENV}=${JSON.stringify(v)} is not a whole number of days (1 or more)`);
  return { days: Number(v) };
}

/** Schedules the next retention run (one queued at a time). */
export async function enqueueRetention(store: Store, days: number, runAt?: Date): Promise<{ id: string; created: boolean }> {
  return store.enqueueJob({ queue: RETENTION_QUEUE, payload: { days }, dedupeKey: 'retention', ...(runAt ? { runAt } : {}) });
}

/** Deletes, team by team, the images past retention. */
export async function runRetention(store: Store, days: number): Promise<RetentionSummary> {
  const out: RetentionSummary = { days, teams: 0, deleted: 0 };
  for (const team of await store.listTeams()) {
    const gone = await store.applyRetention({ teamId: team.id, actor: RETENTION_ACTOR }, days);
    out.teams++;
    out.deleted += gone.length;
  }
  return out;
}

export interface RetentionSummary {
  days: number;
  teams: number;
  deleted: number;
}

export interface WorkerOptions {
  /** process what is due now, then return (default: loop until the signal aborts) */
  once?: boolean;
  signal?: AbortSignal;
  /** job lease (default 60 s); renewed at a third of it while a job runs */
  leaseMs?: number;
  /** idle wait between polls (default 1 s) */
  pollMs?: number;
  deliver?: DeliverOptions;
  /** passed to reevaluate (clock, hooks) */
  reevaluate?: Pick<ReevaluateOptions, 'clock' | 'issues' | 'onImage'>;
  /** job outcomes (the CLI renders them) */
  log?: (event: WorkerEvent) => void;
  /** "scan" jobs: options of sbomImage (cache, registry credentials, limits) */
  scan?: { sbomOptions?: SbomOptions };
  /** periodic deletion of old untagged digests; default: DRYDOCK_RETENTION_DAYS, none when unset; false: none */
  retention?: RetentionSettings | false;
  /** the clock of scans, retention schedules and digests (default: the system clock) */
  clock?: Clock;
}

export type WorkerEvent =
  | { type: 'job-done'; job: Job; result: ReevaluationSummary | DeliverySummary | IngestResult | RetentionSummary }
  | { type: 'job-failed'; job: Job; error: string; outcome: 'retry' | 'failed' | 'lost' }
  | { type: 'delivery'; summary: DeliverySummary }
  | { type: 'digest-failed'; summary: { error: string } };

export interface WorkerSummary {
  jobs: number;
  failed: number;
  reevaluations: ReevaluationSummary[];
  delivery: DeliverySummary;
}

function addDelivery(into: DeliverySummary, s: DeliverySummary): void {
  for (const k of Object.keys(into) as (keyof DeliverySummary)[]) into[k] += s[k];
}

/** Delivers until nothing is due (one claim round after another), bounded by `rounds`. */
async function drainOutbox(store: Store, opts: DeliverOptions, total: DeliverySummary, signal?: AbortSignal, rounds = 1000): Promise<void> {
  for (let i = 0; i < rounds && !signal?.aborted; i++) {
    const s = await deliverOutbox(store, opts);
    addDelivery(total, s);
    if (s.claimed === 0) return;
  }
}

/**
 * Runs jobs until `signal` aborts (or, with `once`, until no job and no outbox event is due). `db` is
 * the vulnerability database every re-evaluation matches against (or a function returning the current
 * one, so that a long-running worker follows database updates).
 */
export async function runWorker(store: Store, db: VulnDb | (() => VulnDb), opts: WorkerOptions = {}): Promise<WorkerSummary> {
  const leaseMs = opts.leaseMs ?? 60_000;
  const pollMs = opts.pollMs ?? 1000;
  const deliverOpts: DeliverOptions = { ...opts.deliver };
  const summary: WorkerSummary = { jobs: 0, failed: 0, reevaluations: [], delivery: emptyDeliverySummary() };
  const currentDb = typeof db === 'function' ? db : () => db;
  const clock = opts.clock ?? opts.deliver?.clock ?? systemClock;
  if (!deliverOpts.clock) deliverOpts.clock = clock;
  const retention = opts.retention === false ? undefined : opts.retention ?? retentionFromEnv();
  // the first run is due now; later runs are scheduled by the run before (deduplicated: one queued at a time)
  if (retention) await enqueueRetention(store, retention.days);

  const run = async (job: Job): Promise<void> => {
    const lease = job.lease!;
    // renew the lease while the job runs; a worker that lost it stops renewing and cannot complete
    const timer = setInterval(() => { void store.extendJobLease(job.id, lease, leaseMs).catch(() => undefined); }, Math.max(50, Math.floor(leaseMs / 3)));
    try {
      let result: ReevaluationSummary | DeliverySummary | IngestResult | RetentionSummary;
      let after: (() => Promise<unknown>) | undefined;
      if (job.queue === SCAN_QUEUE) {
        const p = job.payload as unknown as ScanJobPayload;
        if (!job.teamId) throw new DrydockError('INTERNAL', `scan job ${job.id} has no team`);
        const r = await scanAndIngest({ store, db: { get: () => { const d = currentDb(); return { db: d, info: d.info() }; } }, now: () => clock.now(), sbomOptions: opts.scan?.sbomOptions ?? {} }, { teamId: job.teamId, actor: `${p.actor}/job:${job.id}` }, scanRequestOf(p));
        result = r;
        if (r.evaluation.counts.new + r.evaluation.counts.changed + r.evaluation.counts.resolved > 0) {
          await store.enqueueJob({ queue: DELIVER_QUEUE, payload: {}, dedupeKey: 'deliver' });
        }
      } else if (job.queue === RETENTION_QUEUE) {
        const days = retention?.days ?? Number((job.payload as { days?: number }).days);
        result = await runRetention(store, days);
        // the next run, enqueued once this one is done (a queued or active job blocks the dedupe key)
        if (retention) after = () => enqueueRetention(store, retention.days, new Date(clock.now().getTime() + (retention.everyMs ?? 3_600_000)));
      } else if (job.queue === REEVALUATE_QUEUE) {
        const p = job.payload as { fromIdentity?: string; full?: boolean };
        const o: ReevaluateOptions = { ...opts.reevaluate };
        if (p.fromIdentity !== undefined) o.fromIdentity = p.fromIdentity;
        if (p.full) o.full = true;
        if (opts.signal) o.signal = opts.signal;
        const r = await reevaluate(store, currentDb(), o);
        summary.reevaluations.push(r);
        result = r;
        // the events are in the outbox: make sure someone delivers them
        if (r.events > 0) await store.enqueueJob({ queue: DELIVER_QUEUE, payload: {}, dedupeKey: 'deliver' });
      } else {
        const d = emptyDeliverySummary();
        await drainOutbox(store, deliverOpts, d, opts.signal);
        addDelivery(summary.delivery, d);
        result = d;
      }
      clearInterval(timer);
      await store.completeJob(job.id, lease);
      await after?.();
      summary.jobs++;
      opts.log?.({ type: 'job-done', job, result });
    } catch (e) {
      clearInterval(timer);
      const error = e instanceof Error ? e.message : String(e);
      const outcome = await store.failJob(job.id, lease, error);
      summary.failed++;
      opts.log?.({ type: 'job-failed', job, error, outcome });
    }
  };

  while (!opts.signal?.aborted) {
    let worked = false;
    for (const queue of [REEVALUATE_QUEUE, SCAN_QUEUE, RETENTION_QUEUE, DELIVER_QUEUE]) {
      for (const job of await store.claimJobs(queue, 1, leaseMs)) {
        worked = true;
        await run(job);
      }
    }
    // digest periods that ended become summary deliveries
    const digests = await collectDigests(store, { leaseMs }).catch((e: unknown) => {
      opts.log?.({ type: 'digest-failed', summary: { error: e instanceof Error ? e.message : String(e) } });
      return { items: 0, summaries: 0 };
    });
    if (digests.items > 0) worked = true;
    // events can be due without a deliver job (retries after backoff, a trigger deduplicated against
    // a running job): poll the outbox too
    const before = summary.delivery.claimed;
    await drainOutbox(store, deliverOpts, summary.delivery, opts.signal, 10);
    if (summary.delivery.claimed > before) worked = true;
    if (worked) continue;
    if (opts.once) break;
    await sleep(pollMs, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
  }
  return summary;
}
