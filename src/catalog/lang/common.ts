/** Shared pieces of the language catalogers: licenses, issues, bounded parsing. */
import type { ErrorCode } from '../../core/errors.js';
import { isSpdxExpression } from '../../model/spdx.js';
import { packageId } from '../../model/ids.js';
import type { Location, Package, PackageMetadata, PackageType, Relationship } from '../../model/package.js';
import type { CatalogContext, CatalogerResult } from '../types.js';

/** Issue code for malformed package metadata (a file we could not parse). */
export const CONTENT_INVALID: ErrorCode = 'ARCHIVE_CORRUPT';
export const LIMIT: ErrorCode = 'LIMIT_EXCEEDED';

/** Declared license strings → SPDX expressions where they parse, else the strings (trimmed, deduplicated, bounded). */
export function normaliseLicenses(values: readonly (string | undefined | null)[]): string[] | undefined {
  const out: string[] = [];
  for (const v of values) {
    if (typeof v !== 'string') continue;
    let s = v.trim();
    if (s === '' || s.length > 1000) continue;
    // npm's "(MIT OR Apache-2.0)" parses as is; a bare "MIT License" does not and is kept verbatim
    if (!isSpdxExpression(s)) {
      const alias = LICENSE_ALIASES[s.toLowerCase()];
      if (alias) s = alias;
    }
    if (!out.includes(s)) out.push(s);
    if (out.length >= 32) break;
  }
  return out.length ? out : undefined;
}

/** A few common non-SPDX spellings. */
const LICENSE_ALIASES: Record<string, string> = {
  'mit license': 'MIT',
  'the mit license': 'MIT',
  'apache 2.0': 'Apache-2.0',
  'apache-2': 'Apache-2.0',
  'apache 2': 'Apache-2.0',
  'apache license 2.0': 'Apache-2.0',
  'apache license, version 2.0': 'Apache-2.0',
  'apache software license': 'Apache-2.0',
  'the apache software license, version 2.0': 'Apache-2.0',
  'bsd': 'BSD-3-Clause',
  'new bsd license': 'BSD-3-Clause',
  'bsd license': 'BSD-3-Clause',
  'isc license': 'ISC',
  'mpl 2.0': 'MPL-2.0',
  'mozilla public license 2.0 (mpl 2.0)': 'MPL-2.0',
  'psf': 'PSF-2.0',
  'gplv2': 'GPL-2.0-only',
  'gplv3': 'GPL-3.0-only',
  'lgpl': 'LGPL-2.1-or-later',
};

export interface PackageInput {
  type: PackageType;
  namespace?: string;
  name: string;
  version: string;
  purl?: string;
  licenses?: string[];
  locations: Location[];
  foundBy: string;
  metadata?: PackageMetadata;
}

/** A Package with a content-derived id and no undefined optional fields. */
export function makePackage(p: PackageInput): Package {
  const pkg: Package = { id: packageId(p), type: p.type, name: p.name, version: p.version, locations: p.locations, foundBy: p.foundBy };
  if (p.namespace) pkg.namespace = p.namespace;
  if (p.purl) pkg.purl = p.purl;
  if (p.licenses?.length) pkg.licenses = p.licenses;
  if (p.metadata) pkg.metadata = p.metadata;
  return pkg;
}

export function bad(ctx: CatalogContext, path: string, message: string, code: ErrorCode = CONTENT_INVALID): void {
  ctx.issues.record({ code, message: message.toLowerCase().startsWith(path.toLowerCase()) ? message : `${path}: ${message}`, path });
}

/** Reads a selected file as UTF-8 (BOM stripped), undefined when not kept or larger than `max`. */
export async function readText(ctx: CatalogContext, path: string, max = 64 * 1024 * 1024): Promise<string | undefined> {
  const b = await ctx.read(path);
  if (!b) return undefined;
  if (b.length > max) {
    bad(ctx, path, `larger than ${max} bytes, skipped`, LIMIT);
    return undefined;
  }
  let s = b.toString('utf8');
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
  return s;
}

/** What one file holds: its packages and relationships, or undefined when it gives nothing. */
export type TextFileParser = (path: string, text: string) => CatalogerResult | undefined;

/**
 * Reads every selected regular file (but those `skip` names, which are not read) as text of at most
 * `maxBytes` and collects the packages and relationships `parse` finds in each, in file order.
 */
export async function catalogTextFiles(ctx: CatalogContext, maxBytes: number, parse: TextFileParser, skip?: (path: string) => boolean): Promise<{ packages: Package[]; relationships: Relationship[] }> {
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  for (const f of ctx.files()) {
    if (f.type !== 'file' || skip?.(f.path)) continue;
    const text = await readText(ctx, f.path, maxBytes);
    if (text === undefined) continue;
    const r = parse(f.path, text);
    if (!r) continue;
    packages.push(...r.packages);
    relationships.push(...(r.relationships ?? []));
  }
  return { packages, relationships };
}

/** catalogTextFiles for declared files (lock files, manifests): read in `dir:` targets only, an image gives nothing. */
export async function catalogDeclaredFiles(ctx: CatalogContext, maxBytes: number, parse: TextFileParser, skip?: (path: string) => boolean): Promise<{ packages: Package[]; relationships: Relationship[] }> {
  if (ctx.targetKind !== 'dir') return { packages: [], relationships: [] };
  return catalogTextFiles(ctx, maxBytes, parse, skip);
}

/** JSON.parse with an issue instead of an exception, and a nesting-depth check. */
export function parseJson(ctx: CatalogContext, path: string, text: string, maxDepth = 64): unknown {
  if (!depthWithin(text, maxDepth)) {
    bad(ctx, path, `json nested deeper than ${maxDepth} levels`, LIMIT);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    bad(ctx, path, `invalid json: ${(e as Error).message}`);
    return undefined;
  }
}

/** Cheap bracket-depth scan (ignores brackets inside strings). */
export function depthWithin(text: string, max: number): boolean {
  let depth = 0;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inStr) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inStr = false;
    } else if (c === 0x22) inStr = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return false;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return true;
}

export function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function str(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}

export function posixDirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
export function posixBasename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
