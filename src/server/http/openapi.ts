/**
 * The OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0), generated from the routes as they
 * are registered: their JSON schemas (params, querystring, body) and the summary, scope and responses
 * each route declares in its `config.openapi`.
 */
import type { RouteOptions } from 'fastify';
import { errorSchema } from './schemas.js';

export interface RouteDoc {
  summary: string;
  tags?: string[];
  /** status → description (and an optional schema); error statuses get the error body */
  responses: Record<string, string | { description: string; schema?: unknown; contentType?: string }>;
  /** the body's media type when it is not application/json */
  bodyType?: string;
}

type Json = Record<string, unknown>;

interface Collected {
  method: string;
  url: string;
  schema: Json;
  doc: RouteDoc;
  scope?: string;
  auth: 'bearer' | 'apikey' | 'none';
}

export class OpenApiCollector {
  readonly #routes: Collected[] = [];

  add(route: RouteOptions): void {
    const config = (route.config ?? {}) as { openapi?: RouteDoc; scope?: string; auth?: 'bearer' | 'apikey' | 'none' };
    if (!config.openapi) return;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      if (m === 'HEAD') continue;
      this.#routes.push({
        method: m.toLowerCase(),
        url: route.url,
        schema: (route.schema ?? {}) as Json,
        doc: config.openapi,
        ...(config.scope ? { scope: config.scope } : {}),
        auth: config.auth ?? (config.scope ? 'bearer' : 'none'),
      });
    }
  }

  document(version: string): Json {
    const paths: Record<string, Json> = {};
    for (const r of [...this.#routes].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : a.method < b.method ? -1 : 1))) {
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op: Json = { summary: r.doc.summary, operationId: `${r.method}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}` };
      if (r.doc.tags) op.tags = r.doc.tags;
      if (r.scope) op.description = `Needs a token with scope ${r.scope} or higher.`;
      const parameters: Json[] = [];
      for (const [where, key] of [['path', 'params'], ['query', 'querystring']] as const) {
        const s = r.schema[key] as { properties?: Record<string, unknown>; required?: string[] } | undefined;
        for (const [name, schema] of Object.entries(s?.properties ?? {})) {
          parameters.push({ name, in: where, required: where === 'path' || (s?.required ?? []).includes(name), schema });
        }
      }
      if (parameters.length) op.parameters = parameters;
      if (r.schema.body) op.requestBody = { required: true, content: { [r.doc.bodyType ?? 'application/json']: { schema: r.schema.body } } };
      if (r.auth === 'bearer') op.security = [{ bearer: [] }];
      if (r.auth === 'apikey') op.security = [{ apiKey: [] }, { bearer: [] }];
      const responses: Json = {};
      for (const [status, d] of Object.entries(r.doc.responses)) {
        const desc = typeof d === 'string' ? { description: d } : d;
        const isError = Number(status) >= 400;
        const schema = isError ? errorSchema : desc.schema;
        responses[status] = schema || isError
          ? { description: desc.description, content: { [isError ? 'application/json' : desc.contentType ?? 'application/json']: { schema: schema ?? {} } } }
          : { description: desc.description };
      }
      if (r.auth !== 'none') {
        responses['401'] ??= { description: 'missing, unknown or revoked token', content: { 'application/json': { schema: errorSchema } } };
        responses['403'] ??= { description: 'the token scope is too low', content: { 'application/json': { schema: errorSchema } } };
      }
      if (r.schema.body || r.schema.querystring || r.schema.params) {
        responses['400'] ??= { description: 'invalid request (schema, unknown field)', content: { 'application/json': { schema: errorSchema } } };
      }
      op.responses = responses;
      (paths[path] ??= {})[r.method] = op;
    }
    return {
      openapi: '3.1.0',
      info: { title: 'Drydock server API', version, description: 'Images, inventories, findings, triage and configuration of one team per token.' },
      servers: [{ url: '/' }],
      paths,
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API token (ddk_...)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key', description: 'an API token, as Dependency-Track clients send it' },
        },
        schemas: { Error: errorSchema },
      },
    };
  }
}
