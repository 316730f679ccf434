/**
 * npm: installed packages (node_modules/<name>/package.json, nested copies included) with
 * dependency edges resolved by Node's module lookup, and, for dir: targets, the lock files
 * package-lock.json (v1–v3), yarn.lock (classic and berry) and pnpm-lock.yaml.
 *
 * The project's own package.json (outside any node_modules) is not reported: it is the
 * application being scanned, not an installed dependency.
 */
import { lazyPackage } from '../../core/lazy.js';
import type { Package, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, catalogDeclaredFiles, isRecord, makePackage, normaliseLicenses, parseJson, posixDirname, readText, str, LIMIT } from './common.js';
import { packageUrl } from '../../model/purl.js';

const MAX_MANIFEST = 4 * 1024 * 1024;
const MAX_LOCK = 128 * 1024 * 1024;
const MAX_LOCK_ENTRIES = 500_000;

/** "@scope/name" → { namespace: "@scope", name } for purls and the model (namespace without "@"). */
export function splitNpmName(full: string): { scope?: string; name: string } {
  if (full.startsWith('@')) {
    const i = full.indexOf('/');
    if (i > 1) return { scope: full.slice(1, i), name: full.slice(i + 1) };
  }
  return { name: full };
}

export function npmPurl(full: string, version: string): string | undefined {
  const { scope, name } = splitNpmName(full);
  return packageUrl('npm', scope ? `@${scope}` : undefined, name, version);
}

const NPM_NAME = /^(?:@[a-z0-9-*~][a-z0-9-*._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/i;

/** The package name a node_modules path implies: ".../node_modules/@s/n/package.json" → "@s/n"; undefined when not directly inside node_modules. */
export function installedNameOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts.at(-1) !== 'package.json' || parts.length < 4) return undefined;
  const a = parts[parts.length - 2]!;
  const b = parts[parts.length - 3]!;
  if (b === 'node_modules' && !a.startsWith('@') && !a.startsWith('.')) return a;
  if (b.startsWith('@') && parts[parts.length - 4] === 'node_modules') return `${b}/${a}`;
  return undefined;
}

export function npmLicenses(manifest: Record<string, unknown>): string[] | undefined {
  const vals: string[] = [];
  const one = (x: unknown) => {
    if (typeof x === 'string') vals.push(x);
    else if (isRecord(x) && typeof x.type === 'string') vals.push(x.type);
  };
  const l = manifest.license;
  if (Array.isArray(l)) l.slice(0, 16).forEach(one);
  else one(l);
  if (Array.isArray(manifest.licenses)) manifest.licenses.slice(0, 16).forEach(one);
  else one(manifest.licenses);
  return normaliseLicenses(vals);
}

function depNames(x: unknown): string[] {
  return isRecord(x) ? Object.keys(x).slice(0, 10_000) : [];
}

/* ------------------------------------------------------------------ installed */

async function catalogInstalled(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const packages: Package[] = [];
  const byDir = new Map<string, { pkg: Package; manifest: Record<string, unknown> }>();
  for (const f of ctx.files()) {
    if (f.type !== 'file') continue;
    const dirName = installedNameOf(f.path);
    if (dirName === undefined) continue;
    const text = await readText(ctx, f.path, MAX_MANIFEST);
    if (text === undefined) continue;
    const m = parseJson(ctx, f.path, text);
    if (!isRecord(m)) {
      if (m !== undefined) bad(ctx, f.path, 'package.json is not an object');
      continue;
    }
    const name = str(m.name) ?? dirName;
    const version = str(m.version);
    if (!version) {
      bad(ctx, f.path, 'package.json has no version');
      continue;
    }
    if (!NPM_NAME.test(name)) {
      bad(ctx, f.path, `invalid package name ${JSON.stringify(name.slice(0, 100))}`);
      continue;
    }
    const { scope, name: bare } = splitNpmName(name);
    const meta: Record<string, unknown> = {};
    if (typeof m.description === 'string') meta.description = m.description.slice(0, 1000);
    if (typeof m.homepage === 'string') meta.homepage = m.homepage.slice(0, 1000);
    if (m.private === true) meta.private = true;
    const pkg = makePackage({
      type: 'npm',
      namespace: scope,
      name: bare,
      version,
      purl: npmPurl(name, version),
      licenses: npmLicenses(m),
      locations: [ctx.locate(f.path, 'manifest')],
      foundBy,
      metadata: { kind: 'generic', ecosystem: 'npm', ...meta },
    });
    packages.push(pkg);
    byDir.set(posixDirname(f.path), { pkg, manifest: m });
  }
  // Node's lookup: <dir>/node_modules/<dep>, then each ancestor's node_modules, nearest first
  const relationships: Relationship[] = [];
  const seen = new Set<string>();
  const resolve = (fromDir: string, dep: string): Package | undefined => {
    let d = fromDir;
    for (let hops = 0; hops < 256; hops++) {
      if (!d.endsWith('/node_modules')) {
        const hit = byDir.get(`${d === '/' ? '' : d}/node_modules/${dep}`);
        if (hit) return hit.pkg;
      }
      if (d === '/' || d === '') return undefined;
      d = posixDirname(d);
    }
    return undefined;
  };
  for (const [dir, { pkg, manifest }] of byDir) {
    const kinds: [unknown, Relationship['type']][] = [
      [manifest.dependencies, 'depends-on'],
      [manifest.optionalDependencies, 'optional-depends-on'],
      [manifest.peerDependencies, 'depends-on'],
    ];
    for (const [deps, type] of kinds) {
      for (const dep of depNames(deps)) {
        const to = resolve(dir, dep);
        if (!to || to.id === pkg.id) continue;
        const key = `${pkg.id}>${to.id}`;
        if (seen.has(key)) continue;
        seen.add(key);
        relationships.push({ from: pkg.id, to: to.id, type });
      }
    }
  }
  return { packages, relationships };
}

/* ------------------------------------------------------------------ lock files */

interface LockEntry {
  name: string;
  version: string;
  /** key used by edges */
  key: string;
  deps: { name: string; spec: string; optional?: boolean }[];
  dev?: boolean;
  resolved?: string;
  integrity?: string;
}

class LockBuilder {
  readonly packages: Package[] = [];
  readonly relationships: Relationship[] = [];
  readonly #byNv = new Map<string, Package>();
  readonly #byKey = new Map<string, Package>();
  constructor(
    readonly ctx: CatalogContext,
    readonly path: string,
    readonly foundBy: string,
  ) {}

  add(e: LockEntry): void {
    const nv = `${e.name}@${e.version}`;
    let pkg = this.#byNv.get(nv);
    if (!pkg) {
      if (!NPM_NAME.test(e.name) || e.version === '') return;
      const { scope, name } = splitNpmName(e.name);
      const meta: Record<string, unknown> = { kind: 'generic', ecosystem: 'npm' };
      if (e.dev) meta.dev = true;
      if (e.resolved) meta.resolved = e.resolved;
      if (e.integrity) meta.integrity = e.integrity;
      pkg = makePackage({
        type: 'npm',
        namespace: scope,
        name,
        version: e.version,
        purl: npmPurl(e.name, e.version),
        locations: [this.ctx.locate(this.path, 'lockfile')],
        foundBy: this.foundBy,
        metadata: { kind: 'generic', ...meta },
      });
      this.#byNv.set(nv, pkg);
      this.packages.push(pkg);
    }
    this.#byKey.set(e.key, pkg);
  }

  get(key: string): Package | undefined {
    return this.#byKey.get(key);
  }

  link(from: Package, to: Package | undefined, optional = false): void {
    if (!to || to === from) return;
    this.relationships.push({ from: from.id, to: to.id, type: optional ? 'optional-depends-on' : 'depends-on' });
  }

  finish(): CatalogerResult {
    const seen = new Set<string>();
    const rels = this.relationships.filter((r) => {
      const k = `${r.from}>${r.to}>${r.type}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
    return { packages: this.packages, relationships: rels };
  }
}

function depsOf(x: unknown, optional = false): LockEntry['deps'] {
  if (!isRecord(x)) return [];
  return Object.entries(x)
    .slice(0, 10_000)
    .filter((e): e is [string, string] => typeof e[1] === 'string')
    .map(([name, spec]) => (optional ? { name, spec, optional } : { name, spec }));
}

/** package-lock.json / npm-shrinkwrap.json, v1 (dependencies tree) and v2/v3 (packages map). */
export function parsePackageLock(ctx: CatalogContext, path: string, doc: unknown, foundBy: string): CatalogerResult {
  const b = new LockBuilder(ctx, path, foundBy);
  if (!isRecord(doc)) {
    bad(ctx, path, 'not a json object');
    return b.finish();
  }
  if (isRecord(doc.packages)) {
    const entries = Object.entries(doc.packages);
    if (entries.length > MAX_LOCK_ENTRIES) bad(ctx, path, `more than ${MAX_LOCK_ENTRIES} entries, truncated`, LIMIT);
    const list: LockEntry[] = [];
    for (const [key, v] of entries.slice(0, MAX_LOCK_ENTRIES)) {
      if (key === '' || !isRecord(v) || v.link === true) continue;
      const i = key.lastIndexOf('node_modules/');
      if (i < 0) continue; // workspace folders
      const name = str(v.name) ?? key.slice(i + 'node_modules/'.length);
      const version = str(v.version);
      if (!version) continue;
      const e: LockEntry = { name, version, key, deps: [...depsOf(v.dependencies), ...depsOf(v.optionalDependencies, true), ...depsOf(v.peerDependencies)] };
      if (v.dev === true) e.dev = true;
      if (typeof v.resolved === 'string') e.resolved = v.resolved;
      if (typeof v.integrity === 'string') e.integrity = v.integrity;
      list.push(e);
      b.add(e);
    }
    // links ("node_modules/x": {link: true, resolved: "packages/x"}) point at workspace folders: not packages
    for (const e of list) {
      const from = b.get(e.key)!;
      for (const d of e.deps) {
        let base = e.key;
        let to: Package | undefined;
        for (let hops = 0; hops < 256; hops++) {
          to = b.get(`${base === '' ? '' : `${base}/`}node_modules/${d.name}`);
          if (to || base === '') break;
          const j = base.lastIndexOf('/node_modules/');
          base = j < 0 ? '' : base.slice(0, j);
        }
        b.link(from, to, d.optional);
      }
    }
    return b.finish();
  }
  if (isRecord(doc.dependencies)) {
    // v1: nested tree; requires resolved upward through the nesting
    let count = 0;
    const walk = (deps: Record<string, unknown>, parentKey: string, depth: number, pending: [LockEntry, string][]) => {
      if (depth > 64) {
        bad(ctx, path, 'dependency tree nested deeper than 64 levels', LIMIT);
        return;
      }
      for (const [name, v] of Object.entries(deps)) {
        if (++count > MAX_LOCK_ENTRIES || !isRecord(v)) continue;
        const version = str(v.version);
        if (!version) continue;
        const key = `${parentKey}/node_modules/${name}`;
        // aliases and tarball/git versions: "npm:real@1.0.0", "file:...", "git+..."
        let real = name;
        let ver = version;
        const alias = /^npm:((?:@[^/]+\/)?[^@]+)@(.+)$/.exec(version);
        if (alias) {
          real = alias[1]!;
          ver = alias[2]!;
        }
        if (/^(file|link|git|git\+|https?):/.test(ver)) continue;
        const e: LockEntry = { name: real, version: ver, key, deps: depsOf(v.requires) };
        if (v.dev === true) e.dev = true;
        if (typeof v.resolved === 'string') e.resolved = v.resolved;
        if (typeof v.integrity === 'string') e.integrity = v.integrity;
        b.add(e);
        pending.push([e, key]);
        if (isRecord(v.dependencies)) walk(v.dependencies, key, depth + 1, pending);
      }
    };
    const pending: [LockEntry, string][] = [];
    walk(doc.dependencies, '', 0, pending);
    if (count > MAX_LOCK_ENTRIES) bad(ctx, path, `more than ${MAX_LOCK_ENTRIES} entries, truncated`, LIMIT);
    for (const [e, key] of pending) {
      const from = b.get(key)!;
      for (const d of e.deps) {
        let base = key;
        let to: Package | undefined;
        for (let hops = 0; hops < 256; hops++) {
          to = b.get(`${base}/node_modules/${d.name}`);
          if (to || base === '') break;
          const j = base.lastIndexOf('/node_modules/');
          base = j < 0 ? '' : base.slice(0, j);
        }
        b.link(from, to);
      }
    }
  }
  return b.finish();
}

/** "a@^1, @s/b@npm:^2" → ["a@^1", "@s/b@npm:^2"] */
function splitDescriptors(key: string): string[] {
  return key
    .split(',')
    .map((s) => s.trim().replace(/^"|"$/g, ''))
    .filter(Boolean);
}

/** "@s/b@npm:^2" → "@s/b" */
function descriptorName(d: string): string {
  const i = d.indexOf('@', 1);
  return i < 0 ? d : d.slice(0, i);
}

/** `yaml` is loaded on the first YAML lock file, not with every cataloger (start-up time) */
const yaml = lazyPackage<typeof import('yaml')>('yaml');

/** A YAML lock file (yarn berry, pnpm) with at most 100 aliases; undefined, with an issue, when it does not parse. */
function parseYamlLock(ctx: CatalogContext, path: string, text: string): unknown {
  try {
    return yaml().parse(text, { maxAliasCount: 100 }) as unknown;
  } catch (e) {
    bad(ctx, path, `invalid yaml: ${(e as Error).message}`);
    return undefined;
  }
}

/** yarn.lock: classic (v1, its own format) and berry (YAML with __metadata). */
export function parseYarnLock(ctx: CatalogContext, path: string, text: string, foundBy: string): CatalogerResult {
  const b = new LockBuilder(ctx, path, foundBy);
  const entries: LockEntry[] = [];
  const berry = /^__metadata:/m.test(text);
  if (berry) {
    const doc = parseYamlLock(ctx, path, text);
    if (!isRecord(doc)) return b.finish();
    for (const [key, v] of Object.entries(doc).slice(0, MAX_LOCK_ENTRIES)) {
      if (key === '__metadata' || !isRecord(v)) continue;
      const version = str(v.version) ?? (typeof v.version === 'number' ? String(v.version) : undefined);
      const resolution = str(v.resolution) ?? '';
      if (!version || /@(workspace|link|portal|file):/.test(resolution) || version === '0.0.0-use.local') continue;
      const descs = splitDescriptors(key);
      const name = resolution ? descriptorName(resolution) : descriptorName(descs[0] ?? '');
      const deps = [...depsOf(v.dependencies), ...depsOf(v.optionalDependencies, true)];
      for (const d of descs) {
        const e: LockEntry = { name, version, key: d, deps };
        if (typeof v.checksum === 'string') e.integrity = v.checksum;
        entries.push(e);
        b.add(e);
      }
    }
    const seen = new Set<LockEntry['deps']>();
    for (const e of entries) {
      if (seen.has(e.deps)) continue;
      seen.add(e.deps);
      const from = b.get(e.key)!;
      for (const d of e.deps) {
        const spec = /^[a-z]+:/.test(d.spec) ? d.spec : `npm:${d.spec}`;
        b.link(from, b.get(`${d.name}@${spec}`) ?? b.get(`${d.name}@${d.spec}`), d.optional);
      }
    }
    return b.finish();
  }
  // classic: top-level "key:" lines, two-space indented fields, four-space dependency lines
  const lines = text.split(/\r?\n/);
  if (lines.length > 10 * MAX_LOCK_ENTRIES) {
    bad(ctx, path, 'too many lines', LIMIT);
    return b.finish();
  }
  let cur: { descs: string[]; version?: string; resolved?: string; integrity?: string; deps: LockEntry['deps'] } | undefined;
  let section: 'dependencies' | 'optionalDependencies' | undefined;
  const flush = () => {
    if (cur?.version) {
      const name = descriptorName(cur.descs[0] ?? '');
      for (const d of cur.descs) {
        const e: LockEntry = { name, version: cur.version, key: d, deps: cur.deps };
        if (cur.resolved) e.resolved = cur.resolved;
        if (cur.integrity) e.integrity = cur.integrity;
        entries.push(e);
        b.add(e);
      }
    }
    cur = undefined;
  };
  const unq = (s: string) => s.trim().replace(/^"(.*)"$/, '$1');
  for (const line of lines) {
    if (line === '' || line.startsWith('#')) continue;
    if (!line.startsWith(' ')) {
      flush();
      if (line.endsWith(':')) cur = { descs: splitDescriptors(line.slice(0, -1)), deps: [] };
      section = undefined;
      continue;
    }
    if (!cur) continue;
    if (line.startsWith('    ') && section) {
      const m = /^\s+("[^"]+"|\S+)\s+(.+)$/.exec(line);
      if (m) cur.deps.push(section === 'optionalDependencies' ? { name: unq(m[1]!), spec: unq(m[2]!), optional: true } : { name: unq(m[1]!), spec: unq(m[2]!) });
      continue;
    }
    const m = /^ {2}(\S+?):?\s+(.+)$/.exec(line);
    if (m) {
      section = undefined;
      const v = unq(m[2]!);
      if (m[1] === 'version') cur.version = v;
      else if (m[1] === 'resolved') cur.resolved = v;
      else if (m[1] === 'integrity') cur.integrity = v;
    } else if (/^ {2}(dependencies|optionalDependencies):\s*$/.test(line)) {
      section = line.trim().slice(0, -1) as 'dependencies' | 'optionalDependencies';
    }
  }
  flush();
  const done = new Set<LockEntry['deps']>();
  for (const e of entries) {
    if (done.has(e.deps)) continue;
    done.add(e.deps);
    const from = b.get(e.key)!;
    for (const d of e.deps) b.link(from, b.get(`${d.name}@${d.spec}`), d.optional);
  }
  return b.finish();
}

/** pnpm package keys: v5 "/name/1.0.0_peer", v6 "/name@1.0.0(peer)", v9 "name@1.0.0(peer)". */
export function parsePnpmKey(key: string): { name: string; version: string } | undefined {
  let k = key.startsWith('/') ? key.slice(1) : key;
  const paren = k.indexOf('(');
  if (paren > 0) k = k.slice(0, paren);
  // v6+/v9: name@version (scoped names contain one "/" before the "@")
  const at2 = k.lastIndexOf('@');
  if (at2 > 0) {
    const name = k.slice(0, at2);
    const version = k.slice(at2 + 1);
    if (version && !version.includes('/') && (name.startsWith('@') ? name.split('/').length === 2 : !name.includes('/'))) {
      return { name, version: version.split('_')[0]! };
    }
  }
  // v5: name/version
  const slash = k.lastIndexOf('/');
  if (slash > 0) {
    const name = k.slice(0, slash);
    const version = k.slice(slash + 1).split('_')[0]!;
    if (version && (name.startsWith('@') ? name.split('/').length === 2 : !name.includes('/'))) return { name, version };
  }
  return undefined;
}

export function parsePnpmLock(ctx: CatalogContext, path: string, text: string, foundBy: string): CatalogerResult {
  const b = new LockBuilder(ctx, path, foundBy);
  const doc = parseYamlLock(ctx, path, text);
  if (!isRecord(doc) || !isRecord(doc.packages)) return b.finish();
  const snapshots = isRecord(doc.snapshots) ? doc.snapshots : undefined;
  const norm = (k: string) => {
    const p = parsePnpmKey(k);
    return p ? `${p.name}@${p.version}` : k;
  };
  const keys = new Set<string>([...Object.keys(doc.packages), ...Object.keys(snapshots ?? {})].slice(0, MAX_LOCK_ENTRIES));
  const list: LockEntry[] = [];
  for (const k of keys) {
    const p = parsePnpmKey(k);
    if (!p) continue;
    const v = (snapshots?.[k] ?? doc.packages[k]) as unknown;
    const pv = doc.packages[k] ?? doc.packages[norm(k)];
    const e: LockEntry = {
      name: isRecord(pv) && typeof pv.name === 'string' ? pv.name : p.name,
      version: isRecord(pv) && typeof pv.version === 'string' ? pv.version : p.version,
      key: norm(k),
      deps: isRecord(v) ? [...depsOf(v.dependencies), ...depsOf(v.optionalDependencies, true)] : [],
    };
    if (isRecord(pv) && pv.dev === true) e.dev = true;
    if (isRecord(pv) && isRecord(pv.resolution) && typeof pv.resolution.integrity === 'string') e.integrity = pv.resolution.integrity;
    list.push(e);
    b.add(e);
  }
  for (const e of list) {
    const from = b.get(e.key)!;
    for (const d of e.deps) {
      if (/^(link|file|workspace):/.test(d.spec)) continue;
      const target = d.spec.startsWith('/') || d.spec.includes('@') ? norm(d.spec) : `${d.name}@${d.spec.replace(/\(.*$/, '').split('_')[0]}`;
      b.link(from, b.get(target), d.optional);
    }
  }
  return b.finish();
}

function catalogLocks(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  return catalogDeclaredFiles(
    ctx,
    MAX_LOCK,
    (path, text) => {
      const base = path.slice(path.lastIndexOf('/') + 1);
      if (base === 'package-lock.json' || base === 'npm-shrinkwrap.json') {
        const doc = parseJson(ctx, path, text, 256);
        return doc === undefined ? undefined : parsePackageLock(ctx, path, doc, foundBy);
      }
      if (base === 'yarn.lock') return parseYarnLock(ctx, path, text, foundBy);
      if (base === 'pnpm-lock.yaml') return parsePnpmLock(ctx, path, text, foundBy);
      return undefined;
    },
    (path) => path.includes('/node_modules/'),
  );
}

export const npmInstalledCataloger: Cataloger = {
  name: 'npm-installed',
  version: '1',
  tags: ['language', 'installed', 'image', 'directory'],
  selector: { globs: ['**/node_modules/**/package.json'], maxSize: MAX_MANIFEST },
  catalog: (ctx) => catalogInstalled(ctx, 'npm-installed'),
};

export const npmLockCataloger: Cataloger = {
  name: 'npm-lock',
  version: '1',
  tags: ['language', 'declared', 'directory'],
  selector: { basenames: ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml'], maxSize: MAX_LOCK },
  catalog: (ctx) => catalogLocks(ctx, 'npm-lock'),
};
