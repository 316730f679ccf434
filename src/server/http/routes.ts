/** The /api/v1 routes: ingest (scans, SBOM uploads, Dependency-Track), images and findings, triage, configuration, jobs. */
import { createHash } from 'node:crypto';
import { isAbsolute, relative, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DrydockError } from '../../core/errors.js';
import { IssueLog } from '../../core/issues.js';
import { parseReference } from '../../image/reference.js';
import { parseTarget } from '../../image/target.js';
import type { Inventory } from '../../model/package.js';
import type { Finding, ScanResult, VulnDbInfo } from '../../model/vuln.js';
import { cycloneDxJustification } from '../../report/scan-common.js';
import { scanCycloneDxDocument } from '../../report/scan-cyclonedx.js';
import { scanOpenVexDocument } from '../../report/scan-openvex.js';
import { decodeSbom } from '../../sbom/decode/index.js';
import { sbomImage, type SbomOptions } from '../../scan/sbom.js';
import { evaluateInventory } from '../../scan/scan.js';
import type { Collection, FindingState, ImageRecord, Job, RegistrySpec, RuleSpec, Store, StoredFinding, TeamContext, TriageRecord, TriageState, VexJustification } from '../../store/index.js';
import type { FindingJsonLister } from '../../store/sql-store.js';
import type { VulnDb } from '../../vulndb/index.js';
import { ctxOf, type ServerDeps } from './deps.js';
import { ApiError, notFound } from './errors.js';
import { reevaluationLookupKeys } from '../reevaluate.js';
import * as S from './schemas.js';

type Json = Record<string, unknown>;

/** The queue of asynchronous scans (POST /api/v1/scans?async=true); the worker runs them. */
export const SCAN_QUEUE = 'scan';

/** What ingest needs: the store, the current vulnerability database and the clock. */
export interface IngestDeps {
  store: Store;
  db: { get(): { db: VulnDb; info: VulnDbInfo } };
  now: () => Date;
}

export interface ScanDeps extends IngestDeps {
  sbomOptions: SbomOptions;
}

/** The body of POST /api/v1/scans (and the payload of a scan job). */
export interface ScanRequest {
  target: string;
  repository?: string;
  tags?: string[];
  labels?: Record<string, string>;
}

export interface IngestImage {
  repository: string;
  digest: string;
  tags?: string[];
  labels?: Record<string, string>;
}

export interface IngestResult {
  image: ImageRecord;
  packages: number;
  findings: number;
  evaluation: { id: number; dbIdentity: string; at: string; counts: { new: number; changed: number; resolved: number; unchanged: number } };
}

/**
 * Evaluates first (a missing database stores nothing), then records the image, its inventory and the
 * findings. Each store call is its own transaction; a failure in between leaves an image without
 * findings that the next evaluation completes.
 */
export async function ingest(deps: IngestDeps, ctx: TeamContext, image: IngestImage, inventory: Inventory): Promise<IngestResult> {
  const inv: Inventory = { ...inventory, source: { ...inventory.source, digest: image.digest } };
  // precise detection, no suppressions: triage is the server's
  const { db, info } = deps.db.get();
  const ev = { findings: evaluateInventory(inv, db, { issues: new IssueLog(), now: deps.now() }), dbIdentity: info.digest };
  const rec = await deps.store.recordImage(ctx, {
    repository: image.repository,
    digest: image.digest,
    ...(image.tags?.length ? { tags: image.tags } : {}),
    ...(image.labels ? { labels: image.labels } : {}),
  });
  const { packages } = await deps.store.putInventory(ctx, image.digest, inv, { lookupKeys: reevaluationLookupKeys });
  const diff = await deps.store.applyEvaluation(ctx, image.digest, ev.findings, ev.dbIdentity);
  return {
    image: rec,
    packages,
    findings: ev.findings.length,
    evaluation: {
      id: diff.evaluationId,
      dbIdentity: diff.dbIdentity,
      at: diff.at,
      counts: { new: diff.new.length, changed: diff.changed.length, resolved: diff.resolved.length, unchanged: diff.unchanged },
    },
  };
}

/**
 * The target of a scan request, with the repository and tags a registry reference implies. Path targets
 * must lie under one of `scanRoots` (when given); other kinds are refused (USAGE, a 400).
 */
export function checkScanTarget(req: ScanRequest, scanRoots?: readonly string[]): { target: ReturnType<typeof parseTarget>; repository?: string; tags: string[] } {
  const t = parseTarget(req.target);
  let repository = req.repository;
  const tags = [...(req.tags ?? [])];
  if (t.kind === 'registry') {
    const ref = parseReference(t.ref ?? t.input);
    repository ??= `${ref.registry}/${ref.repository}`;
    if (ref.tag && !tags.includes(ref.tag)) tags.push(ref.tag);
  } else if (t.kind === 'oci-dir' || t.kind === 'oci-archive' || t.kind === 'docker-archive') {
    if (!t.path || (scanRoots && !scanRoots.some((r) => inside(r, t.path!)))) {
      throw new ApiError('USAGE', `path target ${req.target} is outside the directories this server may read`, 400);
    }
  } else {
    throw new ApiError('USAGE', `target kind ${t.kind} cannot be scanned by the server (use a registry reference, oci-dir:, oci-archive: or docker-archive:)`, 400);
  }
  return { target: t, tags, ...(repository ? { repository } : {}) };
}

/** Scans a target (pulling a registry image) and ingests it: the synchronous POST /scans and the worker's scan jobs. */
export async function scanAndIngest(deps: ScanDeps, ctx: TeamContext, req: ScanRequest, scanRoots?: readonly string[]): Promise<IngestResult> {
  const { target: t, tags, repository: named } = checkScanTarget(req, scanRoots);
  deps.db.get(); // no database: 503 before the image is pulled
  const inv = await sbomImage(t, { ...deps.sbomOptions, issues: new IssueLog() });
  const digest = inv.source.digest;
  if (!digest) throw new ApiError('USAGE', `target ${req.target} has no manifest digest`, 422);
  const repository = named ?? repositoryOf(inv.source.name) ?? inv.source.name;
  return ingest(deps, ctx, { repository, digest, tags, ...(req.labels ? { labels: req.labels } : {}) }, inv);
}

/** Decodes an uploaded SBOM; anything but a readable CycloneDX / SPDX JSON document is SBOM_INVALID (422). */
function decodeUpload(doc: unknown, what: string): Inventory {
  try {
    return decodeSbom(doc, { path: what });
  } catch (e) {
    if (e instanceof DrydockError) throw e;
    throw new DrydockError('SBOM_INVALID', `invalid sbom ${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** The repository of an SBOM's subject: its reference without tag or digest, when it parses as one. */
function repositoryOf(name: string | undefined): string | undefined {
  if (!name) return undefined;
  try {
    const r = parseReference(name);
    return `${r.registry}/${r.repository}`;
  } catch {
    return undefined;
  }
}

function inside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

const WRAPPER_KEYS = new Set(Object.keys(S.sbomWrapper.properties));

function page<T>(items: T[], next: string | undefined): { items: T[]; next?: string } {
  return next ? { items, next } : { items };
}

const TRIAGE_TO_VEX: Record<TriageState, string> = { affected: 'affected', not_affected: 'not_affected', false_positive: 'false_positive', accepted: 'affected' };

/** ?format= of the VEX export */
const vexQuery = { type: 'object', additionalProperties: false, properties: { format: { type: 'string', enum: ['openvex', 'cyclonedx'], default: 'openvex', description: 'openvex (v0.2.0) or cyclonedx (1.6 BOM with vulnerabilities and analysis)' } } } as const;
/** ?async= of POST /scans */
const scanQuery = { type: 'object', additionalProperties: false, properties: { async: { type: 'boolean', description: 'queue the scan and answer 202 with a job (default: the server setting, else false)' } } } as const;

/**
 * A triage record as a CycloneDX analysis (CycloneDX 1.6 "vulnerability.analysis"): affected is
 * exploitable, accepted is exploitable that will not be fixed before its date, false positives keep
 * their own state.
 */
function cycloneDxAnalysis(t: TriageRecord): Json {
  const a: Json = {};
  switch (t.state) {
    case 'affected': a.state = 'exploitable'; break;
    case 'false_positive': a.state = 'false_positive'; break;
    case 'not_affected': {
      a.state = 'not_affected';
      const j = cycloneDxJustification(t.justification);
      if (j) a.justification = j;
      break;
    }
    case 'accepted': a.state = 'exploitable'; a.response = ['will_not_fix']; break;
  }
  a.detail = [`${triageRule(t)}`, t.justification && !a.justification ? `justification: ${t.justification}` : '', t.reason ?? ''].filter(Boolean).join('; ');
  a.lastUpdated = t.updatedAt;
  return a;
}

/** A job as the API shows it (no lease). */
function jobView(j: Job): Json {
  const p = j.payload as Json;
  const request: Json = {};
  for (const k of ['target', 'repository', 'tags', 'labels']) if (p[k] !== undefined) request[k] = p[k];
  return {
    id: j.id, queue: j.queue, state: j.state, attempts: j.attempts, maxAttempts: j.maxAttempts, runAt: j.runAt,
    ...(j.lastError ? { lastError: j.lastError } : {}),
    request,
  };
}

function triageRule(t: TriageRecord): string {
  return `${t.state}${t.until ? ` until ${t.until}` : ''} by ${t.updatedBy} at ${t.updatedAt}`;
}

export function registerRoutes(app: FastifyInstance, deps: ServerDeps): void {
  const { store } = deps;
  const R = (scope: 'read' | 'write' | 'admin', summary: string, tags: string[], responses: Record<string, string>, extra: Json = {}) =>
    ({ scope, openapi: { summary, tags, responses }, ...extra }) as const;

  async function imagesOf(ctx: TeamContext, digest: string): Promise<ImageRecord[]> {
    const images = await store.imagesByDigest(ctx, digest);
    if (images.length === 0) throw notFound(`image ${digest}`);
    return images;
  }

  // ------------------------------------------------------------ ingest

  // a server setting may make every scan asynchronous; ?async=true|false decides per request
  const asyncByDefault = (deps as ServerDeps & { asyncScans?: boolean }).asyncScans === true;

  app.post<{ Body: ScanRequest; Querystring: { async?: boolean } }>('/api/v1/scans', {
    schema: { body: S.scanBody, querystring: scanQuery },
    config: R('write', 'scan a target and store its image, inventory and findings: synchronous (201), or with ?async=true a queued job (202, GET /api/v1/jobs/{id})', ['ingest'], { '201': 'scanned and stored', '202': 'queued: {job}; Location names the job', '404': 'the image does not exist', '422': 'the image cannot be read', '503': 'no vulnerability database' }),
  }, async (req, reply) => {
    const ctx = ctxOf(req);
    if (req.query.async ?? asyncByDefault) {
      // refuse what would fail anyway before queueing: bad targets (400), no database (503)
      checkScanTarget(req.body, deps.scanRoots);
      deps.db.get();
      const b = req.body;
      const request: ScanRequest = { target: b.target, ...(b.repository ? { repository: b.repository } : {}), ...(b.tags?.length ? { tags: [...b.tags] } : {}), ...(b.labels ? { labels: b.labels } : {}) };
      // the same request while one is queued or running is that job
      const key = createHash('sha256').update(JSON.stringify([ctx.teamId, request.target, request.repository ?? '', request.tags ?? [], Object.entries(request.labels ?? {}).sort()])).digest('hex');
      const { id } = await store.enqueueJob({ queue: SCAN_QUEUE, teamId: ctx.teamId, dedupeKey: key, maxAttempts: 3, payload: { ...request, actor: ctx.actor } });
      const job = await store.getJob(id);
      if (!job) throw new DrydockError('INTERNAL', `scan job ${id} vanished after it was queued`);
      return reply.code(202).header('location', `/api/v1/jobs/${id}`).send({ job: jobView(job) });
    }
    return reply.code(201).send(await scanAndIngest(deps, ctx, req.body, deps.scanRoots));
  });

  app.get<{ Params: { id: string } }>('/api/v1/jobs/:id', {
    schema: { params: S.idParams },
    config: R('read', 'the state of a queued job of the team (asynchronous scans); a finished scan names its image and evaluation', ['ingest'], { '200': '{job}', '404': 'unknown job, or a job of another team' }),
  }, async (req) => {
    const ctx = ctxOf(req);
    const job = await store.getJob(req.params.id);
    if (!job || job.teamId !== ctx.teamId) throw notFound(`job ${req.params.id}`);
    const view = jobView(job);
    if (job.state === 'done' && job.queue === SCAN_QUEUE) {
      const result = await scanJobResult(ctx, job.id);
      if (result) view.result = result;
    }
    return { job: view };
  });

  /**
   * What a finished scan job stored, from the audit log: the worker acts as "<token>/job:<id>". The store
   * keeps no job results; entries older than the last 5,000 of the team are not searched.
   */
  async function scanJobResult(ctx: TeamContext, jobId: string): Promise<Json | undefined> {
    const actor = `/job:${jobId}`;
    const out: Json = {};
    let after: string | undefined;
    for (let pages = 0; pages < 5; pages++) {
      const p = await store.listAudit(ctx, { limit: 1000, ...(after ? { after } : {}) });
      for (const e of p.items) {
        if (!e.actor.endsWith(actor)) continue;
        if (e.action === 'image.record' && !out.image) {
          const at = e.object.lastIndexOf('@sha');
          out.image = { repository: e.object.slice(0, at), digest: e.object.slice(at + 1) };
        } else if (e.action === 'findings.evaluate' && !out.evaluation && e.details) {
          const d = e.details as Record<string, unknown>;
          out.evaluation = { id: d.evaluationId, dbIdentity: d.dbIdentity, at: e.at, counts: { new: d.new, changed: d.changed, resolved: d.resolved, unchanged: d.unchanged } };
        }
      }
      if ((out.image && out.evaluation) || !p.next) break;
      after = p.next;
    }
    return out.image ? out : undefined;
  }

  app.post<{ Body: Json; Querystring: { repository?: string; digest?: string; tag?: string } }>('/api/v1/sboms', {
    schema: { body: S.sbomBody, querystring: S.sbomQuery },
    config: R('write', 'upload a CycloneDX or SPDX JSON SBOM of an image; store its inventory and findings', ['ingest'], { '201': 'stored and evaluated', '422': 'the SBOM is malformed', '503': 'no vulnerability database' }),
  }, async (req, reply) => {
    const ctx = ctxOf(req);
    const body = req.body;
    let doc: unknown = body;
    const fields: { repository?: string; digest?: string; tags?: string[]; labels?: Record<string, string> } = {};
    if ('sbom' in body) {
      // the wrapper form: {repository, digest, tags, labels, sbom}; validated here because the bare form is open
      const unknown = Object.keys(body).filter((k) => !WRAPPER_KEYS.has(k));
      if (unknown.length) throw new ApiError('REQUEST_INVALID', `unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')} in the upload`);
      const w = body as typeof fields & { sbom: unknown };
      if (w.repository !== undefined && (typeof w.repository !== 'string' || w.repository === '' || w.repository.length > 512)) throw new ApiError('REQUEST_INVALID', 'repository must be a non-empty string');
      if (w.digest !== undefined && (typeof w.digest !== 'string' || !DIGEST.test(w.digest))) throw new ApiError('REQUEST_INVALID', 'digest must be sha256:<64 hex> or sha512:<128 hex>');
      if (w.tags !== undefined && (!Array.isArray(w.tags) || !w.tags.every((x) => typeof x === 'string' && /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(x)))) throw new ApiError('REQUEST_INVALID', 'tags must be a list of tags');
      if (w.labels !== undefined && (typeof w.labels !== 'object' || w.labels === null || Array.isArray(w.labels) || !Object.values(w.labels).every((v) => typeof v === 'string'))) throw new ApiError('REQUEST_INVALID', 'labels must map names to strings');
      Object.assign(fields, { ...(w.repository ? { repository: w.repository } : {}), ...(w.digest ? { digest: w.digest } : {}), ...(w.tags ? { tags: w.tags } : {}), ...(w.labels ? { labels: w.labels } : {}) });
      doc = w.sbom;
    }
    if (req.query.repository) fields.repository = req.query.repository;
    if (req.query.digest) fields.digest = req.query.digest;
    if (req.query.tag) fields.tags = [...new Set([...(fields.tags ?? []), req.query.tag])];
    const inv = decodeUpload(doc, 'upload');
    const digest = fields.digest ?? inv.source.digest;
    if (!digest || !DIGEST.test(digest)) throw new ApiError('REQUEST_INVALID', 'the image digest is missing: pass ?digest= (or the digest field), or upload an SBOM that names it');
    const repository = fields.repository ?? repositoryOf(inv.source.name);
    if (!repository) throw new ApiError('REQUEST_INVALID', 'the repository is missing: pass ?repository= (or the repository field)');
    const result = await ingest(deps, ctx, { repository, digest, ...(fields.tags ? { tags: fields.tags } : {}), ...(fields.labels ? { labels: fields.labels } : {}) }, inv);
    return reply.code(201).send(result);
  });

  // Dependency-Track's PUT /api/v1/bom: the project name is the repository; the version a tag or the digest
  app.put<{ Body: { project?: string; projectName?: string; projectVersion?: string; autoCreate?: boolean; bom: string } }>('/api/v1/bom', {
    schema: { body: S.dtrackBomBody },
    config: R('write', 'Dependency-Track compatible BOM upload (X-Api-Key); answers {token}', ['ingest'], { '200': 'processed; {token}', '404': 'the project does not exist and autoCreate is false', '422': 'the BOM is malformed' }, { auth: 'apikey' }),
  }, async (req) => {
    const ctx = ctxOf(req);
    const b = req.body;
    if (!b.projectName) throw new ApiError('REQUEST_INVALID', b.project ? 'projects are addressed by projectName (and projectVersion) on this server, not by uuid' : 'projectName is required');
    const text = Buffer.from(b.bom, 'base64');
    if (text.length === 0 || text.toString('base64').replace(/=+$/, '') !== b.bom.replace(/\s+/g, '').replace(/=+$/, '')) throw new ApiError('REQUEST_INVALID', 'bom is not base64');
    const inv = decodeUpload(text, `bom of project ${b.projectName}`);
    const repository = b.projectName;
    const version = b.projectVersion;
    const digest = version && DIGEST.test(version) ? version : inv.source.digest && DIGEST.test(inv.source.digest) ? inv.source.digest : `sha256:${createHash('sha256').update(text).digest('hex')}`;
    const tags = version && !DIGEST.test(version) && /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(version) ? [version] : [];
    if (b.autoCreate !== true) {
      const existing = await store.listImages(ctx, { repository, limit: 1 });
      if (existing.items.length === 0) throw notFound(`project ${repository}`);
    }
    const result = await ingest(deps, ctx, { repository, digest, tags }, inv);
    // Dependency-Track answers a processing token; processing is already done here
    const token = createHash('sha256').update(`${ctx.teamId}\u0000${result.evaluation.id}`).digest('hex');
    return { token: `${token.slice(0, 8)}-${token.slice(8, 12)}-4${token.slice(13, 16)}-a${token.slice(17, 20)}-${token.slice(20, 32)}` };
  });

  // ------------------------------------------------------------ images and findings

  app.get<{ Querystring: { repository?: string; after?: string; limit?: number } }>('/api/v1/images', {
    schema: { querystring: S.imagesQuery },
    config: R('read', 'list the team\'s images by repository and digest (paged)', ['images'], { '200': '{items, next}' }),
  }, async (req) => {
    const q = req.query;
    const p = await store.listImages(ctxOf(req), { ...(q.repository ? { repository: q.repository } : {}), ...(q.after ? { after: q.after } : {}), limit: q.limit ?? 100 });
    return page(p.items, p.next);
  });

  app.get<{ Params: { digest: string } }>('/api/v1/images/:digest', {
    schema: { params: S.digestParams },
    config: R('read', 'every repository of the team holding a digest', ['images'], { '200': '{digest, images}', '404': 'no image of the team has this digest' }),
  }, async (req) => ({ digest: req.params.digest, images: await imagesOf(ctxOf(req), req.params.digest) }));

  app.get<{ Params: { digest: string }; Querystring: { after?: string; limit?: number; states?: string } }>('/api/v1/images/:digest/findings', {
    schema: { params: S.digestParams, querystring: S.findingsQuery },
    config: R('read', 'findings of an image (keyset paging by vulnerability and package id, 100 per page by default)', ['findings'], { '200': '{items, next}', '404': 'no image of the team has this digest' }),
  }, async (req, reply) => {
    const ctx = ctxOf(req);
    const { digest } = req.params;
    const q = req.query;
    const filter = {
      ...(q.after ? { after: q.after } : {}),
      limit: q.limit ?? 100,
      ...(q.states ? { states: [...new Set(q.states.split(','))] as FindingState[] } : {}),
    };
    const lister = store as Store & Partial<FindingJsonLister>;
    if (typeof lister.listFindingsJson === 'function') {
      // the store hands each finding over as JSON text (triage joined in): the page is assembled as a string,
      // byte for byte what JSON.stringify(page(items.map(findingView), next)) gives, without fastify's serializer
      const p = await lister.listFindingsJson(ctx, digest, filter);
      if (p.items.length === 0 && !q.after) await imagesOf(ctx, digest);
      let body = '{"items":[';
      for (let i = 0; i < p.items.length; i++) body += i ? `,${p.items[i]!.json}` : p.items[i]!.json;
      body += p.next ? `],"next":${JSON.stringify(p.next)}}` : ']}';
      return reply.type('application/json; charset=utf-8').send(body);
    }
    const p = await store.listFindings(ctx, digest, filter);
    // an empty first page of an unknown digest is a 404 (a digest of another team is unknown too)
    if (p.items.length === 0 && !q.after) await imagesOf(ctx, digest);
    const triage = p.items.length ? await triageOfImage(ctx, digest) : new Map<string, TriageRecord>();
    return page(p.items.map((f) => findingView(f, triage.get(f.vulnerabilityId))), p.next);
  });

  async function triageOfImage(ctx: TeamContext, digest: string): Promise<Map<string, TriageRecord>> {
    const out = new Map<string, TriageRecord>();
    let after: string | undefined;
    do {
      const p = await store.listTriage(ctx, { target: { digest }, limit: 1000, ...(after ? { after } : {}) });
      for (const t of p.items) out.set(t.vulnerabilityId, t);
      after = p.next;
    } while (after);
    return out;
  }

  function findingView(f: StoredFinding, t: TriageRecord | undefined): Json {
    return { ...f, ...(t ? { triage: t } : {}) };
  }

  app.get<{ Querystring: { name?: string; version?: string; type?: string; namespace?: string; purl?: string; after?: string; limit?: number } }>('/api/v1/packages', {
    schema: { querystring: S.packagesQuery },
    config: R('read', 'portfolio search: the team\'s images holding a package (name or purl, optionally a version)', ['images'], { '200': '{items, next}' }),
  }, async (req) => {
    const q = req.query;
    if (!q.name && !q.purl) throw new ApiError('REQUEST_INVALID', 'a package search needs name or purl');
    const p = await store.searchPackages(ctxOf(req), {
      ...(q.name ? { name: q.name } : {}),
      ...(q.purl ? { purl: q.purl } : {}),
      ...(q.version ? { version: q.version } : {}),
      ...(q.type ? { type: q.type as never } : {}),
      ...(q.namespace !== undefined ? { namespace: q.namespace } : {}),
      ...(q.after ? { after: q.after } : {}),
      limit: q.limit ?? 100,
    });
    return page(p.items, p.next);
  });

  // ------------------------------------------------------------ triage

  app.put<{ Params: { digest: string; vulnId: string }; Body: { state: TriageState; justification?: VexJustification; until?: string; reason?: string } }>('/api/v1/images/:digest/findings/:vulnId/triage', {
    schema: { params: S.findingParams, body: S.triageBody },
    config: R('write', 'set the triage state of a vulnerability in an image (audited)', ['findings'], { '200': 'the triage record', '404': 'no image of the team has this digest' }),
  }, async (req) => {
    const ctx = ctxOf(req);
    const { digest, vulnId } = req.params;
    await imagesOf(ctx, digest);
    const b = req.body;
    const until = b.until ? new Date(b.until) : undefined;
    return store.setTriage(ctx, {
      vulnerabilityId: vulnId,
      target: { digest },
      state: b.state,
      ...(b.justification ? { justification: b.justification } : {}),
      ...(until ? { until } : {}),
      ...(b.reason ? { reason: b.reason } : {}),
    });
  });

  app.get<{ Params: { digest: string; vulnId: string } }>('/api/v1/images/:digest/findings/:vulnId/triage', {
    schema: { params: S.findingParams },
    config: R('read', 'the triage state of a vulnerability in an image and its history', ['findings'], { '200': '{current, history}', '404': 'no image of the team has this digest' }),
  }, async (req) => {
    const ctx = ctxOf(req);
    const { digest, vulnId } = req.params;
    await imagesOf(ctx, digest);
    const current = await store.getTriage(ctx, vulnId, { digest });
    const history = await store.triageHistory(ctx, vulnId, { digest });
    return { ...(current ? { current } : {}), history };
  });

  app.get<{ Params: { digest: string }; Querystring: { format?: 'openvex' | 'cyclonedx' } }>('/api/v1/images/:digest/vex', {
    schema: { params: S.digestParams, querystring: vexQuery },
    config: R('read', 'the image\'s findings and triage as VEX: OpenVEX (default) or, with ?format=cyclonedx, a CycloneDX 1.6 BOM with vulnerabilities and analysis', ['findings'], { '200': 'OpenVEX v0.2.0, or CycloneDX 1.6 JSON', '404': 'no image of the team has this digest' }),
  }, async (req, reply) => {
    const ctx = ctxOf(req);
    const { digest } = req.params;
    const images = await imagesOf(ctx, digest);
    const inventory = await store.getInventory(ctx, digest);
    const triage = await triageOfImage(ctx, digest);
    const findings: Finding[] = [];
    let dbIdentity = '';
    let after: string | undefined;
    do {
      const p = await store.listFindings(ctx, digest, { limit: 1000, ...(after ? { after } : {}) });
      for (const sf of p.items) {
        dbIdentity ||= sf.dbIdentity;
        const t = triage.get(sf.vulnerabilityId);
        const f: Finding = { ...sf.finding };
        if (t && t.state !== 'affected') {
          f.suppressed = {
            kind: 'vex',
            file: 'drydock-triage',
            rule: triageRule(t),
            ...(t.reason ? { reason: t.reason } : {}),
            status: TRIAGE_TO_VEX[t.state],
            ...(t.justification ? { justification: t.justification } : {}),
          };
          // an accepted risk stays affected in VEX terms; say so in the notes
          if (t.state === 'accepted') delete f.suppressed.status;
        }
        findings.push(f);
      }
      after = p.next;
    } while (after);
    const name = images[0]!.repository;
    const inv: Inventory = inventory ?? { source: { target: name, kind: 'registry', name, digest, layers: [] }, packages: [], relationships: [], issues: [] };
    const result: ScanResult = {
      createdAt: deps.now().toISOString(),
      descriptor: { name: 'drydock-server', version: '1' },
      inventory: { ...inv, source: { ...inv.source, name, digest } },
      db: { digest: dbIdentity, updatedAt: '', schemaVersion: 0, sources: [] },
      findings,
      issues: [],
    };
    if (req.query.format === 'cyclonedx') {
      const doc = scanCycloneDxDocument(result, { showSuppressed: true, cyclonedxVersion: '1.6' });
      for (const v of (doc.vulnerabilities as Json[] | undefined) ?? []) {
        const t = triage.get(v.id as string);
        if (t) v.analysis = cycloneDxAnalysis(t);
        else delete v.analysis;
      }
      return reply.type('application/vnd.cyclonedx+json; version=1.6').send(JSON.stringify(doc));
    }
    return scanOpenVexDocument(result, { showSuppressed: true });
  });

  // ------------------------------------------------------------ configuration

  function crud<Spec extends { name: string }>(path: string, what: string, col: typeof store.registries | typeof store.rules, body: object, writeScope: 'write' | 'admin'): void {
    const c = col as unknown as Collection<Spec>;
    const tags = ['configuration'];
    app.get(`/api/v1/${path}`, { config: R('read', `list ${what}s`, tags, { '200': '{items}' }) }, async (req) => ({ items: await c.list(ctxOf(req)) }));
    app.post<{ Body: Spec }>(`/api/v1/${path}`, { schema: { body }, config: R(writeScope, `create a ${what}`, tags, { '201': `the ${what}`, '409': 'the name is taken' }) }, async (req, reply) =>
      reply.code(201).send(await c.create(ctxOf(req), req.body as Spec)));
    app.get<{ Params: { id: string } }>(`/api/v1/${path}/:id`, { schema: { params: S.idParams }, config: R('read', `one ${what}`, tags, { '200': `the ${what}`, '404': 'unknown id' }) }, async (req) =>
      (await c.get(ctxOf(req), req.params.id)) ?? Promise.reject(notFound(`${what} ${req.params.id}`)));
    app.put<{ Params: { id: string }; Body: Spec }>(`/api/v1/${path}/:id`, { schema: { params: S.idParams, body }, config: R(writeScope, `replace a ${what}`, tags, { '200': `the ${what}`, '404': 'unknown id', '409': 'the name is taken' }) }, async (req) =>
      (await c.update(ctxOf(req), req.params.id, req.body as Spec)) ?? Promise.reject(notFound(`${what} ${req.params.id}`)));
    app.delete<{ Params: { id: string } }>(`/api/v1/${path}/:id`, { schema: { params: S.idParams }, config: R(writeScope, `delete a ${what}`, tags, { '204': 'deleted', '404': 'unknown id' }) }, async (req, reply) => {
      if (!(await c.delete(ctxOf(req), req.params.id))) throw notFound(`${what} ${req.params.id}`);
      return reply.code(204).send();
    });
  }
  crud<RegistrySpec>('registries', 'watched registry', store.registries, S.registryBody, 'admin');
  crud<RuleSpec>('rules', 'notification rule', store.rules, S.ruleBody, 'write');

  app.get<{ Querystring: { after?: string; limit?: number } }>('/api/v1/audit', {
    schema: { querystring: S.pageOnlyQuery },
    config: R('admin', 'the team\'s audit log, newest first (paged)', ['administration'], { '200': '{items, next}' }),
  }, async (req) => {
    const p = await store.listAudit(ctxOf(req), { ...(req.query.after ? { after: req.query.after } : {}), limit: req.query.limit ?? 100 });
    return page(p.items, p.next);
  });

  app.get('/api/v1/tokens', { config: R('admin', 'the team\'s API tokens (never their secrets)', ['administration'], { '200': '{items}' }) }, async (req) => ({ items: await store.listTokens(ctxOf(req)) }));
  app.post<{ Body: { name: string; scope: 'read' | 'write' | 'admin' } }>('/api/v1/tokens', {
    schema: { body: S.tokenBody },
    config: R('admin', 'create an API token of the team; the secret is in this answer only', ['administration'], { '201': '{token, secret}' }),
  }, async (req, reply) => reply.code(201).send(await store.createToken(ctxOf(req), req.body)));
  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', {
    schema: { params: S.idParams },
    config: R('admin', 'revoke an API token of the team', ['administration'], { '204': 'revoked', '404': 'unknown id' }),
  }, async (req, reply) => {
    if (!(await store.revokeToken(ctxOf(req), req.params.id))) throw notFound(`token ${req.params.id}`);
    deps.forgetTokens();
    return reply.code(204).send();
  });

}
