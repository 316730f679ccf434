/**
 * Package-URL and image matching shared by ignore rules and VEX statements.
 *
 * A pattern purl matches a package purl when type, namespace and name are equal (after the
 * per-type normalisation of packageurl-js: npm lower-case, PyPI PEP 503, ...), the version is equal
 * when the pattern has one, every qualifier of the pattern is present with the same value, and the
 * subpath is equal when the pattern has one. Qualifiers the pattern does not name are ignored.
 */
import type { PackageURL } from 'packageurl-js';
import { packageUrl, packageUrlLib } from '../../model/purl.js';
import type { FindingPackage } from '../../model/vuln.js';
import { parseReference, type Reference } from '../../image/reference.js';

export interface Purl {
  /** the purl as written */
  text: string;
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers?: Record<string, string>;
  subpath?: string;
}

/** Parses a package URL; undefined when it is not one. */
export function parsePurl(text: string): Purl | undefined {
  if (!text.startsWith('pkg:')) return undefined;
  let p: PackageURL;
  try {
    p = packageUrlLib().PackageURL.fromString(text);
  } catch {
    return undefined;
  }
  const out: Purl = { text, type: p.type, name: p.name };
  if (p.namespace) out.namespace = p.namespace;
  if (p.version) out.version = p.version;
  if (p.qualifiers && Object.keys(p.qualifiers).length > 0) out.qualifiers = { ...p.qualifiers };
  if (p.subpath) out.subpath = p.subpath;
  return out;
}

export function purlMatches(pattern: Purl, target: Purl): boolean {
  if (pattern.type !== target.type || pattern.name !== target.name) return false;
  if ((pattern.namespace ?? '') !== (target.namespace ?? '')) return false;
  if (pattern.version !== undefined && pattern.version !== target.version) return false;
  if (pattern.subpath !== undefined && pattern.subpath !== target.subpath) return false;
  if (pattern.qualifiers) {
    for (const [k, v] of Object.entries(pattern.qualifiers)) {
      if (target.qualifiers?.[k] !== v) return false;
    }
  }
  return true;
}

/** Parsed purls by text; findings of one package share it. Bounded so a long-lived process does not grow. */
const purlCache = new Map<string, Purl | null>();
const PURL_CACHE_MAX = 20000;

function cachedPurl(text: string): Purl | undefined {
  let p = purlCache.get(text);
  if (p === undefined) {
    if (purlCache.size >= PURL_CACHE_MAX) purlCache.clear();
    p = parsePurl(text) ?? null;
    purlCache.set(text, p);
  }
  return p ?? undefined;
}

/** The package's purl, parsed; built from type/namespace/name/version when the package has none. */
export function packagePurl(pkg: FindingPackage): Purl | undefined {
  if (pkg.purl) return cachedPurl(pkg.purl);
  if (pkg.type === 'binary') return undefined;
  // our npm namespace is the scope without "@"; purls carry it with "@"
  const ns = pkg.namespace && pkg.type === 'npm' && !pkg.namespace.startsWith('@') ? `@${pkg.namespace}` : pkg.namespace;
  const text = packageUrl(pkg.type, ns, pkg.name, pkg.version);
  return text === undefined ? undefined : cachedPurl(text);
}

// ---------------------------------------------------------------- the image as a product

/** What a scan knows about the image it scanned, for VEX statements whose product is the image. */
export interface ImageContext {
  /** manifest digest, "sha256:..." */
  digest?: string;
  /** the reference as given or resolved: "alpine:3.19", "ghcr.io/org/app@sha256:..." */
  reference?: string;
  /** the image's own purl, "pkg:oci/app@sha256%3A...?repository_url=ghcr.io/org/app" */
  purl?: string;
}

/** A VEX product or subcomponent: its identifier and what could be read from it. */
export interface ProductRef {
  /** the identifier as written (@id, bom-ref, CSAF product id or name) */
  id: string;
  purl?: Purl;
  /** image digests found in the identifier or the product's hashes */
  digests?: string[];
}

function tryReference(s: string): Reference | undefined {
  try {
    return parseReference(s);
  } catch {
    return undefined;
  }
}

const DIGEST = /^sha(256|512):[a-f0-9]{64,128}$/;

export interface PreparedImage {
  digests: Set<string>;
  ref?: Reference;
  purl?: Purl;
}

export function prepareImage(image: ImageContext | undefined): PreparedImage | undefined {
  if (!image) return undefined;
  const out: PreparedImage = { digests: new Set() };
  if (image.digest) out.digests.add(image.digest.toLowerCase());
  if (image.reference) {
    const ref = tryReference(image.reference);
    if (ref) {
      out.ref = ref;
      if (ref.digest) out.digests.add(ref.digest);
    }
  }
  if (image.purl) {
    const p = parsePurl(image.purl);
    if (p) {
      out.purl = p;
      if (p.version && DIGEST.test(p.version)) out.digests.add(p.version);
    }
  }
  return out;
}

/** The repository (registry/path) an oci or docker purl names, when it says enough to tell. */
function purlRepository(p: Purl): Reference | undefined {
  const repoUrl = p.qualifiers?.repository_url;
  if (repoUrl) return tryReference(repoUrl.replace(/^[a-z]+:\/\//, ''));
  if (p.type === 'docker') return tryReference(p.namespace ? `${p.namespace}/${p.name}` : p.name);
  return undefined;
}

/** True when a VEX product identifies the scanned image. */
export function productIsImage(product: ProductRef, image: PreparedImage | undefined): boolean {
  if (!image) return false;
  for (const d of product.digests ?? []) if (image.digests.has(d.toLowerCase())) return true;
  const p = product.purl;
  if (p) {
    if (image.purl && purlMatches(p, image.purl)) return true;
    if (p.type !== 'oci' && p.type !== 'docker') return false;
    const version = p.version;
    if (version && DIGEST.test(version)) return image.digests.has(version);
    if (!image.ref) return false;
    const repo = purlRepository(p);
    if (repo) {
      if (repo.registry !== image.ref.registry || repo.repository !== image.ref.repository) return false;
    } else if (image.ref.repository.split('/').pop() !== p.name) {
      return false;
    }
    // a docker purl's version is a tag; an oci purl may name the tag in a qualifier
    const tag = p.type === 'docker' ? version : p.qualifiers?.tag;
    return tag === undefined || tag === image.ref.tag;
  }
  if (DIGEST.test(product.id)) return image.digests.has(product.id);
  if (!image.ref) return false;
  const ref = tryReference(product.id);
  if (!ref) return false;
  if (ref.registry !== image.ref.registry || ref.repository !== image.ref.repository) return false;
  if (ref.digest) return image.digests.has(ref.digest);
  // parseReference defaults the tag to "latest": only compare a tag that was written
  const explicitTag = /:[^/@]+(?:@|$)/.test(product.id.slice(product.id.lastIndexOf('/') + 1));
  return !explicitTag || ref.tag === image.ref.tag;
}
