/**
 * .NET: `*.deps.json` files next to published applications (installed; `libraries` entries of
 * type package, project and runtimepack, edges from the `dependencies` of the `targets`
 * entries) and, for dir: targets, NuGet's packages.lock.json (per target framework; Project
 * entries are the solution's own projects and carry no version).
 */
import type { Package, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, catalogDeclaredFiles, catalogTextFiles, isRecord, LIMIT, makePackage, parseJson, str } from './common.js';
import { packageUrl } from '../../model/purl.js';

const MAX_FILE = 64 * 1024 * 1024;
const MAX_ENTRIES = 100_000;
const LIBRARY_TYPES = new Set(['package', 'project', 'runtimepack']);

export function nugetPurl(name: string, version: string): string | undefined {
  return packageUrl('nuget', undefined, name, version);
}

/** "Name/1.2.3" → [name, version] */
function splitKey(k: string): [string, string] | undefined {
  const i = k.lastIndexOf('/');
  return i > 0 && i < k.length - 1 ? [k.slice(0, i), k.slice(i + 1)] : undefined;
}

export function parseDepsJson(ctx: CatalogContext, path: string, doc: unknown, foundBy: string): CatalogerResult {
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  if (!isRecord(doc) || !isRecord(doc.libraries)) {
    bad(ctx, path, 'deps.json without libraries');
    return { packages };
  }
  const libs = Object.entries(doc.libraries);
  if (libs.length > MAX_ENTRIES) bad(ctx, path, `more than ${MAX_ENTRIES} libraries, truncated`, LIMIT);
  const byKey = new Map<string, Package>();
  for (const [key, lib] of libs.slice(0, MAX_ENTRIES)) {
    const nv = splitKey(key);
    if (!nv || !isRecord(lib)) {
      bad(ctx, path, `bad library entry ${JSON.stringify(key.slice(0, 100))}`);
      continue;
    }
    const type = str(lib.type) ?? '';
    if (!LIBRARY_TYPES.has(type)) continue;
    const meta: Record<string, unknown> = { ecosystem: 'nuget', libraryType: type };
    if (typeof lib.sha512 === 'string' && lib.sha512) meta.sha512 = lib.sha512;
    if (typeof lib.path === 'string') meta.path = lib.path;
    const pkg = makePackage({ type: 'nuget', name: nv[0], version: nv[1], purl: nugetPurl(nv[0], nv[1]), locations: [ctx.locate(path, 'manifest')], foundBy, metadata: { kind: 'generic', ...meta } });
    byKey.set(key.toLowerCase(), pkg);
    packages.push(pkg);
  }
  const seen = new Set<string>();
  if (isRecord(doc.targets)) {
    for (const target of Object.values(doc.targets).slice(0, 64)) {
      if (!isRecord(target)) continue;
      for (const [key, entry] of Object.entries(target).slice(0, MAX_ENTRIES)) {
        const from = byKey.get(key.toLowerCase());
        if (!from || !isRecord(entry) || !isRecord(entry.dependencies)) continue;
        for (const [dn, dv] of Object.entries(entry.dependencies).slice(0, 10_000)) {
          if (typeof dv !== 'string') continue;
          const to = byKey.get(`${dn}/${dv}`.toLowerCase());
          if (!to || to === from || seen.has(`${from.id}>${to.id}`)) continue;
          seen.add(`${from.id}>${to.id}`);
          relationships.push({ from: from.id, to: to.id, type: 'depends-on' });
        }
      }
    }
  }
  return { packages, relationships };
}

export function parsePackagesLock(ctx: CatalogContext, path: string, doc: unknown, foundBy: string): CatalogerResult {
  const packages: Package[] = [];
  const relationships: Relationship[] = [];
  if (!isRecord(doc) || !isRecord(doc.dependencies)) {
    bad(ctx, path, 'packages.lock.json without dependencies');
    return { packages };
  }
  const byNv = new Map<string, Package>();
  const seen = new Set<string>();
  let count = 0;
  for (const [framework, deps] of Object.entries(doc.dependencies).slice(0, 64)) {
    if (!isRecord(deps)) continue;
    const inFw = new Map<string, { pkg: Package; deps: string[] }>();
    for (const [name, e] of Object.entries(deps)) {
      if (++count > MAX_ENTRIES) {
        bad(ctx, path, `more than ${MAX_ENTRIES} entries, truncated`, LIMIT);
        break;
      }
      if (!isRecord(e)) continue;
      const type = str(e.type) ?? '';
      const version = str(e.resolved);
      if (type === 'Project' || !version) continue;
      const k = `${name}@${version}`.toLowerCase();
      let pkg = byNv.get(k);
      if (!pkg) {
        const meta: Record<string, unknown> = { ecosystem: 'nuget', dependencyType: type, frameworks: [framework] };
        if (typeof e.contentHash === 'string') meta.contentHash = e.contentHash;
        if (typeof e.requested === 'string') meta.requested = e.requested;
        pkg = makePackage({ type: 'nuget', name, version, purl: nugetPurl(name, version), locations: [ctx.locate(path, 'lockfile')], foundBy, metadata: { kind: 'generic', ...meta } });
        byNv.set(k, pkg);
        packages.push(pkg);
      } else {
        const fws = (pkg.metadata as { frameworks?: string[] }).frameworks;
        if (fws && !fws.includes(framework)) fws.push(framework);
      }
      inFw.set(name.toLowerCase(), { pkg, deps: isRecord(e.dependencies) ? Object.keys(e.dependencies).slice(0, 10_000) : [] });
    }
    for (const { pkg, deps: ds } of inFw.values()) {
      for (const d of ds) {
        const to = inFw.get(d.toLowerCase())?.pkg;
        if (!to || to === pkg || seen.has(`${pkg.id}>${to.id}`)) continue;
        seen.add(`${pkg.id}>${to.id}`);
        relationships.push({ from: pkg.id, to: to.id, type: 'depends-on' });
      }
    }
  }
  return { packages, relationships };
}

function catalog(ctx: CatalogContext, foundBy: string, kind: 'deps' | 'lock'): Promise<CatalogerResult> {
  const parse = (path: string, text: string): CatalogerResult | undefined => {
    const doc = parseJson(ctx, path, text);
    if (doc === undefined) return undefined;
    return kind === 'deps' ? parseDepsJson(ctx, path, doc, foundBy) : parsePackagesLock(ctx, path, doc, foundBy);
  };
  return kind === 'lock' ? catalogDeclaredFiles(ctx, MAX_FILE, parse) : catalogTextFiles(ctx, MAX_FILE, parse);
}

export const dotnetDepsCataloger: Cataloger = {
  name: 'dotnet-deps',
  version: '1',
  tags: ['language', 'installed', 'image', 'directory'],
  selector: { globs: ['**/*.deps.json'], maxSize: MAX_FILE },
  catalog: (ctx) => catalog(ctx, 'dotnet-deps', 'deps'),
};

export const dotnetLockCataloger: Cataloger = {
  name: 'dotnet-packages-lock',
  version: '1',
  tags: ['language', 'declared', 'directory'],
  selector: { basenames: ['packages.lock.json'], maxSize: MAX_FILE },
  catalog: (ctx) => catalog(ctx, 'dotnet-packages-lock', 'lock'),
};
