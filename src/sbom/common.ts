/**
 * Helpers shared by the SBOM encoders: content-derived identifiers, license classification,
 * the image's package URL, timestamps. Pure functions over the neutral model.
 */
import { createHash } from 'node:crypto';
import { packageUrl } from '../model/purl.js';
import { clockFromEnv, type Clock } from '../core/clock.js';
import { parseSpdxExpression } from '../model/spdx.js';
import type { Inventory, LayerRef, Package } from '../model/package.js';

export interface EncodeOptions {
  /** where timestamps come from; default: SOURCE_DATE_EPOCH, else the system clock */
  clock?: Clock;
}

export const DEFAULT_TOOL = { name: 'drydock', version: '0.0.0' };

export function toolOf(inv: Inventory): { name: string; version: string } {
  return inv.descriptor ? { name: inv.descriptor.name, version: inv.descriptor.version } : DEFAULT_TOOL;
}

/** ISO 8601 UTC without fractional seconds (SPDX's pattern, also valid CycloneDX date-time). */
export function timestamp(clock: Clock | undefined): string {
  return (clock ?? clockFromEnv()).now().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A name-based UUID in the style of RFC 4122 version 5: sha1 of the content, version and variant bits set.
 * The encoders pass their document's JSON without the timestamp: they build every object of it
 * themselves, in a fixed key order, so the same content always serialises to the same string (the
 * tests shuffle an inventory's keys to check it). Sorting the keys first cost a warm `sbom` of the
 * corpus app image 12 ms of its 40 ms of encoding.
 */
export function contentUuid(content: string): string {
  const b = createHash('sha1').update(content).digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x50;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** Lower-case hex of a `sha256:...` digest, or undefined. */
export function sha256Hex(digest: string | undefined): string | undefined {
  const m = digest ? /^sha256:([a-f0-9]{64})$/.exec(digest) : null;
  return m ? m[1] : undefined;
}

/** The layer that brought a package in: introducedBy, else its first location's layer. */
export function layerOf(p: Package, inv: Inventory): LayerRef | undefined {
  if (p.introducedBy) return p.introducedBy;
  const l = p.locations[0];
  if (!l || l.layer < 0) return undefined;
  return inv.source.layers.find((x) => x.index === l.layer);
}

export type LicenseClass =
  | { kind: 'id'; id: string; text: string }
  | { kind: 'ref'; ref: string; text: string }
  | { kind: 'expression'; expression: string; text: string }
  | { kind: 'name'; name: string; text: string };

/** classified strings: an image's few dozen licence strings recur on hundreds of packages (results are frozen) */
const classified = new Map<string, LicenseClass>();

/** One declared license string: a single SPDX id, a LicenseRef, a compound expression, or free text. */
export function classifyLicense(text: string): LicenseClass {
  let c = classified.get(text);
  if (!c) {
    c = Object.freeze(classify(text));
    if (classified.size < 10_000) classified.set(text, c);
  }
  return c;
}

function classify(text: string): LicenseClass {
  const t = text.trim();
  const node = parseSpdxExpression(t);
  if (!node) return { kind: 'name', name: t, text: t };
  if ('license' in node && !node.plus && !node.exception) {
    if (/^(DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-/.test(node.license)) return { kind: 'ref', ref: node.license, text: t };
    return { kind: 'id', id: node.license, text: t };
  }
  return { kind: 'expression', expression: t, text: t };
}

/** `pkg:oci/NAME@DIGEST?arch=..&repository_url=..&tag=..` for the image (purl-spec, type oci). */
export function imagePurl(inv: Inventory): string | undefined {
  const s = inv.source;
  if (!s.digest) return undefined;
  let repo = s.name;
  let tag: string | undefined;
  const at = repo.indexOf('@');
  if (at >= 0) repo = repo.slice(0, at);
  const lastSlash = repo.lastIndexOf('/');
  const colon = repo.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = repo.slice(colon + 1);
    repo = repo.slice(0, colon);
  }
  const registryLike = s.kind === 'registry' || s.kind === 'docker' || s.kind === 'podman';
  const name = (repo.split('/').pop() || 'image').toLowerCase();
  const q: Record<string, string> = {};
  const arch = s.platform?.split('/')[1];
  if (arch) q.arch = arch;
  if (registryLike && repo.includes('/')) q.repository_url = repo.toLowerCase();
  if (tag) q.tag = tag;
  return packageUrl('oci', undefined, name, s.digest, q);
}

export function issueText(i: { code: string; message: string; path?: string; layer?: string }): string {
  return `${i.code}: ${i.message}${i.path ? ` (path ${i.path})` : ''}${i.layer ? ` (layer ${i.layer})` : ''}`;
}

/** Flattens effective options into sorted [key, value-as-string] pairs. */
export function optionPairs(inv: Inventory): [string, string][] {
  const o = inv.descriptor?.options ?? {};
  return Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => [k, typeof o[k] === 'string' ? (o[k] as string) : JSON.stringify(o[k])]);
}

/** Packages that are not the target of a dependency edge: what the image depends on directly. */
export function topLevel(inv: Inventory): Set<string> {
  const ids = new Set(inv.packages.map((p) => p.id));
  for (const r of inv.relationships) {
    if ((r.type === 'depends-on' || r.type === 'dev-depends-on' || r.type === 'optional-depends-on') && ids.has(r.from) && r.from !== r.to) ids.delete(r.to);
  }
  return ids;
}
