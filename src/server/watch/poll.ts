/**
 * Watched registries: list a registry's repositories (catalog API when a glob needs it) and tags
 * (tags/list, Link paging), resolve each tag to a digest (HEAD of the manifest), and ingest every
 * digest the team does not hold yet for that repository: catalogued once (sbomImage with the layer
 * cache), stored with its tags and inventory, evaluated against the current database. A tag that
 * moved to another digest is recorded on the new one (the store clears it on the old one).
 */
import { DrydockError, type ErrorCode } from '../../core/errors.js';
import { IssueLog } from '../../core/issues.js';
import { RegistryClient, type RepoRef } from '../../image/registry/client.js';
import type { Descriptor, RegistryOptions } from '../../image/types.js';
import { sbomImage, type SbomOptions } from '../../scan/sbom.js';
import type { Inventory } from '../../model/package.js';
import type { RegistrySpec, Store, TeamContext } from '../../store/index.js';
import type { ServerDeps } from '../http/deps.js';
import type { VulnDbHandle } from '../http/evaluate.js';
import { ingest } from '../http/routes.js';
import { defaultSecret, globMatch } from '../notify.js';
import { byString } from '../../core/compare.js';

/** Where a watched registry is: its API host (as image references name it) and whether it speaks plain HTTP. */
export interface RegistryLocation {
  host: string;
  insecure: boolean;
}

/** "registry.example.com:5000", "https://registry.example.com/", "http://127.0.0.1:5000" → host (and plain HTTP for http://). */
export function registryLocation(url: string): RegistryLocation {
  const m = /^(https?):\/\/([^/?#]+)\/?$/i.exec(url.trim());
  if (m) return { host: m[2]!.toLowerCase(), insecure: m[1]!.toLowerCase() === 'http' };
  const host = url.trim().replace(/\/+$/, '');
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-fA-F:]+\](:\d{1,5})?$/.test(host)) {
    throw new DrydockError('USAGE', `watched registry url ${JSON.stringify(url)} is not a host[:port] or an http(s) URL without a path`);
  }
  return { host: host.toLowerCase(), insecure: false };
}

/** A repository pattern without a glob character names one repository. */
function isGlob(p: string): boolean {
  return /[*?]/.test(p);
}

/** Patterns may name the repository with or without the registry host in front. */
function stripHost(host: string, p: string): string {
  return p.startsWith(`${host}/`) ? p.slice(host.length + 1) : p;
}

/** Whether a repository (without host) is one of the spec's. */
export function watchesRepository(spec: RegistrySpec, host: string, repository: string): boolean {
  return spec.repositories.some((p) => {
    const q = stripHost(host, p);
    return isGlob(q) ? globMatch(q, repository) : q === repository;
  });
}

/** Tags that are not images: cosign signatures, attestations and SBOMs, and the referrers fallback tags. */
export function isArtifactTag(tag: string): boolean {
  return /^sha256-[a-f0-9]{64}(\.[A-Za-z0-9]+)?$/.test(tag);
}

/** Credentials of a spec's credentialsRef: "user:password" (or a bare token as password) from a resolver. */
export type CredentialsResolver = (ref: string) => { username?: string; password: string } | undefined;

/** Reads DRYDOCK_SECRET_<REF> (upper case, other characters as _) as "username:password". */
export function defaultCredentials(ref: string, env: NodeJS.ProcessEnv = process.env): { username?: string; password: string } | undefined {
  const v = defaultSecret(ref, env);
  if (v === undefined || v === '') return undefined;
  const i = v.indexOf(':');
  return i > 0 ? { username: v.slice(0, i), password: v.slice(i + 1) } : { password: v };
}

export interface PollOptions {
  /** the database findings are matched against */
  db: VulnDbHandle;
  /** registry options of the foundation issue (insecure hosts, CA file, credentials, docker config, timeouts) */
  registryOptions?: RegistryOptions;
  /** sbomImage options (layer cache directory, limits, platform); its image.registry is merged with registryOptions */
  sbomOptions?: SbomOptions;
  /** resolves spec.credentialsRef (default: defaultCredentials) */
  credentials?: CredentialsResolver;
  now?: () => Date;
  issues?: IssueLog;
  signal?: AbortSignal;
  /** only these repositories (without host) and, when given, only these tags: a push event's ingest */
  only?: { repository: string; tags?: string[] };
}

export interface PollError {
  repository: string;
  tag?: string;
  code: ErrorCode;
  message: string;
}

export interface PollSummary {
  registry: string;
  repositories: number;
  tags: number;
  /** digests catalogued and evaluated (new to the team's repository) */
  ingested: number;
  /** new digests whose inventory the team already held (another repository): evaluated, not catalogued */
  reused: number;
  /** tags that now point at another digest than the one stored */
  moved: number;
  /** tags found on the digest the store already had for them */
  unchanged: number;
  /** artifact tags (signatures, attestations) left out */
  skipped: number;
  /** per repository or tag; the poll goes on */
  errors: PollError[];
  /** repository@digest of every ingested image, sorted */
  images: string[];
}

/** The registry options of one watched registry: the server's, plus plain HTTP and the spec's credentials. */
export function specRegistryOptions(spec: RegistrySpec, loc: RegistryLocation, opts: Pick<PollOptions, 'registryOptions' | 'credentials'>): RegistryOptions {
  const base: RegistryOptions = { ...opts.registryOptions };
  if (loc.insecure) base.insecure = [...new Set([...(base.insecure ?? []), loc.host])];
  if (spec.credentialsRef) {
    const c = (opts.credentials ?? ((r: string) => defaultCredentials(r)))(spec.credentialsRef);
    if (!c) throw new DrydockError('AUTH_REQUIRED', `no credentials for watched registry ${spec.name} (credentials reference ${spec.credentialsRef})`);
    if (c.username !== undefined) base.username = c.username;
    base.password = c.password;
  }
  return base;
}

function errorOf(e: unknown): { code: ErrorCode; message: string } {
  if (e instanceof DrydockError) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** a repository or tag that failed: in the summary and, when given, on the issue log */
function fail(summary: PollSummary, opts: PollOptions, err: PollError): void {
  summary.errors.push(err);
  opts.issues?.record({ code: err.code, message: `watched ${err.repository}${err.tag ? `:${err.tag}` : ''}: ${err.message}` });
}

/** image config labels, read through the platform manifest the inventory was built from */
async function configLabels(client: RegistryClient, repo: RepoRef, inv: Inventory): Promise<Record<string, string> | undefined> {
  const digest = inv.source.digest;
  if (!digest) return undefined;
  const m = await client.getManifest(repo, digest);
  const doc = JSON.parse(m.bytes.toString('utf8')) as { config?: Descriptor };
  if (!doc.config?.digest) return undefined;
  const cfg = JSON.parse((await client.getBlobBytes(repo, doc.config)).toString('utf8')) as { config?: { Labels?: Record<string, unknown> | null } };
  const labels = cfg.config?.Labels;
  if (!labels || typeof labels !== 'object') return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return Object.keys(out).length ? out : undefined;
}

/**
 * Polls one watched registry for one team. Listing failures of the whole registry throw (the job is
 * retried); a repository or tag that fails is recorded in `errors` and the poll goes on.
 */
export async function pollRegistry(store: Store, team: TeamContext, spec: RegistrySpec, opts: PollOptions): Promise<PollSummary> {
  const loc = registryLocation(spec.url);
  const registry = specRegistryOptions(spec, loc, opts);
  const now = opts.now ?? (() => new Date());
  const summary: PollSummary = { registry: spec.name, repositories: 0, tags: 0, ingested: 0, reused: 0, moved: 0, unchanged: 0, skipped: 0, errors: [], images: [] };
  const client = new RegistryClient(registry);
  const deps: ServerDeps = { store, db: opts.db, now, scanRoots: [], sbomOptions: {}, forgetTokens: () => {} };
  const sbomOptions: SbomOptions = { ...opts.sbomOptions, image: { ...opts.sbomOptions?.image, registry: { ...opts.sbomOptions?.image?.registry, ...registry } } };
  try {
    let repositories: string[];
    if (opts.only) {
      repositories = watchesRepository(spec, loc.host, opts.only.repository) ? [opts.only.repository] : [];
    } else {
      const names = spec.repositories.map((p) => stripHost(loc.host, p));
      const plain = names.filter((p) => !isGlob(p));
      const globs = names.filter(isGlob);
      const found = new Set(plain);
      if (globs.length) for (const r of await client.catalog(loc.host)) if (globs.some((g) => globMatch(g, r))) found.add(r);
      repositories = [...found].sort();
    }
    for (const name of repositories) {
      if (opts.signal?.aborted) break;
      summary.repositories++;
      try {
        await pollRepository(client, deps, team, loc, name, opts, sbomOptions, summary);
      } catch (e) {
        fail(summary, opts, { repository: `${loc.host}/${name}`, ...errorOf(e) });
      }
    }
  } finally {
    await client.close();
  }
  summary.images.sort();
  return summary;
}

async function pollRepository(client: RegistryClient, deps: ServerDeps, team: TeamContext, loc: RegistryLocation, name: string, opts: PollOptions, sbomOptions: SbomOptions, summary: PollSummary): Promise<void> {
  const repo: RepoRef = { registry: loc.host, repository: name };
  const repository = `${loc.host}/${name}`;
  let tags = opts.only?.tags ?? (await client.listTags(repo));
  tags = [...new Set(tags)].sort();
  // what the store holds now: tag → digest it currently points at
  const current = new Map<string, string>();
  const known = new Set<string>();
  let after: string | undefined;
  do {
    const page = await deps.store.listImages(team, { repository, limit: 1000, ...(after ? { after } : {}) });
    for (const img of page.items) {
      if (img.repository !== repository) continue;
      known.add(img.digest);
      for (const t of img.tags) current.set(t, img.digest);
    }
    after = page.next;
  } while (after);

  // resolve every tag; group the tags by digest so a digest is catalogued once
  const byDigest = new Map<string, string[]>();
  for (const tag of tags) {
    if (opts.signal?.aborted) return;
    if (isArtifactTag(tag)) {
      summary.skipped++;
      continue;
    }
    summary.tags++;
    try {
      const head = await client.headManifest(repo, tag);
      if (!head) continue; // deleted between listing and HEAD
      if (current.get(tag) === head.digest) {
        summary.unchanged++;
        continue;
      }
      if (current.has(tag)) summary.moved++;
      byDigest.set(head.digest, [...(byDigest.get(head.digest) ?? []), tag]);
    } catch (e) {
      fail(summary, opts, { repository, tag, ...errorOf(e) });
    }
  }

  for (const [digest, newTags] of [...byDigest].sort(([a], [b]) => byString(a, b))) {
    if (opts.signal?.aborted) return;
    try {
      if (known.has(digest)) {
        // a stored digest gained a tag (or a tag moved back): record the tag, nothing to catalogue
        await deps.store.recordImage(team, { repository, digest, tags: newTags });
        continue;
      }
      let inv = await deps.store.getInventory(team, digest);
      let labels: Record<string, string> | undefined;
      if (inv) {
        summary.reused++;
        const other = await deps.store.imagesByDigest(team, digest);
        labels = other.find((i) => Object.keys(i.labels).length)?.labels;
      } else {
        deps.db.get(); // no database: fail before pulling anything
        inv = await sbomImage(`${repository}@${digest}`, { ...sbomOptions, issues: new IssueLog() });
        labels = await configLabels(client, repo, inv).catch(() => undefined);
        summary.ingested++;
      }
      await ingest(deps, team, { repository, digest, tags: newTags, ...(labels ? { labels } : {}) }, inv);
      summary.images.push(`${repository}@${digest}`);
    } catch (e) {
      fail(summary, opts, { repository, tag: newTags.join(','), ...errorOf(e) });
    }
  }
}
