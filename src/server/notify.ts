/**
 * Notifications from the outbox. Store.applyEvaluation writes one event per finding transition
 * ("finding.new", "finding.changed", "finding.resolved") with a stable id. deliverOutbox routes each
 * such event through the team's notification rules into one delivery per destination (an outbox event
 * of kind "delivery" whose id derives from the finding event, the rule and the destination), and sends
 * deliveries: webhook (signed JSON), Slack-compatible incoming webhook. Each destination retries on its
 * own with backoff and becomes a dead letter after the store's maximum number of attempts.
 *
 * At least once: a delivery is marked delivered after the receiver answered 2xx; a crash in between
 * sends it again with the same body and the same event id, so receivers deduplicate by id.
 */
import { createHash, createHmac } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock.js';
import { SEVERITY_ORDER, type Finding, type Severity } from '../model/vuln.js';
import type { ImageRecord, NewOutboxEvent, OutboxEvent, RuleSpec, Store, Stored, TeamContext } from '../store/index.js';

export const NOTIFY_ACTOR = 'system:notify';
export const DELIVERY_KIND = 'delivery';
export const SIGNATURE_HEADER = 'X-Drydock-Signature';
export const EVENT_ID_HEADER = 'X-Drydock-Event-Id';

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
  owners: string[];
  vulnerability: { id: string; aliases: string[]; severity: Severity; kev: boolean; fixState: Finding['fixState']; fixedVersions: string[]; summary?: string; urls: string[] };
  package: { id: string; type: string; name: string; version: string; purl?: string };
  changes?: string[];
}

/** What a delivery event holds: everything needed to send, decided when it was routed. */
interface DeliveryPayload {
  eventId: string;
  ruleId: string;
  channel: 'webhook' | 'slack';
  url: string;
  secretRef?: string;
  /** the exact body sent on every attempt */
  body: string;
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
  /** rules skipped because their channel cannot be sent (email) */
  unsupported: number;
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

/** Whether a rule wants a finding event of an image held by these repositories. */
export function ruleMatches(rule: RuleSpec, transition: Transition, finding: Finding, repositories: readonly string[]): boolean {
  if (!rule.enabled) return false;
  const f = rule.filter;
  if (!(f.events ?? ['new']).includes(transition)) return false;
  if (finding.suppressed && transition !== 'resolved') return false;
  if (f.minSeverity && SEVERITY_ORDER.indexOf(finding.severity) < SEVERITY_ORDER.indexOf(f.minSeverity)) return false;
  if (f.kevOnly && !finding.kev) return false;
  if (f.fixAvailableOnly && finding.fixState !== 'fixed') return false;
  if (f.repositories?.length && !repositories.some((r) => f.repositories!.some((p) => globMatch(p, r)))) return false;
  return true;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A delivery's id: one per finding event, rule and destination. */
export function deliveryId(eventId: string, ruleId: string, destination: string): string {
  return sha256(['delivery', eventId, ruleId, destination].join('\u0000'));
}

function webhookBody(event: OutboxEvent, p: FindingEventPayload, rule: Stored<RuleSpec>, images: ImageRecord[]): WebhookBody {
  const f = p.finding;
  const owners = [...new Set(images.flatMap((i) => i.owners))].sort();
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
  if (p.changes) body.changes = p.changes;
  return body;
}

/** Slack-compatible incoming webhook message ({text, blocks}). */
export function slackMessage(b: WebhookBody): { text: string; blocks: unknown[] } {
  const what = b.type === 'finding.new' ? 'New' : b.type === 'finding.resolved' ? 'Resolved' : 'Changed';
  const where = b.image.repositories.length ? b.image.repositories.join(', ') : b.image.digest;
  const text = `${what} ${b.vulnerability.severity} vulnerability ${b.vulnerability.id} in ${b.package.name} ${b.package.version} (${where})`;
  const fix = b.vulnerability.fixedVersions.length ? `fixed in ${b.vulnerability.fixedVersions.join(', ')}` : b.vulnerability.fixState;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: esc(text) } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Image*\n${esc(b.image.digest)}` },
          { type: 'mrkdwn', text: `*Fix*\n${esc(fix)}` },
          ...(b.vulnerability.kev ? [{ type: 'mrkdwn', text: '*KEV*\nknown exploited' }] : []),
          ...(b.owners.length ? [{ type: 'mrkdwn', text: `*Owners*\n${esc(b.owners.join(', '))}` }] : []),
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `event ${b.id}` }] },
    ],
  };
}

/** Turns a finding event into deliveries, one per matching rule (and owner address). */
async function route(store: Store, event: OutboxEvent, cache: Map<string, Stored<RuleSpec>[]>, summary: DeliverySummary): Promise<void> {
  const p = event.payload as unknown as FindingEventPayload;
  const transition = event.kind.slice('finding.'.length) as Transition;
  const ctx: TeamContext = { teamId: event.teamId, actor: NOTIFY_ACTOR };
  let rules = cache.get(event.teamId);
  if (!rules) cache.set(event.teamId, (rules = await store.rules.list(ctx)));
  const images = await store.imagesByDigest(ctx, p.digest);
  const repositories = images.map((i) => i.repository);
  const out: NewOutboxEvent[] = [];
  for (const rule of rules) {
    if (!ruleMatches(rule.spec, transition, p.finding, repositories)) continue;
    if (rule.spec.channel === 'email') { summary.unsupported++; continue; }
    const body = JSON.stringify(rule.spec.channel === 'slack' ? slackMessage(webhookBody(event, p, rule, images)) : webhookBody(event, p, rule, images));
    const d: DeliveryPayload = { eventId: event.id, ruleId: rule.id, channel: rule.spec.channel, url: rule.spec.target, body };
    if (rule.spec.secretRef) d.secretRef = rule.spec.secretRef;
    out.push({ id: deliveryId(event.id, rule.id, rule.spec.target), kind: DELIVERY_KIND, payload: d as unknown as Record<string, unknown> });
  }
  // ids already present are ignored: routing the same event again (after a crash) adds nothing
  if (out.length) await store.enqueueEvents(ctx, out);
  summary.deliveries += out.length;
}

async function send(d: DeliveryPayload, opts: Required<Pick<DeliverOptions, 'fetch' | 'clock' | 'timeoutMs' | 'secret'>>): Promise<void> {
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
  };
  const backoff = opts.backoffMs ?? defaultBackoffMs;
  const summary: DeliverySummary = { claimed: 0, routed: 0, deliveries: 0, sent: 0, retry: 0, dead: 0, unsupported: 0 };
  const events = await store.claimOutbox(opts.batch ?? 100, opts.leaseMs ?? 60_000);
  summary.claimed = events.length;
  const rules = new Map<string, Stored<RuleSpec>[]>();
  const fail = async (e: OutboxEvent, err: unknown) => {
    const msg = err instanceof Error ? err.message : String(err);
    const r = await store.markFailed(e.id, msg, new Date(o.clock.now().getTime() + backoff(e.attempts)));
    summary[r]++;
  };
  // deliveries are independent: send them concurrently, a slow receiver does not hold up the others
  await Promise.all(events.map(async (e) => {
    try {
      if (e.kind === DELIVERY_KIND) {
        await send(e.payload as unknown as DeliveryPayload, o);
        summary.sent++;
        await opts.onSent?.(e);
      } else if (e.kind.startsWith('finding.')) {
        await route(store, e, rules, summary);
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
