/**
 * Re-evaluation of stored inventories when the vulnerability database changes. No image is pulled:
 * the stored inventories are matched again and the results go through Store.applyEvaluation, which
 * versions the findings and enqueues their outbox events in the same transaction.
 *
 * Incremental: the change log between two database identities names advisories; their affected
 * (ecosystem, name) pairs become lookup keys; Store.findPackages gives the images holding such
 * packages; only those images are matched again (all of their packages, so resolved findings are seen).
 * Full: every stored inventory is matched again. Both give the same findings (tested).
 */
import { DrydockError } from '../core/errors.js';
import { IssueLog } from '../core/issues.js';
import { systemClock, type Clock } from '../core/clock.js';
import { distroEcosystems, ecosystemBase, languagePackageQuery, Matcher, osPackageQuery } from '../match/index.js';
import type { Inventory, Package, PackageType } from '../model/package.js';
import { normalizePackageName, type OsvRecord } from '../model/vuln.js';
import { evaluateInventory } from '../scan/scan.js';
import { defaultLookupKeys, type EvaluationDiff, type InventoryRef, type LookupKey, type Store, type TeamContext } from '../store/index.js';
import type { ChangeLog, VulnDb } from '../vulndb/index.js';
import { byString } from '../core/compare.js';

/** The actor written into the audit log for re-evaluations. */
export const REEVALUATION_ACTOR = 'system:reevaluate';

const OS_TYPES = new Set<PackageType>(['deb', 'apk', 'rpm']);

/** Package types by advisory ecosystem base, for inventories stored with the store's default keys (type, name). */
const TYPE_OF_ECOSYSTEM: Record<string, PackageType> = {
  Debian: 'deb', Ubuntu: 'deb',
  Alpine: 'apk', Wolfi: 'apk', Chainguard: 'apk',
  'Red Hat': 'rpm', AlmaLinux: 'rpm', 'Rocky Linux': 'rpm', SUSE: 'rpm', openSUSE: 'rpm',
  npm: 'npm', PyPI: 'pypi', Maven: 'maven', Go: 'golang', 'crates.io': 'cargo', RubyGems: 'gem', NuGet: 'nuget', Packagist: 'composer', Hex: 'hex',
};

function key(ecosystem: string, name: string): LookupKey {
  return { ecosystem: ecosystemBase(ecosystem), name: normalizePackageName(ecosystem, name) };
}

/**
 * The lookup keys re-evaluation finds a package by: the advisory ecosystem's base ("Debian", "Ubuntu",
 * "Red Hat", "npm", "PyPI") and the name its advisories use (Debian source package, Alpine origin,
 * normalised PyPI name). Pass it to Store.putInventory as `lookupKeys`; the base (not "Debian:12") keeps
 * the keys independent of which release ecosystems the database happens to hold.
 */
export function reevaluationLookupKeys(pkg: Package, inventory: Inventory): LookupKey[] {
  const out: LookupKey[] = [];
  if (OS_TYPES.has(pkg.type)) {
    const d = inventory.distro ? distroEcosystems(inventory.distro, []) : undefined;
    if (d && d.packageType === pkg.type) for (const eco of d.ecosystems) out.push(key(eco, osPackageQuery(pkg, eco).name));
  } else {
    const q = languagePackageQuery(pkg);
    if (q) out.push(key(q.ecosystem, q.name));
  }
  // no advisory ecosystem: the store's default key keeps the package findable by type and name
  return out.length ? out : defaultLookupKeys(pkg);
}

/**
 * The keys under which stored packages an advisory entry (ecosystem, name) can affect are indexed: the
 * reevaluationLookupKeys form, and the store's default form (package type, name) for inventories stored
 * without it. The default form finds OS packages only where the binary and source names agree.
 */
export function affectedLookupKeys(ecosystem: string, name: string): LookupKey[] {
  const keys = [key(ecosystem, name)];
  const type = TYPE_OF_ECOSYSTEM[ecosystemBase(ecosystem)];
  if (type && (type !== keys[0]!.ecosystem || name !== keys[0]!.name)) keys.push({ ecosystem: type, name });
  return keys;
}

export interface ReevaluateOptions {
  /** the database identity the stored findings were evaluated with; the change log runs from it to the current one */
  fromIdentity?: string;
  /** match every stored inventory again (default when no fromIdentity is given) */
  full?: boolean;
  clock?: Clock;
  /** problems of the matching (invalid versions, unsupported ecosystems) */
  issues?: IssueLog;
  /** called after each image's evaluation is committed (progress; fault tests stop the process here) */
  onImage?: (ref: InventoryRef, diff: EvaluationDiff) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface ReevaluationSummary {
  mode: 'incremental' | 'full';
  from?: string;
  to: string;
  /** advisories in the change log, by kind */
  changes: { added: number; modified: number; withdrawn: number; removed: number };
  /** distinct lookup keys queried */
  keys: number;
  /** stored packages those keys found */
  packages: number;
  /** images matched again */
  images: number;
  new: number;
  changed: number;
  resolved: number;
  unchanged: number;
  /** outbox events enqueued */
  events: number;
}

/** The (ecosystem, name) pairs an advisory's affected entries name, from its stored record. */
function affectedPairs(db: VulnDb, id: string): [string, string][] {
  const rec = db.record(id) as OsvRecord | undefined;
  const out: [string, string][] = [];
  for (const a of rec?.affected ?? []) if (a.package) out.push([a.package.ecosystem, a.package.name]);
  return out;
}

/**
 * Images whose stored findings name one of the advisory ids. Removed advisories are gone from the
 * database, so their findings are the only record of what they affected. This walks every stored
 * finding (the store has no index by advisory id yet); removals are rare.
 */
async function imagesNaming(store: Store, ids: ReadonlySet<string>, signal?: AbortSignal): Promise<InventoryRef[]> {
  const out: InventoryRef[] = [];
  for await (const ref of allInventories(store)) {
    signal?.throwIfAborted();
    const ctx: TeamContext = { teamId: ref.teamId, actor: REEVALUATION_ACTOR };
    let after: string | undefined;
    let hit = false;
    do {
      const page = await store.listFindings(ctx, ref.digest, { limit: 1000, ...(after ? { after } : {}) });
      hit = page.items.some((s) => ids.has(s.vulnerabilityId) || s.finding.match.advisoryIds.some((a) => ids.has(a)) || s.finding.aliases.some((a) => ids.has(a)));
      after = page.next;
    } while (after && !hit);
    if (hit) out.push(ref);
  }
  return out;
}

async function* allInventories(store: Store): AsyncGenerator<InventoryRef> {
  let after: string | undefined;
  do {
    const page = await store.listInventories({ limit: 1000, ...(after ? { after } : {}) });
    yield* page.items;
    after = page.next;
  } while (after);
}

const refKey = (r: InventoryRef): string => `${r.teamId}\u0000${r.digest}`;

/** The stored images a change log can affect, sorted by team and digest. */
export async function affectedImages(store: Store, db: VulnDb, log: ChangeLog, signal?: AbortSignal): Promise<{ images: InventoryRef[]; keys: number; packages: number }> {
  const keys = new Map<string, LookupKey>();
  for (const id of [...log.added, ...log.modified, ...log.withdrawn]) {
    for (const [eco, name] of affectedPairs(db, id)) {
      for (const k of affectedLookupKeys(eco, name)) keys.set(`${k.ecosystem}\u0000${k.name}`, k);
    }
  }
  const refs = await store.findPackages([...keys.values()]);
  const images = new Map<string, InventoryRef>();
  for (const r of refs) images.set(refKey(r), { teamId: r.teamId, digest: r.digest });
  if (log.removed.length) {
    for (const r of await imagesNaming(store, new Set(log.removed), signal)) images.set(refKey(r), r);
  }
  const sorted = [...images.entries()].sort(([a], [b]) => byString(a, b)).map(([, r]) => r);
  return { images: sorted, keys: keys.size, packages: refs.length };
}

/**
 * Matches stored inventories against the current database and stores the results. Incremental from
 * `fromIdentity` (only images the change log can affect), or full. Idempotent: running it again after
 * a crash re-matches the same images; committed evaluations produce no new events, and rolled-back ones
 * produce the same event ids.
 */
export async function reevaluate(store: Store, db: VulnDb, opts: ReevaluateOptions = {}): Promise<ReevaluationSummary> {
  const info = db.info();
  const to = info.digest;
  if (!to) throw new DrydockError('VULNDB_CORRUPT', `vulnerability database ${db.path} has no identity`);
  const full = opts.full === true || opts.fromIdentity === undefined;
  const summary: ReevaluationSummary = {
    mode: full ? 'full' : 'incremental', to, changes: { added: 0, modified: 0, withdrawn: 0, removed: 0 },
    keys: 0, packages: 0, images: 0, new: 0, changed: 0, resolved: 0, unchanged: 0, events: 0,
  };
  let targets: AsyncIterable<InventoryRef> | Iterable<InventoryRef>;
  if (full) {
    targets = allInventories(store);
  } else {
    const log = db.changes(opts.fromIdentity!);
    summary.from = log.from;
    summary.changes = { added: log.added.length, modified: log.modified.length, withdrawn: log.withdrawn.length, removed: log.removed.length };
    const found = await affectedImages(store, db, log, opts.signal);
    summary.keys = found.keys;
    summary.packages = found.packages;
    targets = found.images;
  }
  const clock = opts.clock ?? systemClock;
  const issues = opts.issues ?? new IssueLog();
  // one matcher for the whole run: images that share packages share its lookups
  const matcher = new Matcher(db);
  for await (const ref of targets) {
    opts.signal?.throwIfAborted();
    const ctx: TeamContext = { teamId: ref.teamId, actor: REEVALUATION_ACTOR };
    const inv = await store.getInventory(ctx, ref.digest);
    if (!inv) continue; // deleted by retention since it was listed
    const findings = evaluateInventory(inv, db, { issues, now: clock.now(), matcher });
    const diff = await store.applyEvaluation(ctx, ref.digest, findings, to);
    summary.images++;
    summary.new += diff.new.length;
    summary.changed += diff.changed.length;
    summary.resolved += diff.resolved.length;
    summary.unchanged += diff.unchanged;
    summary.events += diff.eventIds.length;
    await opts.onImage?.(ref, diff);
  }
  return summary;
}

/** Job payload of the "reevaluate" queue. */
export interface ReevaluateJobPayload {
  fromIdentity?: string;
  full?: boolean;
}

/** Enqueues a re-evaluation (after `db update`): one queued job per target identity. */
export async function enqueueReevaluation(store: Store, payload: ReevaluateJobPayload & { toIdentity: string }): Promise<{ id: string; created: boolean }> {
  const p: Record<string, unknown> = { toIdentity: payload.toIdentity };
  if (payload.fromIdentity !== undefined) p.fromIdentity = payload.fromIdentity;
  if (payload.full) p.full = true;
  return store.enqueueJob({ queue: 'reevaluate', payload: p, dedupeKey: `reevaluate:${payload.toIdentity}:${payload.full ? 'full' : payload.fromIdentity ?? 'full'}` });
}
