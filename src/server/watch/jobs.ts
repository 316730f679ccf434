/**
 * Watched registries as jobs of the "poll" queue: a scheduler enqueues one poll per registry and
 * schedule slot, push events enqueue the ingest of one repository and tag, and a loop claims the
 * jobs under a lease (renewed while a job runs) and completes or fails them with it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { IssueLog } from '../../core/issues.js';
import type { Job, RegistrySpec, Store, Stored, TeamContext } from '../../store/index.js';
import { pollRegistry, type PollOptions, type PollSummary } from './poll.js';

export const POLL_QUEUE = 'poll';

/** a whole registry (schedule), or one repository and tag (push event) */
export interface PollPayload {
  [key: string]: unknown;
  registryId: string;
  repository?: string;
  tag?: string;
  /** the digest a push event named (part of the dedupe key: a second push of the tag is not merged into a running ingest) */
  digest?: string;
}

/** Enqueues the poll of a registry; one per registry and key among queued and active jobs. */
export async function enqueuePoll(store: Store, teamId: string, payload: PollPayload, key?: string): Promise<{ id: string; created: boolean }> {
  const dedupeKey = key ?? (payload.repository ? `push:${payload.registryId}:${payload.repository}:${payload.tag ?? ''}:${payload.digest ?? ''}` : `poll:${payload.registryId}`);
  return store.enqueueJob({ queue: POLL_QUEUE, teamId, payload, dedupeKey, maxAttempts: 5 });
}

/** The registries with a schedule, of every team. */
export async function scheduledRegistries(store: Store): Promise<{ team: TeamContext; registry: Stored<RegistrySpec> }[]> {
  const out: { team: TeamContext; registry: Stored<RegistrySpec> }[] = [];
  for (const t of await store.listTeams()) {
    const team = { teamId: t.id, actor: 'system' };
    for (const r of await store.registries.list(team)) if (r.spec.pollIntervalSeconds > 0) out.push({ team, registry: r });
  }
  return out;
}

/**
 * Enqueues a poll for every scheduled registry whose current slot (epoch time / interval) has no poll
 * enqueued by this scheduler yet. `seen` remembers the slots (registry id → slot); a process polls a
 * registry once per slot, and several processes at most once each (polls are idempotent).
 */
export async function schedulePolls(store: Store, now: Date, seen: Map<string, number>): Promise<number> {
  let n = 0;
  for (const { team, registry } of await scheduledRegistries(store)) {
    const slot = Math.floor(now.getTime() / (registry.spec.pollIntervalSeconds * 1000));
    if (seen.get(registry.id) === slot) continue;
    const r = await enqueuePoll(store, team.teamId, { registryId: registry.id }, `poll:${registry.id}:${slot}`);
    seen.set(registry.id, slot);
    if (r.created) n++;
  }
  return n;
}

export type WatchJobOptions = Omit<PollOptions, 'only' | 'signal'>;

/** Runs one poll job. A registry deleted since is done with nothing to do. */
export async function runPollJob(store: Store, job: Job, opts: WatchJobOptions & { signal?: AbortSignal }): Promise<PollSummary | undefined> {
  const p = job.payload as PollPayload;
  if (!job.teamId) return undefined;
  const team: TeamContext = { teamId: job.teamId, actor: 'system' };
  const reg = await store.registries.get(team, p.registryId);
  if (!reg) return undefined;
  return pollRegistry(store, team, reg.spec, {
    ...opts,
    ...(p.repository ? { only: { repository: p.repository, ...(p.tag ? { tags: [p.tag] } : {}) } } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

export interface WatcherOptions extends WatchJobOptions {
  /** how often the schedule is checked and the queue polled when idle, ms (default 5000) */
  tickMs?: number;
  /** job lease, ms (default 10 minutes: a first catalogue of a large image takes a while); renewed at a third */
  leaseMs?: number;
  /** enqueue scheduled polls (default true); false: only run the jobs others enqueue */
  schedule?: boolean;
  log?: (event: WatchEvent) => void;
}

export type WatchEvent =
  | { type: 'poll-done'; job: Job; summary: PollSummary | undefined }
  | { type: 'poll-failed'; job: Job; error: string; outcome: 'retry' | 'failed' | 'lost' }
  | { type: 'schedule-failed'; error: string };

export interface Watcher {
  /** resolves when the loop has stopped */
  done: Promise<void>;
  /** runs what is due now (tests): schedules, then claims and runs poll jobs until none is due */
  drain(): Promise<PollSummary[]>;
  stop(): Promise<void>;
}

/**
 * Starts the registry watcher of a server or worker process: every tick it enqueues the scheduled
 * polls and runs the due poll jobs. Events the ingests produce are in the outbox; the worker's
 * outbox round delivers them.
 */
export function startWatcher(store: Store, opts: WatcherOptions): Watcher {
  const abort = new AbortController();
  const tickMs = opts.tickMs ?? 5000;
  const leaseMs = opts.leaseMs ?? 600_000;
  const seen = new Map<string, number>();
  const now = opts.now ?? (() => new Date());
  let running: Promise<PollSummary[]> | undefined;

  const runDue = async (): Promise<PollSummary[]> => {
    const out: PollSummary[] = [];
    if (opts.schedule !== false) {
      await schedulePolls(store, now(), seen).catch((e: unknown) => opts.log?.({ type: 'schedule-failed', error: e instanceof Error ? e.message : String(e) }));
    }
    while (!abort.signal.aborted) {
      const [job] = await store.claimJobs(POLL_QUEUE, 1, leaseMs);
      if (!job) break;
      const lease = job.lease!;
      const timer = setInterval(() => { void store.extendJobLease(job.id, lease, leaseMs).catch(() => undefined); }, Math.max(50, Math.floor(leaseMs / 3)));
      try {
        const summary = await runPollJob(store, job, { ...opts, issues: opts.issues ?? new IssueLog(), signal: abort.signal });
        clearInterval(timer);
        await store.completeJob(job.id, lease);
        if (summary) out.push(summary);
        opts.log?.({ type: 'poll-done', job, summary });
      } catch (e) {
        clearInterval(timer);
        const error = e instanceof Error ? e.message : String(e);
        const outcome = await store.failJob(job.id, lease, error);
        opts.log?.({ type: 'poll-failed', job, error, outcome });
      }
    }
    return out;
  };
  // one round at a time: drain() from a test and the loop never run jobs concurrently in one process
  const round = (): Promise<PollSummary[]> => {
    running = (running ?? Promise.resolve([])).catch(() => []).then(runDue);
    return running;
  };

  const done = (async () => {
    while (!abort.signal.aborted) {
      await round().catch((e: unknown) => opts.log?.({ type: 'schedule-failed', error: e instanceof Error ? e.message : String(e) }));
      await sleep(tickMs, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  })();

  return {
    done,
    drain: round,
    stop: async () => {
      abort.abort();
      await done;
      await running?.catch(() => undefined);
    },
  };
}
