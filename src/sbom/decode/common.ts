/**
 * Helpers shared by the SBOM decoders: a context that names the file and the JSON path in
 * errors and issues, a small package-URL parser, license splitting, and package construction
 * with content-derived ids. Pure: imports only core/ and model/.
 */
import { DrydockError } from '../../core/errors.js';
import { compareIssues, type Issue } from '../../core/issues.js';
import { comparePackages, packageId, uniqueRelationships } from '../../model/ids.js';
import type { Distro, Inventory, InventorySource, LayerRef, Location, Package, PackageMetadata, PackageType, Relationship, RelationshipType } from '../../model/package.js';

export type Json = Record<string, unknown>;

export interface DecodeOptions {
  /** the file the document came from, named in errors and issues */
  path?: string;
}

/** Names the document in messages and collects issues; `fail` throws SBOM_INVALID. */
export class DecodeContext {
  readonly issues: Issue[] = [];
  readonly file: string | undefined;
  readonly format: string;

  constructor(format: string, opts: DecodeOptions) {
    this.format = format;
    this.file = opts.path;
  }

  where(jsonPath: string): string {
    return `${this.file ? `${this.file}: ` : ''}${jsonPath}`;
  }

  fail(jsonPath: string, why: string): never {
    throw new DrydockError('SBOM_INVALID', `invalid ${this.format} sbom ${this.where(jsonPath)}: ${why}`, {
      details: { ...(this.file ? { path: this.file } : {}), jsonPath },
    });
  }

  warn(message: string): void {
    this.issues.push({ code: 'SBOM_INVALID', severity: 'warning', message, ...(this.file ? { path: this.file } : {}) });
  }

  obj(v: unknown, jsonPath: string): Json {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(jsonPath, `expected an object, found ${kindOf(v)}`);
    return v as Json;
  }

  /** An optional array: undefined → [], anything else but an array fails. */
  arr(v: unknown, jsonPath: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(jsonPath, `expected an array, found ${kindOf(v)}`);
    return v;
  }

  /** An optional string: undefined → undefined; numbers are accepted as their decimal text. */
  str(v: unknown, jsonPath: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number') return String(v);
    if (typeof v !== 'string') this.fail(jsonPath, `expected a string, found ${kindOf(v)}`);
    return v;
  }

  need(v: unknown, jsonPath: string): string {
    const s = this.str(v, jsonPath);
    if (s === undefined || s === '') this.fail(jsonPath, 'missing');
    return s;
  }
}

export function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

export interface Purl {
  type: string;
  namespace?: string;
  name: string;
  version?: string;
  qualifiers: Record<string, string>;
}

function dec(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Parses `pkg:type/namespace/name@version?qualifiers#subpath` (purl-spec); undefined when it is not one. */
export function parsePurl(s: string | undefined): Purl | undefined {
  if (!s || !s.startsWith('pkg:')) return undefined;
  let rest = s.slice(4).replace(/^\/+/, '');
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const qualifiers: Record<string, string> = {};
  const q = rest.indexOf('?');
  if (q >= 0) {
    for (const kv of rest.slice(q + 1).split('&')) {
      const eq = kv.indexOf('=');
      if (eq > 0) qualifiers[kv.slice(0, eq).toLowerCase()] = dec(kv.slice(eq + 1));
    }
    rest = rest.slice(0, q);
  }
  let version: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at > rest.lastIndexOf('/')) {
    version = dec(rest.slice(at + 1));
    rest = rest.slice(0, at);
  }
  const parts = rest.split('/').filter(Boolean);
  if (parts.length < 2) return undefined;
  const type = parts[0]!.toLowerCase();
  const name = dec(parts[parts.length - 1]!);
  const ns = parts.slice(1, -1).map(dec).join('/');
  return { type, ...(ns ? { namespace: ns } : {}), name, ...(version !== undefined ? { version } : {}), qualifiers };
}

const PURL_TYPES: Record<string, PackageType> = {
  deb: 'deb', apk: 'apk', alpm: 'generic', rpm: 'rpm', npm: 'npm', pypi: 'pypi', maven: 'maven', golang: 'golang', cargo: 'cargo',
  gem: 'gem', composer: 'composer', nuget: 'nuget', hex: 'hex', pub: 'pub', swift: 'swift', conan: 'conan', generic: 'generic',
};

export function typeFromPurl(p: Purl | undefined): PackageType | undefined {
  return p ? PURL_TYPES[p.type] : undefined;
}

const MODEL_TYPES = new Set<string>(['deb', 'apk', 'rpm', 'npm', 'pypi', 'maven', 'golang', 'cargo', 'gem', 'composer', 'nuget', 'hex', 'pub', 'swift', 'conan', 'generic', 'binary']);
export function isPackageType(s: string | undefined): s is PackageType {
  return s !== undefined && MODEL_TYPES.has(s);
}

/** Namespace in the model's sense: Maven group, npm scope without @, distro of OS packages. */
export function namespaceFor(type: PackageType, purl: Purl | undefined, name: string): { namespace?: string; name: string } {
  if (type === 'npm' && name.startsWith('@') && name.includes('/')) {
    const i = name.indexOf('/');
    return { namespace: name.slice(1, i), name: name.slice(i + 1) };
  }
  const ns = purl?.namespace;
  if (!ns) return { name };
  if (type === 'npm') return { namespace: ns.replace(/^@/, ''), name };
  if (type === 'deb' || type === 'apk' || type === 'rpm' || type === 'maven' || type === 'composer') return { namespace: ns, name };
  return { name };
}

/** Splits a license expression at its top-level ANDs: "A AND (B OR C)" → ["A", "(B OR C)"]. */
export function splitTopLevelAnd(expr: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  const s = expr.trim();
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && s.startsWith(' AND ', i)) {
      out.push(s.slice(start, i).trim());
      start = i + 5;
      i += 4;
    }
  }
  out.push(s.slice(start).trim());
  return out.filter(Boolean);
}

/** Everything a decoder found about one package, before it gets its id. */
export interface PackageDraft extends Omit<Package, 'id'> {
  /** the document's own identifier (bom-ref, SPDXID, Syft id): relationships refer to it */
  ref: string;
  /** the document's id of the package whose files this one was found in (ownedBy) */
  ownedByRef?: string;
}

export interface RelationshipDraft {
  from: string;
  to: string;
  type: RelationshipType;
}

/**
 * Gives drafts their content-derived ids (packageId), merges drafts that get the same id,
 * maps relationships from document refs to ids, and sorts everything.
 */
/** The inventory fields around the packages: source, distro, and the tool that wrote the document with its options. */
export function inventoryHead(
  source: InventorySource,
  distro: Distro | undefined,
  tool: { name: string; version: string } | undefined,
  options: Record<string, unknown> = {},
): Omit<Inventory, 'packages' | 'relationships' | 'issues'> {
  return {
    source,
    ...(distro ? { distro } : {}),
    ...(tool ? { descriptor: { ...tool, ...(Object.keys(options).length ? { options } : {}) } } : {}),
  };
}

/**
 * What an OS package's purl says about its source (purl-spec qualifiers as Drydock and Syft write them:
 * `upstream=NAME` or `upstream=NAME@VERSION`, `arch`, rpm `epoch`) and, for Trivy's SBOMs, its
 * `SrcName`/`SrcVersion` properties. Matchers need the source: Debian advisories name source packages.
 */
export function osMetadataOf(type: PackageType, purl: string | undefined, version: string, src?: { name?: string; version?: string; epoch?: string }): PackageMetadata | undefined {
  if (type !== 'deb' && type !== 'apk' && type !== 'rpm') return undefined;
  const q = parsePurl(purl)?.qualifiers ?? {};
  let upName = src?.name;
  let upVersion = src?.version;
  if (!upName && q.upstream) {
    const at = q.upstream.indexOf('@');
    upName = at > 0 ? q.upstream.slice(0, at) : q.upstream;
    if (at > 0) upVersion = q.upstream.slice(at + 1);
  }
  const arch = q.arch;
  if (type === 'deb') {
    return { kind: 'dpkg', ...(upName ? { source: upName } : {}), ...(upName && upVersion && upVersion !== version ? { sourceVersion: upVersion } : {}), ...(arch ? { architecture: arch } : {}) };
  }
  if (type === 'apk') return { kind: 'apk', ...(upName ? { origin: upName } : {}), ...(arch ? { architecture: arch } : {}) };
  const dash = version.lastIndexOf('-');
  const epoch = q.epoch ?? src?.epoch;
  return {
    kind: 'rpm',
    release: dash > 0 ? version.slice(dash + 1) : '',
    ...(epoch && /^\d+$/.test(epoch) ? { epoch: Number(epoch) } : {}),
    ...(arch ? { architecture: arch } : {}),
    ...(upName ? { sourceRpm: upName } : {}),
  };
}

export function finish(
  ctx: DecodeContext,
  base: Omit<Inventory, 'packages' | 'relationships' | 'issues'>,
  drafts: PackageDraft[],
  rels: RelationshipDraft[],
  extraIssues: Issue[] = [],
): Inventory {
  const idOf = new Map<string, string>();
  const byId = new Map<string, Package>();
  for (const d of drafts) {
    const { ref, ownedByRef: _o, ...rest } = d;
    if (!rest.metadata || rest.metadata.kind === 'generic') {
      const os = osMetadataOf(rest.type, rest.purl, rest.version);
      if (os) rest.metadata = os;
    }
    if (rest.version === '') ctx.warn(`package ${rest.name} (${ref}) has no version`);
    const id = packageId(rest);
    idOf.set(ref, id);
    const seen = byId.get(id);
    if (seen) {
      for (const l of rest.locations) if (!seen.locations.some((x) => x.path === l.path)) seen.locations.push(l);
      continue;
    }
    const pkg: Package = { id, ...rest };
    byId.set(id, pkg);
  }
  const all: RelationshipDraft[] = [...rels];
  for (const d of drafts) {
    if (d.ownedByRef === undefined) continue;
    const owner = idOf.get(d.ownedByRef);
    const self = idOf.get(d.ref);
    if (owner && self && owner !== self) {
      byId.get(self)!.ownedBy = owner;
      all.push({ from: d.ownedByRef, to: d.ref, type: 'owns-files-of' });
    }
  }
  const resolved: Relationship[] = [];
  for (const r of all) {
    const from = idOf.get(r.from);
    const to = idOf.get(r.to);
    if (from && to && from !== to) resolved.push({ from, to, type: r.type });
  }
  for (const p of byId.values()) if (p.ownedBy && !byId.has(p.ownedBy)) delete p.ownedBy;
  const packages = [...byId.values()].sort(comparePackages);
  const relationships = uniqueRelationships(resolved);
  const issues = [...extraIssues, ...ctx.issues].sort(compareIssues);
  // the image's layers: as the document lists them, else those the packages name
  let layers = base.source.layers;
  if (!layers.length) {
    const seen = new Map<number, LayerRef>();
    for (const p of packages) if (p.introducedBy && p.introducedBy.index >= 0 && !seen.has(p.introducedBy.index)) seen.set(p.introducedBy.index, p.introducedBy);
    layers = [...seen.values()].sort((a, b) => a.index - b.index);
  }
  return { ...base, source: { ...base.source, layers }, packages, relationships, issues };
}

/** A location, with the layer index found from its digest or diffID among the image's layers. */
export function locationOf(path: string, layers: LayerRef[], digest?: string, role?: Location['role']): Location {
  const ref = digest ? layers.find((l) => l.digest === digest || l.diffId === digest) : undefined;
  const loc: Location = { path, layer: ref ? ref.index : -1 };
  if (ref?.digest) loc.layerDigest = ref.digest;
  else if (digest && !ref) loc.layerDigest = digest;
  if (ref?.diffId) loc.diffId = ref.diffId;
  if (role) loc.role = role;
  return loc;
}

/** "CODE: message (path P) (layer L)" as the encoders write issues. */
export function parseIssueText(severity: string, text: string, known: (code: string) => boolean): Issue | undefined {
  const m = /^([A-Z_]+): (.*?)(?: \(path (.*?)\))?(?: \(layer (\S+)\))?$/s.exec(text);
  if (!m || !known(m[1]!)) return undefined;
  return {
    code: m[1] as Issue['code'],
    severity: severity === 'error' ? 'error' : 'warning',
    message: m[2]!,
    ...(m[3] ? { path: m[3] } : {}),
    ...(m[4] ? { layer: m[4] } : {}),
  };
}

/** An option value as the encoders flatten them: JSON where it parses back to a non-string, else the string. */
export function optionValue(v: string): unknown {
  if (/^[[{]|^(true|false|null|-?\d+(\.\d+)?)$/.test(v)) {
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  }
  return v;
}
