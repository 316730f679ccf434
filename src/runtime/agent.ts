/**
 * The agent: reports what runs on a host (the local runtime's containers) and/or in a cluster (its
 * pods, kept current by list + watch) to the Drydock server as workloads. Each source's report
 * replaces the set the server holds for it (POST /api/v1/workloads).
 *
 * Cheap in steady state: the cluster is watched, not relisted; changes are batched and sent at most
 * once per interval; an unchanged set is re-sent only as a heartbeat (default every 5 minutes), so an
 * idle agent does one runtime listing per interval and one request per heartbeat.
 *
 * Drift: each running container of the runtime is compared with its image (driftContainer) when first
 * seen and then every drift interval (default 10 minutes), one container at a time; its findings
 * replace the ones the server holds for that container (POST /api/v1/drift).
 */
import { hostname } from 'node:os';
import { DrydockError } from '../core/errors.js';
import type { WorkloadInput } from '../store/index.js';
import { driftContainer, type DriftOptions } from './drift.js';
import type { KubeInventory } from './k8s/inventory.js';
import type { ContainerRuntime, DriftReport, RunningContainer } from './types.js';

/** How the agent computes and reports drift of the runtime's containers. */
export interface AgentDriftOptions {
  /** how often each running container is compared again (default 10 minutes) */
  intervalMs?: number;
  /** options of driftContainer (cache directory, limits); the agent's runtime is used */
  options?: DriftOptions;
  /** computes one container's drift (default: driftContainer of its target string) */
  run?: (target: string, c: RunningContainer) => Promise<DriftReport>;
}

/** One container's drift as the server accepted it. */
export interface AgentDriftReport {
  source: string;
  container: string;
  findings: number;
  new: number;
  resolved: number;
  unchanged: number;
}

export interface AgentOptions {
  /** the server's base URL (http://host:8080) */
  server: string;
  /** an API token of scope write */
  token: string;
  /** the cluster's pods (started by the caller) */
  kube?: KubeInventory;
  /** the source name of the cluster's report (default: cluster/<kubeconfig cluster name>) */
  kubeSource?: string;
  /** the local runtime whose running containers are reported */
  runtime?: ContainerRuntime;
  /** the source name of the runtime's report (default: host/<hostname>) */
  hostSource?: string;
  /** host name written as the node of runtime containers (default: os.hostname()) */
  node?: string;
  /** how often changes are sent and the runtime is listed (default 30 s) */
  intervalMs?: number;
  /** an unchanged set is sent again after this long, so the server sees the agent alive (default 300 s) */
  heartbeatMs?: number;
  /** per-request timeout (default 30 s) */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
  now?: () => number;
  /** drift of the runtime's running containers: on by default with a runtime; false turns it off */
  drift?: boolean | AgentDriftOptions;
  /** after each accepted report */
  onReport?: (r: AgentReport) => void;
  /** after each accepted drift report */
  onDrift?: (r: AgentDriftReport) => void;
  /** a failed listing or report (the agent goes on and retries at the next interval) */
  onError?: (e: unknown) => void;
}

export interface AgentReport {
  source: string;
  workloads: number;
  added: number;
  changed: number;
  removed: number;
  unchanged: number;
}

/** The workloads of a host's running containers. */
export function containerWorkloads(containers: readonly RunningContainer[], node: string): WorkloadInput[] {
  return containers
    .filter((c) => c.state === 'running' || c.pid !== undefined)
    .map((c) => {
      const w: WorkloadInput = { kind: 'container', namespace: '', name: c.name || c.id, container: c.name || c.id, image: c.image, labels: { ...c.labels }, node };
      if (c.imageDigest) w.digest = c.imageDigest;
      return w;
    });
}

interface SourceState {
  /** the JSON of the last set the server accepted */
  sent?: string;
  sentAt: number;
}

export class Agent {
  readonly #o: AgentOptions;
  readonly #fetch: typeof globalThis.fetch;
  readonly #now: () => number;
  readonly #state = new Map<string, SourceState>();
  /** when each container (by id) was last compared with its image */
  readonly #driftAt = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(opts: AgentOptions) {
    if (!opts.kube && !opts.runtime) throw new DrydockError('USAGE', 'the agent needs a cluster (--kubeconfig or --in-cluster) or a runtime (--runtime) to report');
    try {
      new URL(opts.server);
    } catch (cause) {
      throw new DrydockError('USAGE', `server url ${JSON.stringify(opts.server)} is not a URL`, { cause });
    }
    this.#o = opts;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#now = opts.now ?? Date.now;
  }

  get kubeSource(): string {
    return this.#o.kubeSource ?? `cluster/${this.#o.kube?.clusterName ?? 'cluster'}`;
  }

  get hostSource(): string {
    return this.#o.hostSource ?? `host/${this.#o.node ?? hostname()}`;
  }

  /** Reports once now, then every interval until stop(). */
  start(): void {
    const every = this.#o.intervalMs ?? 30_000;
    const loop = async () => {
      this.#running = this.tick().then(() => undefined);
      await this.#running;
      if (!this.#stopped) this.#timer = setTimeout(() => void loop(), every);
    };
    void loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  /** One round: each source whose set changed (or whose heartbeat is due) is sent. Errors go to onError. */
  async tick(): Promise<AgentReport[]> {
    const out: AgentReport[] = [];
    const sources: { source: string; list: () => Promise<WorkloadInput[]> }[] = [];
    if (this.#o.kube) { const k = this.#o.kube; sources.push({ source: this.kubeSource, list: async () => k.workloads() }); }
    let containers: RunningContainer[] | undefined;
    if (this.#o.runtime) {
      const rt = this.#o.runtime;
      const node = this.#o.node ?? hostname();
      sources.push({ source: this.hostSource, list: async () => containerWorkloads((containers = await rt.list()), node) });
    }
    for (const s of sources) {
      try {
        const r = await this.#report(s.source, await s.list());
        if (r) {
          out.push(r);
          this.#o.onReport?.(r);
        }
      } catch (e) {
        this.#o.onError?.(e);
      }
    }
    if (containers && this.#o.drift !== false) await this.#drift(containers);
    return out;
  }

  /** Compares the containers whose drift is due (first seen, or older than the interval) and reports each. */
  async #drift(containers: readonly RunningContainer[]): Promise<void> {
    const rt = this.#o.runtime!;
    const d = typeof this.#o.drift === 'object' ? this.#o.drift : {};
    const every = d.intervalMs ?? 600_000;
    const running = containers.filter((c) => c.state === 'running' || c.pid !== undefined);
    const live = new Set(running.map((c) => c.id));
    for (const id of this.#driftAt.keys()) if (!live.has(id)) this.#driftAt.delete(id);
    for (const c of running) {
      if (this.#stopped) return;
      const last = this.#driftAt.get(c.id);
      if (last !== undefined && this.#now() - last < every) continue;
      // an attempt counts, so a container that cannot be compared is retried at the next interval, not every round
      this.#driftAt.set(c.id, this.#now());
      const target = rt.containerTarget(c);
      try {
        const report = d.run ? await d.run(target, c) : await driftContainer(target, { ...d.options, runtime: rt });
        const r = await this.#reportDrift(c, report);
        this.#o.onDrift?.(r);
      } catch (e) {
        this.#o.onError?.(e);
      }
    }
  }

  async #reportDrift(c: RunningContainer, report: DriftReport): Promise<AgentDriftReport> {
    const source = this.hostSource;
    const container: { name: string; id: string; image: string; digest?: string } = { name: c.name || c.id, id: c.id, image: c.image || report.container.image };
    const digest = c.imageDigest ?? report.image.digest;
    if (digest) container.digest = digest;
    const findings = report.findings.map((f) => {
      const o: Record<string, unknown> = { kind: f.kind, severity: f.severity, subject: f.subject, message: f.message };
      if (f.path) o.path = f.path;
      if (f.package) o.package = f.package;
      return o;
    });
    const text = await this.#post('/api/v1/drift', JSON.stringify({ source, container, findings }), `the drift of ${container.name}`);
    const r = JSON.parse(text) as { new: unknown[]; resolved: unknown[]; unchanged: number };
    return { source, container: container.name, findings: findings.length, new: r.new.length, resolved: r.resolved.length, unchanged: r.unchanged };
  }

  /** POSTs a JSON body to the server; returns the 200 answer's text. */
  async #post(path: string, body: string, what: string): Promise<string> {
    const url = new URL(path, this.#o.server);
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#o.token}`, 'content-type': 'application/json', 'user-agent': 'drydock-agent' },
        body,
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 30_000),
      });
    } catch (cause) {
      throw new DrydockError('NETWORK_ERROR', `server ${url.origin} is unreachable`, { cause });
    }
    const text = await res.text();
    if (res.status !== 200) {
      throw new DrydockError(res.status === 401 ? 'AUTH_REQUIRED' : res.status === 403 ? 'AUTH_DENIED' : 'NETWORK_ERROR', `server ${url.origin} refused ${what}: ${res.status} ${text.slice(0, 300)}`);
    }
    return text;
  }

  async #report(source: string, workloads: WorkloadInput[]): Promise<AgentReport | undefined> {
    const st = this.#state.get(source) ?? { sentAt: 0 };
    const body = JSON.stringify({ source, workloads });
    const now = this.#now();
    if (st.sent === body && now - st.sentAt < (this.#o.heartbeatMs ?? 300_000)) return undefined;
    const text = await this.#post('/api/v1/workloads', body, `the workloads of ${source}`);
    this.#state.set(source, { sent: body, sentAt: now });
    const r = JSON.parse(text) as Omit<AgentReport, 'source' | 'workloads'>;
    return { source, workloads: workloads.length, added: r.added, changed: r.changed, removed: r.removed, unchanged: r.unchanged };
  }
}
