/** Renders inspect results as table or JSON. Large file lists are produced as a stream of chunks. */
import { shortDigest } from '../core/digest.js';
import type { LayerEntry, FileMeta } from '../layers/types.js';
import { humanSize, renderTable } from './table.js';
import { byString } from '../core/compare.js';

export interface InspectLayer {
  index: number;
  digest: string;
  diffId: string;
  size: number;
  mediaType: string;
  createdBy: string | null;
  verified: boolean;
}

export interface InspectResult {
  name: string;
  reference: string | null;
  digest: string;
  manifestDerived: boolean;
  mediaType: string;
  indexDigest: string | null;
  platform: string;
  configDigest: string;
  created: string | null;
  config: {
    user: string | null;
    workingDir: string | null;
    entrypoint: string[] | null;
    cmd: string[] | null;
    env: string[];
    labels: Record<string, string>;
    exposedPorts: string[];
    volumes: string[];
    stopSignal: string | null;
  };
  history: { created: string | null; createdBy: string | null; comment: string | null; emptyLayer: boolean }[];
  layers: InspectLayer[];
}

export interface FilesLayer {
  index: number;
  digest: string;
  diffId: string;
  createdBy: string | null;
}

export interface FilesResult {
  name: string;
  digest: string;
  platform: string;
  scope: 'squashed' | 'all-layers';
  layers: FilesLayer[];
  /** squashed: FileMeta (layer = index); all-layers: LayerEntry with status and `by` */
  files: (FileMeta | LayerEntry)[];
}

/** file lists of results made by `lazyFilesResult`, produced on demand */
const lazyFiles = new WeakMap<FilesResult, Iterable<FileMeta | LayerEntry>>();

/**
 * A FilesResult whose file list is produced on demand: the renderers below stream it one entry at
 * a time, and reading `files` materialises (and keeps) the array on first access. `files` must be
 * re-iterable (each iteration starts again).
 */
export function lazyFilesResult(head: Omit<FilesResult, 'files'>, files: Iterable<FileMeta | LayerEntry>): FilesResult {
  let materialised: (FileMeta | LayerEntry)[] | undefined;
  const r = { ...head } as FilesResult;
  Object.defineProperty(r, 'files', {
    enumerable: true,
    configurable: true,
    get: () => (materialised ??= [...files]),
    set: (v: (FileMeta | LayerEntry)[]) => {
      materialised = v;
      lazyFiles.delete(r);
    },
  });
  lazyFiles.set(r, files);
  return r;
}

function filesOf(r: FilesResult): Iterable<FileMeta | LayerEntry> {
  return lazyFiles.get(r) ?? r.files;
}

export function inspectJson(r: InspectResult): string {
  return JSON.stringify(r, null, 2);
}

export function inspectTable(r: InspectResult): string {
  const c = r.config;
  const kv: [string, string][] = [
    ['Image', r.name],
    ['Reference', r.reference ?? '-'],
    ['Digest', r.digest + (r.manifestDerived ? ' (derived: the source stores no manifest)' : '')],
    ['Media type', r.mediaType],
    ...(r.indexDigest ? ([['Index', r.indexDigest]] as [string, string][]) : []),
    ['Platform', r.platform],
    ['Config', r.configDigest],
    ['Created', r.created ?? '-'],
    ['User', c.user ?? '-'],
    ['Working dir', c.workingDir ?? '-'],
    ['Entrypoint', c.entrypoint ? JSON.stringify(c.entrypoint) : '-'],
    ['Cmd', c.cmd ? JSON.stringify(c.cmd) : '-'],
    ['Exposed ports', c.exposedPorts.join(', ') || '-'],
    ['Volumes', c.volumes.join(', ') || '-'],
  ];
  const w = Math.max(...kv.map(([k]) => k.length));
  const out = kv.map(([k, v]) => `${`${k}:`.padEnd(w + 2)}${v}`);
  if (c.env.length) out.push('Env:', ...c.env.map((e) => `  ${e}`));
  const labels = Object.entries(c.labels).sort(([a], [b]) => byString(a, b));
  if (labels.length) out.push('Labels:', ...labels.map(([k, v]) => `  ${k}=${v}`));
  out.push('', `Layers (${r.layers.length}):`);
  out.push(
    renderTable(
      ['#', 'DIGEST', 'DIFFID', 'SIZE', 'MEDIA TYPE', 'VERIFIED', 'CREATED BY'],
      r.layers.map((l) => [
        String(l.index),
        shortDigest(l.digest),
        shortDigest(l.diffId),
        humanSize(l.size),
        l.mediaType,
        l.verified ? 'yes' : 'no',
        (l.createdBy ?? '').replace(/\s+/g, ' ').slice(0, 80),
      ]),
    ),
  );
  return out.join('\n');
}

function modeString(m: number): string {
  return m.toString(8).padStart(4, '0');
}

function isLayerEntry(f: FileMeta | LayerEntry): f is LayerEntry {
  return (f as LayerEntry).status !== undefined;
}

const TYPE_JSON: Record<string, string> = {};

/** JSON.stringify of a string, without the call for the plain ASCII names of almost every file */
function num(n: number): string {
  return Number.isFinite(n) ? `${n}` : 'null';
}

function jsonString(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(v);
  }
  return `"${v}"`;
}

/**
 * One file as JSON, written by hand: the same bytes as JSON.stringify of the object
 * { path, type, size, mode, uid, gid, linkname?, layer, layerDigest, implied?, status?, by? }.
 */
function fileJson(f: FileMeta | LayerEntry, layerDigests: string[]): string {
  const type = (TYPE_JSON[f.type] ??= JSON.stringify(f.type));
  let s = `{"path":${jsonString(f.path)},"type":${type},"size":${num(f.size)},"mode":"${modeString(f.mode)}","uid":${num(f.uid)},"gid":${num(f.gid)}`;
  if (f.linkname !== undefined) s += `,"linkname":${jsonString(f.linkname)}`;
  s += `,"layer":${num(f.layer)},"layerDigest":${jsonString(layerDigests[f.layer] ?? '')}`;
  if (f.implied) s += ',"implied":true';
  if (isLayerEntry(f)) {
    s += `,"status":${JSON.stringify(f.status)}`;
    if (f.by !== undefined) s += `,"by":${num(f.by)}`;
  }
  return s + '}';
}

/** JSON for the file list, as chunks (hundreds of thousands of files never become one string). */
export function* filesJson(r: FilesResult): Generator<string> {
  // the head is every field but `files`, in the result's own key order (without reading `files`)
  const head: Record<string, unknown> = {};
  for (const k of Object.keys(r)) if (k !== 'files') head[k] = (r as unknown as Record<string, unknown>)[k];
  const digests = r.layers.map((l) => l.digest);
  const headJson = JSON.stringify(head, null, 2);
  yield `${headJson.slice(0, -2)},\n  "files": [`;
  let batch = '';
  let n = 0;
  let inBatch = 0;
  for (const f of filesOf(r)) {
    batch += `${n === 0 ? '' : ','}\n    ${fileJson(f, digests)}`;
    n++;
    if (++inBatch === 2000) {
      yield batch;
      batch = '';
      inBatch = 0;
    }
  }
  yield `${batch}${n ? '\n  ' : ''}]\n}\n`;
}

export function* filesTable(r: FilesResult): Generator<string> {
  const all = r.scope === 'all-layers';
  const layerName = (i: number) => `${i} ${shortDigest(r.layers[i]?.digest ?? '')}`;
  yield `${['MODE', 'SIZE', 'LAYER', ...(all ? ['STATUS'] : []), 'PATH'].join('\t')}\n`;
  let batch: string[] = [];
  for (const f of filesOf(r)) {
    const kind = { file: '-', dir: 'd', symlink: 'l', hardlink: 'h', char: 'c', block: 'b', fifo: 'p' }[f.type];
    const status = isLayerEntry(f) ? (f.by !== undefined ? `${f.status} by ${f.by}` : f.status) : '';
    const link = f.linkname !== undefined ? ` -> ${f.linkname}` : '';
    batch.push(
      `${[`${kind}${modeString(f.mode)}`, String(f.size), layerName(f.layer), ...(all ? [status] : []), f.path + link].join('\t')}\n`,
    );
    if (batch.length === 2000) {
      yield batch.join('');
      batch = [];
    }
  }
  yield batch.join('');
}
