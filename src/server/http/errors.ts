/**
 * Errors on the wire: every 4xx/5xx answer is `{"error": {"code", "message"}}`. Domain errors keep
 * their DrydockError code; conditions that only exist in HTTP (no token, wrong scope, unknown route,
 * body too large) have codes of their own, listed in API_ERROR_CODES and docs/server.md.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DrydockError, type ErrorCode } from '../../core/errors.js';

/** Codes that exist only at the HTTP boundary. */
export const API_ERROR_CODES = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BODY_TOO_LARGE: 413,
  MEDIA_TYPE_UNSUPPORTED: 415,
  REQUEST_INVALID: 400,
} as const;
export type ApiErrorCode = keyof typeof API_ERROR_CODES;

/** An error that carries its HTTP status; thrown by route handlers. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: ApiErrorCode | ErrorCode;
  constructor(code: ApiErrorCode | ErrorCode, message: string, status?: number) {
    super(message);
    this.code = code;
    this.status = status ?? (code in API_ERROR_CODES ? API_ERROR_CODES[code as ApiErrorCode] : 400);
  }
}

export const notFound = (what: string): ApiError => new ApiError('NOT_FOUND', `${what} not found`);

/** The HTTP status of a DrydockError code: bad input is 400, conflicts 409, missing backends 503. */
export function statusOfCode(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
    case 'TARGET_INVALID':
    case 'REFERENCE_INVALID':
    case 'DIGEST_INVALID':
    case 'PLATFORM_INVALID':
    case 'CONFIG_INVALID':
    case 'STORE_INPUT_INVALID':
    case 'VEX_INVALID':
      return 400;
    case 'SBOM_INVALID':
    case 'MANIFEST_INVALID':
    case 'MANIFEST_UNSUPPORTED':
    case 'MEDIA_TYPE_UNSUPPORTED':
    case 'ARCHIVE_CORRUPT':
    case 'DECOMPRESS_FAILED':
    case 'LIMIT_EXCEEDED':
    case 'PATH_UNSAFE':
    case 'PLATFORM_NOT_FOUND':
    case 'IMAGE_AMBIGUOUS':
      return 422;
    case 'IMAGE_NOT_FOUND':
    case 'BLOB_NOT_FOUND':
      return 404;
    case 'STORE_CONFLICT':
      return 409;
    case 'AUTH_REQUIRED':
    case 'AUTH_DENIED':
    case 'REGISTRY_ERROR':
    case 'RATE_LIMITED':
    case 'NETWORK_ERROR':
    case 'TIMEOUT':
      return 502;
    case 'VULNDB_MISSING':
    case 'VULNDB_STALE':
    case 'VULNDB_SCHEMA':
    case 'VULNDB_CORRUPT':
    case 'STORE_UNAVAILABLE':
    case 'STORE_SCHEMA':
      return 503;
    default:
      return 500;
  }
}

export interface WireError {
  status: number;
  body: { error: { code: string; message: string } };
}

/** Maps anything thrown in a request to a status and a coded body. Internal errors do not leak their text. */
export function toWireError(e: unknown): WireError {
  const wire = (status: number, code: string, message: string): WireError => ({ status, body: { error: { code, message } } });
  if (e instanceof ApiError) return wire(e.status, e.code, e.message);
  if (e instanceof DrydockError) {
    const status = statusOfCode(e.code);
    return wire(status, e.code, status >= 500 && e.code === 'INTERNAL' ? 'internal error' : e.message);
  }
  const fe = e as Partial<FastifyError> & { validation?: unknown; validationContext?: string };
  if (fe && typeof fe === 'object') {
    if (fe.validation) return wire(400, 'REQUEST_INVALID', `invalid request: ${fe.message ?? 'schema validation failed'}`);
    switch (fe.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return wire(413, 'BODY_TOO_LARGE', 'request body is larger than the server accepts');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return wire(415, 'MEDIA_TYPE_UNSUPPORTED', 'request body must be application/json');
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return wire(400, 'REQUEST_INVALID', 'request body is empty');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return wire(400, 'REQUEST_INVALID', 'request body is not valid JSON');
    }
    if (e instanceof SyntaxError) return wire(400, 'REQUEST_INVALID', 'request body is not valid JSON');
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return wire(fe.statusCode, 'REQUEST_INVALID', fe.message ?? 'invalid request');
  }
  return wire(500, 'INTERNAL', 'internal error');
}

export function errorHandler(error: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const w = toWireError(error);
  if (w.status >= 500) req.log.error({ err: error }, 'request failed');
  void reply.code(w.status).type('application/json').send(w.body);
}
