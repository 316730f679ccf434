/** What the route handlers share: the store, the database handle, the server's settings, the caller's team. */
import type { FastifyRequest } from 'fastify';
import { DrydockError } from '../../core/errors.js';
import type { SbomOptions } from '../../scan/sbom.js';
import type { Store, TeamContext } from '../../store/index.js';
import type { VulnDbHandle } from './evaluate.js';

export interface ServerDeps {
  store: Store;
  db: VulnDbHandle;
  scanRoots: string[];
  sbomOptions: SbomOptions;
  now: () => Date;
  /** drops cached token verifications (after a revocation) */
  forgetTokens: () => void;
}

/** The caller's team of an authenticated route (the auth hook ran first; a route without it is a bug). */
export function ctxOf(req: FastifyRequest): TeamContext {
  if (!req.auth) throw new DrydockError('INTERNAL', `route ${req.routeOptions.url ?? req.url} ran without authentication`);
  return req.auth.ctx;
}

/** The route config of a route module whose routes share one OpenAPI tag: its scope and its documentation. */
export function taggedRoute(tag: string) {
  return (scope: 'read' | 'write', summary: string, responses: Record<string, string>) => ({ scope, openapi: { summary, tags: [tag], responses } });
}
