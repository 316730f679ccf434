/**
 * Notifications from the outbox. Store.applyEvaluation writes one event per finding transition
 * ("finding.new", "finding.changed", "finding.resolved") with a stable id. deliverOutbox routes each
 * such event through the team's notification rules into one delivery per destination (an outbox event
 * of kind "delivery" whose id derives from the finding event, the rule and the destination), and sends
 * deliveries: webhook (signed JSON), Slack-compatible incoming webhook, email over SMTP (one delivery per
 * address). Each destination retries on its own with backoff and becomes a dead letter after the store's
 * maximum number of attempts.
 *
 * Digests: a rule with `digest: 'hourly' | 'daily'` parks each routed event as a job of the "digest" queue
 * due at the end of its period; collectDigests() claims the due items and turns each (rule, destination,
 * period) group into one summary delivery, which is sent like any other.
 *
 * At least once: a delivery is marked delivered after the receiver answered 2xx; a crash in between
 * sends it again with the same body and the same event id, so receivers deduplicate by id.
 */
import { createHash, createHmac } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { SEVERITY_ORDER, type Finding, type Severity } from '../model/vuln.js';
import type { DriftContainerInput, DriftFindingInput, DriftSeverityLevel, ImageRecord, Job, JobInput, NewOutboxEvent, OutboxEvent, RuleSpec, Store, Stored, TeamContext, WorkloadRecord } from '../store/index.js';
import { defaultMailer, digestMail, findingMail, ownerAddresses, parseAddresses, type Mailer } from './notify-email.js';
import { byString } from '../core/compare.js';

export const NOTIFY_ACTOR = 'system:notify';
export const DELIVERY_KIND = 'delivery';
export const SIGNATURE_HEADER = 'X-Drydock-Signature';
export const EVENT_ID_HEADER = 'X-Drydock-Event-Id';
export const DIGEST_QUEUE = 'digest';
export const DIGEST_KIND = 'digest';

export type DigestPeriod = 'hourly' | 'daily';
/** A rule with its digest option (to be declared on RuleSpec and in the rule schema of the API). */
/** a rule with its digest period (RuleSpec.digest) */
export type RuleWithDigest = RuleSpec & { digest?: DigestPeriod };

type Transition = 'new' | 'changed' | 'resolved';

/** What a finding event carries (Store.applyEvaluation's payload). */
interface FindingEventPayload {
  event: string;
  teamId: string;
  digest: string;
  vulnerabilityId: string;
  packageId: string;
  revision: number;
  dbIdentity: string;
  at: string;
  changes?: string[];
  finding: Finding;
}

/** The JSON a webhook receives. `id` is the finding event's id: the same on every redelivery. */
export interface WebhookBody {
  id: string;
  type: string;
  createdAt: string;
  team: string;
  rule: string;
  image: { digest: string; repositories: string[] };
  /** the image's owners (labels) and those of the workloads running it (labels drydock.owner, owner, team) */
  owners: string[];
  /** the team's workloads running the image when the event was routed; absent when none */
  workloads?: WebhookWorkload[];
  vulnerability: { id: string; aliases: string[]; severity: Severity; kev: boolean; fixState: Finding['fixState']; fixedVersions: string[]; summary?: string; urls: string[] };
  package: { id: string; type: string; name: string; version: string; purl?: string };
  changes?: string[];
}

/** What a delivery event holds: everything needed to send, decided when it was routed. */
interface HttpDelivery {
  eventId: string;
  ruleId: string;
  channel: 'webhook' | 'slack';
  url: string;
  secretRef?: string;
  /** the exact body sent on every attempt */
  body: string;
}

interface EmailDelivery {
  eventId: string;
  ruleId: string;
  channel: 'email';
  to: string;
  subject: string;
  /** the text part, the same on every attempt */
  body: string;
  /** Message-ID without brackets, derived from the delivery id */
  messageId: string;
}

type DeliveryPayload = HttpDelivery | EmailDelivery;

/** One parked event of a digest rule (a job of the digest queue, due at the end of its period). */
interface DigestItemPayload {
  ruleId: string;
  rule: string;
  channel: RuleSpec['channel'];
  destination: string;
  secretRef?: string;
  period: DigestPeriod;
  start: string;
  end: string;
  item: WebhookBody;
}

/** The JSON a webhook receives for a digest: one summary per rule, destination and period. */
export interface DigestBody {
  id: string;
  type: 'digest';
  team: string;
  rule: string;
  period: { kind: DigestPeriod; start: string; end: string };
  count: number;
  items: WebhookBody[];
}

export interface DeliverOptions {
  fetch?: typeof globalThis.fetch;
  clock?: Clock;
  /** events claimed per round (default 100) */
  batch?: number;
  /** lease of a claim (default 60 s): a crashed sender's claims are due again after it */
  leaseMs?: number;
  /** per-request timeout (default 10 s) */
  timeoutMs?: number;
  /** the secret of a rule's secretRef; default: environment variable DRYDOCK_SECRET_<REF> (upper case, non-alphanumerics as _) */
  secret?: (ref: string) => string | undefined;
  /** delay before attempt n+1 after n failed attempts (default 2^n seconds, at most one hour) */
  backoffMs?: (attempts: number) => number;
  /** called after a receiver accepted a delivery and before it is recorded (fault tests stop the process here) */
  onSent?: (delivery: OutboxEvent) => void | Promise<void>;
  /** sends email deliveries; default: the SMTP server of DRYDOCK_SMTP_URL; null (or no setting): email rules are unsupported */
  mailer?: Mailer | null;
}

export interface DeliverySummary {
  claimed: number;
  /** finding events turned into deliveries */
  routed: number;
  /** deliveries created by routing */
  deliveries: number;
  sent: number;
  retry: number;
  dead: number;
  /** rules skipped because their channel cannot be sent (email without an SMTP server or without an address) */
  unsupported: number;
  /** events parked for a digest rule (sent later by collectDigests) */
  digested: number;
}

export function emptyDeliverySummary(): DeliverySummary {
  return { claimed: 0, routed: 0, deliveries: 0, sent: 0, retry: 0, dead: 0, unsupported: 0, digested: 0 };
}

export function defaultSecret(ref: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env[`DRYDOCK_SECRET_${ref.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`];
}

export function defaultBackoffMs(attempts: number): number {
  return Math.min(3_600_000, 1000 * 2 ** Math.max(0, attempts - 1));
}

/** The signature header value: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> with the secret. */
export function signPayload(secret: string, body: string, unixSeconds: number): string {
  const v1 = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${v1}`;
}

/** Checks a signature header against a body (receivers; tests). Tolerance in seconds against `now`. */
export function verifySignature(secret: string, body: string, header: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = new Map(header.split(',').map((p) => { const i = p.indexOf('='); return [p.slice(0, i).trim(), p.slice(i + 1).trim()] as const; }));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1');
  if (!Number.isInteger(t) || !v1 || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const want = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  const got = Buffer.from(v1, 'hex');
  return got.length === want.length && got.equals(want) ;
}

/** Repository globs: `*` within one path segment, `**` across segments, `?` one character. */
export function globMatch(pattern: string, value: string): boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') { re += '.*'; i++; } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(value);
}

/** The checks every event kind shares: enabled, the transition, the minimum severity, the repository globs. */
function ruleWants(rule: RuleSpec, transition: Transition, severity: Severity, repositories: readonly string[]): boolean {
  if (!rule.enabled) return false;
  const f = rule.filter;
  if (!(f.events ?? ['new']).includes(transition)) return false;
  if (f.minSeverity && SEVERITY_ORDER.indexOf(severity) < SEVERITY_ORDER.indexOf(f.minSeverity)) return false;
  if (f.repositories?.length && !repositories.some((r) => f.repositories!.some((p) => globMatch(p, r)))) return false;
  return true;
}

/** Whether a rule wants a finding event of an image held by these repositories. */
export function ruleMatches(rule: RuleSpec, transition: Transition, finding: Finding, repositories: readonly string[]): boolean {
  if (finding.suppressed && transition !== 'resolved') return false;
  const f = rule.filter;
  if (f.kevOnly && !finding.kev) return false;
  if (f.fixAvailableOnly && finding.fixState !== 'fixed') return false;
  return ruleWants(rule, transition, finding.severity, repositories);
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A delivery's id: one per finding event, rule and destination. */
export function deliveryId(eventId: string, ruleId: string, destination: string): string {
  return sha256(['delivery', eventId, ruleId, destination].join('\u0000'));
}

/** A workload in a notification: where the affected image runs. */
export interface WebhookWorkload {
  source: string;
  kind: WorkloadRecord['kind'];
  namespace: string;
  name: string;
  container: string;
  owner?: { kind: string; name: string };
  node: string;
  image: string;
  owners: string[];
}

function webhookWorkload(w: WorkloadRecord): WebhookWorkload {
  const out: WebhookWorkload = { source: w.source, kind: w.kind, namespace: w.namespace, name: w.name, container: w.container, node: w.node, image: w.image, owners: w.owners };
  if (w.owner) out.owner = w.owner;
  return out;
}

/** The owners of the stored images and of the workloads running them, sorted. */
function ownersOf(images: readonly ImageRecord[], workloads: readonly WorkloadRecord[]): string[] {
  return [...new Set([...images.flatMap((i) => i.owners), ...workloads.flatMap((w) => w.owners)])].sort();
}

function webhookBody(event: OutboxEvent, p: FindingEventPayload, rule: Stored<RuleSpec>, images: ImageRecord[], workloads: WorkloadRecord[] = []): WebhookBody {
  const f = p.finding;
  const owners = ownersOf(images, workloads);
  const vulnerability: WebhookBody['vulnerability'] = {
    id: f.id, aliases: f.aliases, severity: f.severity, kev: f.kev !== undefined, fixState: f.fixState, fixedVersions: f.fixedVersions, urls: f.urls,
  };
  if (f.summary) vulnerability.summary = f.summary;
  const pkg: WebhookBody['package'] = { id: f.package.id, type: f.package.type, name: f.package.name, version: f.package.version };
  if (f.package.purl) pkg.purl = f.package.purl;
  const body: WebhookBody = {
    id: event.id, type: event.kind, createdAt: p.at, team: event.teamId, rule: rule.spec.name,
    image: { digest: p.digest, repositories: images.map((i) => i.repository).sort() }, owners, vulnerability, package: pkg,
  };
  if (workloads.length) body.workloads = workloads.map(webhookWorkload);
  if (p.changes) body.changes = p.changes;
  return body;
}

/** "shop/web-1 (Deployment web), ... and 3 more": at most ten workloads for a chat message. */
function runningIn(ws: readonly WebhookWorkload[]): string {
  const one = (w: WebhookWorkload) => `${w.namespace ? `${w.namespace}/` : ''}${w.name}${w.owner ? ` (${w.owner.kind} ${w.owner.name})` : ''}`;
  const names = [...new Set(ws.map(one))];
  return names.slice(0, 10).join(', ') + (names.length > 10 ? ` and ${names.length - 10} more` : '');
}

/** Slack mrkdwn: &, < and > escaped. */
const slackEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Slack-compatible incoming webhook message ({text, blocks}). */
export function slackMessage(b: WebhookBody): { text: string; blocks: unknown[] } {
  const what = b.type === 'finding.new' ? 'New' : b.type === 'finding.resolved' ? 'Resolved' : 'Changed';
  const where = b.image.repositories.length ? b.image.repositories.join(', ') : b.image.digest;
  const text = `${what} ${b.vulnerability.severity} vulnerability ${b.vulnerability.id} in ${b.package.name} ${b.package.version} (${where})`;
  const fix = b.vulnerability.fixedVersions.length ? `fixed in ${b.vulnerability.fixedVersions.join(', ')}` : b.vulnerability.fixState;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: slackEscape(text) } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Image*\n${slackEscape(b.image.digest)}` },
          { type: 'mrkdwn', text: `*Fix*\n${slackEscape(fix)}` },
          ...(b.vulnerability.kev ? [{ type: 'mrkdwn', text: '*KEV*\nknown exploited' }] : []),
          ...(b.owners.length ? [{ type: 'mrkdwn', text: `*Owners*\n${slackEscape(b.owners.join(', '))}` }] : []),
          ...(b.workloads?.length ? [{ type: 'mrkdwn', text: `*Running in*\n${slackEscape(runningIn(b.workloads))}` }] : []),
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `event ${b.id}` }] },
    ],
  };
}

/** The period an instant falls in (UTC hours or days). */
export function digestPeriod(kind: DigestPeriod, at: Date): { start: Date; end: Date } {
  const unit = kind === 'hourly' ? 3_600_000 : 86_400_000;
  const start = Math.floor(at.getTime() / unit) * unit;
  return { start: new Date(start), end: new Date(start + unit) };
}

/** The destinations of a rule: its URL, or for email every address of the target (and the owners' with toOwners). */
function destinations(spec: RuleSpec, owners: readonly string[]): { key: string; address: string }[] {
  if (spec.channel !== 'email') return [{ key: spec.target, address: spec.target }];
  const addresses = new Set(parseAddresses(spec.target));
  if (spec.toOwners) for (const a of ownerAddresses(owners)) addresses.add(a);
  return [...addresses].sort().map((a) => ({ key: `mailto:${a}`, address: a }));
}

function messageIdOf(id: string): string {
  return `${id.slice(0, 40)}@drydock`;
}

function deliveryOf(id: string, eventId: string, rule: Stored<RuleSpec>, address: string, kind: 'finding' | 'digest' | 'drift', body: WebhookBody | DigestBody | DriftWebhookBody): DeliveryPayload {
  const spec = rule.spec;
  if (spec.channel === 'email') {
    const m = kind === 'digest' ? digestMail(digestMailInput(body as DigestBody)) : kind === 'drift' ? driftMail(body as DriftWebhookBody) : findingMail(body as WebhookBody);
    return { eventId, ruleId: rule.id, channel: 'email', to: address, subject: m.subject, body: m.text, messageId: messageIdOf(id) };
  }
  const json = spec.channel === 'slack'
    ? JSON.stringify(kind === 'digest' ? slackDigest(body as DigestBody) : kind === 'drift' ? slackDriftMessage(body as DriftWebhookBody) : slackMessage(body as WebhookBody))
    : JSON.stringify(body);
  const d: HttpDelivery = { eventId, ruleId: rule.id, channel: spec.channel, url: address, body: json };
  if (spec.secretRef) d.secretRef = spec.secretRef;
  return d;
}

function digestMailInput(d: DigestBody): Parameters<typeof digestMail>[0] {
  return { id: d.id, rule: d.rule, period: d.period.kind, start: d.period.start, end: d.period.end, items: d.items };
}

/** Slack-compatible summary of a digest. */
export function slackDigest(d: DigestBody): { text: string; blocks: unknown[] } {
  const m = digestMail(digestMailInput(d));
  const lines = m.text.split('\n').filter((l) => l.startsWith('- '));
  const shown = lines.slice(0, 40);
  if (lines.length > shown.length) shown.push(`... and ${lines.length - shown.length} more`);
  return {
    text: m.subject.replace(/^\[Drydock\] /, ''),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: slackEscape(m.subject.replace(/^\[Drydock\] /, '')) } },
      { type: 'section', text: { type: 'mrkdwn', text: slackEscape(shown.join('\n')) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `digest ${d.id}` }] },
    ],
  };
}

interface RouteContext {
  rules: Map<string, Stored<RuleSpec>[]>;
  mailer: Mailer | undefined;
  clock: Clock;
}

/** The team's rules, listed once per delivery run. */
async function teamRules(store: Store, rc: RouteContext, ctx: TeamContext): Promise<Stored<RuleSpec>[]> {
  let rules = rc.rules.get(ctx.teamId);
  if (!rules) rc.rules.set(ctx.teamId, (rules = await store.rules.list(ctx)));
  return rules;
}

/** Turns a finding event into deliveries, one per matching rule and destination (or digest items). */
async function route(store: Store, event: OutboxEvent, rc: RouteContext, summary: DeliverySummary): Promise<void> {
  const p = event.payload as unknown as FindingEventPayload;
  const transition = event.kind.slice('finding.'.length) as Transition;
  const ctx: TeamContext = { teamId: event.teamId, actor: NOTIFY_ACTOR };
  const rules = await teamRules(store, rc, ctx);
  const images = await store.imagesByDigest(ctx, p.digest);
  // workloads reported by the team's own agents: another team's pods are not this team's to see
  const workloads = (await store.workloadsByDigests([p.digest])).filter((w) => w.teamId === event.teamId);
  const repositories = images.map((i) => i.repository);
  const out: NewOutboxEvent[] = [];
  const parked: JobInput[] = [];
  for (const rule of rules) {
    if (!ruleMatches(rule.spec, transition, p.finding, repositories)) continue;
    if (rule.spec.channel === 'email' && !rc.mailer) { summary.unsupported++; continue; }
    const body = webhookBody(event, p, rule, images, workloads);
    const dests = destinations(rule.spec, body.owners);
    if (dests.length === 0) { summary.unsupported++; continue; }
    const period = (rule.spec as RuleWithDigest).digest;
    for (const dest of dests) {
      const id = deliveryId(event.id, rule.id, dest.key);
      if (period) {
        // parked until the end of the period the event is routed in; the delivery id dedupes a re-route
        const { start, end } = digestPeriod(period, rc.clock.now());
        const item: DigestItemPayload = { ruleId: rule.id, rule: rule.spec.name, channel: rule.spec.channel, destination: dest.address, period, start: start.toISOString(), end: end.toISOString(), item: body };
        if (rule.spec.secretRef) item.secretRef = rule.spec.secretRef;
        parked.push({ queue: DIGEST_QUEUE, teamId: event.teamId, dedupeKey: id, runAt: end, payload: item as unknown as Record<string, unknown> });
      } else {
        out.push({ id, kind: DELIVERY_KIND, payload: deliveryOf(id, event.id, rule, dest.address, 'finding', body) as unknown as Record<string, unknown> });
      }
    }
  }
  for (const job of parked) await store.enqueueJob(job);
  summary.digested += parked.length;
  // ids already present are ignored: routing the same event again (after a crash) adds nothing
  if (out.length) await store.enqueueEvents(ctx, out);
  summary.deliveries += out.length;
}

// ---------------------------------------------------------------- drift events

export const DRIFT_EVENT_KIND = 'drift.new';

/** What a drift event carries (Store.putDriftFindings' payload). */
interface DriftEventPayload {
  event: string;
  teamId: string;
  source: string;
  container: DriftContainerInput;
  revision: number;
  at: string;
  finding: DriftFindingInput;
}

/** The JSON a webhook receives for a new drift finding of a running container. `id` is the drift event's id. */
export interface DriftWebhookBody {
  id: string;
  type: 'drift.new';
  createdAt: string;
  team: string;
  rule: string;
  /** the reporting agent and the container */
  container: { source: string; name: string; id?: string };
  /** the image the container runs: its reference, manifest digest when known, and the stored repositories holding it */
  image: { reference: string; digest?: string; repositories: string[] };
  owners: string[];
  workloads?: WebhookWorkload[];
  drift: DriftFindingInput & { revision: number };
}

/** A drift severity on the vulnerability scale of rule filters (info is the lowest there: negligible). */
export function driftSeverityAsVuln(s: DriftSeverityLevel): Severity {
  return s === 'info' ? 'negligible' : s;
}

/** The repository of an image reference: without tag and digest ("registry/ns/name"). */
export function repositoryOfReference(ref: string): string {
  const noDigest = ref.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** Whether a rule wants a new drift finding. Vulnerability-only filters (kevOnly, fixAvailableOnly) never match drift. */
export function ruleMatchesDrift(rule: RuleSpec, severity: DriftSeverityLevel, repositories: readonly string[]): boolean {
  if (rule.filter.kevOnly || rule.filter.fixAvailableOnly) return false;
  return ruleWants(rule, 'new', driftSeverityAsVuln(severity), repositories);
}

function driftWebhookBody(event: OutboxEvent, p: DriftEventPayload, rule: Stored<RuleSpec>, images: ImageRecord[], workloads: WorkloadRecord[]): DriftWebhookBody {
  const owners = ownersOf(images, workloads);
  const container: DriftWebhookBody['container'] = { source: p.source, name: p.container.name };
  if (p.container.id) container.id = p.container.id;
  const image: DriftWebhookBody['image'] = { reference: p.container.image, repositories: images.map((i) => i.repository).sort() };
  if (p.container.digest) image.digest = p.container.digest;
  const body: DriftWebhookBody = {
    id: event.id, type: 'drift.new', createdAt: p.at, team: event.teamId, rule: rule.spec.name, container, image, owners,
    drift: { ...p.finding, revision: p.revision },
  };
  if (workloads.length) body.workloads = workloads.map(webhookWorkload);
  return body;
}

const driftWhere = (b: DriftWebhookBody): string => `${b.drift.path ?? b.drift.subject}`;

/** Slack-compatible message of a drift finding. */
export function slackDriftMessage(b: DriftWebhookBody): { text: string; blocks: unknown[] } {
  const text = `Drift: ${b.drift.severity} ${b.drift.kind} ${driftWhere(b)} in container ${b.container.name} (${b.image.reference})`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: slackEscape(text) } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Container*\n${slackEscape(`${b.container.name} on ${b.container.source}`)}` },
          { type: 'mrkdwn', text: `*Image*\n${slackEscape(b.image.digest ? `${b.image.reference} (${b.image.digest})` : b.image.reference)}` },
          { type: 'mrkdwn', text: `*Finding*\n${slackEscape(b.drift.message)}` },
          ...(b.owners.length ? [{ type: 'mrkdwn', text: `*Owners*\n${slackEscape(b.owners.join(', '))}` }] : []),
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `event ${b.id}` }] },
    ],
  };
}

/** The mail of a drift finding. */
export function driftMail(b: DriftWebhookBody): { subject: string; text: string } {
  const d = b.drift;
  const subject = `[Drydock] Drift ${d.severity} ${d.kind} ${driftWhere(b)} in ${b.container.name}`.replace(/[\r\n\t]+/g, ' ').trim();
  const lines = [
    `Drift finding: ${d.kind}`,
    '',
    `Severity:      ${d.severity}`,
    `Path:          ${d.path ?? '-'}`,
  ];
  if (d.package) lines.push(`Package:       ${d.package.type}/${d.package.name} ${d.package.version ?? ''}${d.package.imageVersion ? ` (image: ${d.package.imageVersion})` : ''}`.trimEnd());
  lines.push(
    `Container:     ${b.container.name}${b.container.id ? ` (${b.container.id})` : ''} on ${b.container.source}`,
    `Image:         ${b.image.reference}${b.image.digest ? ` (${b.image.digest})` : ''}`,
  );
  if (b.owners.length) lines.push(`Owners:        ${b.owners.join(', ')}`);
  lines.push('', d.message, '', `Rule: ${b.rule}`, `Event: ${b.id}`);
  return { subject, text: lines.join('\n') + '\n' };
}

/**
 * Turns a drift event into deliveries, one per matching rule and destination. Rules with a digest
 * period receive drift at once: a digest summarises vulnerability findings only.
 */
async function routeDrift(store: Store, event: OutboxEvent, rc: RouteContext, summary: DeliverySummary): Promise<void> {
  const p = event.payload as unknown as DriftEventPayload;
  const ctx: TeamContext = { teamId: event.teamId, actor: NOTIFY_ACTOR };
  const rules = await teamRules(store, rc, ctx);
  const digest = p.container.digest;
  const images = digest ? await store.imagesByDigest(ctx, digest) : [];
  const workloads = digest ? (await store.workloadsByDigests([digest])).filter((w) => w.teamId === event.teamId && w.source === p.source && w.container === p.container.name) : [];
  const repositories = [...new Set([...images.map((i) => i.repository), repositoryOfReference(p.container.image)])];
  const out: NewOutboxEvent[] = [];
  for (const rule of rules) {
    if (!ruleMatchesDrift(rule.spec, p.finding.severity, repositories)) continue;
    if (rule.spec.channel === 'email' && !rc.mailer) { summary.unsupported++; continue; }
    const body = driftWebhookBody(event, p, rule, images, workloads);
    const dests = destinations(rule.spec, body.owners);
    if (dests.length === 0) { summary.unsupported++; continue; }
    for (const dest of dests) {
      const id = deliveryId(event.id, rule.id, dest.key);
      out.push({ id, kind: DELIVERY_KIND, payload: deliveryOf(id, event.id, rule, dest.address, 'drift', body) as unknown as Record<string, unknown> });
    }
  }
  if (out.length) await store.enqueueEvents(ctx, out);
  summary.deliveries += out.length;
}

async function send(id: string, d: DeliveryPayload, opts: Required<Pick<DeliverOptions, 'fetch' | 'clock' | 'timeoutMs' | 'secret'>> & { mailer: Mailer | undefined }): Promise<void> {
  if (d.channel === 'email') {
    if (!opts.mailer) throw new Error(`no smtp server is configured for the mail to ${d.to} (set DRYDOCK_SMTP_URL)`);
    await opts.mailer.send({ to: d.to, subject: d.subject, text: d.body, messageId: d.messageId || messageIdOf(id), headers: { [EVENT_ID_HEADER]: d.eventId } });
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'drydock-notify' };
  if (d.channel === 'webhook') {
    headers[EVENT_ID_HEADER] = d.eventId;
    if (d.secretRef) {
      const secret = opts.secret(d.secretRef);
      if (secret === undefined) throw new Error(`secret ${d.secretRef} of rule ${d.ruleId} is not configured`);
      headers[SIGNATURE_HEADER] = signPayload(secret, d.body, Math.floor(opts.clock.now().getTime() / 1000));
    }
  }
  const res = await opts.fetch(d.url, { method: 'POST', headers, body: d.body, signal: AbortSignal.timeout(opts.timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status > 299) throw new Error(`${d.channel} ${redactTarget(d.url)} answered ${res.status}`);
}

/** A webhook URL for messages: Slack's carry their secret in the path. */
function redactTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.length > 1 ? '/…' : '/'}`;
  } catch {
    return 'target';
  }
}

/**
 * One round: claims due outbox events, routes finding events into deliveries, sends deliveries and
 * records the outcome. Returns what it did; call it again while `claimed` is non-zero.
 */
export async function deliverOutbox(store: Store, opts: DeliverOptions = {}): Promise<DeliverySummary> {
  const o = {
    fetch: opts.fetch ?? globalThis.fetch,
    clock: opts.clock ?? systemClock,
    timeoutMs: opts.timeoutMs ?? 10_000,
    secret: opts.secret ?? ((ref: string) => defaultSecret(ref)),
    mailer: opts.mailer === null ? undefined : opts.mailer ?? defaultMailer(),
  };
  const backoff = opts.backoffMs ?? defaultBackoffMs;
  const summary = emptyDeliverySummary();
  const events = await store.claimOutbox(opts.batch ?? 100, opts.leaseMs ?? 60_000);
  summary.claimed = events.length;
  const rc: RouteContext = { rules: new Map(), mailer: o.mailer, clock: o.clock };
  const fail = async (e: OutboxEvent, err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    const r = await store.markFailed(e.id, msg, new Date(o.clock.now().getTime() + backoff(e.attempts)));
    summary[r]++;
  };
  // deliveries are independent: send them concurrently, a slow receiver does not hold up the others
  await Promise.all(events.map(async (e) => {
    try {
      if (e.kind === DELIVERY_KIND) {
        await send(e.id, e.payload as unknown as DeliveryPayload, o);
        summary.sent++;
        await opts.onSent?.(e);
      } else if (e.kind.startsWith('finding.')) {
        await route(store, e, rc, summary);
        summary.routed++;
      } else if (e.kind === DRIFT_EVENT_KIND) {
        await routeDrift(store, e, rc, summary);
        summary.routed++;
      }
      // other kinds (digests, tests) have no channel here: recorded as delivered
    } catch (err) {
      await fail(e, err);
      return;
    }
    await store.markDelivered(e.id);
  }));
  return summary;
}

export interface DigestOptions {
  /** items claimed per round (default 1000); a period with more items is summarised in parts */
  batch?: number;
  leaseMs?: number;
  /** claim rounds per call (default 10) */
  rounds?: number;
}

const severityRank = (s: string): number => { const i = SEVERITY_ORDER.indexOf(s as Severity); return i < 0 ? -1 : i; };

/**
 * Claims the digest items whose period has ended and turns each (team, rule, destination, period) group
 * into one summary delivery in the outbox (sent by deliverOutbox). The summary's id derives from its
 * items, so a crash between enqueueing it and completing the items enqueues nothing new. Returns the
 * number of summaries enqueued.
 */
export async function collectDigests(store: Store, opts: DigestOptions = {}): Promise<{ items: number; summaries: number }> {
  const leaseMs = opts.leaseMs ?? 60_000;
  const result = { items: 0, summaries: 0 };
  for (let round = 0; round < (opts.rounds ?? 10); round++) {
    const jobs = await store.claimJobs(DIGEST_QUEUE, opts.batch ?? 1000, leaseMs);
    if (jobs.length === 0) break;
    result.items += jobs.length;
    const groups = new Map<string, { teamId: string; p: DigestItemPayload; jobs: Job[] }>();
    for (const j of jobs) {
      const p = j.payload as unknown as DigestItemPayload;
      const key = [j.teamId ?? '', p.ruleId, p.channel, p.destination, p.start].join('\u0000');
      const g = groups.get(key);
      if (g) g.jobs.push(j);
      else groups.set(key, { teamId: j.teamId ?? '', p, jobs: [j] });
    }
    for (const g of groups.values()) {
      try {
        const items = g.jobs.map((j) => (j.payload as unknown as DigestItemPayload).item);
        items.sort((a, b) => severityRank(b.vulnerability.severity) - severityRank(a.vulnerability.severity)
          || byString(a.vulnerability.id, b.vulnerability.id)
          || byString(a.id, b.id));
        const id = sha256([DIGEST_KIND, g.teamId, g.p.ruleId, g.p.destination, g.p.start, ...items.map((i) => i.id).sort()].join('\u0000'));
        const body: DigestBody = { id, type: 'digest', team: g.teamId, rule: g.p.rule, period: { kind: g.p.period, start: g.p.start, end: g.p.end }, count: items.length, items };
        const rule: Stored<RuleSpec> = { id: g.p.ruleId, teamId: g.teamId, spec: { name: g.p.rule, channel: g.p.channel, target: g.p.destination, filter: {}, enabled: true, ...(g.p.secretRef ? { secretRef: g.p.secretRef } : {}) }, createdAt: '', updatedAt: '' };
        const payload = deliveryOf(id, id, rule, g.p.destination, 'digest', body);
        await store.enqueueEvents({ teamId: g.teamId, actor: NOTIFY_ACTOR }, [{ id, kind: DELIVERY_KIND, payload: payload as unknown as Record<string, unknown> }]);
        for (const j of g.jobs) await store.completeJob(j.id, j.lease!);
        result.summaries++;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        for (const j of g.jobs) await store.failJob(j.id, j.lease!, msg).catch(() => undefined);
      }
    }
  }
  return result;
}
