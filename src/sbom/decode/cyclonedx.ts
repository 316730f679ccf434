/**
 * CycloneDX JSON (1.2–1.6, tested on 1.4, 1.5 and 1.6) → Inventory. Components (nested ones
 * too: a parent `contains` its children), purl, cpe, licenses (expression, id, name), hashes,
 * properties (Drydock's own `drydock:*` give back layer attribution, locations, the cataloger,
 * extra CPEs, ownership; Syft's `syft:*` and Trivy's `aquasecurity:trivy:*` their layer and
 * path), `dependencies` → depends-on, metadata.component → the source, the operating-system
 * component → the distro.
 */
import { ERROR_CODES } from '../../core/errors.js';
import type { Issue } from '../../core/issues.js';
import type { Distro, Inventory, InventorySource, LayerRef, Location, PackageMetadata, PackageType } from '../../model/package.js';
import {
  DecodeContext,
  finish,
  osMetadataOf,
  inventoryHead,
  isPackageType,
  locationOf,
  namespaceFor,
  optionValue,
  parseIssueText,
  parsePurl,
  typeFromPurl,
  type DecodeOptions,
  type Json,
  type PackageDraft,
  type RelationshipDraft,
} from './common.js';

/** how deep `components` may nest before the document is refused (SBOM_INVALID) */
const MAX_NESTING = 64;

interface Prop {
  name: string;
  value: string;
}

function props(ctx: DecodeContext, v: unknown, at: string): Prop[] {
  return ctx.arr(v, at).map((x, i) => {
    const o = ctx.obj(x, `${at}[${i}]`);
    return { name: ctx.need(o.name, `${at}[${i}].name`), value: ctx.str(o.value, `${at}[${i}].value`) ?? '' };
  });
}

const all = (ps: Prop[], name: string) => ps.filter((p) => p.name === name).map((p) => p.value);
const one = (ps: Prop[], name: string) => ps.find((p) => p.name === name)?.value;

function licenses(ctx: DecodeContext, v: unknown, at: string): string[] {
  const out: string[] = [];
  ctx.arr(v, at).forEach((x, i) => {
    const o = ctx.obj(x, `${at}[${i}]`);
    const expr = ctx.str(o.expression, `${at}[${i}].expression`);
    if (expr) out.push(expr);
    if (o.license !== undefined) {
      const l = ctx.obj(o.license, `${at}[${i}].license`);
      const t = ctx.str(l.id, `${at}[${i}].license.id`) ?? ctx.str(l.name, `${at}[${i}].license.name`);
      if (t) out.push(t);
    }
  });
  return [...new Set(out)];
}

function source(ctx: DecodeContext, meta: Json | undefined): { source: InventorySource; kindKnown: boolean } {
  const c = meta?.component === undefined ? undefined : ctx.obj(meta.component, 'metadata.component');
  const ps = c ? props(ctx, c.properties, 'metadata.component.properties') : [];
  const name = (c && ctx.str(c.name, 'metadata.component.name')) || '';
  const version = c ? ctx.str(c.version, 'metadata.component.version') : undefined;
  let digest = version && /^sha256:[a-f0-9]{64}$/.test(version) ? version : undefined;
  if (!digest && c) {
    for (const [i, h] of ctx.arr(c.hashes, 'metadata.component.hashes').entries()) {
      const o = ctx.obj(h, `metadata.component.hashes[${i}]`);
      if (o.alg === 'SHA-256' && typeof o.content === 'string') digest = `sha256:${o.content}`;
    }
  }
  if (!digest) {
    const purl = parsePurl(c ? ctx.str(c.purl, 'metadata.component.purl') : undefined);
    if (purl?.type === 'oci' && purl.version?.startsWith('sha256:')) digest = purl.version;
  }
  const layers = new Map<number, LayerRef>();
  for (const p of ps) {
    const m = /^drydock:layer:(\d+):(digest|diffId|createdBy)$/.exec(p.name);
    if (!m) continue;
    const idx = Number(m[1]);
    const l = layers.get(idx) ?? { index: idx, digest: '', diffId: '' };
    l[m[2] as 'digest' | 'diffId' | 'createdBy'] = p.value;
    layers.set(idx, l);
  }
  // Trivy and Syft name the image's diffIDs: the layers, when Drydock's properties are absent
  if (!layers.size) {
    const diffIds = ps.filter((p) => p.name === 'aquasecurity:trivy:DiffID' || /^syft:image:layers?:\d+:digest$/.test(p.name)).map((p) => p.value);
    diffIds.forEach((d, i) => layers.set(i, { index: i, digest: '', diffId: d }));
  }
  const kind = one(ps, 'drydock:source:kind');
  const type = c ? ctx.str(c.type, 'metadata.component.type') : undefined;
  const configDigest = one(ps, 'drydock:source:configDigest') ?? one(ps, 'aquasecurity:trivy:ImageID');
  const platform = one(ps, 'drydock:source:platform');
  const src: InventorySource = {
    target: one(ps, 'drydock:source:target') ?? name,
    kind: kind ?? (type === 'container' ? 'image' : type === 'file' || type === 'application' ? 'dir' : 'sbom'),
    name,
    ...(digest ? { digest } : {}),
    ...(configDigest ? { configDigest } : {}),
    ...(platform ? { platform } : {}),
    layers: [...layers.values()].sort((a, b) => a.index - b.index),
  };
  return { source: src, kindKnown: kind !== undefined };
}

function distroOf(ctx: DecodeContext, c: Json, at: string): Distro {
  const ps = props(ctx, c.properties, `${at}.properties`);
  const d: Distro = { id: ctx.need(c.name, `${at}.name`).toLowerCase(), idLike: all(ps, 'drydock:distro:idLike') };
  const v = ctx.str(c.version, `${at}.version`);
  if (v) d.versionId = v;
  const codename = one(ps, 'drydock:distro:codename');
  if (codename) d.versionCodename = codename;
  const pretty = ctx.str(c.description, `${at}.description`);
  if (pretty) d.prettyName = pretty;
  const cpe = ctx.str(c.cpe, `${at}.cpe`);
  if (cpe) d.cpeName = cpe;
  const src = one(ps, 'drydock:distro:source');
  if (src) d.source = src;
  return d;
}

const SYFT_TYPES: Record<string, PackageType> = {
  deb: 'deb', apk: 'apk', rpm: 'rpm', npm: 'npm', python: 'pypi', 'java-archive': 'maven', 'jenkins-plugin': 'maven', 'go-module': 'golang',
  'rust-crate': 'cargo', gem: 'gem', 'php-composer': 'composer', dotnet: 'nuget', binary: 'binary', hex: 'hex', 'dart-pub': 'pub', swift: 'swift', conan: 'conan',
};
const TRIVY_TYPES: Record<string, PackageType> = {
  debian: 'deb', ubuntu: 'deb', alpine: 'apk', redhat: 'rpm', centos: 'rpm', rocky: 'rpm', alma: 'rpm', amazon: 'rpm', 'cbl-mariner': 'rpm', oracle: 'rpm', suse: 'rpm',
  npm: 'npm', 'node-pkg': 'npm', yarn: 'npm', pnpm: 'npm', 'python-pkg': 'pypi', pip: 'pypi', pipenv: 'pypi', poetry: 'pypi', jar: 'maven', pom: 'maven', gradle: 'maven',
  gobinary: 'golang', gomod: 'golang', cargo: 'cargo', 'rust-binary': 'cargo', gemspec: 'gem', bundler: 'gem', composer: 'composer', nuget: 'nuget', 'dotnet-core': 'nuget',
};

function hashesMeta(ctx: DecodeContext, c: Json, at: string, type: PackageType, ns: string | undefined, name: string): PackageMetadata | undefined {
  const hashes: Record<string, string> = {};
  ctx.arr(c.hashes, `${at}.hashes`).forEach((h, i) => {
    const o = ctx.obj(h, `${at}.hashes[${i}]`);
    hashes[ctx.need(o.alg, `${at}.hashes[${i}].alg`)] = ctx.need(o.content, `${at}.hashes[${i}].content`);
  });
  if (!Object.keys(hashes).length) return undefined;
  if (type === 'maven') return { kind: 'java', ...(ns ? { groupId: ns } : {}), artifactId: name, ...(hashes['SHA-1'] ? { sha1: hashes['SHA-1'] } : {}) };
  return { kind: 'generic', hashes };
}

export function decodeCycloneDx(doc: Json, opts: DecodeOptions = {}): Inventory {
  const ctx = new DecodeContext('cyclonedx', opts);
  const meta = doc.metadata === undefined ? undefined : ctx.obj(doc.metadata, 'metadata');
  const { source: src } = source(ctx, meta);
  const layers = src.layers;
  const drafts: PackageDraft[] = [];
  const rels: RelationshipDraft[] = [];
  let distro: Distro | undefined;
  const imageRef = meta?.component ? ctx.str((meta.component as Json)['bom-ref'], 'metadata.component.bom-ref') : undefined;
  const skip = new Set<string>(imageRef ? [imageRef] : []);

  const walk = (list: unknown, at: string, parent: string | undefined, depth = 0) => {
    // real SBOMs nest a few levels (shaded jars, bundles); hostile ones would exhaust the stack
    if (depth > MAX_NESTING && list !== undefined) ctx.fail(at, `components nested more than ${MAX_NESTING} levels deep`);
    ctx.arr(list, at).forEach((x, i) => {
      const here = `${at}[${i}]`;
      const c = ctx.obj(x, here);
      const ctype = ctx.str(c.type, `${here}.type`);
      const ref = ctx.str(c['bom-ref'], `${here}.bom-ref`) ?? `#${here}`;
      if (ctype === 'operating-system') {
        distro ??= distroOf(ctx, c, here);
        skip.add(ref);
        walk(c.components, `${here}.components`, undefined, depth + 1);
        return;
      }
      const rawName = ctx.need(c.name, `${here}.name`);
      const ps = props(ctx, c.properties, `${here}.properties`);
      const purlText = ctx.str(c.purl, `${here}.purl`);
      const purl = parsePurl(purlText);
      const declaredType = one(ps, 'drydock:package:type');
      const type: PackageType =
        (isPackageType(declaredType) ? declaredType : undefined) ??
        typeFromPurl(purl) ??
        SYFT_TYPES[one(ps, 'syft:package:type') ?? ''] ??
        TRIVY_TYPES[one(ps, 'aquasecurity:trivy:PkgType') ?? ''] ??
        (ctype === 'application' && !purl ? 'binary' : 'generic');
      const group = ctx.str(c.group, `${here}.group`);
      const nameForNs = type === 'npm' && group ? `${group.startsWith('@') ? group : `@${group}`}/${rawName}` : rawName;
      let { namespace, name } = namespaceFor(type, purl, nameForNs);
      if (!namespace && group && (type === 'maven' || type === 'composer')) namespace = group;
      if (type === 'golang' && group && !purl) name = `${group}/${rawName}`;

      // where it was found: Drydock's properties, else Syft's or Trivy's, else CycloneDX 1.5 evidence
      const locDigest = new Map<string, string>();
      for (const v of all(ps, 'drydock:location:layerDigest')) {
        const sp = v.lastIndexOf(' ');
        if (sp > 0) locDigest.set(v.slice(0, sp), v.slice(sp + 1));
      }
      let paths = all(ps, 'drydock:location:path');
      const syftLayer = new Map<string, string>();
      if (!paths.length) {
        for (const p of ps) {
          const m = /^syft:location:(\d+):path$/.exec(p.name);
          if (m) {
            paths.push(p.value);
            const l = one(ps, `syft:location:${m[1]}:layerID`);
            if (l) syftLayer.set(p.value, l);
          }
        }
      }
      const trivyDigest = one(ps, 'aquasecurity:trivy:LayerDigest');
      const trivyDiffId = one(ps, 'aquasecurity:trivy:LayerDiffID');
      if (!paths.length) paths = all(ps, 'aquasecurity:trivy:FilePath');
      if (!paths.length && c.evidence !== undefined) {
        const ev = ctx.obj(c.evidence, `${here}.evidence`);
        ctx.arr(ev.occurrences, `${here}.evidence.occurrences`).forEach((o, j) => {
          const loc = ctx.str(ctx.obj(o, `${here}.evidence.occurrences[${j}]`).location, `${here}.evidence.occurrences[${j}].location`);
          if (loc) paths.push(loc);
        });
      }
      const locations: Location[] = paths.map((p) => locationOf(p, layers, locDigest.get(p) ?? syftLayer.get(p) ?? trivyDiffId ?? trivyDigest));

      // the layer that brought it in
      let introducedBy: LayerRef | undefined;
      const li = one(ps, 'drydock:layer:index');
      if (li !== undefined && /^\d+$/.test(li)) {
        const known = layers.find((l) => l.index === Number(li));
        const createdBy = one(ps, 'drydock:layer:createdBy') ?? known?.createdBy;
        introducedBy = {
          index: Number(li),
          digest: one(ps, 'drydock:layer:digest') ?? known?.digest ?? '',
          diffId: one(ps, 'drydock:layer:diffId') ?? known?.diffId ?? '',
          ...(createdBy ? { createdBy } : {}),
        };
      } else {
        const l = locations[0];
        const pkgLayer = trivyDiffId ?? trivyDigest;
        const ref2 = l && l.layer >= 0 ? layers.find((x) => x.index === l.layer) : pkgLayer ? layers.find((x) => x.diffId === pkgLayer || x.digest === pkgLayer) : undefined;
        if (ref2) introducedBy = { ...ref2, ...(trivyDigest && !ref2.digest ? { digest: trivyDigest } : {}) };
      }

      const cpes = [ctx.str(c.cpe, `${here}.cpe`), ...all(ps, 'drydock:cpe'), ...all(ps, 'syft:cpe23')].filter((s): s is string => !!s);
      const lic = licenses(ctx, c.licenses, `${here}.licenses`);
      const version = ctx.str(c.version, `${here}.version`) ?? purl?.version ?? '';
      const evidence = all(ps, 'drydock:evidence');
      let metadata = hashesMeta(ctx, c, here, type, namespace, name);
      const trivySrc = one(ps, 'aquasecurity:trivy:SrcName');
      if (trivySrc) {
        // Trivy splits the source version like dpkg and rpm do: [epoch:]version[-release]
        const sv = one(ps, 'aquasecurity:trivy:SrcVersion');
        const rel = one(ps, 'aquasecurity:trivy:SrcRelease');
        const ep = one(ps, 'aquasecurity:trivy:SrcEpoch');
        const full = sv ? `${ep && ep !== '0' ? `${ep}:` : ''}${sv}${rel ? `-${rel}` : ''}` : undefined;
        metadata = osMetadataOf(type, purlText, version, { name: trivySrc, ...(full ? { version: full } : {}) }) ?? metadata;
      }
      const owned = one(ps, 'drydock:ownedBy');
      drafts.push({
        ref,
        type,
        ...(namespace ? { namespace } : {}),
        name,
        version,
        ...(purlText ? { purl: purlText } : {}),
        ...(cpes.length ? { cpes: [...new Set(cpes)] } : {}),
        ...(lic.length ? { licenses: lic } : {}),
        locations,
        ...(introducedBy ? { introducedBy } : {}),
        foundBy: one(ps, 'drydock:foundBy') ?? one(ps, 'syft:package:foundBy') ?? 'sbom:cyclonedx',
        ...(evidence.length ? { evidence } : {}),
        ...(metadata ? { metadata } : {}),
        ...(owned ? { ownedByRef: owned } : {}),
      });
      if (parent !== undefined) rels.push({ from: parent, to: ref, type: 'contains' });
      walk(c.components, `${here}.components`, ref, depth + 1);
    });
  };
  walk(doc.components, 'components', undefined);
  if (meta?.component) walk((meta.component as Json).components, 'metadata.component.components', undefined);

  ctx.arr(doc.dependencies, 'dependencies').forEach((x, i) => {
    const d = ctx.obj(x, `dependencies[${i}]`);
    const from = ctx.need(d.ref, `dependencies[${i}].ref`);
    ctx.arr(d.dependsOn, `dependencies[${i}].dependsOn`).forEach((t, j) => {
      const to = ctx.need(t, `dependencies[${i}].dependsOn[${j}]`);
      if (!skip.has(from) && !skip.has(to)) rels.push({ from, to, type: 'depends-on' });
    });
  });

  // Drydock's metadata properties: issues and effective options; the tool
  const mps = meta ? props(ctx, meta.properties, 'metadata.properties') : [];
  const issues: Issue[] = [];
  const options: Record<string, unknown> = {};
  for (const p of mps) {
    const im = /^drydock:issue:(warning|error)$/.exec(p.name);
    if (im) {
      const issue = parseIssueText(im[1]!, p.value, (c) => Object.hasOwn(ERROR_CODES, c));
      if (issue) issues.push(issue);
    }
    const om = /^drydock:option:(.+)$/.exec(p.name);
    if (om) options[om[1]!] = optionValue(p.value);
  }
  const tool = meta ? toolOf(ctx, meta.tools) : undefined;
  return finish(ctx, inventoryHead(src, distro, tool, options), drafts, rels, issues);
}

function toolOf(ctx: DecodeContext, tools: unknown): { name: string; version: string } | undefined {
  if (tools === undefined) return undefined;
  const list: unknown[] = Array.isArray(tools) ? tools : [...ctx.arr(ctx.obj(tools, 'metadata.tools').components, 'metadata.tools.components')];
  const first = list[0];
  if (!first || typeof first !== 'object') return undefined;
  const t = first as Json;
  const name = typeof t.name === 'string' ? t.name : undefined;
  return name ? { name, version: typeof t.version === 'string' ? t.version : '' } : undefined;
}
