/**
 * The Drydock HTTP API on fastify: JSON in and out, coded errors, bearer tokens scoped per team,
 * Prometheus metrics and an OpenAPI document generated from the routes' own schemas.
 */
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { SbomOptions } from '../../scan/sbom.js';
import type { Store, TeamContext, TokenInfo, TokenScope } from '../../store/index.js';
import { ApiError, errorHandler, toWireError } from './errors.js';
import { VulnDbHandle } from './evaluate.js';
import { Metrics, storeGauges } from './metrics.js';
import { OpenApiCollector, type RouteDoc } from './openapi.js';
import type { ServerDeps } from './deps.js';
import { registerRoutes } from './routes.js';
import { registerWatchRoutes } from './routes-watch.js';
import { registerWorkloadRoutes } from './routes-workloads.js';
import { registerDriftRoutes } from './routes-drift.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** the lowest token scope the route accepts; absent: no token needed */
    scope?: TokenScope;
    /** where the token comes from: Authorization: Bearer (default), or also X-Api-Key (Dependency-Track) */
    auth?: 'bearer' | 'apikey' | 'none';
    openapi?: RouteDoc;
  }
  interface FastifyRequest {
    /** the authenticated token and the team context of its requests */
    auth?: { token: TokenInfo; ctx: TeamContext };
  }
}

export interface AppOptions {
  store: Store;
  /** path of the vulnerability database (read-only; reopened when `db update` replaces it) */
  vulnDbPath: string;
  /** largest accepted request body in bytes (default 32 MiB) */
  bodyLimit?: number;
  /** directories under which POST /scans may read path targets (oci-dir:, oci-archive:, docker-archive:); none by default */
  scanRoots?: string[];
  /** options of sbomImage for POST /scans (cache directory, registry credentials, limits) */
  sbomOptions?: SbomOptions;
  /** fastify's logger (default off) */
  logger?: boolean;
  /** how long a verified token is trusted without asking the store again (default 5000 ms; 0 = always ask) */
  authCacheMs?: number;
  /** the API version in the OpenAPI document */
  version?: string;
  now?: () => Date;
}


const RANK: Record<TokenScope, number> = { read: 1, write: 2, admin: 3 };

function tokenOf(req: FastifyRequest, allowApiKey: boolean): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (m) return m[1];
  }
  const k = req.headers['x-api-key'];
  if (allowApiKey && typeof k === 'string' && k.length > 0) return k.trim();
  return undefined;
}

/** Builds the application (not listening): tests use inject(), startServer() listens. */
export type DrydockApp = FastifyInstance & { vulnDb: VulnDbHandle };

export async function buildApp(opts: AppOptions): Promise<DrydockApp> {
  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: opts.bodyLimit ?? 32 * 1024 * 1024,
    // reject unknown fields instead of dropping them; coerce query strings to the declared types
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    // mount under no prefix; the API lives at /api/v1
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 300 },
  });
  const db = new VulnDbHandle(opts.vulnDbPath);
  const metrics = new Metrics();
  const openapi = new OpenApiCollector();
  // verified tokens, by secret, for authCacheMs: a list request then costs no token lookup. A revocation
  // through this server's API clears the cache; one made elsewhere takes effect within authCacheMs.
  const authCacheMs = opts.authCacheMs ?? 5000;
  const authCache = new Map<string, { token: TokenInfo; until: number }>();
  const authenticate = async (secret: string): Promise<TokenInfo | undefined> => {
    const now = Date.now();
    const hit = authCache.get(secret);
    if (hit && hit.until > now) return hit.token;
    const token = await opts.store.authenticate(secret);
    if (authCache.size > 10_000) authCache.clear();
    if (token && authCacheMs > 0) authCache.set(secret, { token, until: now + authCacheMs });
    else authCache.delete(secret);
    return token;
  };
  const deps: ServerDeps = {
    store: opts.store,
    db,
    scanRoots: opts.scanRoots ?? [],
    sbomOptions: opts.sbomOptions ?? {},
    now: opts.now ?? (() => new Date()),
    forgetTokens: () => authCache.clear(),
  };

  app.addHook('onRoute', (route) => openapi.add(route));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    const w = toWireError(new ApiError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`));
    void reply.code(w.status).send(w.body);
  });

  // authentication runs before the body is read: an unauthenticated upload is refused without parsing it
  app.addHook('onRequest', async (req) => {
    const config = req.routeOptions.config;
    const scope = config?.scope;
    if (!scope) return;
    const secret = tokenOf(req, config.auth === 'apikey');
    if (!secret) throw new ApiError('UNAUTHENTICATED', 'an API token is required (Authorization: Bearer <token>)');
    const token = await authenticate(secret);
    if (!token) throw new ApiError('UNAUTHENTICATED', 'the API token is unknown or revoked');
    if (RANK[token.scope] < RANK[scope]) throw new ApiError('FORBIDDEN', `this route needs a token with scope ${scope}; the token has scope ${token.scope}`);
    req.auth = { token, ctx: { teamId: token.teamId, actor: token.id } };
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.observe(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('onClose', async () => db.close());

  app.get('/healthz', { config: { openapi: { summary: 'liveness: the process is up', tags: ['operations'], responses: { '200': 'up' } } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { config: { openapi: { summary: 'readiness: the store answers and the vulnerability database can be opened', tags: ['operations'], responses: { '200': 'ready', '503': 'not ready' } } } }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    try {
      await opts.store.ping();
      checks.store = 'ok';
    } catch (e) {
      checks.store = e instanceof Error ? e.message : 'unreachable';
    }
    try {
      const { info } = db.get();
      checks.vulnerabilityDatabase = 'ok';
      checks.vulnerabilityDatabaseIdentity = info.digest;
    } catch (e) {
      checks.vulnerabilityDatabase = e instanceof Error ? e.message : 'unavailable';
    }
    const ready = checks.store === 'ok' && checks.vulnerabilityDatabase === 'ok';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });

  app.get('/metrics', { config: { openapi: { summary: 'Prometheus metrics (text exposition format)', tags: ['operations'], responses: { '200': { description: 'metrics', contentType: 'text/plain', schema: { type: 'string' } } } } } }, async (_req, reply) => {
    const gauges = await storeGauges(opts.store).catch(() => undefined);
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(metrics.render(gauges));
  });

  app.get('/api/v1/openapi.json', { config: { openapi: { summary: 'this OpenAPI 3.1 document', tags: ['operations'], responses: { '200': 'the document' } } } }, async () => openapi.document(opts.version ?? '1.0.0'));

  registerRoutes(app, deps);
  registerWorkloadRoutes(app, deps);
  registerDriftRoutes(app, deps);
  registerWatchRoutes(app, deps);
  await app.ready();
  return Object.assign(app as unknown as FastifyInstance, { vulnDb: db });
}
