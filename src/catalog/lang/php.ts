/**
 * PHP: Composer's record of installed packages, vendor/composer/installed.json (Composer 1:
 * an array; Composer 2: {packages: [...], dev, dev-package-names}), and, for dir: targets,
 * composer.lock ({packages, packages-dev}). Edges come from `require` between listed packages
 * (platform requirements such as php and ext-* are not packages).
 */
import type { Package, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, catalogDeclaredFiles, catalogTextFiles, isRecord, LIMIT, makePackage, normaliseLicenses, parseJson, str } from './common.js';
import { packageUrl } from '../../model/purl.js';

const MAX_FILE = 64 * 1024 * 1024;
const MAX_ENTRIES = 100_000;

export function composerPurl(full: string, version: string): string | undefined {
  const i = full.indexOf('/');
  return i > 0 ? packageUrl('composer', full.slice(0, i), full.slice(i + 1), version) : packageUrl('composer', undefined, full, version);
}

/** Turns composer package records into packages and require edges. */
export function composerPackages(ctx: CatalogContext, path: string, records: { rec: unknown; dev: boolean }[], role: 'database' | 'lockfile', foundBy: string): CatalogerResult {
  if (records.length > MAX_ENTRIES) bad(ctx, path, `more than ${MAX_ENTRIES} packages, truncated`, LIMIT);
  const packages: Package[] = [];
  const byName = new Map<string, { pkg: Package; require: string[] }>();
  for (const { rec, dev } of records.slice(0, MAX_ENTRIES)) {
    if (!isRecord(rec)) continue;
    const name = str(rec.name);
    const version = str(rec.version);
    if (!name || !version || !/^[a-z0-9_.-]+\/[a-z0-9_.-]+$/i.test(name)) {
      bad(ctx, path, `package entry without a valid name or version${name ? ` (${name.slice(0, 100)})` : ''}`);
      continue;
    }
    const meta: Record<string, unknown> = { ecosystem: 'composer' };
    if (dev) meta.dev = true;
    if (typeof rec.type === 'string') meta.packageType = rec.type;
    if (isRecord(rec.source) && typeof rec.source.reference === 'string') meta.reference = rec.source.reference;
    if (isRecord(rec.dist)) {
      if (typeof rec.dist.url === 'string') meta.distUrl = rec.dist.url;
      if (typeof rec.dist.shasum === 'string' && rec.dist.shasum) meta.distShasum = rec.dist.shasum;
    }
    const lic = Array.isArray(rec.license) ? rec.license : [rec.license];
    const [vendor, bare] = name.split('/') as [string, string];
    const pkg = makePackage({
      type: 'composer',
      namespace: vendor,
      name: bare,
      version,
      purl: composerPurl(name, version),
      licenses: normaliseLicenses(lic.slice(0, 16).map((l) => str(l))),
      locations: [ctx.locate(path, role)],
      foundBy,
      metadata: { kind: 'generic', ...meta },
    });
    const key = name.toLowerCase();
    if (byName.has(key)) continue;
    packages.push(pkg);
    byName.set(key, { pkg, require: isRecord(rec.require) ? Object.keys(rec.require).slice(0, 10_000) : [] });
  }
  const relationships: Relationship[] = [];
  for (const { pkg, require } of byName.values()) {
    for (const r of new Set(require.map((x) => x.toLowerCase()))) {
      const to = byName.get(r)?.pkg;
      if (to && to !== pkg) relationships.push({ from: pkg.id, to: to.id, type: 'depends-on' });
    }
  }
  return { packages, relationships };
}

function catalog(ctx: CatalogContext, foundBy: string, kind: 'installed' | 'lock'): Promise<CatalogerResult> {
  const parse = (path: string, text: string): CatalogerResult | undefined => {
    const doc = parseJson(ctx, path, text);
    if (doc === undefined) return undefined;
    let records: { rec: unknown; dev: boolean }[];
    if (kind === 'installed') {
      if (Array.isArray(doc)) records = doc.map((rec) => ({ rec, dev: false }));
      else if (isRecord(doc) && Array.isArray(doc.packages)) {
        const devNames = new Set(Array.isArray(doc['dev-package-names']) ? doc['dev-package-names'].filter((x): x is string => typeof x === 'string') : []);
        records = doc.packages.map((rec) => ({ rec, dev: isRecord(rec) && typeof rec.name === 'string' && devNames.has(rec.name) }));
      } else {
        bad(ctx, path, 'installed.json is neither an array nor an object with packages');
        return undefined;
      }
    } else {
      if (!isRecord(doc)) {
        bad(ctx, path, 'composer.lock is not an object');
        return undefined;
      }
      const pk = Array.isArray(doc.packages) ? doc.packages : [];
      const dv = Array.isArray(doc['packages-dev']) ? doc['packages-dev'] : [];
      records = [...pk.map((rec) => ({ rec, dev: false })), ...dv.map((rec) => ({ rec, dev: true }))];
    }
    return composerPackages(ctx, path, records, kind === 'installed' ? 'database' : 'lockfile', foundBy);
  };
  return kind === 'lock'
    ? catalogDeclaredFiles(ctx, MAX_FILE, parse, (path) => path.includes('/vendor/'))
    : catalogTextFiles(ctx, MAX_FILE, parse, (path) => !path.endsWith('/vendor/composer/installed.json'));
}

export const phpInstalledCataloger: Cataloger = {
  name: 'php-composer-installed',
  version: '1',
  tags: ['language', 'installed', 'image', 'directory'],
  selector: { globs: ['**/vendor/composer/installed.json'], maxSize: MAX_FILE },
  catalog: (ctx) => catalog(ctx, 'php-composer-installed', 'installed'),
};

export const phpLockCataloger: Cataloger = {
  name: 'php-composer-lock',
  version: '1',
  tags: ['language', 'declared', 'directory'],
  selector: { basenames: ['composer.lock'], maxSize: MAX_FILE },
  catalog: (ctx) => catalog(ctx, 'php-composer-lock', 'lock'),
};
