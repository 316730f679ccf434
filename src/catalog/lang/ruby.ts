/**
 * Ruby: installed gems (the `specifications/*.gemspec` files RubyGems writes, a small subset of
 * the Ruby DSL: `s.name = "x".freeze`, `s.version = "1.2.3"` or `Gem::Version.new("1.2.3")`,
 * `s.licenses = ["MIT".freeze]`, `s.add_runtime_dependency(%q<y>.freeze, ["~> 1"])`) with
 * runtime-dependency edges between the gems of one specifications directory, and, for dir:
 * targets, Gemfile.lock (GEM/GIT/PATH `specs:` sections; the nested lines are dependencies).
 */
import type { Package, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, catalogDeclaredFiles, LIMIT, makePackage, normaliseLicenses, posixDirname, readText } from './common.js';
import { packageUrl } from '../../model/purl.js';

const MAX_SPEC = 1024 * 1024;
const MAX_LOCK = 16 * 1024 * 1024;
const MAX_LINES = 500_000;

export function gemPurl(name: string, version: string, platform?: string): string | undefined {
  return packageUrl('gem', undefined, name, version, platform && platform !== 'ruby' ? { platform } : undefined);
}

/** The string literals of a Ruby expression: "x", 'x', %q<x>, %q{x}, %q(x), %q[x], %Q|x|. */
export function rubyStrings(expr: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|%[qQ]?(?:<([^>]*)>|\{([^}]*)\}|\(([^)]*)\)|\[([^\]]*)\]|\|([^|]*)\|)/g;
  for (let m = re.exec(expr); m && out.length < 256; m = re.exec(expr)) {
    const v = m.slice(1).find((x) => x !== undefined) ?? '';
    out.push(v.replace(/\\(.)/g, '$1'));
  }
  return out;
}

export interface GemSpec {
  name?: string;
  version?: string;
  licenses: string[];
  homepage?: string;
  deps: string[];
}

/** Reads the assignments and dependency calls of a generated gemspec. */
export function parseGemspec(text: string): GemSpec {
  const spec: GemSpec = { licenses: [], deps: [] };
  const lines = text.split(/\r?\n/).slice(0, 20_000);
  for (const line of lines) {
    const a = /^\s*\w+\.(name|version|licenses?|homepage)\s*=\s*(.+)$/.exec(line);
    if (a) {
      const vals = rubyStrings(a[2]!);
      if (a[1] === 'name') spec.name = vals[0];
      else if (a[1] === 'version') spec.version = vals[0];
      else if (a[1] === 'homepage') spec.homepage = vals[0];
      else spec.licenses.push(...vals);
      continue;
    }
    const d = /^\s*\w+\.add_(runtime_)?dependency[\s(]+(.+)$/.exec(line);
    if (d) {
      const n = rubyStrings(d[2]!)[0];
      if (n) spec.deps.push(n);
    }
  }
  return spec;
}

async function catalogInstalled(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const packages: Package[] = [];
  const byDir = new Map<string, Map<string, { pkg: Package; deps: string[] }>>();
  for (const f of ctx.files()) {
    if (f.type !== 'file' || !f.path.endsWith('.gemspec') || !f.path.includes('/specifications/')) continue;
    const text = await readText(ctx, f.path, MAX_SPEC);
    if (text === undefined) continue;
    const s = parseGemspec(text);
    if (!s.name || !s.version) {
      bad(ctx, f.path, 'gemspec without name or version');
      continue;
    }
    const meta: Record<string, unknown> = { ecosystem: 'gem' };
    if (s.homepage) meta.homepage = s.homepage.slice(0, 1000);
    const pkg = makePackage({
      type: 'gem',
      name: s.name,
      version: s.version,
      purl: gemPurl(s.name, s.version),
      licenses: normaliseLicenses(s.licenses),
      locations: [ctx.locate(f.path, 'manifest')],
      foundBy,
      metadata: { kind: 'generic', ...meta },
    });
    packages.push(pkg);
    const dir = posixDirname(f.path);
    let m = byDir.get(dir);
    if (!m) byDir.set(dir, (m = new Map()));
    if (!m.has(s.name)) m.set(s.name, { pkg, deps: s.deps });
  }
  const relationships: Relationship[] = [];
  for (const m of byDir.values()) {
    for (const { pkg, deps } of m.values()) {
      for (const d of new Set(deps)) {
        const to = m.get(d)?.pkg;
        if (to && to !== pkg) relationships.push({ from: pkg.id, to: to.id, type: 'depends-on' });
      }
    }
  }
  return { packages, relationships };
}

/** Gemfile.lock: "    name (version[-platform])" specs with "      dep (constraint)" lines under them. */
export function parseGemfileLock(ctx: CatalogContext, path: string, text: string, foundBy: string): CatalogerResult {
  const lines = text.split(/\r?\n/);
  if (lines.length > MAX_LINES) {
    bad(ctx, path, 'too many lines', LIMIT);
    return { packages: [] };
  }
  const packages: Package[] = [];
  const byName = new Map<string, Package>();
  const pending: { from: Package; dep: string }[] = [];
  let section = '';
  let inSpecs = false;
  let remote: string | undefined;
  let cur: Package | undefined;
  for (const line of lines) {
    if (/^[A-Z]/.test(line)) {
      section = line.trim();
      inSpecs = false;
      remote = undefined;
      cur = undefined;
      continue;
    }
    if (!['GEM', 'GIT', 'PATH'].includes(section)) continue;
    const r = /^ {2}remote: (.+)$/.exec(line);
    if (r) remote = r[1]!.trim();
    if (/^ {2}specs:\s*$/.test(line)) {
      inSpecs = true;
      continue;
    }
    if (!inSpecs) continue;
    const spec = /^ {4}([^\s(]+) \(([^)]+)\)\s*$/.exec(line);
    if (spec) {
      const name = spec[1]!;
      const full = spec[2]!;
      const dash = full.indexOf('-');
      const version = dash > 0 ? full.slice(0, dash) : full;
      const platform = dash > 0 ? full.slice(dash + 1) : undefined;
      const meta: Record<string, unknown> = { ecosystem: 'gem', source: section.toLowerCase() };
      if (remote) meta.remote = remote;
      if (platform) meta.platform = platform;
      cur = makePackage({ type: 'gem', name, version, purl: gemPurl(name, version, platform), locations: [ctx.locate(path, 'lockfile')], foundBy, metadata: { kind: 'generic', ...meta } });
      if (byName.has(name)) {
        cur = byName.get(name);
        continue;
      }
      byName.set(name, cur);
      packages.push(cur);
      continue;
    }
    const dep = /^ {6}([^\s(!]+)/.exec(line);
    if (dep && cur) pending.push({ from: cur, dep: dep[1]! });
    else if (line.trim() !== '' && !/^ {4,}/.test(line)) inSpecs = false;
  }
  const relationships: Relationship[] = [];
  const seen = new Set<string>();
  for (const { from, dep } of pending) {
    const to = byName.get(dep);
    if (!to || to === from || seen.has(`${from.id}>${to.id}`)) continue;
    seen.add(`${from.id}>${to.id}`);
    relationships.push({ from: from.id, to: to.id, type: 'depends-on' });
  }
  return { packages, relationships };
}

function catalogLocks(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  return catalogDeclaredFiles(ctx, MAX_LOCK, (path, text) => parseGemfileLock(ctx, path, text, foundBy));
}

export const rubyInstalledCataloger: Cataloger = {
  name: 'ruby-installed',
  version: '2',
  tags: ['language', 'installed', 'image', 'directory'],
  selector: { globs: ['**/specifications/*.gemspec', '**/specifications/default/*.gemspec'], maxSize: MAX_SPEC },
  catalog: (ctx) => catalogInstalled(ctx, 'ruby-installed'),
};

export const rubyLockCataloger: Cataloger = {
  name: 'ruby-gemfile-lock',
  version: '1',
  tags: ['language', 'declared', 'directory'],
  selector: { basenames: ['Gemfile.lock'], maxSize: MAX_LOCK },
  catalog: (ctx) => catalogLocks(ctx, 'ruby-gemfile-lock'),
};
