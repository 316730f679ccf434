/**
 * Does an attested SBOM describe the image? A pure comparison of two inventories: the one decoded
 * from the attested predicate and the one cataloged from the image now (scan/attest.ts wires the two).
 * Packages compare by package URL without qualifiers and subpath (purl-spec: type, namespace, name,
 * version). Failing differences: a package missing from the image, an extra one, a different version.
 * Reported without failing unless `strict`: components that are not packages (no package URL: files,
 * binaries without identity), the operating-system entry, and extra packages found only by catalogers
 * that the attested SBOM's tool did not run.
 */
import type { Inventory, Package } from '../../model/package.js';
import { parsePurl } from '../../sbom/decode/index.js';
import { byString } from '../../core/compare.js';

export interface ComponentRef {
  /** pkg:type/namespace/name (no version, qualifiers or subpath) */
  key: string;
  name: string;
  version: string;
  purl?: string;
  foundBy?: string;
}

export interface VersionChange {
  key: string;
  name: string;
  attested: string;
  image: string;
}

export interface ContentNote {
  kind: 'non-package' | 'operating-system' | 'other-cataloger';
  /** 'missing' from the image or 'extra' in it, or 'different' (operating system) */
  change: 'missing' | 'extra' | 'different';
  detail: string;
}

export interface ContentCheckResult {
  /** false when a failing difference was found (or, with strict, any difference) */
  passed: boolean;
  strict: boolean;
  /** in the attested SBOM, not in the image */
  missing: ComponentRef[];
  /** in the image, not in the attested SBOM */
  extra: ComponentRef[];
  changed: VersionChange[];
  /** differences that do not fail the check unless strict */
  notes: ContentNote[];
  counts: { attested: number; image: number; matched: number };
}

/** The purl-spec types whose names compare case-insensitively. */
const CASE_INSENSITIVE = new Set(['npm', 'pypi', 'deb', 'apk', 'gem', 'nuget', 'composer', 'hex', 'pub']);

/** Identity of a package without its version, from its purl; undefined when it has none. */
export function componentKey(purl: string | undefined): { key: string; version: string } | undefined {
  const p = parsePurl(purl);
  if (!p) return undefined;
  const fold = CASE_INSENSITIVE.has(p.type);
  let name = fold ? p.name.toLowerCase() : p.name;
  if (p.type === 'pypi') name = name.replace(/[-_.]+/g, '-'); // PEP 503 normalised name
  const ns = p.namespace ? (fold ? p.namespace.toLowerCase() : p.namespace) : undefined;
  return { key: `pkg:${p.type}/${ns ? `${ns}/` : ''}${name}`, version: p.version ?? '' };
}

function catalogerName(s: string): string {
  const at = s.lastIndexOf('@');
  return at > 0 ? s.slice(0, at) : s;
}

/** Cataloger names the SBOM's tool ran, when it says (Drydock writes them as an option); else undefined. */
export function catalogersOf(inv: Inventory): Set<string> | undefined {
  const list = inv.descriptor?.options?.catalogers;
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return undefined;
  return new Set((list as string[]).map(catalogerName));
}

interface Grouped {
  byKey: Map<string, { refs: ComponentRef[] }>;
  nonPackages: Package[];
}

function group(inv: Inventory): Grouped {
  const byKey = new Map<string, { refs: ComponentRef[] }>();
  const nonPackages: Package[] = [];
  for (const p of inv.packages) {
    const k = componentKey(p.purl);
    if (!k) {
      nonPackages.push(p);
      continue;
    }
    const ref: ComponentRef = { key: k.key, name: p.namespace ? `${p.namespace}/${p.name}` : p.name, version: k.version || p.version, ...(p.purl ? { purl: p.purl } : {}), foundBy: p.foundBy };
    const g = byKey.get(k.key) ?? { refs: [] };
    g.refs.push(ref);
    byKey.set(k.key, g);
  }
  return { byKey, nonPackages };
}

const nonPackageId = (p: Package): string => `${p.type}:${p.namespace ? `${p.namespace}/` : ''}${p.name}@${p.version}`;
const byRef = (a: ComponentRef, b: ComponentRef): number => byString(a.key, b.key) || byString(a.version, b.version);

/**
 * Compares the attested inventory with the image's. Several packages may share a key (one npm package
 * installed at two versions): versions are compared as multisets, the unmatched ones paired in order
 * as version changes, the rest missing or extra.
 */
export function compareInventories(attested: Inventory, image: Inventory, opts: { strict?: boolean } = {}): ContentCheckResult {
  const strict = opts.strict === true;
  const a = group(attested);
  const b = group(image);
  const tools = catalogersOf(attested);
  const missing: ComponentRef[] = [];
  const extra: ComponentRef[] = [];
  const changed: VersionChange[] = [];
  const notes: ContentNote[] = [];
  let matched = 0;

  for (const key of new Set([...a.byKey.keys(), ...b.byKey.keys()])) {
    const left = [...(a.byKey.get(key)?.refs ?? [])].sort(byRef);
    const right = [...(b.byKey.get(key)?.refs ?? [])].sort(byRef);
    // remove exact version matches
    const rest: ComponentRef[] = [];
    for (const r of right) {
      const i = left.findIndex((l) => l.version === r.version);
      if (i >= 0) {
        left.splice(i, 1);
        matched++;
      } else rest.push(r);
    }
    const n = Math.min(left.length, rest.length);
    for (let i = 0; i < n; i++) changed.push({ key, name: left[i]!.name, attested: left[i]!.version, image: rest[i]!.version });
    missing.push(...left.slice(n));
    for (const r of rest.slice(n)) {
      // found by a cataloger the attested SBOM's tool did not run: reported, not failing
      if (tools && r.foundBy && !tools.has(catalogerName(r.foundBy)) && !a.byKey.has(key)) {
        notes.push({ kind: 'other-cataloger', change: 'extra', detail: `${r.purl ?? r.key} found by ${r.foundBy}, a cataloger the attested SBOM's tool did not run` });
      } else extra.push(r);
    }
  }

  const aNon = new Set(a.nonPackages.map(nonPackageId));
  const bNon = new Set(b.nonPackages.map(nonPackageId));
  for (const id of [...aNon].sort()) if (!bNon.has(id)) notes.push({ kind: 'non-package', change: 'missing', detail: `component ${id} (no package URL) is not in the image` });
  for (const id of [...bNon].sort()) if (!aNon.has(id)) notes.push({ kind: 'non-package', change: 'extra', detail: `component ${id} (no package URL) is not in the attested SBOM` });

  const os = (inv: Inventory): string | undefined => (inv.distro ? `${inv.distro.id}${inv.distro.versionId ? ` ${inv.distro.versionId}` : ''}` : undefined);
  const osA = os(attested);
  const osB = os(image);
  if (osA !== osB) {
    notes.push({ kind: 'operating-system', change: !osB ? 'missing' : !osA ? 'extra' : 'different', detail: `operating system ${osA ?? 'none'} in the attested SBOM, ${osB ?? 'none'} in the image` });
  }

  missing.sort(byRef);
  extra.sort(byRef);
  changed.sort((x, y) => byString(x.key, y.key) || byString(x.attested, y.attested));
  const failing = missing.length + extra.length + changed.length + (strict ? notes.length : 0);
  return {
    passed: failing === 0,
    strict,
    missing,
    extra,
    changed,
    notes,
    counts: { attested: attested.packages.length, image: image.packages.length, matched },
  };
}

/** One line per difference, failing ones first. */
export function describeContentCheck(r: ContentCheckResult): string[] {
  return [
    ...r.missing.map((c) => `missing from the image: ${c.key}@${c.version}`),
    ...r.extra.map((c) => `not in the attested SBOM: ${c.key}@${c.version}${c.foundBy ? ` (found by ${c.foundBy})` : ''}`),
    ...r.changed.map((c) => `different version: ${c.key} attested ${c.attested}, image ${c.image}`),
    ...r.notes.map((n) => `${r.strict ? '' : 'note (not failing): '}${n.detail}`),
  ];
}
