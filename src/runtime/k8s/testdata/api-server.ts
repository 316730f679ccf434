/**
 * A stand-in Kubernetes API server for tests: answers GET /api/v1/pods (list, paged with limit and
 * continue) and GET /api/v1/pods?watch=true (a stream of newline-delimited watch events) from a script
 * of recorded responses. It checks the bearer token like the real one.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Pod, PodList } from 'kubernetes-types/core/v1.js';
import type { Status, WatchEvent } from 'kubernetes-types/meta/v1.js';

export type PodEvent = { type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK'; object: Pod } | { type: 'ERROR'; object: Status };

export interface WatchScript {
  /** events written at once */
  events?: PodEvent[];
  /** answer with this HTTP status and a Status body instead of a stream */
  status?: number;
  /** keep the stream open after the events (push() writes more) */
  hold?: boolean;
}

export interface FakeKubeApi {
  url: string;
  token: string;
  /** query strings of list requests, in order */
  lists: URLSearchParams[];
  /** query strings of watch requests, in order */
  watches: URLSearchParams[];
  /** the list answer (the nth list, 0-based, continuations not counted); paged by the server */
  list: (n: number) => PodList;
  /** the watch answer (the nth watch, 0-based) */
  watch: (n: number, resourceVersion: string | null) => WatchScript;
  /** writes an event to the open held watches */
  push(e: PodEvent): void;
  /** writes a kubeconfig for this server into dir; returns its path */
  writeKubeconfig(dir: string, token?: string): string;
  close(): Promise<void>;
}

export async function startFakeKubeApi(token = 'test-token'): Promise<FakeKubeApi> {
  const held = new Set<ServerResponse>();
  let listCount = 0;
  let snapshot: PodList | undefined;
  const api: FakeKubeApi = {
    url: '', token, lists: [], watches: [],
    list: () => ({ apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: '1' }, items: [] }),
    watch: () => ({ hold: true }),
    push(e) {
      const line = `${JSON.stringify(e satisfies WatchEvent | PodEvent)}\n`;
      for (const r of held) r.write(line);
    },
    writeKubeconfig(dir, user = token) {
      const path = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(path, [
        'apiVersion: v1', 'kind: Config', 'current-context: test',
        'clusters:', '- name: test-cluster', '  cluster:', `    server: ${api.url}`,
        // client-node refuses plain http unless told so; the real thing is https with the cluster's CA
        '    insecure-skip-tls-verify: true',
        'contexts:', '- name: test', '  context:', '    cluster: test-cluster', '    user: agent',
        'users:', '- name: agent', '  user:', `    token: ${user}`, '',
      ].join('\n'));
      return path;
    },
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.headers.authorization !== `Bearer ${token}`) return json(401, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 });
    if (req.method !== 'GET' || u.pathname !== '/api/v1/pods') return json(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
    if (u.searchParams.get('watch') === 'true') {
      const n = api.watches.push(u.searchParams) - 1;
      const s = api.watch(n, u.searchParams.get('resourceVersion'));
      if (s.status) return json(s.status, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: s.status, reason: s.status === 410 ? 'Expired' : 'InternalError', message: 'scripted' });
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      for (const e of s.events ?? []) res.write(`${JSON.stringify(e)}\n`);
      if (s.hold) {
        held.add(res);
        res.on('close', () => held.delete(res));
      } else res.end();
      return;
    }
    api.lists.push(u.searchParams);
    // a continued list reads the snapshot of its first page, as the real server does
    if (!u.searchParams.get('continue')) snapshot = api.list(listCount++);
    const all = snapshot!;
    const limit = Number(u.searchParams.get('limit') ?? '0') || all.items.length;
    const from = Number(u.searchParams.get('continue') ?? '0');
    const items = all.items.slice(from, from + limit);
    const more = from + limit < all.items.length;
    json(200, { ...all, metadata: { ...all.metadata, ...(more ? { continue: String(from + limit) } : {}) }, items });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = () => new Promise((resolve) => { for (const r of held) r.end(); server.closeAllConnections(); server.close(() => resolve()); });
  return api;
}

/**
 * The agent benchmarks' watch churn: every `everyMs` a status-only MODIFIED of the next pod, every fifth
 * time that pod replaced instead (DELETED, then ADDED under another name: a real change of the set).
 * `pods` is updated in place. Returns the function that stops it.
 */
export function churnPods(api: Pick<FakeKubeApi, 'push'>, pods: Pod[], everyMs = 2000): () => void {
  let rv = 40000;
  let i = 0;
  const timer = setInterval(() => {
    i++;
    const n = pods.length;
    const p = pods[i % n]!;
    const next = { ...p, metadata: { ...p.metadata, resourceVersion: String(++rv) } };
    if (i % 5 === 0) {
      api.push({ type: 'DELETED', object: next });
      const added = { ...next, metadata: { ...next.metadata, name: `${p.metadata!.name}-r${i}`, uid: `${p.metadata!.uid}-r${i}`, resourceVersion: String(++rv) } };
      pods[i % n] = added;
      api.push({ type: 'ADDED', object: added });
    } else {
      api.push({ type: 'MODIFIED', object: next });
    }
  }, everyMs);
  return () => clearInterval(timer);
}
