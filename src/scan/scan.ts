/**
 * `scan`: inventory → findings → suppressions → filters. Orchestration only: sbomImage() produces the
 * inventory (or decodes a stored SBOM), match/ turns it into findings against vulndb/, match/suppress/
 * applies ignore rules and VEX, policy/ selects what the user asked to see and decides the gate.
 */
import { DrydockError } from '../core/errors.js';
import { IssueLog } from '../core/issues.js';
import { systemClock, type Clock } from '../core/clock.js';
import { Matcher } from '../match/index.js';
import { distroStatus } from '../match/eol.js';
import { applySuppressions, loadIgnoreFile, loadVex } from '../match/suppress/index.js';
import type { Inventory } from '../model/package.js';
import type { Finding, ScanResult, Severity, VulnDbInfo, VulnerabilityData } from '../model/vuln.js';
import { selectFindings } from '../policy/filter.js';
import { VulnDb } from '../vulndb/index.js';
import { sbomImage, type SbomOptions } from './sbom.js';

export const DEFAULT_DB_MAX_AGE_MS = 5 * 24 * 3600 * 1000;

/** Milliseconds since the database's last successful update or import. */
export function dbAge(info: VulnDbInfo, now: Date): number {
  const t = Date.parse(info.updatedAt);
  return Number.isFinite(t) ? now.getTime() - t : Number.POSITIVE_INFINITY;
}

/** What the scan reads its advisories from: a database path (opened read-only), or data in hand. */
export type ScanDatabase = { path: string } | { data: VulnerabilityData; info: VulnDbInfo };

export interface DbFreshness {
  /** fail (VULNDB_STALE) when the database is older than this; default 5 days */
  maxAgeMs?: number;
  /** the user accepted an old database (the CLI needs --skip-db-update plus --accept-stale-db) */
  acceptStale?: boolean;
  /** when the database is stale and updates are allowed, called once to refresh it */
  update?: () => Promise<void>;
}

export interface ScanOptions extends SbomOptions {
  db: ScanDatabase;
  freshness?: DbFreshness;
  /** precise (default): language packages owned by OS packages match only the distro's advisories */
  detectionPriority?: 'precise' | 'comprehensive';
  ignoreFiles?: string[];
  vexFiles?: string[];
  severities?: Severity[];
  ignoreUnfixed?: boolean;
  onlyFixed?: boolean;
  /** timestamps of the report (SOURCE_DATE_EPOCH); the staleness check always uses the real time */
  clock?: Clock;
  /** the real clock for staleness and rule expiry (tests inject one) */
  now?: () => Date;
  /** an inventory already in hand (the server re-evaluates stored inventories this way) */
  inventory?: Inventory;
}

/** Opens the database for a scan, enforcing the staleness gate. */
export async function openScanDatabase(db: ScanDatabase, fresh: DbFreshness = {}, now: () => Date = () => systemClock.now()): Promise<{ data: VulnerabilityData; info: VulnDbInfo; close(): void }> {
  if ('data' in db) return { data: db.data, info: db.info, close: () => {} };
  let handle: VulnDb | undefined;
  const maxAge = fresh.maxAgeMs ?? DEFAULT_DB_MAX_AGE_MS;
  const isStale = (info: VulnDbInfo) => dbAge(info, now()) > maxAge;
  try {
    handle = VulnDb.open(db.path);
  } catch (e) {
    if (!(e instanceof DrydockError && e.code === 'VULNDB_MISSING') || !fresh.update) throw e;
  }
  if ((!handle || isStale(handle.info())) && fresh.update) {
    handle?.close();
    await fresh.update();
    handle = VulnDb.open(db.path);
  }
  if (!handle) throw new DrydockError('VULNDB_MISSING', `no vulnerability database at ${db.path}; run drydock db update or drydock db import`);
  const info = handle.info();
  if (isStale(info) && !fresh.acceptStale) {
    handle.close();
    const days = (dbAge(info, now()) / 86_400_000).toFixed(1);
    throw new DrydockError(
      'VULNDB_STALE',
      `the vulnerability database at ${db.path} was last updated ${info.updatedAt} (${days} days ago), older than the allowed ${(maxAge / 86_400_000).toFixed(1)} days; ` +
        'run drydock db update, or pass --skip-db-update --accept-stale-db to scan with it anyway',
      { details: { path: db.path, updatedAt: info.updatedAt } },
    );
  }
  const h = handle;
  return { data: h, info, close: () => h.close() };
}

/** Findings for an inventory against open data, with suppressions applied and filters honoured. */
export function evaluateInventory(
  inv: Inventory,
  data: VulnerabilityData,
  opts: Pick<ScanOptions, 'detectionPriority' | 'ignoreFiles' | 'vexFiles' | 'severities' | 'ignoreUnfixed' | 'onlyFixed'> & { issues: IssueLog; now: Date; matcher?: Matcher },
): Finding[] {
  const matcher = opts.matcher ?? new Matcher(data);
  const raw = matcher.match(inv, { detectionPriority: opts.detectionPriority ?? 'precise', issues: opts.issues });
  const ignore = (opts.ignoreFiles ?? []).map((f) => loadIgnoreFile(f));
  const vex = (opts.vexFiles ?? []).map((f) => loadVex(f));
  const image = {
    ...(inv.source.digest ? { digest: inv.source.digest } : {}),
    reference: inv.source.name,
  };
  const suppressed = ignore.length || vex.length ? applySuppressions(raw, { ignore, vex, image, now: opts.now, issues: opts.issues }) : raw;
  return selectFindings(suppressed, {
    ...(opts.severities ? { severities: opts.severities } : {}),
    ...(opts.ignoreUnfixed ? { ignoreUnfixed: true } : {}),
    ...(opts.onlyFixed ? { onlyFixed: true } : {}),
  });
}

/** Scans a target (any target of `sbom`, including sbom:PATH) and returns every finding with its explanation. */
export async function scanImage(target: string, opts: ScanOptions): Promise<ScanResult> {
  const issues = opts.issues ?? new IssueLog();
  const now = opts.now ?? (() => systemClock.now());
  // open the database first: a missing or stale database fails before any image is read
  const db = await openScanDatabase(opts.db, opts.freshness, now);
  try {
    const inv = opts.inventory ?? (await sbomImage(target, { ...opts, issues }));
    const findings = evaluateInventory(inv, db.data, { ...opts, issues, now: now() });
    const clock = opts.clock ?? systemClock;
    const status = inv.distro ? distroStatus(inv.distro, now()) : undefined;
    if (status && !status.supported) {
      issues.record({ code: 'ECOSYSTEM_UNSUPPORTED', message: status.message ?? `${status.ecosystem} is no longer supported by its vendor` });
    }
    const tool = opts.tool ?? { name: 'drydock', version: '0.0.0' };
    return {
      createdAt: clock.now().toISOString(),
      descriptor: {
        name: tool.name,
        version: tool.version,
        options: {
          detectionPriority: opts.detectionPriority ?? 'precise',
          ...(opts.severities ? { severities: opts.severities } : {}),
          ...(opts.ignoreUnfixed ? { ignoreUnfixed: true } : {}),
          ...(opts.onlyFixed ? { onlyFixed: true } : {}),
          ...(opts.ignoreFiles?.length ? { ignoreFiles: opts.ignoreFiles } : {}),
          ...(opts.vexFiles?.length ? { vexFiles: opts.vexFiles } : {}),
        },
      },
      inventory: inv,
      db: db.info,
      ...(status ? { distroStatus: status } : {}),
      findings,
      issues: issues.sorted(),
    };
  } finally {
    db.close();
  }
}
