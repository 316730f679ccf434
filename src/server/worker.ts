/**
 * The worker loop: claims jobs of the "reevaluate" and "deliver" queues under a lease, runs them and
 * completes or fails them with that lease. A worker that dies leaves its leases to run out; another
 * worker then takes the job up again, and since re-evaluation and delivery are idempotent (stable event
 * ids, deliveries keyed by event, rule and destination) nothing is lost and no event changes its id.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Store } from '../store/index.js';
import type { VulnDb } from '../vulndb/index.js';
import { deliverOutbox, type DeliverOptions, type DeliverySummary } from './notify.js';
import { reevaluate, type ReevaluateOptions, type ReevaluationSummary } from './reevaluate.js';

export const REEVALUATE_QUEUE = 'reevaluate';
export const DELIVER_QUEUE = 'deliver';

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
}

export type WorkerEvent =
  | { type: 'job-done'; job: Job; result: ReevaluationSummary | DeliverySummary }
  | { type: 'job-failed'; job: Job; error: string; outcome: 'retry' | 'failed' | 'lost' }
  | { type: 'delivery'; summary: DeliverySummary };

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
  const summary: WorkerSummary = { jobs: 0, failed: 0, reevaluations: [], delivery: { claimed: 0, routed: 0, deliveries: 0, sent: 0, retry: 0, dead: 0, unsupported: 0 } };
  const currentDb = typeof db === 'function' ? db : () => db;

  const run = async (job: Job): Promise<void> => {
    const lease = job.lease!;
    // renew the lease while the job runs; a worker that lost it stops renewing and cannot complete
    const timer = setInterval(() => { void store.extendJobLease(job.id, lease, leaseMs).catch(() => undefined); }, Math.max(50, Math.floor(leaseMs / 3)));
    try {
      let result: ReevaluationSummary | DeliverySummary;
      if (job.queue === REEVALUATE_QUEUE) {
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
        const d = { claimed: 0, routed: 0, deliveries: 0, sent: 0, retry: 0, dead: 0, unsupported: 0 };
        await drainOutbox(store, deliverOpts, d, opts.signal);
        addDelivery(summary.delivery, d);
        result = d;
      }
      clearInterval(timer);
      await store.completeJob(job.id, lease);
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
    for (const queue of [REEVALUATE_QUEUE, DELIVER_QUEUE]) {
      for (const job of await store.claimJobs(queue, 1, leaseMs)) {
        worked = true;
        await run(job);
      }
    }
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
