/**
 * Docker image references (the grammar of github.com/distribution/reference):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component ( "/" path-component )*
 *   domain     := host [ ":" port ]        (a first component with ".", ":" or equal to "localhost")
 *
 * Normalisation follows `docker pull`: no domain → docker.io, single-component names on
 * docker.io get the `library/` namespace, no tag and no digest → tag `latest`.
 * `index.docker.io` is folded into `docker.io`; the API of docker.io lives on registry-1.docker.io.
 */
import { DrydockError } from '../core/errors.js';
import { isDigest } from '../core/digest.js';

export interface Reference {
  /** registry host as the user names it (docker.io, ghcr.io, 127.0.0.1:5000) */
  registry: string;
  /** repository path (library/alpine) */
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';
export const DOCKER_HUB_API = 'registry-1.docker.io';
/** the key docker login uses for Docker Hub in config.json */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

const NAME_MAX = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const ANCHORED_HEX64 = /^[a-f0-9]{64}$/;

function invalid(s: string, why: string): DrydockError {
  return new DrydockError('REFERENCE_INVALID', `invalid reference ${JSON.stringify(s.slice(0, 300))}: ${why}`);
}

function isValidDomain(d: string): boolean {
  let host = d;
  let port: string | undefined;
  if (d.startsWith('[')) {
    const end = d.indexOf(']');
    if (end < 0) return false;
    const ip6 = d.slice(1, end);
    if (!/^[0-9a-fA-F:.]+$/.test(ip6) || !ip6.includes(':')) return false;
    const rest = d.slice(end + 1);
    if (rest === '') return true;
    if (!/^:[0-9]+$/.test(rest)) return false;
    return true;
  }
  const colon = d.lastIndexOf(':');
  if (colon >= 0) {
    host = d.slice(0, colon);
    port = d.slice(colon + 1);
    if (!/^[0-9]+$/.test(port)) return false;
  }
  if (host === '') return false;
  return host.split('.').every((c) => DOMAIN_COMPONENT.test(c));
}

/** Parses and normalises a Docker image reference; throws REFERENCE_INVALID. */
export function parseReference(s: string): Reference {
  if (typeof s !== 'string' || s === '') throw invalid(String(s), 'empty');
  if (s.length > 4096) throw invalid(s, 'too long');
  if (/\s/.test(s)) throw invalid(s, 'contains white space');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw invalid(s, `bad digest ${JSON.stringify(digest.slice(0, 140))} (sha256:<64 hex> or sha512:<128 hex>)`);
  }

  // a tag is what follows the last ":" when no "/" follows it (so host:port/name is not a tag)
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0 && !rest.slice(colon).includes('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(s, `bad tag ${JSON.stringify(tag.slice(0, 140))}`);
  }
  if (rest === '') throw invalid(s, 'empty name');

  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[') || first !== first.toLowerCase()) {
      if (!isValidDomain(first)) throw invalid(s, `bad registry host ${JSON.stringify(first)}`);
      registry = first;
      path = rest.slice(slash + 1);
    }
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;

  if (path === '') throw invalid(s, 'empty repository');
  const components = path.split('/');
  for (const c of components) {
    if (c === '') throw invalid(s, 'empty path component');
    if (c !== c.toLowerCase() && PATH_COMPONENT.test(c.toLowerCase())) throw invalid(s, 'repository name must be lowercase');
    if (!PATH_COMPONENT.test(c)) throw invalid(s, `bad repository component ${JSON.stringify(c.slice(0, 140))}`);
  }
  if (registry === DOCKER_HUB && components.length === 1) {
    if (ANCHORED_HEX64.test(path)) throw invalid(s, 'a repository name cannot be a 64-character hexadecimal string');
    path = `library/${path}`;
  }
  if (registry.length + 1 + path.length > NAME_MAX) throw invalid(s, `name longer than ${NAME_MAX} characters`);

  const ref: Reference = { registry, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (tag === undefined && digest === undefined) ref.tag = 'latest';
  return ref;
}

/** Full form: registry/repository[:tag][@digest]. */
export function formatReference(r: Reference): string {
  let s = `${r.registry}/${r.repository}`;
  if (r.tag) s += `:${r.tag}`;
  if (r.digest) s += `@${r.digest}`;
  return s;
}

/** The short form docker prints: docker.io/library/alpine:3.19 → alpine:3.19. */
export function familiarName(r: Reference): string {
  let name = `${r.registry}/${r.repository}`;
  if (r.registry === DOCKER_HUB) {
    name = r.repository.startsWith('library/') && r.repository.split('/').length === 2 ? r.repository.slice('library/'.length) : r.repository;
  }
  if (r.tag) name += `:${r.tag}`;
  if (r.digest) name += `@${r.digest}`;
  return name;
}

/** The host that serves the registry API for a registry name (docker.io → registry-1.docker.io). */
export function registryApiHost(registry: string): string {
  if (registry === DOCKER_HUB || registry === 'index.docker.io') return DOCKER_HUB_API;
  return registry;
}

/** The reference string (tag or digest) to ask the registry for; the digest wins when both are given. */
export function referenceSelector(r: Reference): string {
  return r.digest ?? r.tag ?? 'latest';
}
