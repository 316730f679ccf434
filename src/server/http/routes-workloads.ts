/**
 * Workloads: what runs which image. Agents report each source's set (POST /api/v1/workloads, write
 * scope); GET /api/v1/workloads lists them; GET /api/v1/images/{digest}/workloads, and the
 * `workloads` field this module adds to GET /api/v1/images/{digest}, name the team's workloads
 * running a stored image.
 */
import type { FastifyInstance } from 'fastify';
import type { TeamContext, WorkloadFilter, WorkloadInput, WorkloadRecord } from '../../store/index.js';
import { ctxOf, taggedRoute, type ServerDeps } from './deps.js';
import * as S from './schemas.js';

/** Largest report one request may carry. */
export const MAX_REPORT_WORKLOADS = 20_000;

const text = (max: number) => ({ type: 'string', maxLength: max }) as const;
const k8sName = { type: 'string', minLength: 1, maxLength: 253 } as const;

const workloadSchema = {
  type: 'object',
  required: ['kind', 'name', 'container', 'image'],
  additionalProperties: false,
  properties: {
    kind: { type: 'string', enum: ['pod', 'container'], description: 'a Kubernetes pod\'s container, or a host runtime\'s container' },
    namespace: text(253),
    name: k8sName,
    owner: { type: 'object', required: ['kind', 'name'], additionalProperties: false, properties: { kind: k8sName, name: k8sName }, description: 'the controller: Deployment, DaemonSet, StatefulSet, Job, ...' },
    labels: { type: 'object', additionalProperties: { type: 'string', maxLength: 4096 }, maxProperties: 256, description: 'owners come from the labels drydock.owner, owner and team' },
    node: text(253),
    container: k8sName,
    image: { type: 'string', minLength: 1, maxLength: 1024 },
    digest: S.digestSchema,
  },
} as const;

export const workloadsBody = {
  type: 'object',
  required: ['source', 'workloads'],
  additionalProperties: false,
  properties: {
    source: { type: 'string', minLength: 1, maxLength: 253, description: 'the reporting agent or cluster; its previous set is replaced' },
    workloads: { type: 'array', maxItems: MAX_REPORT_WORKLOADS, items: workloadSchema },
  },
} as const;

export const workloadsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { digest: S.digestSchema, source: { type: 'string', minLength: 1, maxLength: 253 }, namespace: text(253), ...S.pageQuery },
} as const;

/** A workload as the API shows it (the team is the caller's). */
function view(w: WorkloadRecord): Omit<WorkloadRecord, 'teamId'> {
  const { teamId: _team, ...rest } = w;
  return rest;
}

/** Every workload of the team running a digest (all pages). */
export async function workloadsOfDigest(deps: Pick<ServerDeps, 'store'>, ctx: TeamContext, digest: string): Promise<WorkloadRecord[]> {
  const out: WorkloadRecord[] = [];
  let after: string | undefined;
  do {
    const p = await deps.store.listWorkloads(ctx, { digest, limit: 1000, ...(after ? { after } : {}) });
    out.push(...p.items);
    after = p.next;
  } while (after);
  return out;
}

export function registerWorkloadRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { store } = deps;
  const R = taggedRoute('workloads');

  app.post<{ Body: { source: string; workloads: WorkloadInput[] } }>('/api/v1/workloads', {
    schema: { body: workloadsBody },
    config: R('write', 'replace the workloads one source (agent, cluster) reports: its previous set is replaced; host containers no longer listed have their open drift findings resolved', { '200': '{source, added, changed, removed, unchanged, driftResolved?}', '400': 'invalid report' }),
  }, async (req) => {
    const r = await store.putWorkloads(ctxOf(req), req.body.source, req.body.workloads);
    return { source: req.body.source, ...r };
  });

  app.get<{ Querystring: { digest?: string; source?: string; namespace?: string; after?: string; limit?: number } }>('/api/v1/workloads', {
    schema: { querystring: workloadsQuery },
    config: R('read', 'the team\'s workloads (keyset paging by source, kind, namespace, name, container)', { '200': '{items, next}' }),
  }, async (req) => {
    const q = req.query;
    const f: WorkloadFilter = { limit: q.limit ?? 100 };
    if (q.digest) f.digest = q.digest;
    if (q.source) f.source = q.source;
    if (q.namespace !== undefined) f.namespace = q.namespace;
    if (q.after) f.after = q.after;
    const p = await store.listWorkloads(ctxOf(req), f);
    return p.next ? { items: p.items.map(view), next: p.next } : { items: p.items.map(view) };
  });

  app.get<{ Params: { digest: string } }>('/api/v1/images/:digest/workloads', {
    schema: { params: S.digestParams },
    config: R('read', 'the team\'s workloads running an image now', { '200': '{digest, items}' }),
  }, async (req) => ({ digest: req.params.digest, items: (await workloadsOfDigest(deps, ctxOf(req), req.params.digest)).map(view) }));

  // GET /api/v1/images/{digest} names the workloads running the image too
  app.addHook('preSerialization', async (req, reply, payload) => {
    if (req.method !== 'GET' || req.routeOptions.url !== '/api/v1/images/:digest' || reply.statusCode !== 200 || !req.auth) return payload;
    const body = payload as { digest?: unknown; workloads?: unknown } | null;
    if (!body || typeof body !== 'object' || typeof body.digest !== 'string' || 'workloads' in body) return payload;
    return { ...body, workloads: (await workloadsOfDigest(deps, req.auth.ctx, body.digest)).map(view) };
  });
}
