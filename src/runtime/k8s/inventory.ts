/**
 * Kubernetes inventory: the cluster's pods as workloads, kept current by list + watch.
 *
 * One list (paged) gives the pods and a resourceVersion; a watch on /api/v1/pods from that version
 * applies ADDED / MODIFIED / DELETED events and BOOKMARKs. A watch that ends is resumed from the last
 * version seen; "410 Gone" (the version was compacted away, as an ERROR event or as the HTTP status)
 * means relist and replace the whole set (https://kubernetes.io/docs/reference/using-api/api-concepts/#efficient-detection-of-changes).
 * Steady state costs one open connection and the events that arrive; nothing is polled.
 */
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { DrydockError } from '../../core/errors.js';
import type { WorkloadInput, WorkloadOwner } from '../../store/index.js';
import { byString } from '../../core/compare.js';

/**
 * The fields of a pod the inventory reads: both the client's PodLike (timestamps as Date) and the wire
 * JSON of a watch event (kubernetes-types' Pod) have this shape.
 */
export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; controller?: boolean }[];
  };
  spec?: { nodeName?: string; containers: { name: string; image?: string }[] };
  status?: { phase?: string; containerStatuses?: { name: string; image: string; imageID: string }[] };
}

/**
 * The manifest digest of a container status' imageID. Runtimes write it as
 * `docker-pullable://repo@sha256:...` (dockershim), `repo@sha256:...` (containerd, CRI-O) or
 * `docker://sha256:...` / `sha256:...` (a local image id: the config digest, not a manifest digest,
 * so no digest). Returns undefined when there is no repo digest.
 */
export function digestFromImageId(imageID: string | undefined): string | undefined {
  if (!imageID) return undefined;
  const at = imageID.lastIndexOf('@');
  if (at < 0) return undefined;
  const d = imageID.slice(at + 1);
  return /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-f0-9]{32,}$/.test(d) ? d : undefined;
}

/**
 * The controller that owns a pod. A ReplicaSet made by a Deployment is named
 * `<deployment>-<pod-template-hash>` and its pods carry that hash as a label: the owner is then the
 * Deployment (no extra API call, no RBAC on apps/v1). Other owners are reported as they are.
 */
export function podOwner(pod: PodLike): WorkloadOwner | undefined {
  const refs = pod.metadata?.ownerReferences ?? [];
  const ref = refs.find((r) => r.controller) ?? refs[0];
  if (!ref) return undefined;
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  if (ref.kind === 'ReplicaSet' && hash && ref.name.endsWith(`-${hash}`)) {
    return { kind: 'Deployment', name: ref.name.slice(0, -(hash.length + 1)) };
  }
  return { kind: ref.kind, name: ref.name };
}

/** Pods that ended run nothing. */
function isTerminated(pod: PodLike): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** One workload per container of a pod (status first: it has the digest; the spec for containers not started yet). */
export function podWorkloads(pod: PodLike): WorkloadInput[] {
  if (isTerminated(pod)) return [];
  const meta = pod.metadata ?? {};
  const name = meta.name;
  if (!name) return [];
  const owner = podOwner(pod);
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const out: WorkloadInput[] = [];
  for (const c of pod.spec?.containers ?? []) {
    const s = statuses.get(c.name);
    const image = s?.image || c.image;
    if (!image) continue;
    const w: WorkloadInput = { kind: 'pod', namespace: meta.namespace ?? 'default', name, container: c.name, image, labels: { ...(meta.labels ?? {}) } };
    if (owner) w.owner = owner;
    if (pod.spec?.nodeName) w.node = pod.spec.nodeName;
    // a pinned reference already names the digest; else the runtime's imageID does
    const digest = digestFromImageId(s?.imageID) ?? digestFromImageId(c.image);
    if (digest) w.digest = digest;
    out.push(w);
  }
  return out;
}

export interface KubeInventoryOptions {
  /** a loaded configuration (tests); else kubeconfig or in-cluster */
  kubeConfig?: KubeConfig;
  /** a kubeconfig file; default: $KUBECONFIG or ~/.kube/config when inCluster is not set */
  kubeconfig?: string;
  /** the pod's service account (KUBERNETES_SERVICE_HOST, /var/run/secrets/kubernetes.io/serviceaccount) */
  inCluster?: boolean;
  /** page size of the list (default 500) */
  pageSize?: number;
  /** the API server ends each watch after this many seconds; it is then resumed (default 300) */
  watchTimeoutSeconds?: number;
  /** delay before retrying after an error, doubled up to 60 s (default 1000 ms) */
  retryDelayMs?: number;
  /** called after the set of workloads changed */
  onChange?: () => void;
  /** errors that do not stop the inventory (it retries) */
  onError?: (e: unknown) => void;
}

export interface KubeInventoryStats {
  lists: number;
  watches: number;
  events: number;
  /** 410 Gone answers (each followed by a relist) */
  gone: number;
}

/** Loads the credentials: the given file, in-cluster, or the default kubeconfig. */
export function loadKubeConfig(opts: Pick<KubeInventoryOptions, 'kubeconfig' | 'inCluster'>): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (opts.inCluster) kc.loadFromCluster();
    else if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch (cause) {
    throw new DrydockError('CONFIG_INVALID', `kubernetes credentials ${opts.inCluster ? '(in-cluster)' : opts.kubeconfig ?? '(default kubeconfig)'} cannot be loaded`, { cause });
  }
  if (!kc.getCurrentCluster()) throw new DrydockError('CONFIG_INVALID', `kubeconfig ${opts.kubeconfig ?? '(default)'} has no current cluster`);
  return kc;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

function statusCode(e: unknown): number | undefined {
  const x = e as { code?: unknown; statusCode?: unknown } | null;
  if (typeof x?.statusCode === 'number') return x.statusCode;
  if (typeof x?.code === 'number') return x.code;
  return undefined;
}

/** The cluster's pods, kept current by list + watch. */
export class KubeInventory {
  readonly kubeConfig: KubeConfig;
  readonly stats: KubeInventoryStats = { lists: 0, watches: 0, events: 0, gone: 0 };
  /** bumped on every change of the workload set */
  version = 0;
  readonly #opts: KubeInventoryOptions;
  readonly #api: CoreV1Api;
  readonly #watch: Watch;
  readonly #abort = new AbortController();
  /** pod uid (or namespace/name) → its workloads, serialised for change detection */
  readonly #pods = new Map<string, { workloads: WorkloadInput[]; json: string }>();
  #resourceVersion: string | undefined;
  #watchController: AbortController | undefined;
  #loop: Promise<void> | undefined;

  constructor(opts: KubeInventoryOptions = {}) {
    this.#opts = opts;
    this.kubeConfig = opts.kubeConfig ?? loadKubeConfig(opts);
    this.#api = this.kubeConfig.makeApiClient(CoreV1Api);
    this.#watch = new Watch(this.kubeConfig);
  }

  /** The cluster's name in the kubeconfig (a default report source). */
  get clusterName(): string {
    return this.kubeConfig.getCurrentCluster()?.name ?? 'cluster';
  }

  /** Lists once (errors thrown), then watches in the background until stop(). */
  async start(): Promise<void> {
    await this.#list();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#watchController?.abort();
    await this.#loop;
  }

  /** Current workloads, sorted by namespace, name, container. */
  workloads(): WorkloadInput[] {
    const all = [...this.#pods.values()].flatMap((p) => p.workloads);
    const key = (w: WorkloadInput) => `${w.namespace}\u0000${w.name}\u0000${w.container}`;
    return all.sort((a, b) => byString(key(a), key(b)));
  }

  #changed(): void {
    this.version++;
    this.#opts.onChange?.();
  }

  #key(pod: PodLike): string | undefined {
    const m = pod.metadata;
    return m?.uid ?? (m?.name ? `${m.namespace ?? ''}/${m.name}` : undefined);
  }

  /** Applies a pod's state; true when the workload set changed. */
  #apply(pod: PodLike, deleted: boolean): boolean {
    const k = this.#key(pod);
    if (!k) return false;
    const workloads = deleted ? [] : podWorkloads(pod);
    const prev = this.#pods.get(k);
    if (workloads.length === 0) return prev ? this.#pods.delete(k) : false;
    const json = JSON.stringify(workloads);
    if (prev?.json === json) return false;
    this.#pods.set(k, { workloads, json });
    return true;
  }

  async #list(): Promise<void> {
    const fresh = new Map<string, { workloads: WorkloadInput[]; json: string }>();
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await this.#api.listPodForAllNamespaces({ limit: this.#opts.pageSize ?? 500, ...(cont ? { _continue: cont } : {}) });
      for (const pod of page.items) {
        const k = this.#key(pod);
        const workloads = podWorkloads(pod);
        if (k && workloads.length) fresh.set(k, { workloads, json: JSON.stringify(workloads) });
      }
      rv = page.metadata?.resourceVersion ?? rv;
      cont = page.metadata?._continue || undefined;
    } while (cont);
    this.stats.lists++;
    this.#resourceVersion = rv;
    const before = JSON.stringify([...this.#pods.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.json]));
    const after = JSON.stringify([...fresh.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.json]));
    this.#pods.clear();
    for (const [k, v] of fresh) this.#pods.set(k, v);
    if (before !== after) this.#changed();
  }

  /** One watch from the current resourceVersion; resolves when it ends: 'gone' (410), 'closed', or an error. */
  #watchOnce(): Promise<'gone' | 'closed' | { error: unknown }> {
    return new Promise((resolveOnce) => {
      let outcome: 'gone' | 'closed' | { error: unknown } = 'closed';
      // stop() ends the wait at once: an aborted stream does not always report its end
      const onStop = () => resolve('closed');
      const resolve = (r: 'gone' | 'closed' | { error: unknown }) => {
        this.#abort.signal.removeEventListener('abort', onStop);
        resolveOnce(r);
      };
      this.#abort.signal.addEventListener('abort', onStop, { once: true });
      const query: Record<string, string | number | boolean> = { allowWatchBookmarks: true, timeoutSeconds: this.#opts.watchTimeoutSeconds ?? 300 };
      if (this.#resourceVersion) query.resourceVersion = this.#resourceVersion;
      this.stats.watches++;
      this.#watch.watch('/api/v1/pods', query, (type: string, obj: unknown) => {
        this.stats.events++;
        if (type === 'ERROR') {
          const code = (obj as { code?: number } | null)?.code;
          outcome = code === 410 ? 'gone' : { error: new Error(`watch of pods failed: ${JSON.stringify(obj).slice(0, 300)}`) };
          this.#watchController?.abort();
          return;
        }
        const pod = obj as PodLike;
        const rv = pod?.metadata?.resourceVersion;
        if (type === 'BOOKMARK') {
          if (rv) this.#resourceVersion = rv;
          return;
        }
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
        if (this.#apply(pod, type === 'DELETED')) this.#changed();
        if (rv) this.#resourceVersion = rv;
      }, (err: unknown) => {
        if (err && !(err instanceof Error && err.name === 'AbortError') && outcome === 'closed') {
          outcome = statusCode(err) === 410 ? 'gone' : { error: err };
        }
        resolve(outcome);
      }).then((c) => {
        this.#watchController = c;
        if (this.#abort.signal.aborted) c.abort();
      }, (error: unknown) => resolve({ error }));
    });
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let delay = this.#opts.retryDelayMs ?? 1000;
    let relist = false;
    while (!signal.aborted) {
      try {
        if (relist) {
          await this.#list();
          relist = false;
        }
        const started = Date.now();
        const r = await this.#watchOnce();
        if (signal.aborted) break;
        if (r === 'gone') {
          this.stats.gone++;
          relist = true;
          continue;
        }
        if (r === 'closed') {
          // a watch the server ends at once (a proxy, an overloaded server) must not become a busy loop
          if (Date.now() - started < 1000) await sleep(this.#opts.retryDelayMs ?? 1000, signal);
          delay = this.#opts.retryDelayMs ?? 1000;
          continue;
        }
        throw r.error;
      } catch (e) {
        if (signal.aborted) break;
        if (statusCode(e) === 410) {
          this.stats.gone++;
          relist = true;
          continue;
        }
        this.#opts.onError?.(e);
        await sleep(delay, signal);
        delay = Math.min(delay * 2, 60_000);
      }
    }
  }
}
