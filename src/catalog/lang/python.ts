/**
 * Python: installed distributions (*.dist-info/METADATA, *.egg-info/PKG-INFO or an .egg-info
 * file, .egg directories and zip files) with their file lists (RECORD, installed-files.txt)
 * and Requires-Dist edges between distributions of the same site directory; for dir: targets
 * the lock files poetry.lock, Pipfile.lock, uv.lock and requirements*.txt (== pins only).
 */
import { bufferSource, readZipDirectory, readZipEntry } from '../../core/zip.js';
import { parse as parseToml } from './toml.js';
import type { Package, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, catalogDeclaredFiles, isRecord, makePackage, normaliseLicenses, parseJson, posixBasename, posixDirname, readText, str } from './common.js';
import { packageUrl } from '../../model/purl.js';

const MAX_META = 8 * 1024 * 1024;
const MAX_EGG = 64 * 1024 * 1024;
const MAX_FILES = 100_000;

/** PEP 503 normalisation. */
export function normalisePyName(n: string): string {
  return n.toLowerCase().replace(/[-_.]+/g, '-');
}

export interface CoreMetadata {
  fields: Map<string, string[]>;
}

/** RFC 822-style core metadata headers (the body after the first blank line is ignored). */
export function parseCoreMetadata(text: string): Map<string, string[]> {
  const fields = new Map<string, string[]>();
  let last: { key: string; idx: number } | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length && i < 100_000; i++) {
    const line = lines[i]!;
    if (line === '') break;
    if (/^[ \t]/.test(line)) {
      if (last) {
        const arr = fields.get(last.key)!;
        if (arr[last.idx]!.length < 64 * 1024) arr[last.idx] += '\n' + line.trim();
      }
      continue;
    }
    const c = line.indexOf(':');
    if (c <= 0) continue;
    const key = line.slice(0, c).trim().toLowerCase();
    const val = line.slice(c + 1).trim();
    let arr = fields.get(key);
    if (!arr) fields.set(key, (arr = []));
    if (arr.length < 10_000) {
      arr.push(val);
      last = { key, idx: arr.length - 1 };
    }
  }
  return fields;
}

const CLASSIFIER_SPDX: Record<string, string> = {
  'MIT License': 'MIT',
  'Apache Software License': 'Apache-2.0',
  'BSD License': 'BSD-3-Clause',
  'ISC License (ISCL)': 'ISC',
  'Mozilla Public License 2.0 (MPL 2.0)': 'MPL-2.0',
  'Python Software Foundation License': 'PSF-2.0',
  'GNU General Public License v2 (GPLv2)': 'GPL-2.0-only',
  'GNU General Public License v2 or later (GPLv2+)': 'GPL-2.0-or-later',
  'GNU General Public License v3 (GPLv3)': 'GPL-3.0-only',
  'GNU General Public License v3 or later (GPLv3+)': 'GPL-3.0-or-later',
  'GNU Lesser General Public License v2 or later (LGPLv2+)': 'LGPL-2.0-or-later',
  'GNU Lesser General Public License v3 (LGPLv3)': 'LGPL-3.0-only',
  'GNU Library or Lesser General Public License (LGPL)': 'LGPL-2.0-or-later',
  'The Unlicense (Unlicense)': 'Unlicense',
  'Zope Public License': 'ZPL-2.1',
};

export function pythonLicenses(f: Map<string, string[]>): string[] | undefined {
  const expr = f.get('license-expression')?.[0];
  if (expr) return normaliseLicenses([expr]);
  const vals: string[] = [];
  const lic = f.get('license')?.[0];
  // a short single-line License field; full license texts are not expressions
  if (lic && !lic.includes('\n') && lic.length <= 100 && lic.toUpperCase() !== 'UNKNOWN') vals.push(lic);
  for (const c of f.get('classifier') ?? []) {
    if (!c.startsWith('License ::')) continue;
    const last = c.split('::').map((s) => s.trim()).pop() ?? '';
    if (last === 'OSI Approved' || last === '') continue;
    vals.push(CLASSIFIER_SPDX[last] ?? last);
  }
  return normaliseLicenses(vals);
}

/** "requests[socks] (>=2.0) ; python_version < '3'" → "requests"; undefined for extras-only requirements. */
export function requirementName(req: string): string | undefined {
  const [spec, marker] = req.split(';', 2);
  if (marker && /\bextra\s*==/.test(marker)) return undefined;
  const m = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(spec ?? '');
  return m?.[1];
}

/** egg-info requires.txt: unconditional requirements come before the first [extra:marker] section. */
export function requiresTxt(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/).slice(0, 10_000)) {
    const l = line.trim();
    if (l.startsWith('[')) break;
    const n = l && !l.startsWith('#') ? requirementName(l) : undefined;
    if (n) out.push(n);
  }
  return out;
}

interface Dist {
  pkg: Package;
  site: string;
  requires: string[];
}

function pypiPackage(ctx: CatalogContext, foundBy: string, name: string, version: string, path: string, role: 'manifest' | 'lockfile' | 'archive', licenses?: string[], meta: Record<string, unknown> = {}): Package {
  return makePackage({
    type: 'pypi',
    name,
    version,
    purl: packageUrl('pypi', undefined, normalisePyName(name), version),
    licenses,
    locations: [ctx.locate(path, role)],
    foundBy,
    metadata: { kind: 'generic', ecosystem: 'pypi', ...meta },
  });
}

/** RECORD (csv: path,hash,size) relative to the site directory. */
function recordFiles(text: string, site: string): { path: string; digest?: string }[] {
  const out: { path: string; digest?: string }[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line || out.length >= MAX_FILES) continue;
    let path: string;
    let rest: string;
    if (line.startsWith('"')) {
      const end = line.indexOf('",', 1);
      if (end < 0) continue;
      path = line.slice(1, end).replace(/""/g, '"');
      rest = line.slice(end + 2);
    } else {
      const c = line.indexOf(',');
      path = c < 0 ? line : line.slice(0, c);
      rest = c < 0 ? '' : line.slice(c + 1);
    }
    const hash = rest.split(',')[0];
    const abs = joinPath(site, path);
    if (abs) out.push(hash ? { path: abs, digest: hash.replace('=', ':') } : { path: abs });
  }
  return out;
}

function joinPath(base: string, rel: string): string | undefined {
  const parts = rel.startsWith('/') ? [] : base.split('/').filter(Boolean);
  for (const p of rel.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (!parts.length) return undefined;
      parts.pop();
    } else parts.push(p);
  }
  return '/' + parts.join('/');
}

async function catalogInstalled(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const files = ctx.files().filter((f) => f.type === 'file');
  const present = new Set(files.map((f) => f.path));
  const dists: Dist[] = [];
  const add = (text: string, path: string, site: string, role: 'manifest' | 'archive', fileList?: { path: string; digest?: string }[], extra: Record<string, unknown> = {}, moreRequires: string[] = []) => {
    const f = parseCoreMetadata(text);
    const name = f.get('name')?.[0];
    const version = f.get('version')?.[0];
    if (!name || !version) {
      bad(ctx, path, 'core metadata without name or version');
      return;
    }
    const meta: Record<string, unknown> = { ...extra };
    const summary = f.get('summary')?.[0];
    if (summary) meta.summary = summary.slice(0, 1000);
    const home = f.get('home-page')?.[0];
    if (home) meta.homepage = home;
    meta.sitePackages = site;
    if (fileList?.length) meta.files = fileList;
    const pkg = pypiPackage(ctx, foundBy, name, version, path, role, pythonLicenses(f), meta);
    dists.push({ pkg, site, requires: [...(f.get('requires-dist') ?? []).map(requirementName).filter((x): x is string => !!x), ...moreRequires] });
  };
  for (const f of files) {
    const p = f.path;
    const base = posixBasename(p);
    const dir = posixDirname(p);
    try {
      if (base === 'METADATA' && dir.endsWith('.dist-info')) {
        const text = await readText(ctx, p, MAX_META);
        if (text === undefined) continue;
        const site = posixDirname(dir);
        const rec = present.has(`${dir}/RECORD`) ? await readText(ctx, `${dir}/RECORD`, MAX_META) : undefined;
        add(text, p, site, 'manifest', rec ? recordFiles(rec, site) : undefined);
      } else if (base === 'PKG-INFO' && (dir.endsWith('.egg-info') || dir.endsWith('/EGG-INFO'))) {
        const text = await readText(ctx, p, MAX_META);
        if (text === undefined) continue;
        const site = dir.endsWith('/EGG-INFO') ? posixDirname(posixDirname(dir)) : posixDirname(dir);
        const inst = present.has(`${dir}/installed-files.txt`) ? await readText(ctx, `${dir}/installed-files.txt`, MAX_META) : undefined;
        const list = inst
          ?.split(/\r?\n/)
          .filter(Boolean)
          .slice(0, MAX_FILES)
          .map((l) => joinPath(dir, l.trim()))
          .filter((x): x is string => !!x)
          .map((path) => ({ path }));
        const req = present.has(`${dir}/requires.txt`) ? await readText(ctx, `${dir}/requires.txt`, MAX_META) : undefined;
        add(text, p, site, 'manifest', list, {}, req ? requiresTxt(req) : []);
      } else if (base.endsWith('.egg-info')) {
        const text = await readText(ctx, p, MAX_META);
        if (text !== undefined) add(text, p, dir, 'manifest');
      } else if (base.endsWith('.egg')) {
        const buf = await ctx.read(p);
        if (!buf) continue;
        let pi: Buffer | undefined;
        try {
          const src = bufferSource(buf);
          const entry = readZipDirectory(src, { maxEntries: 100_000 }).find((e) => e.name === 'EGG-INFO/PKG-INFO');
          pi = entry && readZipEntry(src, entry, MAX_META);
        } catch (e) {
          bad(ctx, p, `not a readable zip: ${(e as Error).message}`);
          continue;
        }
        if (!pi) {
          bad(ctx, p, 'egg without EGG-INFO/PKG-INFO');
          continue;
        }
        add(pi.toString('utf8'), p, dir, 'archive');
      }
    } catch (e) {
      bad(ctx, p, `unreadable: ${(e as Error).message}`);
    }
  }
  // Requires-Dist → distributions of the same site directory (then any), by normalised name
  const bySite = new Map<string, Map<string, Package>>();
  const anySite = new Map<string, Package>();
  for (const d of dists) {
    const n = normalisePyName(d.pkg.name);
    let m = bySite.get(d.site);
    if (!m) bySite.set(d.site, (m = new Map()));
    if (!m.has(n)) m.set(n, d.pkg);
    if (!anySite.has(n)) anySite.set(n, d.pkg);
  }
  const relationships: Relationship[] = [];
  const seen = new Set<string>();
  for (const d of dists) {
    for (const r of d.requires) {
      const n = normalisePyName(r);
      const to = bySite.get(d.site)?.get(n) ?? anySite.get(n);
      if (!to || to === d.pkg || seen.has(`${d.pkg.id}>${to.id}`)) continue;
      seen.add(`${d.pkg.id}>${to.id}`);
      relationships.push({ from: d.pkg.id, to: to.id, type: 'depends-on' });
    }
  }
  return { packages: dists.map((d) => d.pkg), relationships };
}

/* ------------------------------------------------------------------ lock files */

function dedupe(pkgs: Package[]): Package[] {
  const seen = new Set<string>();
  return pkgs.filter((p) => (seen.has(p.id) ? false : (seen.add(p.id), true)));
}

export function parseRequirements(ctx: CatalogContext, path: string, text: string, foundBy: string): Package[] {
  const out: Package[] = [];
  const joined = text.replace(/\\\r?\n/g, ' ');
  for (const raw of joined.split(/\r?\n/).slice(0, MAX_FILES)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line || line.startsWith('-')) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9._+!-]+)\s*(?:;.*)?(?:--hash.*)?$/.exec(line.replace(/\s+--hash=\S+/g, ''));
    if (!m) continue;
    out.push(pypiPackage(ctx, foundBy, m[1]!, m[2]!, path, 'lockfile'));
  }
  return out;
}

function lockEdges(pkgs: Map<string, Package>, deps: [string, string[]][]): Relationship[] {
  const rels: Relationship[] = [];
  for (const [from, tos] of deps) {
    const f = pkgs.get(from);
    if (!f) continue;
    for (const t of tos) {
      const to = pkgs.get(normalisePyName(t));
      if (to && to !== f) rels.push({ from: f.id, to: to.id, type: 'depends-on' });
    }
  }
  return rels;
}

/** poetry.lock and uv.lock: [[package]] tables with name, version and dependencies. */
export function parseTomlLock(ctx: CatalogContext, path: string, text: string, foundBy: string): CatalogerResult {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch (e) {
    bad(ctx, path, `invalid toml: ${(e as Error).message}`);
    return { packages: [] };
  }
  const list = isRecord(doc) && Array.isArray(doc.package) ? doc.package.slice(0, MAX_FILES) : [];
  const byName = new Map<string, Package>();
  const deps: [string, string[]][] = [];
  for (const p of list) {
    if (!isRecord(p)) continue;
    const name = str(p.name);
    const version = str(p.version);
    if (!name || !version) continue;
    // uv: the project itself (source = { editable/virtual = "." }) is not a dependency
    if (isRecord(p.source) && (p.source.editable !== undefined || p.source.virtual !== undefined)) continue;
    const meta: Record<string, unknown> = {};
    if (typeof p.category === 'string') meta.category = p.category;
    const pkg = pypiPackage(ctx, foundBy, name, version, path, 'lockfile', undefined, meta);
    byName.set(normalisePyName(name), pkg);
    const d = p.dependencies;
    const names = Array.isArray(d) ? d.map((x) => (isRecord(x) ? str(x.name) : undefined)).filter((x): x is string => !!x) : isRecord(d) ? Object.keys(d) : [];
    deps.push([normalisePyName(name), names]);
  }
  const packages = [...byName.values()];
  return { packages, relationships: lockEdges(byName, deps) };
}

export function parsePipfileLock(ctx: CatalogContext, path: string, doc: unknown, foundBy: string): Package[] {
  const out: Package[] = [];
  if (!isRecord(doc)) return out;
  for (const section of ['default', 'develop']) {
    const s = doc[section];
    if (!isRecord(s)) continue;
    for (const [name, v] of Object.entries(s).slice(0, MAX_FILES)) {
      const ver = isRecord(v) ? str(v.version) : undefined;
      const m = ver ? /^===?(.+)$/.exec(ver) : null;
      if (!m) continue;
      out.push(pypiPackage(ctx, foundBy, name, m[1]!, path, 'lockfile', undefined, section === 'develop' ? { dev: true } : {}));
    }
  }
  return out;
}

async function catalogLocks(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const { packages, relationships } = await catalogDeclaredFiles(
    ctx,
    64 * 1024 * 1024,
    (path, text) => {
      const base = posixBasename(path);
      if (base === 'poetry.lock' || base === 'uv.lock') return parseTomlLock(ctx, path, text, foundBy);
      if (base === 'Pipfile.lock') {
        const doc = parseJson(ctx, path, text);
        return doc === undefined ? undefined : { packages: parsePipfileLock(ctx, path, doc, foundBy) };
      }
      if (/^requirements.*\.txt$/.test(base)) return { packages: parseRequirements(ctx, path, text, foundBy) };
      return undefined;
    },
    (path) => /\/(site|dist)-packages\//.test(path),
  );
  return { packages: dedupe(packages), relationships };
}

export const pythonInstalledCataloger: Cataloger = {
  name: 'python-installed',
  version: '1',
  tags: ['language', 'installed', 'image', 'directory'],
  selector: {
    globs: [
      '**/*.dist-info/METADATA',
      '**/*.dist-info/RECORD',
      '**/*.egg-info',
      '**/*.egg-info/PKG-INFO',
      '**/*.egg-info/installed-files.txt',
      '**/*.egg-info/requires.txt',
      '**/*.egg/EGG-INFO/PKG-INFO',
      '**/*.egg',
    ],
    maxSize: MAX_EGG,
  },
  catalog: (ctx) => catalogInstalled(ctx, 'python-installed'),
};

export const pythonLockCataloger: Cataloger = {
  name: 'python-lock',
  version: '1',
  tags: ['language', 'declared', 'directory'],
  selector: { basenames: ['poetry.lock', 'Pipfile.lock', 'uv.lock'], globs: ['**/requirements*.txt'], maxSize: 64 * 1024 * 1024 },
  catalog: (ctx) => catalogLocks(ctx, 'python-lock'),
};

