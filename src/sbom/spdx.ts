/**
 * SPDX 2.3 JSON encoder. The document DESCRIBES the image package, which CONTAINS every package;
 * depends-on relationships become DEPENDS_ON. SPDXIDs come from package ids, the document
 * namespace from a hash of the content, `created` from the injected clock.
 */
import type { Inventory, Package, RelationshipType } from '../model/package.js';
import { byString } from '../core/compare.js';
import {
  classifyLicense,
  contentUuid,
  imagePurl,
  issueText,
  layerOf,
  optionPairs,
  sha256Hex,
  timestamp,
  toolOf,
  type EncodeOptions,
} from './common.js';

type Json = Record<string, unknown>;

export const SPDX_IMAGE_ID = 'SPDXRef-DocumentRoot-Image';
export const SPDX_OS_ID = 'SPDXRef-OperatingSystem';

/** SPDXRef-... from any string: only [A-Za-z0-9.-] survive (others become '-'). */
export function spdxId(s: string): string {
  return `SPDXRef-${s.replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

export function spdxPackageId(p: Pick<Package, 'id' | 'type' | 'name'>): string {
  return spdxId(`Package-${p.type}-${p.name}-${p.id}`);
}

function licenseRef(text: string): string {
  const s = text.replace(/[^A-Za-z0-9.-]/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  return `LicenseRef-${s || 'unknown'}`;
}

interface Extracted {
  licenseId: string;
  extractedText: string;
  name: string;
}

function declared(p: Package, extracted: Map<string, Extracted>): string {
  const list = [...new Set((p.licenses ?? []).map((l) => l.trim()).filter(Boolean))];
  if (!list.length) return 'NOASSERTION';
  const parts = list.map((l) => {
    const c = classifyLicense(l);
    if (c.kind === 'id') return c.id;
    if (c.kind === 'ref') return c.ref;
    if (c.kind === 'expression') return list.length > 1 ? `(${c.expression})` : c.expression;
    const id = licenseRef(c.name);
    if (!extracted.has(id)) extracted.set(id, { licenseId: id, extractedText: c.name, name: c.name });
    return id;
  });
  return parts.join(' AND ');
}

function sourceInfo(p: Package, inv: Inventory): string {
  const where = p.locations.map((l) => l.path).join(', ');
  const layer = layerOf(p, inv);
  let s = `acquired package info from ${where || 'no location'} (cataloger ${p.foundBy})`;
  if (layer) {
    s += `; layer ${layer.index}`;
    if (layer.digest) s += ` ${layer.digest}`;
    if (layer.diffId) s += ` diffID ${layer.diffId}`;
    if (layer.createdBy) s += ` created by: ${layer.createdBy}`;
  }
  return s;
}

function spdxPackage(p: Package, inv: Inventory, extracted: Map<string, Extracted>): Json {
  const refs: Json[] = [];
  for (const c of p.cpes ?? []) refs.push({ referenceCategory: 'SECURITY', referenceType: 'cpe23Type', referenceLocator: c });
  if (p.purl) refs.push({ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl });
  const pkg: Json = {
    name: p.name,
    SPDXID: spdxPackageId(p),
    versionInfo: p.version,
    supplier: 'NOASSERTION',
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    sourceInfo: sourceInfo(p, inv),
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: declared(p, extracted),
    copyrightText: 'NOASSERTION',
  };
  if (refs.length) pkg.externalRefs = refs;
  return pkg;
}

const REL: Record<RelationshipType, { type: string; reverse: boolean; comment?: string }> = {
  'depends-on': { type: 'DEPENDS_ON', reverse: false },
  'dev-depends-on': { type: 'DEV_DEPENDENCY_OF', reverse: true },
  'optional-depends-on': { type: 'OPTIONAL_DEPENDENCY_OF', reverse: true },
  contains: { type: 'CONTAINS', reverse: false },
  'owns-files-of': { type: 'OTHER', reverse: false, comment: 'owns-files-of: the package owns the files the other package was found in' },
};

export function encodeSpdx(inv: Inventory, opts: EncodeOptions = {}): string {
  const tool = toolOf(inv);
  const s = inv.source;
  const extracted = new Map<string, Extracted>();
  const ids = new Map(inv.packages.map((p) => [p.id, spdxPackageId(p)]));

  const image: Json = {
    name: s.name,
    SPDXID: SPDX_IMAGE_ID,
    ...(s.digest ? { versionInfo: s.digest } : {}),
    supplier: 'NOASSERTION',
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    ...(sha256Hex(s.digest) ? { checksums: [{ algorithm: 'SHA256', checksumValue: sha256Hex(s.digest) }] } : {}),
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
    comment: [`target ${s.target} (${s.kind})`, s.platform ? `platform ${s.platform}` : '', s.configDigest ? `config ${s.configDigest}` : '']
      .filter(Boolean)
      .join('; '),
  };
  const purl = imagePurl(inv);
  if (purl) image.externalRefs = [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: purl }];

  const packages: Json[] = [image];
  if (inv.distro) {
    const d = inv.distro;
    packages.push({
      name: d.id,
      SPDXID: SPDX_OS_ID,
      ...(d.versionId ? { versionInfo: d.versionId } : {}),
      supplier: 'NOASSERTION',
      downloadLocation: 'NOASSERTION',
      filesAnalyzed: false,
      licenseConcluded: 'NOASSERTION',
      licenseDeclared: 'NOASSERTION',
      copyrightText: 'NOASSERTION',
      primaryPackagePurpose: 'OPERATING_SYSTEM',
      ...(d.prettyName ? { description: d.prettyName } : {}),
    });
  }
  for (const p of inv.packages) packages.push(spdxPackage(p, inv, extracted));

  const rels: Json[] = [{ spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: SPDX_IMAGE_ID }];
  const more: Json[] = [];
  if (inv.distro) more.push({ spdxElementId: SPDX_IMAGE_ID, relationshipType: 'CONTAINS', relatedSpdxElement: SPDX_OS_ID });
  for (const p of inv.packages) more.push({ spdxElementId: SPDX_IMAGE_ID, relationshipType: 'CONTAINS', relatedSpdxElement: ids.get(p.id)! });
  for (const r of inv.relationships) {
    const from = ids.get(r.from);
    const to = ids.get(r.to);
    if (!from || !to) continue;
    const m = REL[r.type];
    more.push({
      spdxElementId: m.reverse ? to : from,
      relationshipType: m.type,
      relatedSpdxElement: m.reverse ? from : to,
      ...(m.comment ? { comment: m.comment } : {}),
    });
  }
  const key = (r: Json) => `${String(r.spdxElementId)}\u0000${String(r.relationshipType)}\u0000${String(r.relatedSpdxElement)}`;
  const seen = new Set<string>();
  for (const r of more.sort((a, b) => byString(key(a), key(b)))) {
    if (seen.has(key(r))) continue;
    seen.add(key(r));
    rels.push(r);
  }

  const comments: string[] = [];
  for (const [k, v] of optionPairs(inv)) comments.push(`option ${k}=${v}`);
  const body: Json = {
    packages,
    relationships: rels,
    ...(extracted.size ? { hasExtractedLicensingInfos: [...extracted.values()].sort((a, b) => byString(a.licenseId, b.licenseId)) } : {}),
  };
  const created = timestamp(opts.clock);
  const annotations = inv.issues.map((i) => ({
    annotationDate: created,
    annotationType: 'OTHER',
    annotator: `Tool: ${tool.name}-${tool.version}`,
    comment: `issue (${i.severity}) ${issueText(i)}`,
  }));
  // the namespace hashes the document but its dates (the issues as the annotations word them)
  const uuid = contentUuid(JSON.stringify({ spdxVersion: 'SPDX-2.3', name: s.name, ...body, comments, issues: annotations.map((a) => a.comment) }));
  const nsName = (s.name || 'image').replace(/[^A-Za-z0-9._-]+/g, '-');
  const doc: Json = {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: s.name,
    documentNamespace: `https://drydock.dev/spdx/${nsName}-${uuid}`,
    creationInfo: {
      created,
      creators: [`Tool: ${tool.name}-${tool.version}`],
      ...(comments.length ? { comment: comments.join('\n') } : {}),
    },
    ...(annotations.length ? { annotations } : {}),
    ...body,
  };
  return JSON.stringify(doc, null, 2) + '\n';
}
