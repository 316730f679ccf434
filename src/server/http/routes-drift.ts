/**
 * Drift of running containers: agents report each container's drift findings (POST /api/v1/drift,
 * write scope), which replace the open findings the server holds for that (source, container); new
 * findings at or above medium enqueue "drift.new" notification events. GET /api/v1/drift lists them.
 */
import type { FastifyInstance } from 'fastify';
import type { DriftContainerInput, DriftFilter, DriftFindingInput, DriftFindingRecord, DriftState } from '../../store/index.js';
import { DRIFT_SEVERITY_LEVELS } from '../../store/index.js';
import { ctxOf, taggedRoute, type ServerDeps } from './deps.js';
import * as S from './schemas.js';

/** Largest drift report one request may carry. */
export const MAX_REPORT_DRIFT_FINDINGS = 20_000;

const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max }) as const;

const driftFindingSchema = {
  type: 'object',
  required: ['kind', 'severity', 'subject', 'message'],
  additionalProperties: false,
  properties: {
    kind: { ...text(64), description: 'new-executable, modified-package-binary, package-db-tampered, package-installed-at-runtime, ...' },
    severity: { type: 'string', enum: [...DRIFT_SEVERITY_LEVELS] },
    subject: { ...text(4096), description: 'the path or the package (type/name) the finding is about' },
    message: text(4096),
    path: text(4096),
    package: {
      type: 'object', required: ['type', 'name'], additionalProperties: false,
      properties: { type: text(64), name: text(1024), version: text(1024), imageVersion: text(1024) },
    },
  },
} as const;

export const driftBody = {
  type: 'object',
  required: ['source', 'container', 'findings'],
  additionalProperties: false,
  properties: {
    source: { ...text(253), description: 'the reporting agent (host/<hostname>)' },
    container: {
      type: 'object', required: ['name', 'image'], additionalProperties: false,
      properties: { name: text(253), id: text(253), image: text(1024), digest: S.digestSchema },
    },
    findings: { type: 'array', maxItems: MAX_REPORT_DRIFT_FINDINGS, items: driftFindingSchema },
  },
} as const;

export const driftQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    digest: S.digestSchema,
    container: text(253),
    source: text(253),
    state: { type: 'string', enum: ['open', 'resolved', 'all'], default: 'open' },
    ...S.pageQuery,
  },
} as const;

const brief = (f: DriftFindingRecord) => ({ kind: f.kind, severity: f.severity, subject: f.subject });

export function registerDriftRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { store } = deps;
  const R = taggedRoute('drift');

  app.post<{ Body: { source: string; container: DriftContainerInput; findings: DriftFindingInput[] } }>('/api/v1/drift', {
    schema: { body: driftBody },
    config: R('write', 'replace the drift findings of one running container of a source: findings absent from the report are resolved', {
      '200': '{source, container, new, resolved, unchanged, eventIds}', '400': 'invalid report',
    }),
  }, async (req) => {
    const { source, container, findings } = req.body;
    const r = await store.putDriftFindings(ctxOf(req), source, container, findings);
    return { source, container: container.name, new: r.new.map(brief), resolved: r.resolved.map(brief), unchanged: r.unchanged, eventIds: r.eventIds };
  });

  app.get<{ Querystring: { digest?: string; container?: string; source?: string; state?: 'open' | 'resolved' | 'all'; after?: string; limit?: number } }>('/api/v1/drift', {
    schema: { querystring: driftQuery },
    config: R('read', 'the team\'s drift findings (keyset paging by source, container, kind, subject)', { '200': '{items, next}' }),
  }, async (req) => {
    const q = req.query;
    const states: DriftState[] = q.state === 'all' ? ['open', 'resolved'] : [q.state ?? 'open'];
    const f: DriftFilter = { limit: q.limit ?? 100, states };
    if (q.digest) f.digest = q.digest;
    if (q.container) f.container = q.container;
    if (q.source) f.source = q.source;
    if (q.after) f.after = q.after;
    const p = await store.listDriftFindings(ctxOf(req), f);
    return p.next ? { items: p.items, next: p.next } : { items: p.items };
  });
}
