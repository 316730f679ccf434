/**
 * Syft's JSON (schema 7–16) → Inventory: `artifacts` (name, version, type, purl, cpes as strings
 * or objects, licenses as strings or objects, locations with layerID = the layer's diffID),
 * `artifactRelationships` (dependency-of, ownership-by-file-overlap, contains), `distro`, and
 * `source` (image metadata: layers by diffID, the manifest for the compressed digests).
 */
import type { Distro, Inventory, InventorySource, LayerRef, Location, PackageType } from '../../model/package.js';
import {
  DecodeContext,
  finish,
  inventoryHead,
  locationOf,
  namespaceFor,
  parsePurl,
  typeFromPurl,
  type DecodeOptions,
  type Json,
  type PackageDraft,
  type RelationshipDraft,
} from './common.js';

const SYFT_TYPES: Record<string, PackageType> = {
  deb: 'deb', apk: 'apk', rpm: 'rpm', npm: 'npm', python: 'pypi', 'java-archive': 'maven', 'jenkins-plugin': 'maven', 'go-module': 'golang',
  'rust-crate': 'cargo', gem: 'gem', 'php-composer': 'composer', dotnet: 'nuget', binary: 'binary', hex: 'hex', 'dart-pub': 'pub', swift: 'swift', conan: 'conan',
};

function sourceOf(ctx: DecodeContext, v: unknown): InventorySource {
  if (v === undefined) return { target: '', kind: 'sbom', name: '', layers: [] };
  const s = ctx.obj(v, 'source');
  const type = ctx.str(s.type, 'source.type') ?? '';
  const meta = s.metadata === undefined ? {} : ctx.obj(s.metadata, 'source.metadata');
  // older schemas keep the image under `target`
  const m = type === 'image' && s.target && typeof s.target === 'object' && !s.metadata ? (s.target as Json) : meta;
  const userInput = ctx.str(m.userInput, 'source.metadata.userInput') ?? (typeof s.target === 'string' ? s.target : undefined) ?? ctx.str(m.path, 'source.metadata.path');
  const name = ctx.str(s.name, 'source.name') || userInput || '';
  const manifestDigest = ctx.str(m.manifestDigest, 'source.metadata.manifestDigest');
  const configDigest = ctx.str(m.imageID, 'source.metadata.imageID');
  const arch = ctx.str(m.architecture, 'source.metadata.architecture');
  const os = ctx.str(m.os, 'source.metadata.os');
  let compressed: string[] = [];
  const man = ctx.str(m.manifest, 'source.metadata.manifest');
  if (man) {
    try {
      const doc = JSON.parse(Buffer.from(man, 'base64').toString('utf8')) as { layers?: { digest?: unknown }[] };
      compressed = (doc.layers ?? []).map((l) => (typeof l.digest === 'string' ? l.digest : ''));
    } catch {
      ctx.warn('source.metadata.manifest is not base64 JSON; layer digests are unknown');
    }
  }
  const layers: LayerRef[] = ctx.arr(m.layers, 'source.metadata.layers').map((x, i) => {
    const l = ctx.obj(x, `source.metadata.layers[${i}]`);
    return { index: i, digest: compressed[i] ?? '', diffId: ctx.need(l.digest, `source.metadata.layers[${i}].digest`) };
  });
  return {
    target: userInput ?? name,
    kind: type === 'image' ? 'image' : type === 'directory' ? 'dir' : type === 'file' ? 'file' : type || 'sbom',
    name,
    ...(manifestDigest ? { digest: manifestDigest } : {}),
    ...(configDigest ? { configDigest } : {}),
    ...(os && arch ? { platform: `${os}/${arch}` } : {}),
    layers,
  };
}

function distroOf(ctx: DecodeContext, v: unknown): Distro | undefined {
  if (v === undefined || v === null) return undefined;
  const d = ctx.obj(v, 'distro');
  const id = ctx.str(d.id, 'distro.id') ?? ctx.str(d.name, 'distro.name');
  if (!id) return undefined;
  const out: Distro = { id, idLike: ctx.arr(d.idLike, 'distro.idLike').map((x, i) => ctx.need(x, `distro.idLike[${i}]`)) };
  const set = (k: keyof Distro, key: string) => {
    const s = ctx.str(d[key], `distro.${key}`);
    if (s) (out as unknown as Record<string, string>)[k] = s;
  };
  set('versionId', 'versionID');
  if (!out.versionId) set('versionId', 'version');
  set('versionCodename', 'versionCodename');
  set('prettyName', 'prettyName');
  set('name', 'name');
  set('cpeName', 'cpeName');
  return out;
}

export function decodeSyft(doc: Json, opts: DecodeOptions = {}): Inventory {
  const ctx = new DecodeContext('syft-json', opts);
  const src = sourceOf(ctx, doc.source);
  const drafts: PackageDraft[] = [];
  ctx.arr(doc.artifacts, 'artifacts').forEach((x, i) => {
    const at = `artifacts[${i}]`;
    const a = ctx.obj(x, at);
    const ref = ctx.need(a.id, `${at}.id`);
    const rawName = ctx.need(a.name, `${at}.name`);
    const purlText = ctx.str(a.purl, `${at}.purl`);
    const purl = parsePurl(purlText);
    const type: PackageType = typeFromPurl(purl) ?? SYFT_TYPES[ctx.str(a.type, `${at}.type`) ?? ''] ?? 'generic';
    const nn = namespaceFor(type, purl, rawName);
    const locations: Location[] = ctx.arr(a.locations, `${at}.locations`).map((y, j) => {
      const l = ctx.obj(y, `${at}.locations[${j}]`);
      const path = ctx.str(l.path, `${at}.locations[${j}].path`) ?? ctx.need(l.realPath, `${at}.locations[${j}].realPath`);
      const ann = l.annotations && typeof l.annotations === 'object' ? (l.annotations as Json) : {};
      return locationOf(path, src.layers, ctx.str(l.layerID, `${at}.locations[${j}].layerID`), ann.evidence === 'supporting' ? 'evidence' : undefined);
    });
    const cpes = ctx.arr(a.cpes, `${at}.cpes`).map((c, j) => (typeof c === 'string' ? c : ctx.need(ctx.obj(c, `${at}.cpes[${j}]`).cpe, `${at}.cpes[${j}].cpe`)));
    const licenses = ctx.arr(a.licenses, `${at}.licenses`).map((l, j) => {
      if (typeof l === 'string') return l;
      const o = ctx.obj(l, `${at}.licenses[${j}]`);
      return ctx.str(o.spdxExpression, `${at}.licenses[${j}].spdxExpression`) || ctx.need(o.value, `${at}.licenses[${j}].value`);
    });
    const first = locations[0];
    const layer = first && first.layer >= 0 ? src.layers[first.layer] : undefined;
    drafts.push({
      ref,
      type,
      ...(nn.namespace ? { namespace: nn.namespace } : {}),
      name: nn.name,
      version: ctx.str(a.version, `${at}.version`) ?? '',
      ...(purlText ? { purl: purlText } : {}),
      ...(cpes.length ? { cpes } : {}),
      ...(licenses.length ? { licenses: [...new Set(licenses)] } : {}),
      locations,
      ...(layer ? { introducedBy: { ...layer } } : {}),
      foundBy: ctx.str(a.foundBy, `${at}.foundBy`) ?? 'sbom:syft-json',
    });
  });
  const rels: RelationshipDraft[] = [];
  ctx.arr(doc.artifactRelationships, 'artifactRelationships').forEach((x, i) => {
    const r = ctx.obj(x, `artifactRelationships[${i}]`);
    const parent = ctx.need(r.parent, `artifactRelationships[${i}].parent`);
    const child = ctx.need(r.child, `artifactRelationships[${i}].child`);
    const type = ctx.need(r.type, `artifactRelationships[${i}].type`);
    if (type === 'dependency-of') rels.push({ from: child, to: parent, type: 'depends-on' });
    else if (type === 'ownership-by-file-overlap') rels.push({ from: parent, to: child, type: 'owns-files-of' });
    else if (type === 'contains') rels.push({ from: parent, to: child, type: 'contains' });
  });
  for (const d of drafts) {
    const owner = rels.find((r) => r.type === 'owns-files-of' && r.to === d.ref);
    if (owner) d.ownedByRef = owner.from;
  }
  const distro = distroOf(ctx, doc.distro);
  const desc = doc.descriptor && typeof doc.descriptor === 'object' ? (doc.descriptor as Json) : undefined;
  const tool = desc && typeof desc.name === 'string' ? { name: desc.name, version: typeof desc.version === 'string' ? desc.version : '' } : undefined;
  return finish(ctx, inventoryHead(src, distro, tool), drafts, rels);
}
