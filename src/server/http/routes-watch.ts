/**
 * Watched registries over HTTP: the distribution registry's notifications endpoint (push events) and
 * "poll now". Both only enqueue jobs of the "poll" queue; the registry watcher runs them.
 */
import type { FastifyInstance } from 'fastify';
import type { RegistrySpec, Stored, TeamContext } from '../../store/index.js';
import { enqueuePoll } from '../watch/jobs.js';
import { isArtifactTag, registryLocation, watchesRepository } from '../watch/poll.js';
import { ctxOf, type ServerDeps } from './deps.js';
import { ApiError, notFound } from './errors.js';
import { idParams } from './schemas.js';

/** the media type of the distribution registry's notification envelopes */
export const REGISTRY_EVENTS_MEDIA_TYPE = 'application/vnd.docker.distribution.events.v1+json';

// the registry's envelope is its own format: open objects, only the fields used here are checked
const envelopeBody = {
  type: 'object',
  required: ['events'],
  properties: { events: { type: 'array', maxItems: 10_000, items: { type: 'object' } } },
} as const;

const hookQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { registry: { type: 'string', minLength: 1, maxLength: 200, description: 'name or id of the watched registry the events come from (default: the team\'s registries whose host is the event\'s request.host)' } },
} as const;

/** One push event as the registry sends it (only the fields read here). */
interface RegistryEvent {
  action?: unknown;
  target?: { mediaType?: unknown; digest?: unknown; repository?: unknown; tag?: unknown };
  request?: { host?: unknown };
}

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= 1024 ? v : undefined;
}

export interface HookAnswer {
  /** push events that enqueued an ingest (or found one queued) */
  accepted: number;
  /** events left out: not a tag push of an image manifest, or of no watched repository */
  ignored: number;
  /** ids of the poll jobs, in event order, without repeats */
  jobs: string[];
}

/** Matches push events to the team's watched registries and enqueues one ingest per (registry, repository, tag, digest). */
export async function acceptPushEvents(deps: Pick<ServerDeps, 'store'>, ctx: TeamContext, events: readonly unknown[], pinned?: Stored<RegistrySpec>): Promise<HookAnswer> {
  const specs = pinned ? [pinned] : await deps.store.registries.list(ctx);
  const hosts = new Map(specs.map((s) => [s.id, safeHost(s.spec.url)]));
  const answer: HookAnswer = { accepted: 0, ignored: 0, jobs: [] };
  for (const raw of events) {
    const ev = (raw ?? {}) as RegistryEvent;
    const repository = str(ev.target?.repository);
    const tag = str(ev.target?.tag);
    const digest = str(ev.target?.digest);
    const mediaType = str(ev.target?.mediaType);
    const host = str(ev.request?.host)?.toLowerCase();
    // a push without a tag is a child of an index, a referrer or a blob: its tag push (if any) brings it in
    if (ev.action !== 'push' || !repository || !tag || isArtifactTag(tag) || (mediaType && !MANIFEST_TYPES.has(mediaType))) {
      answer.ignored++;
      continue;
    }
    const matching = specs.filter((s) => {
      const h = hosts.get(s.id);
      if (!h) return false;
      if (!pinned && h !== host) return false;
      return watchesRepository(s.spec, h, repository);
    });
    if (matching.length === 0) {
      answer.ignored++;
      continue;
    }
    answer.accepted++;
    for (const s of matching) {
      const job = await enqueuePoll(deps.store, ctx.teamId, { registryId: s.id, repository, tag, ...(digest ? { digest } : {}) });
      if (!answer.jobs.includes(job.id)) answer.jobs.push(job.id);
    }
  }
  return answer;
}

function safeHost(url: string): string | undefined {
  try {
    return registryLocation(url).host;
  } catch {
    return undefined;
  }
}

async function registryByNameOrId(deps: Pick<ServerDeps, 'store'>, ctx: TeamContext, key: string): Promise<Stored<RegistrySpec>> {
  const byId = /^[A-Za-z0-9_-]{1,100}$/.test(key) ? await deps.store.registries.get(ctx, key).catch(() => undefined) : undefined;
  if (byId) return byId;
  const byName = (await deps.store.registries.list(ctx)).find((r) => r.spec.name === key);
  if (!byName) throw notFound(`watched registry ${key}`);
  return byName;
}

export function registerWatchRoutes(app: FastifyInstance, deps: ServerDeps): void {
  // the envelope's own media type is accepted on these routes only (an encapsulated context)
  void app.register(async (scope) => {
    scope.addContentTypeParser(REGISTRY_EVENTS_MEDIA_TYPE, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (e) {
        done(Object.assign(new ApiError('REQUEST_INVALID', `the event envelope is not JSON: ${e instanceof Error ? e.message : String(e)}`), { statusCode: 400 }), undefined);
      }
    });

    scope.post<{ Body: { events: unknown[] }; Querystring: { registry?: string } }>('/api/v1/hooks/registry', {
      schema: { body: envelopeBody, querystring: hookQuery },
      config: {
        scope: 'write',
        openapi: {
          summary: 'the distribution registry\'s notifications endpoint: each tag push of a watched repository enqueues its ingest',
          tags: ['watching'],
          responses: { '202': '{accepted, ignored, jobs}', '404': 'the registry named in ?registry= is not the team\'s' },
        },
      },
    }, async (req, reply) => {
      const ctx = ctxOf(req);
      const pinned = req.query.registry ? await registryByNameOrId(deps, ctx, req.query.registry) : undefined;
      return reply.code(202).send(await acceptPushEvents(deps, ctx, req.body.events, pinned));
    });

    scope.post<{ Params: { id: string } }>('/api/v1/registries/:id/poll', {
      schema: { params: idParams },
      config: {
        scope: 'write',
        openapi: { summary: 'poll a watched registry now (enqueues a poll job)', tags: ['watching'], responses: { '202': '{job, created}', '404': 'unknown id' } },
      },
    }, async (req, reply) => {
      const ctx = ctxOf(req);
      const reg = await deps.store.registries.get(ctx, req.params.id);
      if (!reg) throw notFound(`watched registry ${req.params.id}`);
      let job = await enqueuePoll(deps.store, ctx.teamId, { registryId: reg.id }, `poll:${reg.id}:now`);
      if (!job.created) {
        // the queued one may be a failed poll waiting for its retry: "now" means now
        const queued = await deps.store.getJob(job.id);
        if (queued?.state === 'queued' && Date.parse(queued.runAt) > deps.now().getTime()) {
          job = await enqueuePoll(deps.store, ctx.teamId, { registryId: reg.id }, `poll:${reg.id}:now:${deps.now().getTime()}`);
        }
      }
      return reply.code(202).send({ job: job.id, created: job.created });
    });
  });
}
