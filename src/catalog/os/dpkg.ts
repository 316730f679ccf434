/**
 * dpkg: /var/lib/dpkg/status (and distroless /var/lib/dpkg/status.d/*), with file lists from
 * info/<pkg>[:<arch>].list and .md5sums, licenses from /usr/share/doc/<pkg>/copyright.
 * Format: deb-control(5) / deb822 stanzas separated by blank lines; continuation lines start
 * with a space or tab.
 */
import { packageId } from '../../model/ids.js';
import type { Location, Package, PackageMetadataDpkg, Relationship } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { basename, distroQualifier, layerRefOf, uniqSorted } from './common.js';
import { licensesFromCopyright } from './deb-license.js';
import { packageUrl } from '../../model/purl.js';

const STATUS = '/var/lib/dpkg/status';
const STATUS_D = '/var/lib/dpkg/status.d/';
const INFO = '/var/lib/dpkg/info/';

export interface Stanza {
  fields: Map<string, string>;
  /** 1-based line of the first field */
  line: number;
}

export interface ParsedControl {
  stanzas: Stanza[];
  /** problems found: line number and what */
  problems: string[];
}

/** Parses deb822 stanzas. Field names are case-insensitive: they are stored lower-case. */
export function parseControl(text: string): ParsedControl {
  const stanzas: Stanza[] = [];
  const problems: string[] = [];
  let cur: Stanza | undefined;
  let last: string | undefined;
  let bad = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line.trim() === '') {
      if (cur) stanzas.push(cur);
      cur = undefined;
      last = undefined;
      continue;
    }
    if (line.startsWith('#')) continue;
    if ((line[0] === ' ' || line[0] === '\t') && cur && last) {
      cur.fields.set(last, `${cur.fields.get(last)}\n${line.slice(1)}`);
      continue;
    }
    const m = /^([!-9;-~][!-9;-~]*):[ \t]*(.*)$/.exec(line);
    if (!m) {
      if (bad++ < 5) problems.push(`line ${i + 1}: not a field`);
      continue;
    }
    cur ??= { fields: new Map(), line: i + 1 };
    last = m[1]!.toLowerCase();
    cur.fields.set(last, m[2]!.trimEnd());
  }
  if (cur) stanzas.push(cur);
  if (bad > 5) problems.push(`${bad - 5} more lines that are not fields`);
  return { stanzas, problems };
}

export interface DepAlternative {
  name: string;
  arch?: string;
}

/** "a (>= 1) | b:any [amd64] <!nocheck>, c" → [[a, b], [c]] */
export function parseDepends(v: string | undefined): DepAlternative[][] {
  if (!v) return [];
  const out: DepAlternative[][] = [];
  for (const group of v.replace(/\n/g, ' ').split(',')) {
    const alts: DepAlternative[] = [];
    for (const alt of group.split('|')) {
      const m = /^\s*([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?/i.exec(alt);
      if (m) alts.push(m[2] ? { name: m[1]!.toLowerCase(), arch: m[2] } : { name: m[1]!.toLowerCase() });
    }
    if (alts.length) out.push(alts);
  }
  return out;
}

function depList(v: string | undefined): string[] | undefined {
  if (!v) return undefined;
  const xs = v.replace(/\n/g, ' ').split(',').map((s) => s.trim()).filter(Boolean);
  return xs.length ? xs : undefined;
}

interface Entry {
  pkg: Package;
  meta: PackageMetadataDpkg;
  name: string;
  arch: string;
  provides: string[];
  deps: DepAlternative[][];
  /** the database file, for file lists of status.d */
  db: string;
}

/** md5sums file → path → md5 */
function parseMd5sums(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const r = /^([0-9a-f]{32})\s+\*?(.+)$/i.exec(line.trim());
    if (r) m.set('/' + r[2]!.replace(/^\/+/, ''), r[1]!.toLowerCase());
  }
  return m;
}

function isText(b: Buffer): boolean {
  const n = Math.min(b.length, 8192);
  for (let i = 0; i < n; i++) if (b[i] === 0) return false;
  return true;
}

async function catalogDpkg(ctx: CatalogContext): Promise<CatalogerResult> {
  const files = ctx.files();
  const present = new Set(files.map((f) => f.path));
  const distro = ctx.distro;
  const ns = distro?.id ?? 'debian';
  const entries: Entry[] = [];

  const dbs: { path: string; md5?: string }[] = [];
  if (present.has(STATUS)) dbs.push({ path: STATUS });
  for (const f of files) {
    if (!f.path.startsWith(STATUS_D) || f.type !== 'file' && f.type !== 'hardlink' && f.type !== 'symlink') continue;
    const b = basename(f.path);
    if (b.endsWith('.md5sums') || b.startsWith('.') || f.path.slice(STATUS_D.length).includes('/')) continue;
    const md5 = f.path + '.md5sums';
    dbs.push(present.has(md5) ? { path: f.path, md5 } : { path: f.path });
  }

  for (const db of dbs) {
    const buf = await ctx.read(db.path);
    if (!buf) continue;
    if (buf.length === 0 || buf.toString('utf8').trim() === '') {
      ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${db.path}: empty package database, no package recorded`, path: db.path });
      continue;
    }
    if (!isText(buf)) {
      ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${db.path}: not a dpkg status file (binary content)`, path: db.path });
      continue;
    }
    const text = buf.toString('utf8');
    const parsed = parseControl(text);
    for (const p of parsed.problems) ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${db.path}: ${p}`, path: db.path });
    const truncated = text.length > 0 && !text.endsWith('\n');
    const isStatusD = db.path !== STATUS;
    parsed.stanzas.forEach((st, idx) => {
      const f = st.fields;
      const name = f.get('package')?.trim();
      const version = f.get('version')?.trim();
      const status = f.get('status')?.trim().split(/\s+/);
      const lastAndTruncated = truncated && idx === parsed.stanzas.length - 1;
      if (!name || !version || !/^[a-z0-9][a-z0-9+.-]*$/i.test(name) || (!isStatusD && !status)) {
        ctx.issues.record({
          code: 'ARCHIVE_CORRUPT',
          message: `${db.path}: ${lastAndTruncated ? 'truncated' : 'incomplete'} stanza at line ${st.line}${name ? ` (${name})` : ''}: needs Package, Version${isStatusD ? '' : ' and Status'}`,
          path: db.path,
        });
        return;
      }
      if (lastAndTruncated) {
        ctx.issues.record({ code: 'ARCHIVE_CORRUPT', message: `${db.path}: file ends without a newline (truncated?); last stanza (${name}) kept`, path: db.path });
      }
      // installed states only: "<want> <flag> installed" (want install/hold/deinstall...)
      if (status && status[2] !== 'installed') return;
      const arch = f.get('architecture')?.trim() ?? '';
      const meta: PackageMetadataDpkg = { kind: 'dpkg' };
      const src = f.get('source')?.trim();
      let source = name;
      let sourceVersion = version;
      if (src) {
        const m = /^(\S+)(?:\s*\(([^)]+)\))?/.exec(src);
        if (m) {
          source = m[1]!;
          if (m[2]) sourceVersion = m[2].trim();
        }
      }
      meta.source = source;
      meta.sourceVersion = sourceVersion;
      if (arch) meta.architecture = arch;
      const maint = f.get('maintainer')?.trim();
      if (maint) meta.maintainer = maint;
      const size = Number(f.get('installed-size'));
      if (Number.isFinite(size) && f.get('installed-size')) meta.installedSize = size;
      const dep = depList(f.get('depends'));
      if (dep) meta.depends = dep;
      const pre = depList(f.get('pre-depends'));
      if (pre) meta.preDepends = pre;
      const prov = depList(f.get('provides'));
      if (prov) meta.provides = prov;
      const loc = ctx.locate(db.path, 'database');
      const locations: Location[] = [loc];
      const pkg: Package = {
        id: '',
        type: 'deb',
        namespace: ns,
        name,
        version,
        locations,
        foundBy: CATALOGER_NAME,
        metadata: meta,
      };
      pkg.purl = packageUrl('deb', ns, name, version, {
        arch: arch || undefined,
        distro: distroQualifier(distro),
        upstream: source !== name ? source : undefined,
      });
      const provides = parseDepends(f.get('provides')).flat().map((a) => a.name);
      entries.push({
        pkg,
        meta,
        name,
        arch,
        provides,
        deps: [...parseDepends(f.get('pre-depends')), ...parseDepends(f.get('depends'))],
        db: isStatusD ? db.path : '',
      });
      if (db.md5) locations.push(ctx.locate(db.md5, 'database'));
    });
  }

  // file lists
  for (const e of entries) {
    let listed: string[] | undefined;
    let md5: Map<string, string> | undefined;
    const dbMd5 = e.db && present.has(e.db + '.md5sums') ? e.db + '.md5sums' : undefined;
    const candidates = e.arch ? [`${e.name}:${e.arch}`, e.name] : [e.name];
    let introducedFrom: Location | undefined;
    for (const c of candidates) {
      const lp = `${INFO}${c}.list`;
      const mp = `${INFO}${c}.md5sums`;
      if (!listed && present.has(lp)) {
        const b = await ctx.read(lp);
        if (b) {
          listed = b.toString('utf8').split('\n').map((s) => s.trim()).filter((s) => s.startsWith('/') && s !== '/.');
          const l = ctx.locate(lp, 'database');
          e.pkg.locations.push(l);
          introducedFrom = l;
        }
      }
      if (!md5 && present.has(mp)) {
        const b = await ctx.read(mp);
        if (b) {
          md5 = parseMd5sums(b.toString('utf8'));
          e.pkg.locations.push(ctx.locate(mp, 'database'));
        }
      }
    }
    if (!md5 && dbMd5) {
      const b = await ctx.read(dbMd5);
      if (b) md5 = parseMd5sums(b.toString('utf8'));
    }
    const out = new Map<string, string | undefined>();
    if (listed) {
      // .list files name directories too: drop those (parents of other entries, or dirs in the image)
      const parents = new Set<string>();
      for (const p of listed) {
        for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
          const d = p.slice(0, i);
          if (parents.has(d)) break; // its ancestors went in with it
          parents.add(d);
        }
      }
      for (const p of listed) {
        if (parents.has(p)) continue;
        const sum = md5?.get(p);
        // md5sums lists regular files only: the filesystem is asked about the rest
        if (sum === undefined && ctx.fs.stat(p)?.type === 'dir') continue;
        out.set(p, sum);
      }
    }
    if (md5) for (const [p, d] of md5) if (!out.has(p)) out.set(p, d);
    if (out.size) {
      e.meta.files = [...out.keys()].sort().map((p) => {
        const d = out.get(p);
        return d ? { path: p, digest: `md5:${d}` } : { path: p };
      });
    }
    const ref = layerRefOf(ctx, introducedFrom ?? e.pkg.locations[0]!);
    if (ref) e.pkg.introducedBy = ref;
  }

  // licenses
  for (const e of entries) {
    const names = e.meta.source && e.meta.source !== e.name ? [e.name, e.meta.source] : [e.name];
    for (const n of names) {
      const cp = `/usr/share/doc/${n}/copyright`;
      if (!present.has(cp)) continue;
      const b = await ctx.read(cp);
      if (!b) continue;
      const lic = licensesFromCopyright(b.toString('utf8'));
      if (lic.length) {
        e.pkg.licenses = lic;
        e.pkg.locations.push(ctx.locate(cp, 'evidence'));
        break;
      }
    }
  }

  for (const e of entries) e.pkg.id = packageId(e.pkg);

  // relationships
  const byName = new Map<string, Entry[]>();
  const byProvides = new Map<string, Entry[]>();
  for (const e of entries) {
    byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
    for (const p of e.provides) byProvides.set(p, [...(byProvides.get(p) ?? []), e]);
  }
  const pick = (from: Entry, cands: Entry[] | undefined): Entry | undefined => {
    if (!cands?.length) return undefined;
    return cands.find((c) => c.arch === from.arch) ?? cands.find((c) => c.arch === 'all') ?? cands[0];
  };
  const rels = new Map<string, Relationship>();
  for (const e of entries) {
    for (const group of e.deps) {
      let target: Entry | undefined;
      for (const alt of group) {
        target = pick(e, byName.get(alt.name)) ?? pick(e, byProvides.get(alt.name));
        if (target) break;
      }
      if (!target || target === e) continue;
      const key = `${e.pkg.id}>${target.pkg.id}`;
      if (!rels.has(key)) rels.set(key, { from: e.pkg.id, to: target.pkg.id, type: 'depends-on' });
    }
  }

  const packages = entries.map((e) => e.pkg);
  for (const p of packages) {
    const seen = new Set<string>();
    p.locations = p.locations.filter((l) => (seen.has(l.path) ? false : (seen.add(l.path), true)));
    if (p.metadata?.kind === 'dpkg' && p.metadata.provides) p.metadata.provides = uniqSorted(p.metadata.provides);
  }
  const relationships = [...rels.values()].sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1));
  return { packages, relationships };
}

const CATALOGER_NAME = 'dpkg';

export const dpkgCataloger: Cataloger = {
  name: CATALOGER_NAME,
  version: '1',
  tags: ['os', 'installed', 'image', 'directory'],
  selector: {
    paths: [STATUS],
    globs: [`${STATUS_D}*`, `${INFO}*.list`, `${INFO}*.md5sums`, '/usr/share/doc/*/copyright'],
  },
  catalog: catalogDpkg,
};
