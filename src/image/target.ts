/**
 * Target strings: where an image comes from.
 *
 *   registry:REF | REF                       a registry reference (docker.io/library/alpine:3.19)
 *   oci-dir:PATH[:TAG] | oci:PATH[:TAG]      an OCI image layout directory
 *   oci-archive:PATH[:TAG]                   a tar of an OCI image layout
 *   docker-archive:PATH[:REF]                a `docker save` tar
 *   dir:PATH                                 a root file system directory
 *   podman:REF                               an image of the local podman store
 *   docker:REF | docker-daemon:REF           an image of the local Docker Engine
 *   sbom:PATH                                a stored SBOM (CycloneDX, SPDX, Syft or Drydock JSON): an
 *                                            inventory without an image, for commands that need only that
 *
 * Paths may contain colons: the optional suffix is split off only when the part after the
 * colon is a valid tag (or reference) and the whole string is not an existing path.
 */
import { existsSync } from 'node:fs';
import { DrydockError } from '../core/errors.js';
import type { Target, TargetKind } from './types.js';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE_RE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const TAG_RE = new RegExp(`^${TAG}$`);

export function isValidTag(s: string): boolean {
  return TAG_RE.test(s);
}

/** True when `s` follows the Docker reference grammar (name[:tag][@digest]). */
export function isValidReference(s: string): boolean {
  if (s.length > 4096) return false;
  const m = REFERENCE_RE.exec(s);
  return m !== null && (m[1] ?? '').length <= 255;
}

/**
 * Canonical form of a Docker reference: docker.io/library/alpine:latest for "alpine".
 * Returns undefined when `s` is not a valid reference.
 */
export function normalizeReference(s: string): string | undefined {
  const m = REFERENCE_RE.exec(s);
  if (!m) return undefined;
  let name = m[1] ?? '';
  const tag = m[2];
  const digest = m[3];
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  let domain: string;
  let path: string;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())) {
    domain = first;
    path = name.slice(slash + 1);
  } else {
    domain = 'docker.io';
    path = name;
  }
  if (domain === 'index.docker.io' || domain === 'registry-1.docker.io') domain = 'docker.io';
  if (domain === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  name = `${domain}/${path}`;
  if (digest) return tag ? `${name}:${tag}@${digest}` : `${name}@${digest}`;
  return `${name}:${tag ?? 'latest'}`;
}

const KINDS: Record<string, TargetKind> = {
  registry: 'registry',
  'oci-dir': 'oci-dir',
  oci: 'oci-dir',
  'oci-archive': 'oci-archive',
  'docker-archive': 'docker-archive',
  dir: 'dir',
  podman: 'podman',
  docker: 'docker',
  'docker-daemon': 'docker',
  sbom: 'sbom',
};

function invalid(input: string, why: string): DrydockError {
  return new DrydockError('TARGET_INVALID', `invalid target ${JSON.stringify(input.slice(0, 300))}: ${why}`);
}

/** Splits PATH[:SUFFIX]; `accept` says which suffixes are valid. */
function splitPathSuffix(rest: string, accept: (s: string) => boolean, preferFirst: boolean): { path: string; ref?: string } {
  if (existsSync(rest)) return { path: rest };
  const colons: number[] = [];
  for (let i = 0; i < rest.length; i++) if (rest[i] === ':') colons.push(i);
  // A prefix that exists on disk wins.
  for (const i of colons) {
    const path = rest.slice(0, i);
    const ref = rest.slice(i + 1);
    if (path !== '' && existsSync(path) && accept(ref)) return { path, ref };
  }
  const order = preferFirst ? colons : [...colons].reverse();
  for (const i of preferFirst ? order : order.slice(0, 1)) {
    const path = rest.slice(0, i);
    const ref = rest.slice(i + 1);
    if (path !== '' && accept(ref)) return { path, ref };
  }
  return { path: rest };
}

export function parseTarget(s: string): Target {
  if (typeof s !== 'string' || s.trim() === '') throw invalid(String(s), 'empty target');
  if (/[\0\n\r]/.test(s)) throw invalid(s, 'control characters');
  const colon = s.indexOf(':');
  const scheme = colon > 0 ? s.slice(0, colon) : '';
  const kind = Object.hasOwn(KINDS, scheme) ? KINDS[scheme] : undefined;
  if (kind === undefined) return registryTarget(s, s);
  const rest = s.slice(colon + 1);
  switch (kind) {
    case 'registry':
      return registryTarget(s, rest);
    case 'podman':
    case 'docker': {
      if (rest === '') throw invalid(s, `${scheme}: needs an image reference or id`);
      if (/\s/.test(rest)) throw invalid(s, 'whitespace in the reference');
      return { kind, input: s, ref: rest };
    }
    case 'dir': {
      if (rest === '') throw invalid(s, 'dir: needs a path');
      return { kind, input: s, path: rest };
    }
    case 'sbom': {
      if (rest === '') throw invalid(s, 'sbom: needs the path of an SBOM file');
      return { kind, input: s, path: rest };
    }
    case 'oci-dir':
    case 'oci-archive':
    case 'docker-archive': {
      if (rest === '') throw invalid(s, `${scheme}: needs a path`);
      const { path, ref } =
        kind === 'docker-archive'
          ? splitPathSuffix(rest, (r) => isValidReference(r) || /^@\d+$/.test(r), true)
          : splitPathSuffix(rest, (r) => isValidTag(r) || isValidReference(r), false);
      if (path === '') throw invalid(s, 'empty path');
      return ref === undefined ? { kind, input: s, path } : { kind, input: s, path, ref };
    }
  }
}

function registryTarget(input: string, ref: string): Target {
  if (ref === '') throw invalid(input, 'empty reference');
  if (ref.startsWith('/') || ref.startsWith('./') || ref.startsWith('../') || ref === '.') {
    throw invalid(input, 'looks like a path; use oci-dir:, oci-archive:, docker-archive: or dir:');
  }
  if (!isValidReference(ref)) {
    throw invalid(input, 'not a valid image reference (name[:tag][@digest]) nor a known scheme (registry:, oci-dir:, oci:, oci-archive:, docker-archive:, dir:, podman:, docker:, sbom:)');
  }
  return { kind: 'registry', input, ref };
}
