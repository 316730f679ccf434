/**
 * CycloneDX JSON encoder (spec 1.6, 1.5 and 1.4). The image is metadata.component (type
 * container); every package is a component whose bom-ref is its package id; layer attribution,
 * locations and the cataloger go into `drydock:` properties; issues and effective options into
 * metadata properties. The serial number is derived from the content, so the same inventory
 * encodes to the same bytes (given the same clock).
 */
import { DrydockError } from '../core/errors.js';
import type { Inventory, Package } from '../model/package.js';
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
  topLevel,
  type EncodeOptions,
} from './common.js';

export const CYCLONEDX_VERSIONS = ['1.6', '1.5', '1.4'] as const;
export type CycloneDxVersion = (typeof CYCLONEDX_VERSIONS)[number];

export interface CycloneDxOptions extends EncodeOptions {
  version?: CycloneDxVersion;
}

type Json = Record<string, unknown>;
interface Property {
  name: string;
  value: string;
}

export const IMAGE_BOM_REF = 'drydock:image';
export const OS_BOM_REF = 'drydock:os';

function licenses(p: Package): Json[] | undefined {
  const list = [...new Set((p.licenses ?? []).map((l) => l.trim()).filter(Boolean))];
  if (!list.length) return undefined;
  const classes = list.map(classifyLicense);
  const parsed = classes.filter((c) => c.kind !== 'name');
  // one compound expression (or several parsed strings joined): CycloneDX allows only one expression entry
  if (classes.some((c) => c.kind === 'expression') && parsed.length === classes.length) {
    const expression = classes.length === 1 ? classes[0]!.text : classes.map((c) => (c.kind === 'expression' ? `(${c.text})` : c.text)).join(' AND ');
    return [{ expression }];
  }
  return classes.map((c) => (c.kind === 'id' ? { license: { id: c.id } } : { license: { name: c.text } }));
}

function componentType(p: Package): string {
  return p.type === 'binary' ? 'application' : 'library';
}

function packageProperties(p: Package, inv: Inventory): Property[] {
  const props: Property[] = [{ name: 'drydock:foundBy', value: p.foundBy }, { name: 'drydock:package:type', value: p.type }];
  const layer = layerOf(p, inv);
  if (layer) {
    props.push({ name: 'drydock:layer:index', value: String(layer.index) });
    if (layer.digest) props.push({ name: 'drydock:layer:digest', value: layer.digest });
    if (layer.diffId) props.push({ name: 'drydock:layer:diffId', value: layer.diffId });
    if (layer.createdBy) props.push({ name: 'drydock:layer:createdBy', value: layer.createdBy });
  }
  for (const l of p.locations) {
    props.push({ name: 'drydock:location:path', value: l.path });
    if (l.layerDigest) props.push({ name: 'drydock:location:layerDigest', value: `${l.path} ${l.layerDigest}` });
  }
  for (const c of (p.cpes ?? []).slice(1)) props.push({ name: 'drydock:cpe', value: c });
  if (p.ownedBy) props.push({ name: 'drydock:ownedBy', value: p.ownedBy });
  for (const e of p.evidence ?? []) props.push({ name: 'drydock:evidence', value: e });
  return props;
}

function component(p: Package, inv: Inventory, version: CycloneDxVersion): Json {
  const c: Json = { type: componentType(p), 'bom-ref': p.id };
  if (p.namespace && (p.type === 'maven' || p.type === 'npm' || p.type === 'composer' || p.type === 'golang')) {
    c.group = p.type === 'npm' ? `@${p.namespace}` : p.namespace;
  }
  c.name = p.name;
  c.version = p.version;
  const lic = licenses(p);
  if (lic) c.licenses = lic;
  if (p.cpes?.[0]) c.cpe = p.cpes[0];
  if (p.purl) c.purl = p.purl;
  c.properties = packageProperties(p, inv);
  if (version !== '1.4' && p.locations.length) {
    // 1.5+: occurrences are the standard place for "where was it found"
    c.evidence = { occurrences: p.locations.map((l) => ({ location: l.path })) };
  }
  return c;
}

function imageComponent(inv: Inventory): Json {
  const s = inv.source;
  const c: Json = { type: 'container', 'bom-ref': IMAGE_BOM_REF, name: s.name };
  if (s.digest) c.version = s.digest;
  const hex = sha256Hex(s.digest);
  if (hex) c.hashes = [{ alg: 'SHA-256', content: hex }];
  const purl = imagePurl(inv);
  if (purl) c.purl = purl;
  const props: Property[] = [{ name: 'drydock:source:kind', value: s.kind }, { name: 'drydock:source:target', value: s.target }];
  if (s.configDigest) props.push({ name: 'drydock:source:configDigest', value: s.configDigest });
  if (s.platform) props.push({ name: 'drydock:source:platform', value: s.platform });
  for (const l of s.layers) {
    props.push({ name: `drydock:layer:${l.index}:digest`, value: l.digest });
    props.push({ name: `drydock:layer:${l.index}:diffId`, value: l.diffId });
    if (l.createdBy) props.push({ name: `drydock:layer:${l.index}:createdBy`, value: l.createdBy });
  }
  c.properties = props.filter((p) => p.value !== '');
  return c;
}

function osComponent(inv: Inventory): Json | undefined {
  const d = inv.distro;
  if (!d) return undefined;
  const c: Json = { type: 'operating-system', 'bom-ref': OS_BOM_REF, name: d.id };
  if (d.versionId) c.version = d.versionId;
  if (d.prettyName) c.description = d.prettyName;
  if (d.cpeName) c.cpe = d.cpeName;
  const props: Property[] = [];
  if (d.versionCodename) props.push({ name: 'drydock:distro:codename', value: d.versionCodename });
  for (const l of d.idLike) props.push({ name: 'drydock:distro:idLike', value: l });
  if (d.source) props.push({ name: 'drydock:distro:source', value: d.source });
  if (props.length) c.properties = props;
  return c;
}

function dependencies(inv: Inventory, hasOs: boolean): Json[] {
  const ids = new Set(inv.packages.map((p) => p.id));
  const deps = new Map<string, Set<string>>();
  for (const id of ids) deps.set(id, new Set());
  for (const r of inv.relationships) {
    if (r.type !== 'depends-on' && r.type !== 'optional-depends-on' && r.type !== 'dev-depends-on') continue;
    if (!ids.has(r.from) || !ids.has(r.to) || r.from === r.to) continue;
    deps.get(r.from)!.add(r.to);
  }
  const image = [...topLevel(inv)];
  if (hasOs) image.push(OS_BOM_REF);
  const out: Json[] = [{ ref: IMAGE_BOM_REF, dependsOn: image.sort(byString) }];
  if (hasOs) out.push({ ref: OS_BOM_REF, dependsOn: [] });
  for (const id of [...ids].sort(byString)) out.push({ ref: id, dependsOn: [...deps.get(id)!].sort(byString) });
  return out;
}

/**
 * The CycloneDX BOM as a plain object without its serial number (serialiseCycloneDx or
 * withContentSerial sets it), for encoders that extend it (the scan report adds `vulnerabilities`).
 */
export function cycloneDxContent(inv: Inventory, opts: CycloneDxOptions = {}): Json {
  const version = opts.version ?? '1.6';
  if (!(CYCLONEDX_VERSIONS as readonly string[]).includes(version)) throw new DrydockError('FORMAT_UNSUPPORTED', `unsupported CycloneDX version ${version}; use one of ${CYCLONEDX_VERSIONS.join(', ')}`);
  const tool = toolOf(inv);
  const metaProps: Property[] = [];
  for (const [k, v] of optionPairs(inv)) metaProps.push({ name: `drydock:option:${k}`, value: v });
  for (const i of inv.issues) metaProps.push({ name: `drydock:issue:${i.severity}`, value: issueText(i) });

  const os = osComponent(inv);
  const components = [...(os ? [os] : []), ...inv.packages.map((p) => component(p, inv, version))];
  const metadata: Json = {
    timestamp: timestamp(opts.clock),
    tools:
      version === '1.4'
        ? [{ vendor: 'drydock', name: tool.name, version: tool.version }]
        : { components: [{ type: 'application', author: 'drydock', name: tool.name, version: tool.version }] },
    component: imageComponent(inv),
  };
  if (metaProps.length) metadata.properties = metaProps;
  return {
    $schema: `http://cyclonedx.org/schema/bom-${version}.schema.json`,
    bomFormat: 'CycloneDX',
    specVersion: version,
    serialNumber: '', // set by withContentSerial once the document is complete
    version: 1,
    metadata,
    components,
    dependencies: dependencies(inv, os !== undefined),
  };
}

/** the first occurrence of `find` in `text`, which must come before `before`, replaced */
function replaceHead(text: string, find: string, replacement: string, before: string): string {
  const at = text.indexOf(find);
  if (at < 0 || at > text.indexOf(before)) throw new DrydockError('INTERNAL', `CycloneDX serialisation: ${find} is not where it belongs`);
  return text.slice(0, at) + replacement + text.slice(at + find.length);
}

/**
 * Serialises a complete CycloneDX document (JSON, 2-space indent) and sets its serial number: a
 * name-based UUID of that text with the serial number and metadata.timestamp empty, so the serial
 * names the content and the document is serialised once. For the SBOM and for documents built on it
 * (the scan report adds vulnerabilities, so it gets a serial of its own).
 */
export function serialiseCycloneDx(doc: Json): string {
  const metadata = doc.metadata as Json;
  const ts = metadata.timestamp;
  if (typeof ts !== 'string') throw new DrydockError('INTERNAL', 'CycloneDX serialisation: metadata.timestamp is missing');
  doc.serialNumber = '';
  metadata.timestamp = '';
  const blank = JSON.stringify(doc, null, 2) + '\n';
  doc.serialNumber = `urn:uuid:${contentUuid(blank)}`;
  metadata.timestamp = ts;
  // both members come first: the serial number before metadata, the timestamp first in it
  const text = replaceHead(blank, '"serialNumber": ""', `"serialNumber": ${JSON.stringify(doc.serialNumber)}`, '"metadata"');
  return replaceHead(text, '"timestamp": ""', `"timestamp": ${JSON.stringify(ts)}`, '"tools"');
}

/** Sets the serial number of a complete CycloneDX document (as serialiseCycloneDx does), for callers that want the object. */
export function withContentSerial(doc: Json): Json {
  serialiseCycloneDx(doc);
  return doc;
}

/** The CycloneDX SBOM of an inventory, serial number included. */
export function cycloneDxDocument(inv: Inventory, opts: CycloneDxOptions = {}): Json {
  return withContentSerial(cycloneDxContent(inv, opts));
}

export function encodeCycloneDx(inv: Inventory, opts: CycloneDxOptions = {}): string {
  return serialiseCycloneDx(cycloneDxContent(inv, opts));
}
