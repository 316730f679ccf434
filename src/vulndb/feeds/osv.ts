/**
 * OSV records (https://ossf.github.io/osv-schema/) from a bulk-export zip, a directory tree of
 * JSON/YAML files, or one file. Shapes are checked loosely: what a matcher relies on must be there;
 * version strings are kept as given (match/ validates them against the ecosystem's scheme).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DrydockError } from '../../core/errors.js';
import type { OsvRecord } from '../../model/vuln.js';
import { ZipReader } from '../zip.js';
import type { LoadContext } from './types.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrArray = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Why a parsed document is not a usable OSV record, or undefined when it is one. */
export function osvShapeError(v: unknown): string | undefined {
  if (!isObj(v)) return 'not a json object';
  if (typeof v.id !== 'string' || v.id === '') return 'no id';
  if (typeof v.modified !== 'string') return `${v.id}: no modified time`;
  for (const k of ['aliases', 'related', 'upstream'] as const) if (v[k] !== undefined && !isStrArray(v[k])) return `${v.id}: ${k} is not a list of strings`;
  if (v.withdrawn !== undefined && typeof v.withdrawn !== 'string') return `${v.id}: withdrawn is not a string`;
  if (v.affected !== undefined) {
    if (!Array.isArray(v.affected)) return `${v.id}: affected is not a list`;
    for (const a of v.affected) {
      if (!isObj(a)) return `${v.id}: an affected entry is not an object`;
      if (a.package !== undefined) {
        const p = a.package;
        if (!isObj(p) || typeof p.ecosystem !== 'string' || typeof p.name !== 'string' || p.ecosystem === '' || p.name === '') {
          return `${v.id}: an affected package has no ecosystem or name`;
        }
      }
      if (a.versions !== undefined && !isStrArray(a.versions)) return `${v.id}: affected versions are not strings`;
      if (a.ranges !== undefined) {
        if (!Array.isArray(a.ranges)) return `${v.id}: ranges is not a list`;
        for (const r of a.ranges) {
          if (!isObj(r) || typeof r.type !== 'string' || !Array.isArray(r.events)) return `${v.id}: a range has no type or events`;
          for (const e of r.events) {
            if (!isObj(e)) return `${v.id}: a range event is not an object`;
            const vals = Object.values(e);
            if (vals.length === 0 || !vals.every((x) => typeof x === 'string')) return `${v.id}: a range event has a non-string version`;
          }
        }
      }
    }
  }
  return undefined;
}

function parseDoc(text: string, where: string, yaml: boolean): unknown {
  try {
    return yaml ? parseYaml(text) : JSON.parse(text);
  } catch (cause) {
    throw new DrydockError('FEED_INVALID', `osv file ${where} is not valid ${yaml ? 'yaml' : 'json'} (corrupt or truncated)`, { cause });
  }
}

function emit(ctx: LoadContext, part: string, where: string, doc: unknown): boolean {
  const err = osvShapeError(doc);
  if (err) {
    ctx.sink.invalid(where, `invalid osv record in ${where}: ${err}`);
    return false;
  }
  ctx.sink.advisory(part, doc as OsvRecord);
  return true;
}

export interface LoadCount {
  records: number;
  skipped: number;
}

export function loadOsvZip(file: string, ctx: LoadContext, onRecord?: (n: number) => void): LoadCount {
  const zip = new ZipReader(file);
  const count: LoadCount = { records: 0, skipped: 0 };
  try {
    ctx.sink.beginSource(ctx.name ?? `osv:${basename(file).replace(/\.zip$/i, '')}`, 'osv-zip');
    for (const entry of zip.entries) {
      if (entry.name.endsWith('/') || !/\.json$/i.test(entry.name)) continue;
      const where = `${file}!${entry.name}`;
      const doc = parseDoc(zip.read(entry).toString('utf8'), where, false);
      if (emit(ctx, entry.name, where, doc)) count.records++;
      else count.skipped++;
      if (onRecord && count.records % 1000 === 0) onRecord(count.records);
    }
  } finally {
    zip.close();
  }
  return count;
}

function walk(dir: string, out: string[]): void {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) walk(p, out);
    else if (d.isFile() && /\.(json|ya?ml)$/i.test(d.name)) out.push(p);
  }
}

export function loadOsvDir(dir: string, ctx: LoadContext, onRecord?: (n: number) => void): LoadCount {
  const files: string[] = [];
  walk(dir, files);
  files.sort();
  ctx.sink.beginSource(ctx.name ?? `osv-dir:${basename(dir)}`, 'osv-dir');
  const count: LoadCount = { records: 0, skipped: 0 };
  for (const f of files) {
    const rel = relative(dir, f).split('\\').join('/');
    const doc = parseDoc(readFileSync(f, 'utf8'), f, extname(f).toLowerCase() !== '.json');
    if (emit(ctx, rel, f, doc)) count.records++;
    else count.skipped++;
    if (onRecord && count.records % 1000 === 0) onRecord(count.records);
  }
  return count;
}

export function loadOsvFile(file: string, ctx: LoadContext): LoadCount {
  const yaml = /\.ya?ml$/i.test(file);
  const doc = parseDoc(readFileSync(file, 'utf8'), file, yaml);
  ctx.sink.beginSource(ctx.name ?? `osv-file:${basename(file)}`, 'osv-json');
  const ok = emit(ctx, basename(file), file, doc);
  return { records: ok ? 1 : 0, skipped: ok ? 0 : 1 };
}
