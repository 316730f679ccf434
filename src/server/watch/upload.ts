/**
 * The CI side of the server: `drydock scan TARGET --server URL` sends the scan's SBOM (CycloneDX 1.6
 * JSON) to POST /api/v1/sboms with the image's repository, digest and tag; the server stores the
 * inventory and matches it against its own database (its findings carry its database identity).
 */
import { createHash } from 'node:crypto';
import { DrydockError, ERROR_CODES, type ErrorCode } from '../../core/errors.js';
import { parseReference } from '../../image/reference.js';
import { parseTarget } from '../../image/target.js';
import type { ScanResult } from '../../model/vuln.js';
import { cycloneDxDocument } from '../../sbom/cyclonedx.js';

export interface UploadOptions {
  /** server base URL (http://host:port); /api/v1/sboms is appended */
  server: string;
  /** an API token with scope write */
  token: string;
  /** repository to file the image under (default: from the target or the SBOM's subject) */
  repository?: string;
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

export interface UploadAnswer {
  repository: string;
  digest: string;
  tags: string[];
  /** the server's answer (image, packages, findings, evaluation counts) */
  response: Record<string, unknown>;
}

const DIGEST = /^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Repository, digest and tags of a scanned target, as the server files it. */
export function uploadSubject(target: string, result: ScanResult, body: string, repository?: string): { repository: string; digest: string; tags: string[] } {
  const inv = result.inventory;
  let repo = repository;
  const tags: string[] = [];
  const t = (() => {
    try {
      return parseTarget(target);
    } catch {
      return undefined;
    }
  })();
  const refText = t?.kind === 'registry' ? (t.ref ?? t.input) : t?.kind === 'podman' || t?.kind === 'docker' ? t.ref : undefined;
  for (const candidate of [refText, inv.source.name]) {
    if (repo && tags.length) break;
    if (!candidate) continue;
    try {
      const r = parseReference(candidate);
      repo ??= `${r.registry}/${r.repository}`;
      if (r.tag && TAG.test(r.tag) && tags.length === 0) tags.push(r.tag);
    } catch {
      // not a reference (a directory or a file name)
    }
  }
  repo ??= inv.source.name || target;
  // a directory or SBOM target has no manifest digest: the SBOM's own bytes identify it
  const digest = inv.source.digest && DIGEST.test(inv.source.digest) ? inv.source.digest : `sha256:${createHash('sha256').update(body).digest('hex')}`;
  return { repository: repo, digest, tags };
}

function codeOf(status: number, serverCode: unknown): ErrorCode {
  if (status === 401) return 'AUTH_REQUIRED';
  if (status === 403) return 'AUTH_DENIED';
  if (typeof serverCode === 'string' && Object.hasOwn(ERROR_CODES, serverCode)) return serverCode as ErrorCode;
  return status >= 500 ? 'NETWORK_ERROR' : 'USAGE';
}

/** POSTs the scan's SBOM to the server; coded errors for an unreachable server, a refused token and a refused upload. */
export async function uploadScan(target: string, result: ScanResult, opts: UploadOptions): Promise<UploadAnswer> {
  const sbom = cycloneDxDocument(result.inventory, { version: '1.6' });
  const sbomText = JSON.stringify(sbom);
  const subject = uploadSubject(target, result, sbomText, opts.repository);
  let base: URL;
  try {
    base = new URL(opts.server);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new DrydockError('USAGE', `--server ${JSON.stringify(opts.server)} is not an http(s) URL`);
  }
  const url = new URL(`${base.pathname.replace(/\/+$/, '')}/api/v1/sboms`, base);
  const body = `{"repository":${JSON.stringify(subject.repository)},"digest":${JSON.stringify(subject.digest)},"tags":${JSON.stringify(subject.tags)},"sbom":${sbomText}}`;
  const f = opts.fetch ?? globalThis.fetch;
  let res: Response;
  try {
    res = await f(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
    });
  } catch (e) {
    throw new DrydockError('NETWORK_ERROR', `upload to server ${url.origin} failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: reported below by status
  }
  if (res.status !== 201) {
    const err = (json.error ?? {}) as { code?: unknown; message?: unknown };
    const msg = typeof err.message === 'string' ? err.message : text.slice(0, 200);
    throw new DrydockError(codeOf(res.status, err.code), `server ${url.origin} refused the upload of ${subject.repository}@${subject.digest} (${res.status}): ${msg}`);
  }
  return { ...subject, response: json };
}
