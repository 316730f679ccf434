/**
 * The local vulnerability database: import feeds (OSV, Alpine secdb, NVD, EPSS, KEV), update them
 * over HTTP, and read them (VulnDb). Every write builds a new file and renames it over the old one.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { DrydockError } from '../core/errors.js';
import type { IssueLog } from '../core/issues.js';
import type { EventSink } from '../core/events.js';
import { defaultCacheDir } from '../core/paths.js';
import type { VulnDbInfo } from '../model/vuln.js';
import { VulnDb } from './db.js';
import { downloadFeed, type FetchOptions } from './download.js';
import { detectFeed } from './feeds/detect.js';
import { loadEpss } from './feeds/epss.js';
import { loadKev } from './feeds/kev.js';
import { loadNvd } from './feeds/nvd.js';
import { loadOsvDir, loadOsvFile, loadOsvZip, type LoadCount } from './feeds/osv.js';
import { loadSecdb } from './feeds/secdb.js';
import type { FeedKind } from './feeds/types.js';
import { buildDb, type ChangeCounts, type DbWriter } from './writer.js';
import { checkDbFile, SCHEMA_VERSION } from './schema.js';

export { VulnDb, type ChangeLog, type IdentityRecord, type OpenOptions } from './db.js';
export type { FeedKind } from './feeds/types.js';
export { FEED_KINDS } from './feeds/types.js';
export type { ChangeCounts, ChangeKind } from './writer.js';
export { advisoryMeta } from './writer.js';
export type { FetchOptions } from './download.js';
export { cvssBaseScore, mapVendorSeverity } from './cvss.js';
export { SCHEMA_VERSION };

export interface ImportInput {
  path?: string;
  url?: string;
  /** detected from the content when absent */
  kind?: FeedKind;
  /** source name; derived from the file (osv:Go for Go.zip) when absent */
  name?: string;
}

export type ImportProgress =
  | { type: 'input-start'; input: string; kind: FeedKind }
  | { type: 'records'; input: string; records: number }
  | { type: 'input-done'; input: string; kind: FeedKind; records: number; skipped: number }
  | { type: 'download'; url: string; bytes: number };

export interface ImportOptions extends FetchOptions {
  /** receives 'log' and 'retry' events (the CLI renders them) */
  events?: EventSink;
  clock?: Clock;
  issues?: IssueLog;
  onProgress?: (p: ImportProgress) => void;
  /** change logs of this many identities are kept (default 50) */
  historyLimit?: number;
  /** test hook: called at 'loaded' and 'before-rename'; throwing aborts, leaving the old database */
  hook?: (stage: 'loaded' | 'before-rename') => void;
}

export interface InputSummary {
  input: string;
  kind: FeedKind;
  source: string;
  records: number;
  skipped: number;
}

export interface ImportSummary {
  path: string;
  digest: string;
  previousDigest?: string;
  updatedAt: string;
  /** advisories in the database after the import */
  advisories: number;
  inputs: InputSummary[];
  changes: ChangeCounts;
  /** records of an invalid shape that were skipped (each is an issue) */
  invalid: number;
}

async function loadInput(w: DbWriter, file: string, origin: string, kind: FeedKind | undefined, name: string | undefined, opts: ImportOptions): Promise<InputSummary> {
  const det = detectFeed(file);
  const k = kind ?? det.kind;
  w.setOrigin(origin);
  opts.onProgress?.({ type: 'input-start', input: origin, kind: k });
  opts.events?.({ type: 'log', level: 'info', message: `importing ${k} feed ${origin}` });
  const ctx = name === undefined ? { sink: w } : { sink: w, name };
  const onRecord = (n: number): void => opts.onProgress?.({ type: 'records', input: origin, records: n });
  let c: LoadCount;
  switch (k) {
    case 'osv-zip': c = loadOsvZip(file, ctx, onRecord); break;
    case 'osv-dir': c = loadOsvDir(file, ctx, onRecord); break;
    case 'osv-json': c = loadOsvFile(file, ctx); break;
    case 'alpine-secdb': c = loadSecdb(file, undefined, ctx); break;
    case 'nvd': c = await loadNvd(file, det.gzip, ctx); break;
    case 'epss': c = await loadEpss(file, det.gzip, ctx); break;
    case 'kev': c = await loadKev(file, det.gzip, ctx); break;
    case 'drydock-db': throw new DrydockError('USAGE', `database ${origin} can only be imported as a whole, once per import`);
    default: throw new DrydockError('USAGE', `unknown feed kind ${String(k)} for ${origin}`);
  }
  opts.onProgress?.({ type: 'input-done', input: origin, kind: k, records: c.records, skipped: c.skipped });
  opts.events?.({ type: 'log', level: 'info', message: `imported ${c.records} records from ${origin}${c.skipped ? ` (${c.skipped} invalid, skipped)` : ''}` });
  return { input: origin, kind: k, source: w.currentSource ?? '', records: c.records, skipped: c.skipped };
}

function tempDownloadPath(dbPath: string, url: string): string {
  const ext = /\.(zip|gz|json|csv|ya?ml)$/i.exec(new URL(url).pathname)?.[0] ?? '';
  return join(dirname(dbPath), `.${basename(dbPath)}.${process.pid}.${randomBytes(4).toString('hex')}.dl${ext}`);
}

/** Imports local feed files (or URLs, fetched unconditionally) into the database at dbPath, atomically. */
export async function importFeeds(dbPath: string, inputs: ImportInput[], opts: ImportOptions = {}): Promise<ImportSummary> {
  if (inputs.length === 0) throw new DrydockError('USAGE', 'no feed to import');
  mkdirSync(dirname(dbPath), { recursive: true });
  const temps: string[] = [];
  try {
    const files: { file: string; origin: string; input: ImportInput }[] = [];
    for (const input of inputs) {
      if (input.path) files.push({ file: input.path, origin: input.path, input });
      else if (input.url) {
        const dest = tempDownloadPath(dbPath, input.url);
        temps.push(dest);
        await downloadFeed(input.url, dest, { ...opts, onBytes: (bytes) => opts.onProgress?.({ type: 'download', url: input.url!, bytes }) });
        files.push({ file: dest, origin: input.url, input });
      } else throw new DrydockError('USAGE', 'a feed input needs a path or a url');
    }
    // a database written by exportDb replaces the current one as the base; feeds are loaded on top
    const dbFiles = files.filter((f) => (f.input.kind ?? detectFeed(f.file).kind) === 'drydock-db');
    if (dbFiles.length > 1) throw new DrydockError('USAGE', 'only one exported database can be imported at a time');
    const base = dbFiles[0];
    if (base) VulnDb.open(base.file).close(); // VULNDB_CORRUPT / VULNDB_SCHEMA before anything is replaced
    const summaries: InputSummary[] = [];
    let invalid = 0;
    const r = await buildDb(dbPath, async (w) => {
      for (const f of files) {
        if (f === base) continue;
        summaries.push(await loadInput(w, f.file, f.origin, f.input.kind, f.input.name, opts));
      }
      invalid = w.invalidCount;
    }, base ? { ...opts, base: base.file } : opts);
    if (base) summaries.unshift({ input: base.origin, kind: 'drydock-db', source: '', records: r.advisories, skipped: 0 });
    const out: ImportSummary = { path: dbPath, digest: r.digest, updatedAt: r.updatedAt, advisories: r.advisories, inputs: summaries, changes: r.changes, invalid };
    if (r.previousDigest) out.previousDigest = r.previousDigest;
    return out;
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}

// ---------------------------------------------------------------- update from configured sources

export interface UpdateSource {
  name: string;
  url: string;
  /** detected from the downloaded content when absent */
  kind?: FeedKind;
}

function kindFromName(name: string): FeedKind | undefined {
  const base = name.split(':', 1)[0]!.toLowerCase();
  if (base === 'osv') return 'osv-zip';
  if (base === 'alpine-secdb' || base === 'secdb') return 'alpine-secdb';
  if (base === 'nvd') return 'nvd';
  if (base === 'epss') return 'epss';
  if (base === 'kev') return 'kev';
  return undefined;
}

function nameFromUrl(url: URL): string {
  const p = url.pathname;
  const osv = /\/([^/]+)\/all\.zip$/.exec(p);
  if (osv) return `osv:${decodeURIComponent(osv[1]!)}`;
  if (/epss/i.test(p)) return 'epss';
  if (/known_exploited/i.test(p)) return 'kev';
  const nvd = /nvdcve-2\.0-([a-z0-9]+)/i.exec(p);
  if (nvd) return `nvd:${nvd[1]}`;
  if (/secdb/i.test(url.hostname)) return `alpine-secdb:${p.replace(/^\/|\.json$/g, '')}`;
  return `${url.hostname}${p}`;
}

/**
 * Parses a --db-source value: "osv:ECOSYSTEM=URL", "alpine-secdb[:x]=URL", "nvd[:x]=URL", "epss=URL",
 * "kev=URL", or a bare URL (name and kind then come from the URL, the kind if need be from the content).
 */
export function parseSourceSpec(spec: string): UpdateSource {
  const s = spec.trim();
  const m = /^([^=\s]+)=(.+)$/.exec(s);
  const name = m && !/^https?:/i.test(m[1]!) ? m[1]! : undefined;
  const rawUrl = name ? m![2]! : s;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch (cause) {
    throw new DrydockError('USAGE', `feed source ${JSON.stringify(spec)} has no valid url`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DrydockError('USAGE', `feed source ${JSON.stringify(spec)} is not an http(s) url`);
  const n = name ?? nameFromUrl(url);
  const kind = kindFromName(n) ?? (/\.zip$/i.test(url.pathname) ? 'osv-zip' : undefined);
  return kind ? { name: n, url: url.href, kind } : { name: n, url: url.href };
}

const OSV_BUCKET = 'https://osv-vulnerabilities.storage.googleapis.com';
/** osv.dev ecosystems Drydock's matchers read (bulk export: <bucket>/<Ecosystem>/all.zip). */
const OSV_ECOSYSTEMS = [
  'Alpine', 'AlmaLinux', 'Debian', 'Ubuntu', 'Rocky Linux', 'Red Hat', 'SUSE', 'openSUSE', 'Wolfi', 'Chainguard',
  'Go', 'npm', 'PyPI', 'Maven', 'crates.io', 'RubyGems', 'NuGet', 'Packagist', 'Hex', 'Pub', 'SwiftURL',
];

export const DEFAULT_SOURCES: UpdateSource[] = [
  ...OSV_ECOSYSTEMS.map((e): UpdateSource => ({ name: `osv:${e}`, url: `${OSV_BUCKET}/${encodeURIComponent(e)}/all.zip`, kind: 'osv-zip' })),
  // NVD CVE 2.0 feeds: the "modified" feed covers the last eight days of changes
  { name: 'nvd:modified', url: 'https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-modified.json.gz', kind: 'nvd' },
  { name: 'epss', url: 'https://epss.cyentia.com/epss_scores-current.csv.gz', kind: 'epss' },
  { name: 'kev', url: 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json', kind: 'kev' },
];

/** NVD's yearly 2.0 feeds, for a first full load of CVSS data (years from 2002 to `toYear`). */
export function nvdYearSources(toYear: number): UpdateSource[] {
  const out: UpdateSource[] = [];
  for (let y = 2002; y <= toYear; y++) out.push({ name: `nvd:${y}`, url: `https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-${y}.json.gz`, kind: 'nvd' });
  return out;
}

export interface UpdateOptions extends ImportOptions {
  /** ignore stored ETags / Last-Modified and download everything */
  force?: boolean;
}

export interface SourceUpdateSummary {
  name: string;
  url: string;
  status: 'updated' | 'not-modified';
  bytes?: number;
  records?: number;
}

export interface UpdateSummary {
  path: string;
  /** true when every source answered 304: the database was not rewritten */
  unchanged: boolean;
  digest: string;
  previousDigest?: string;
  updatedAt: string;
  sources: SourceUpdateSummary[];
  changes: ChangeCounts;
}

function storedValidators(dbPath: string): Map<string, { etag: string | null; last_modified: string | null }> {
  const out = new Map<string, { etag: string | null; last_modified: string | null }>();
  try {
    checkDbFile(dbPath);
  } catch {
    return out; // missing or unusable: download everything, the build starts fresh
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
    for (const r of db.prepare('SELECT name, etag, last_modified FROM sources').all() as { name: string; etag: string | null; last_modified: string | null }[]) {
      out.set(r.name, r);
    }
  } catch {
    // not ours or damaged: nothing to validate against
  } finally {
    db?.close();
  }
  return out;
}

/** Updates the database from configured sources with conditional requests; atomic like importFeeds. */
export async function updateDb(dbPath: string, sources: UpdateSource[], opts: UpdateOptions = {}): Promise<UpdateSummary> {
  const clock = opts.clock ?? systemClock;
  mkdirSync(dirname(dbPath), { recursive: true });
  const stored = opts.force ? new Map() : storedValidators(dbPath);
  const temps: string[] = [];
  const results: SourceUpdateSummary[] = [];
  const downloaded: { source: UpdateSource; file: string }[] = [];
  const sourceMeta = new Map<string, { etag?: string; lastModified?: string; fetchedAt?: string }>();
  try {
    for (const s of sources) {
      const v = stored.get(s.name);
      const dest = tempDownloadPath(dbPath, s.url);
      temps.push(dest);
      const validators: { etag?: string; lastModified?: string } = {};
      if (v?.etag) validators.etag = v.etag;
      if (v?.last_modified) validators.lastModified = v.last_modified;
      const r = await downloadFeed(s.url, dest, { ...opts, ...validators, onBytes: (bytes) => opts.onProgress?.({ type: 'download', url: s.url, bytes }) });
      const fetchedAt = clock.now().toISOString();
      if (r.status === 'not-modified') {
        results.push({ name: s.name, url: s.url, status: 'not-modified' });
        sourceMeta.set(s.name, { ...validators, fetchedAt });
        continue;
      }
      const m: { etag?: string; lastModified?: string; fetchedAt?: string } = { fetchedAt };
      if (r.etag) m.etag = r.etag;
      if (r.lastModified) m.lastModified = r.lastModified;
      sourceMeta.set(s.name, m);
      results.push({ name: s.name, url: s.url, status: 'updated', bytes: r.bytes });
      downloaded.push({ source: s, file: dest });
    }
    if (downloaded.length === 0 && existsSync(dbPath)) {
      const db = VulnDb.open(dbPath);
      try {
        const info = db.info();
        return { path: dbPath, unchanged: true, digest: info.digest, updatedAt: info.updatedAt, sources: results, changes: { added: 0, modified: 0, withdrawn: 0, removed: 0 } };
      } finally {
        db.close();
      }
    }
    const r = await buildDb(dbPath, async (w) => {
      for (const d of downloaded) {
        const s = await loadInput(w, d.file, d.source.url, d.source.kind, d.source.name, opts);
        const res = results.find((x) => x.name === d.source.name);
        if (res) res.records = s.records;
      }
    }, { ...opts, sourceMeta });
    const out: UpdateSummary = { path: dbPath, unchanged: false, digest: r.digest, updatedAt: r.updatedAt, sources: results, changes: r.changes };
    if (r.previousDigest) out.previousDigest = r.previousDigest;
    return out;
  } finally {
    for (const t of temps) rmSync(t, { force: true });
  }
}

// ---------------------------------------------------------------- housekeeping

/** A consistent, compacted copy of the database (VACUUM INTO), written next to outFile and renamed. */
export function exportDb(dbPath: string, outFile: string): void {
  const db = VulnDb.open(dbPath);
  db.close();
  const src = new Database(dbPath, { readonly: true, fileMustExist: true });
  const tmp = join(dirname(outFile), `.${basename(outFile)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    mkdirSync(dirname(outFile), { recursive: true });
    src.exec(`VACUUM INTO '${tmp.replace(/'/g, "''")}'`);
    renameSync(tmp, outFile);
  } catch (cause) {
    rmSync(tmp, { force: true });
    throw new DrydockError('IO_ERROR', `vulnerability database could not be exported to ${outFile}`, { cause });
  } finally {
    src.close();
  }
}

export interface DbStatus {
  path: string;
  exists: boolean;
  /** file size in bytes */
  size?: number;
  info?: VulnDbInfo;
  builtAt?: string;
  /** milliseconds since the current identity was made */
  ageMs?: number;
  advisories?: number;
  ecosystems?: readonly string[];
}

/** Status of the database at dbPath; a missing database is `exists: false`, a broken one throws. */
export function dbStatus(dbPath: string, opts: { clock?: Clock } = {}): DbStatus {
  if (!existsSync(dbPath)) return { path: dbPath, exists: false };
  const db = VulnDb.open(dbPath);
  try {
    const info = db.info();
    const st: DbStatus = { path: dbPath, exists: true, size: statSync(dbPath).size, info, ecosystems: db.ecosystems() };
    const built = db.builtAt();
    if (built) st.builtAt = built;
    const t = Date.parse(info.updatedAt);
    if (Number.isFinite(t)) st.ageMs = (opts.clock ?? systemClock).now().getTime() - t;
    return st;
  } finally {
    db.close();
  }
}

/** VULNDB_STALE when the database identity is older than maxAgeMs. */
export function checkDbAge(info: VulnDbInfo, maxAgeMs: number, clock: Clock = systemClock): void {
  const age = clock.now().getTime() - Date.parse(info.updatedAt);
  if (!(age <= maxAgeMs)) {
    throw new DrydockError('VULNDB_STALE', `vulnerability database ${info.digest} was updated at ${info.updatedAt}, older than the allowed ${Math.round(maxAgeMs / 3_600_000)}h`, {
      details: { updatedAt: info.updatedAt, ageMs: age, maxAgeMs },
    });
  }
}

/** $DRYDOCK_CACHE_DIR or $XDG_CACHE_HOME/drydock (else ~/.cache/drydock), then db/drydock.db. */
export function defaultDbPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultCacheDir(env), 'db', 'drydock.db');
}
