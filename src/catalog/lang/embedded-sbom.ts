/**
 * Embedded SBOMs: CycloneDX and SPDX JSON documents shipped inside images (*.cdx.json,
 * *.spdx.json, bom.json, sbom.json). Their components/packages become packages whose evidence
 * is the SBOM path and whose metadata names the document format, so provenance is kept;
 * CycloneDX `dependencies` and SPDX DEPENDS_ON/DEPENDENCY_OF relationships become edges.
 * Entries without a version and without a purl (files, the document's subject) are skipped.
 */
import { packageUrlLib } from '../../model/purl.js';
import type { Package, PackageType, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, catalogTextFiles, isRecord, LIMIT, makePackage, normaliseLicenses, parseJson, str } from './common.js';

const MAX_SBOM = 64 * 1024 * 1024;
const MAX_COMPONENTS = 200_000;
const MAX_NESTING = 32;

const KNOWN_TYPES = new Set<PackageType>(['deb', 'apk', 'rpm', 'npm', 'pypi', 'maven', 'golang', 'cargo', 'gem', 'composer', 'nuget', 'hex', 'pub', 'swift', 'conan', 'generic']);

interface Entry {
  ref?: string;
  name: string;
  version: string;
  group?: string;
  purl?: string;
  licenses: string[];
  cpe?: string;
}

function fromPurl(purl: string | undefined): { type: PackageType; namespace?: string; name?: string } {
  if (!purl) return { type: 'generic' };
  try {
    const p = packageUrlLib().PackageURL.fromString(purl);
    const type = KNOWN_TYPES.has(p.type as PackageType) ? (p.type as PackageType) : 'generic';
    const out: { type: PackageType; namespace?: string; name?: string } = { type, name: p.name };
    if (p.namespace) out.namespace = type === 'npm' ? p.namespace.replace(/^@/, '') : p.namespace;
    return out;
  } catch {
    return { type: 'generic' };
  }
}

function cdxLicenses(x: unknown): string[] {
  const out: string[] = [];
  if (!Array.isArray(x)) return out;
  for (const l of x.slice(0, 32)) {
    if (!isRecord(l)) continue;
    if (typeof l.expression === 'string') out.push(l.expression);
    else if (isRecord(l.license)) {
      const v = str(l.license.id) ?? str(l.license.name);
      if (v) out.push(v);
    }
  }
  return out;
}

function cycloneDxEntries(doc: Record<string, unknown>, onLimit: () => void): { entries: Entry[]; edges: [string, string][] } {
  const entries: Entry[] = [];
  const walk = (list: unknown, depth: number) => {
    if (!Array.isArray(list) || depth > MAX_NESTING) return;
    for (const c of list) {
      if (entries.length >= MAX_COMPONENTS) return onLimit();
      if (!isRecord(c)) continue;
      const name = str(c.name);
      if (name) {
        const e: Entry = { name, version: str(c.version) ?? '', licenses: cdxLicenses(c.licenses) };
        if (typeof c['bom-ref'] === 'string') e.ref = c['bom-ref'];
        if (typeof c.group === 'string' && c.group) e.group = c.group;
        if (typeof c.purl === 'string') e.purl = c.purl;
        if (typeof c.cpe === 'string') e.cpe = c.cpe;
        entries.push(e);
      }
      walk(c.components, depth + 1);
    }
  };
  walk(doc.components, 0);
  const edges: [string, string][] = [];
  if (Array.isArray(doc.dependencies)) {
    for (const d of doc.dependencies.slice(0, MAX_COMPONENTS)) {
      if (!isRecord(d) || typeof d.ref !== 'string' || !Array.isArray(d.dependsOn)) continue;
      for (const t of d.dependsOn.slice(0, 10_000)) if (typeof t === 'string') edges.push([d.ref, t]);
    }
  }
  return { entries, edges };
}

function spdxEntries(doc: Record<string, unknown>, onLimit: () => void): { entries: Entry[]; edges: [string, string][] } {
  const entries: Entry[] = [];
  const pkgs = Array.isArray(doc.packages) ? doc.packages : [];
  if (pkgs.length > MAX_COMPONENTS) onLimit();
  for (const p of pkgs.slice(0, MAX_COMPONENTS)) {
    if (!isRecord(p) || typeof p.name !== 'string') continue;
    const lic = [str(p.licenseDeclared), str(p.licenseConcluded)].filter((l): l is string => !!l && l !== 'NOASSERTION' && l !== 'NONE');
    const e: Entry = { name: p.name, version: str(p.versionInfo) ?? '', licenses: lic.slice(0, 1) };
    if (typeof p.SPDXID === 'string') e.ref = p.SPDXID;
    if (Array.isArray(p.externalRefs)) {
      for (const r of p.externalRefs.slice(0, 100)) {
        if (!isRecord(r) || typeof r.referenceLocator !== 'string') continue;
        if (r.referenceType === 'purl' && !e.purl) e.purl = r.referenceLocator;
        if ((r.referenceType === 'cpe23Type' || r.referenceType === 'cpe22Type') && !e.cpe) e.cpe = r.referenceLocator;
      }
    }
    entries.push(e);
  }
  const edges: [string, string][] = [];
  if (Array.isArray(doc.relationships)) {
    for (const r of doc.relationships.slice(0, MAX_COMPONENTS * 4)) {
      if (!isRecord(r) || typeof r.spdxElementId !== 'string' || typeof r.relatedSpdxElement !== 'string') continue;
      if (r.relationshipType === 'DEPENDS_ON') edges.push([r.spdxElementId, r.relatedSpdxElement]);
      else if (r.relationshipType === 'DEPENDENCY_OF') edges.push([r.relatedSpdxElement, r.spdxElementId]);
    }
  }
  return { entries, edges };
}

/** Packages and edges of one SBOM document; undefined when the JSON is not a CycloneDX or SPDX document. */
export function readEmbeddedSbom(ctx: CatalogContext, path: string, doc: unknown, foundBy: string): CatalogerResult | undefined {
  if (!isRecord(doc)) return undefined;
  let format: string;
  let specVersion: string | undefined;
  let parsed: { entries: Entry[]; edges: [string, string][] };
  const onLimit = () => bad(ctx, path, `more than ${MAX_COMPONENTS} components, truncated`, LIMIT);
  if (doc.bomFormat === 'CycloneDX') {
    format = 'cyclonedx-json';
    specVersion = str(doc.specVersion);
    parsed = cycloneDxEntries(doc, onLimit);
  } else if (typeof doc.spdxVersion === 'string') {
    format = 'spdx-json';
    specVersion = doc.spdxVersion;
    parsed = spdxEntries(doc, onLimit);
  } else return undefined;
  const packages: Package[] = [];
  const byRef = new Map<string, Package>();
  const byId = new Map<string, Package>();
  for (const e of parsed.entries) {
    if (!e.version && !e.purl) continue;
    const p = fromPurl(e.purl);
    const name = p.name ?? e.name;
    const namespace = p.namespace ?? (p.type === 'generic' ? undefined : e.group);
    const meta: Record<string, unknown> = { format, sbomPath: path, originalName: e.name };
    if (specVersion) meta.specVersion = specVersion;
    if (e.ref) meta.ref = e.ref;
    const pkg = makePackage({
      type: p.type,
      namespace,
      name,
      version: e.version,
      purl: e.purl,
      licenses: normaliseLicenses(e.licenses),
      locations: [ctx.locate(path, 'evidence')],
      foundBy,
      metadata: { kind: 'generic', ...meta },
    });
    if (e.cpe) pkg.cpes = [e.cpe];
    pkg.evidence = [path];
    const have = byId.get(pkg.id);
    if (!have) {
      byId.set(pkg.id, pkg);
      packages.push(pkg);
    }
    if (e.ref) byRef.set(e.ref, have ?? pkg);
  }
  const relationships: Relationship[] = [];
  const seen = new Set<string>();
  for (const [a, b] of parsed.edges) {
    const from = byRef.get(a);
    const to = byRef.get(b);
    if (!from || !to || from === to || seen.has(`${from.id}>${to.id}`)) continue;
    seen.add(`${from.id}>${to.id}`);
    relationships.push({ from: from.id, to: to.id, type: 'depends-on' });
  }
  return { packages, relationships };
}

function catalogSboms(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  return catalogTextFiles(ctx, MAX_SBOM, (path, text) => {
    const doc = parseJson(ctx, path, text, 128);
    if (doc === undefined) return undefined;
    const r = readEmbeddedSbom(ctx, path, doc, foundBy);
    // bom.json / sbom.json are common names for other things too; only the explicit suffixes must be SBOMs
    if (!r && /\.(cdx|spdx)\.json$/.test(path)) bad(ctx, path, 'neither a CycloneDX nor an SPDX json document');
    return r;
  });
}

export const embeddedSbomCataloger: Cataloger = {
  name: 'embedded-sbom',
  version: '1',
  tags: ['sbom', 'installed', 'image', 'directory'],
  selector: { globs: ['**/*.cdx.json', '**/*.spdx.json'], basenames: ['bom.json', 'sbom.json'], maxSize: MAX_SBOM },
  catalog: (ctx) => catalogSboms(ctx, 'embedded-sbom'),
};
