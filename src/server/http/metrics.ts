/**
 * Prometheus text exposition (https://prometheus.io/docs/instrumenting/exposition_formats/): request
 * counts and latency histograms by method, route pattern and status, plus gauges read from the store
 * when scraped (images, open findings, queued jobs, pending outbox events).
 */
import type { Store } from '../../store/index.js';
import { SqlStore } from '../../store/sql-store.js';

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export interface StoreGauges {
  images: number;
  findings: number;
  jobsQueued: number;
  outboxPending: number;
}

/** Label values: backslash, double quote and newline escaped. */
const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = `method="${esc(method)}",route="${esc(route)}",status="${status}"`;
    this.#requests.set(labels, (this.#requests.get(labels) ?? 0) + 1);
    const hl = `method="${esc(method)}",route="${esc(route)}"`;
    let h = this.#latency.get(hl);
    if (!h) this.#latency.set(hl, (h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  render(gauges?: StoreGauges): string {
    const out: string[] = [];
    out.push('# HELP drydock_http_requests_total HTTP requests by method, route and status.');
    out.push('# TYPE drydock_http_requests_total counter');
    for (const [l, n] of [...this.#requests].sort()) out.push(`drydock_http_requests_total{${l}} ${n}`);
    out.push('# HELP drydock_http_request_duration_seconds HTTP request latency by method and route.');
    out.push('# TYPE drydock_http_request_duration_seconds histogram');
    for (const [l, h] of [...this.#latency].sort()) {
      BUCKETS.forEach((b, i) => out.push(`drydock_http_request_duration_seconds_bucket{${l},le="${b}"} ${h.counts[i]}`));
      out.push(`drydock_http_request_duration_seconds_bucket{${l},le="+Inf"} ${h.count}`);
      out.push(`drydock_http_request_duration_seconds_sum{${l}} ${h.sum}`);
      out.push(`drydock_http_request_duration_seconds_count{${l}} ${h.count}`);
    }
    if (gauges) {
      const g = (name: string, help: string, v: number) => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
      g('drydock_images', 'Stored images (team, repository, digest), all teams.', gauges.images);
      g('drydock_findings', 'Open (not resolved) findings, all teams.', gauges.findings);
      g('drydock_jobs_queued', 'Jobs waiting or running in the job queue.', gauges.jobsQueued);
      g('drydock_outbox_pending', 'Notification events not yet delivered.', gauges.outboxPending);
    }
    return out.join('\n') + '\n';
  }
}

/**
 * Store-wide counts for the gauges. The Store interface has no counting call yet, so this reads the SQL
 * store's tables directly; another Store implementation yields no gauges.
 */
export async function storeGauges(store: Store): Promise<StoreGauges | undefined> {
  if (!(store instanceof SqlStore)) return undefined;
  const one = async (sql: string): Promise<number> => Number((await store.db.all<{ n: number | string }>(sql))[0]?.n ?? 0);
  return {
    images: await one('SELECT count(*) AS n FROM images'),
    findings: await one("SELECT count(*) AS n FROM findings WHERE state <> 'resolved'"),
    jobsQueued: await one("SELECT count(*) AS n FROM jobs WHERE state IN ('queued', 'active')"),
    outboxPending: await one("SELECT count(*) AS n FROM outbox WHERE status = 'pending'"),
  };
}
