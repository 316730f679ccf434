/**
 * SPDX 2.2 and 2.3 JSON → Inventory. Packages with their purl and CPE externalRefs and
 * licenseDeclared (else licenseConcluded; LicenseRefs resolved through
 * hasExtractedLicensingInfos); relationships DEPENDS_ON, DEPENDENCY_OF, DEV_/OPTIONAL_DEPENDENCY_OF,
 * CONTAINS/CONTAINED_BY, OTHER (owns-files-of, Syft's ownership-by-file-overlap and evident-by);
 * the described container package → the source, an OPERATING_SYSTEM package → the distro.
 * Files (`files` with `hasFiles` or CONTAINS) become owned-file locations. Drydock's own
 * sourceInfo, comments and annotations give back locations, layers, options and issues.
 */
import { ERROR_CODES } from '../../core/errors.js';
import type { Issue } from '../../core/issues.js';
import type { Distro, Inventory, InventorySource, LayerRef, Location, PackageType } from '../../model/package.js';
import {
  DecodeContext,
  finish,
  inventoryHead,
  namespaceFor,
  optionValue,
  parseIssueText,
  parsePurl,
  splitTopLevelAnd,
  typeFromPurl,
  type DecodeOptions,
  type Json,
  type PackageDraft,
  type RelationshipDraft,
} from './common.js';
import { byString } from '../../core/compare.js';

const NONE = new Set(['NOASSERTION', 'NONE', '']);

interface SourceInfo {
  paths: string[];
  foundBy?: string;
  layer?: LayerRef;
}

/** Drydock's sourceInfo: "acquired package info from P1, P2 (cataloger C); layer N DIGEST diffID D created by: X". */
function parseSourceInfo(s: string | undefined): SourceInfo | undefined {
  if (!s) return undefined;
  const m = /^acquired package info from (.*) \(cataloger ([^)]*)\)(?:; layer (\d+)(?: (sha256:[a-f0-9]+))?(?: diffID (sha256:[a-f0-9]+))?(?: created by: ([\s\S]*))?)?$/.exec(s);
  if (!m) return undefined;
  const paths = m[1] === 'no location' ? [] : m[1]!.split(', ').filter(Boolean);
  const info: SourceInfo = { paths, foundBy: m[2]! };
  if (m[3] !== undefined) info.layer = { index: Number(m[3]), digest: m[4] ?? '', diffId: m[5] ?? '', ...(m[6] ? { createdBy: m[6] } : {}) };
  return info;
}

function licensesOf(ctx: DecodeContext, p: Json, at: string, extracted: Map<string, string>): string[] {
  let expr = ctx.str(p.licenseDeclared, `${at}.licenseDeclared`);
  if (expr === undefined || NONE.has(expr)) expr = ctx.str(p.licenseConcluded, `${at}.licenseConcluded`);
  if (expr === undefined || NONE.has(expr)) return [];
  // compound parts stay as written, "(MIT OR Apache-2.0)"; LicenseRefs become their names
  return splitTopLevelAnd(expr).map((part) => extracted.get(part) ?? part);
}

const REL_TYPES: Record<string, { type: 'depends-on' | 'dev-depends-on' | 'optional-depends-on' | 'contains'; reverse: boolean }> = {
  DEPENDS_ON: { type: 'depends-on', reverse: false },
  DEPENDENCY_OF: { type: 'depends-on', reverse: true },
  DEV_DEPENDENCY_OF: { type: 'dev-depends-on', reverse: true },
  OPTIONAL_DEPENDENCY_OF: { type: 'optional-depends-on', reverse: true },
  CONTAINS: { type: 'contains', reverse: false },
  CONTAINED_BY: { type: 'contains', reverse: true },
};

export function decodeSpdx(doc: Json, opts: DecodeOptions = {}): Inventory {
  const ctx = new DecodeContext('spdx', opts);
  const version = ctx.need(doc.spdxVersion, 'spdxVersion');
  const docId = ctx.str(doc.SPDXID, 'SPDXID') ?? 'SPDXRef-DOCUMENT';
  const extracted = new Map<string, string>();
  ctx.arr(doc.hasExtractedLicensingInfos, 'hasExtractedLicensingInfos').forEach((x, i) => {
    const o = ctx.obj(x, `hasExtractedLicensingInfos[${i}]`);
    const id = ctx.need(o.licenseId, `hasExtractedLicensingInfos[${i}].licenseId`);
    const text = ctx.str(o.name, `hasExtractedLicensingInfos[${i}].name`) ?? ctx.str(o.extractedText, `hasExtractedLicensingInfos[${i}].extractedText`);
    if (text && !NONE.has(text)) extracted.set(id, text);
  });

  // files by SPDXID, for hasFiles and CONTAINS
  const files = new Map<string, string>();
  ctx.arr(doc.files, 'files').forEach((x, i) => {
    const f = ctx.obj(x, `files[${i}]`);
    const name = ctx.need(f.fileName, `files[${i}].fileName`);
    files.set(ctx.need(f.SPDXID, `files[${i}].SPDXID`), name.replace(/^\.\//, '/'));
  });

  const rawRels = ctx.arr(doc.relationships, 'relationships').map((x, i) => {
    const r = ctx.obj(x, `relationships[${i}]`);
    return {
      from: ctx.need(r.spdxElementId, `relationships[${i}].spdxElementId`),
      type: ctx.need(r.relationshipType, `relationships[${i}].relationshipType`),
      to: ctx.need(r.relatedSpdxElement, `relationships[${i}].relatedSpdxElement`),
      comment: ctx.str(r.comment, `relationships[${i}].comment`) ?? '',
    };
  });
  const described = new Set<string>([
    ...ctx.arr(doc.documentDescribes, 'documentDescribes').map((x, i) => ctx.need(x, `documentDescribes[${i}]`)),
    ...rawRels.filter((r) => r.from === docId && r.type === 'DESCRIBES').map((r) => r.to),
    ...rawRels.filter((r) => r.to === docId && r.type === 'DESCRIBED_BY').map((r) => r.from),
  ]);

  const pkgs = ctx.arr(doc.packages, 'packages').map((x, i) => ({ p: ctx.obj(x, `packages[${i}]`), at: `packages[${i}]` }));
  const idOf = (e: { p: Json; at: string }) => ctx.need(e.p.SPDXID, `${e.at}.SPDXID`);
  const purposeOf = (e: { p: Json; at: string }) => (ctx.str(e.p.primaryPackagePurpose, `${e.at}.primaryPackagePurpose`) ?? '').replace(/_/g, '-');

  // the image: a described package that is a container (or Syft's DocumentRoot), else the document itself
  const root = pkgs.find((e) => described.has(idOf(e)) && (purposeOf(e) === 'CONTAINER' || /^SPDXRef-DocumentRoot-/.test(idOf(e))));
  const rootId = root ? idOf(root) : undefined;
  const docName = ctx.str(doc.name, 'name') ?? '';
  let src: InventorySource = { target: docName, kind: 'sbom', name: docName, layers: [] };
  if (root) {
    const name = ctx.str(root.p.name, `${root.at}.name`) ?? docName;
    const v = ctx.str(root.p.versionInfo, `${root.at}.versionInfo`);
    let digest = v && /^sha256:[a-f0-9]{64}$/.test(v) ? v : undefined;
    for (const [i, c] of ctx.arr(root.p.checksums, `${root.at}.checksums`).entries()) {
      const o = ctx.obj(c, `${root.at}.checksums[${i}]`);
      if (!digest && o.algorithm === 'SHA256' && typeof o.checksumValue === 'string') digest = `sha256:${o.checksumValue}`;
    }
    const comment = ctx.str(root.p.comment, `${root.at}.comment`) ?? '';
    const tm = /(?:^|; )target (.*) \(([a-z-]+)\)(?:;|$)/.exec(comment);
    const platform = /(?:^|; )platform ([^;\s]+)/.exec(comment)?.[1];
    const config = /(?:^|; )config (sha256:[a-f0-9]+)/.exec(comment)?.[1];
    src = {
      target: tm?.[1] ?? name,
      kind: tm?.[2] ?? (purposeOf(root) === 'CONTAINER' || /DocumentRoot-Image/.test(idOf(root)) ? 'image' : /DocumentRoot-Directory/.test(idOf(root)) ? 'dir' : 'sbom'),
      name,
      ...(digest ? { digest } : {}),
      ...(config ? { configDigest: config } : {}),
      ...(platform ? { platform } : {}),
      layers: [],
    };
  }

  // relationships to files: owned files (CONTAINS, hasFiles) and evidence (Syft's OTHER evident-by)
  const fileLocs = new Map<string, Location[]>();
  const addFile = (pkg: string, fileId: string, role: Location['role']) => {
    const path = files.get(fileId);
    if (path === undefined) return;
    const list = fileLocs.get(pkg) ?? [];
    if (!list.some((l) => l.path === path)) list.push({ path, layer: -1, role });
    fileLocs.set(pkg, list);
  };
  for (const e of pkgs) for (const [j, f] of ctx.arr(e.p.hasFiles, `${e.at}.hasFiles`).entries()) addFile(idOf(e), ctx.need(f, `${e.at}.hasFiles[${j}]`), 'owned-file');
  for (const r of rawRels) {
    if (r.type === 'CONTAINS' && files.has(r.to)) addFile(r.from, r.to, 'owned-file');
    if (r.type === 'OTHER' && files.has(r.to) && r.comment.startsWith('evident-by')) addFile(r.from, r.to, 'evidence');
  }

  let distro: Distro | undefined;
  const drafts: PackageDraft[] = [];
  const skip = new Set<string>([docId, ...(rootId ? [rootId] : [])]);
  for (const e of pkgs) {
    const id = idOf(e);
    if (id === rootId) continue;
    const { p, at } = e;
    const name = ctx.need(p.name, `${at}.name`);
    if (purposeOf(e) === 'OPERATING-SYSTEM') {
      skip.add(id);
      const v = ctx.str(p.versionInfo, `${at}.versionInfo`);
      const desc = ctx.str(p.description, `${at}.description`);
      distro ??= { id: name.toLowerCase(), idLike: [], ...(v ? { versionId: v } : {}), ...(desc ? { prettyName: desc } : {}) };
      continue;
    }
    let purlText: string | undefined;
    const cpes: string[] = [];
    ctx.arr(p.externalRefs, `${at}.externalRefs`).forEach((x, j) => {
      const r = ctx.obj(x, `${at}.externalRefs[${j}]`);
      const t = ctx.str(r.referenceType, `${at}.externalRefs[${j}].referenceType`);
      const loc = ctx.need(r.referenceLocator, `${at}.externalRefs[${j}].referenceLocator`);
      if (t === 'purl' && !purlText) purlText = loc;
      if (t === 'cpe23Type' || t === 'cpe22Type') cpes.push(loc);
    });
    const purl = parsePurl(purlText);
    const type: PackageType = typeFromPurl(purl) ?? 'generic';
    const nn = namespaceFor(type, purl, name);
    const info = parseSourceInfo(ctx.str(p.sourceInfo, `${at}.sourceInfo`));
    const locations: Location[] = [
      ...(info?.paths ?? []).map((path): Location => {
        const l: Location = { path, layer: -1 };
        return l;
      }),
      ...[...(fileLocs.get(id) ?? [])].sort((a, b) => byString(a.path, b.path)),
    ];
    const lic = licensesOf(ctx, p, at, extracted);
    drafts.push({
      ref: id,
      type,
      ...(nn.namespace ? { namespace: nn.namespace } : {}),
      name: nn.name,
      version: ctx.str(p.versionInfo, `${at}.versionInfo`) ?? purl?.version ?? '',
      ...(purlText ? { purl: purlText } : {}),
      ...(cpes.length ? { cpes } : {}),
      ...(lic.length ? { licenses: lic } : {}),
      locations,
      ...(info?.layer ? { introducedBy: info.layer } : {}),
      foundBy: info?.foundBy ?? 'sbom:spdx',
    });
  }
  // a described package that is not a container (an SPDX of one application) stays a package

  const rels: RelationshipDraft[] = [];
  for (const r of rawRels) {
    if (skip.has(r.from) || skip.has(r.to)) continue;
    const m = REL_TYPES[r.type];
    if (m) {
      rels.push(m.reverse ? { from: r.to, to: r.from, type: m.type } : { from: r.from, to: r.to, type: m.type });
    } else if (r.type === 'OTHER' && (r.comment.startsWith('owns-files-of') || r.comment.startsWith('ownership-by-file-overlap'))) {
      rels.push({ from: r.from, to: r.to, type: 'owns-files-of' });
    }
  }
  for (const d of drafts) {
    const owner = rels.find((r) => r.type === 'owns-files-of' && r.to === d.ref);
    if (owner) d.ownedByRef = owner.from;
  }

  // Drydock's options (creationInfo.comment) and issues (annotations); the tool (creators)
  const ci = doc.creationInfo === undefined ? undefined : ctx.obj(doc.creationInfo, 'creationInfo');
  const options: Record<string, unknown> = {};
  for (const line of (ci ? (ctx.str(ci.comment, 'creationInfo.comment') ?? '') : '').split('\n')) {
    const m = /^option ([^=]+)=([\s\S]*)$/.exec(line);
    if (m) options[m[1]!] = optionValue(m[2]!);
  }
  let tool: { name: string; version: string } | undefined;
  for (const [i, c] of (ci ? ctx.arr(ci.creators, 'creationInfo.creators') : []).entries()) {
    const m = /^Tool:\s*(.+?)(?:-(v?\d[\w.+-]*))?$/.exec(ctx.str(c, `creationInfo.creators[${i}]`) ?? '');
    if (m && !tool) tool = { name: m[1]!, version: m[2] ?? '' };
  }
  const issues: Issue[] = [];
  ctx.arr(doc.annotations, 'annotations').forEach((x, i) => {
    const a = ctx.obj(x, `annotations[${i}]`);
    const m = /^issue \((warning|error)\) ([\s\S]*)$/.exec(ctx.str(a.comment, `annotations[${i}].comment`) ?? '');
    const issue = m ? parseIssueText(m[1]!, m[2]!, (c) => Object.hasOwn(ERROR_CODES, c)) : undefined;
    if (issue) issues.push(issue);
  });
  if (version !== 'SPDX-2.3' && version !== 'SPDX-2.2') ctx.warn(`${version} is read as SPDX-2.3`);
  return finish(ctx, inventoryHead(src, distro, tool, options), drafts, rels, issues);
}
