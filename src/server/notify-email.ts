/**
 * Email notifications over SMTP (nodemailer). One mail per finding event and address, or one digest
 * mail per period; every mail carries the event id in X-Drydock-Event-Id and a Message-ID derived from
 * the delivery id, so a redelivery after a crash is recognisable as the same message.
 *
 * Settings: DRYDOCK_SMTP_URL (smtp://[user:pass@]host:port, smtps:// for implicit TLS) and
 * DRYDOCK_SMTP_FROM (the From address, default drydock@localhost).
 */
import nodemailer from 'nodemailer';
import { DrydockError } from '../core/errors.js';

export const SMTP_URL_ENV = 'DRYDOCK_SMTP_URL';
export const SMTP_FROM_ENV = 'DRYDOCK_SMTP_FROM';
export const DEFAULT_FROM = 'drydock@localhost';

export interface SmtpSettings {
  /** smtp://host:port or smtps://host:port, credentials in the user-info part */
  url: string;
  /** the From address */
  from: string;
  /** connection, greeting and socket timeout (default 10 s) */
  timeoutMs?: number;
}

/** One mail as the notifier decided it: sent the same way on every attempt. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** extra headers (X-Drydock-Event-Id, ...) */
  headers: Record<string, string>;
  /** without angle brackets: "<id>@drydock" */
  messageId: string;
}

export interface Mailer {
  send(msg: MailMessage): Promise<void>;
  close(): void;
}

/** The SMTP URL without its password, for messages. */
export function redactSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'smtp url';
  }
}

/** The SMTP settings of the environment; undefined when DRYDOCK_SMTP_URL is not set. */
export function smtpSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SmtpSettings | undefined {
  const url = env[SMTP_URL_ENV]?.trim();
  if (!url) return undefined;
  return checkSmtpSettings({ url, from: env[SMTP_FROM_ENV]?.trim() || DEFAULT_FROM });
}

const ADDRESS = /^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+$/;

export function checkSmtpSettings(s: SmtpSettings): SmtpSettings {
  let u: URL;
  try {
    u = new URL(s.url);
  } catch (cause) {
    throw new DrydockError('CONFIG_INVALID', `smtp url ${redactSmtpUrl(s.url)} is not a valid URL`, { cause });
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new DrydockError('CONFIG_INVALID', `smtp url ${redactSmtpUrl(s.url)} must start with smtp:// or smtps://`);
  if (!u.hostname) throw new DrydockError('CONFIG_INVALID', `smtp url ${redactSmtpUrl(s.url)} names no host`);
  if (!ADDRESS.test(s.from)) throw new DrydockError('CONFIG_INVALID', `smtp from address ${JSON.stringify(s.from)} is not an address (user@domain)`);
  return s;
}

/** A mailer over nodemailer's SMTP transport (a connection per mail, no pool). */
export function smtpMailer(settings: SmtpSettings): Mailer {
  const s = checkSmtpSettings(settings);
  const timeout = s.timeoutMs ?? 10_000;
  const u = new URL(s.url);
  const secure = u.protocol === 'smtps:';
  const transport = nodemailer.createTransport({
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : secure ? 465 : 25,
    secure,
    ...(u.username ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    async send(m: MailMessage): Promise<void> {
      try {
        await transport.sendMail({ from: s.from, to: m.to, subject: m.subject, text: m.text, headers: m.headers, messageId: `<${m.messageId}>` });
      } catch (cause) {
        const msg = cause instanceof Error ? cause.message : String(cause);
        throw new DrydockError('NETWORK_ERROR', `smtp ${redactSmtpUrl(s.url)} refused the mail to ${m.to}: ${msg}`, { cause });
      }
    },
    close: () => transport.close(),
  };
}

let envMailer: { key: string; mailer: Mailer } | undefined;

/** The mailer of DRYDOCK_SMTP_URL / DRYDOCK_SMTP_FROM (created once per setting), or undefined without one. */
export function defaultMailer(env: NodeJS.ProcessEnv = process.env): Mailer | undefined {
  const s = smtpSettingsFromEnv(env);
  if (!s) return undefined;
  const key = `${s.url}\u0000${s.from}`;
  if (envMailer?.key !== key) {
    envMailer?.mailer.close();
    envMailer = { key, mailer: smtpMailer(s) };
  }
  return envMailer.mailer;
}

/** The addresses of a rule target: "a@x.org, b@y.org" (commas, semicolons or spaces). Invalid entries are dropped. */
export function parseAddresses(target: string): string[] {
  return [...new Set(target.split(/[,;\s]+/).map((a) => a.trim().toLowerCase()).filter((a) => ADDRESS.test(a)))].sort();
}

/** Owner label values that are addresses: "Jane <jane@x.org>" and "jane@x.org"; names without one are skipped. */
export function ownerAddresses(owners: readonly string[]): string[] {
  const out = new Set<string>();
  for (const o of owners) {
    for (const part of o.split(/[,;]/)) {
      const m = /<([^<>\s]+)>/.exec(part);
      const a = (m ? m[1]! : part).trim().toLowerCase();
      if (ADDRESS.test(a)) out.add(a);
    }
  }
  return [...out].sort();
}

/** What one finding mail says; the subject names the transition, severity, vulnerability, package and image. */
export interface FindingMailInput {
  id: string;
  type: string;
  rule: string;
  image: { digest: string; repositories: string[] };
  owners: string[];
  vulnerability: { id: string; aliases: string[]; severity: string; kev: boolean; fixState: string; fixedVersions: string[]; summary?: string; urls: string[] };
  package: { name: string; version: string; purl?: string };
  changes?: string[];
}

const WHAT: Record<string, string> = { 'finding.new': 'New', 'finding.changed': 'Changed', 'finding.resolved': 'Resolved' };

function imageName(b: Pick<FindingMailInput, 'image'>): string {
  return b.image.repositories.length ? `${b.image.repositories[0]}${b.image.repositories.length > 1 ? ` (+${b.image.repositories.length - 1})` : ''}` : b.image.digest;
}

/** Header values stay on one line. */
const oneLine = (s: string): string => s.replace(/[\r\n\t]+/g, ' ').trim();

export function findingMail(b: FindingMailInput): { subject: string; text: string } {
  const v = b.vulnerability;
  const subject = oneLine(`[Drydock] ${WHAT[b.type] ?? b.type} ${v.severity} ${v.id} in ${b.package.name} ${b.package.version} - ${imageName(b)}`);
  const lines = [
    `${WHAT[b.type] ?? b.type} finding: ${v.id}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}`,
    '',
    `Severity:      ${v.severity}${v.kev ? ' (known exploited)' : ''}`,
    `Package:       ${b.package.name} ${b.package.version}${b.package.purl ? ` (${b.package.purl})` : ''}`,
    `Fix:           ${v.fixedVersions.length ? `fixed in ${v.fixedVersions.join(', ')}` : v.fixState}`,
    `Image:         ${b.image.digest}`,
    `Repositories:  ${b.image.repositories.join(', ') || '-'}`,
  ];
  if (b.owners.length) lines.push(`Owners:        ${b.owners.join(', ')}`);
  if (b.changes?.length) lines.push(`Changed:       ${b.changes.join(', ')}`);
  if (v.summary) lines.push('', v.summary);
  if (v.urls.length) lines.push('', ...v.urls.slice(0, 10));
  lines.push('', `Rule: ${b.rule}`, `Event: ${b.id}`);
  return { subject, text: lines.join('\n') + '\n' };
}

const RANK = ['critical', 'high', 'medium', 'low', 'negligible', 'unknown'];

/** One summary mail of a digest period. Items are sorted by the caller. */
export function digestMail(d: { id: string; rule: string; period: string; start: string; end: string; items: FindingMailInput[] }): { subject: string; text: string } {
  const bySeverity = new Map<string, number>();
  for (const i of d.items) bySeverity.set(i.vulnerability.severity, (bySeverity.get(i.vulnerability.severity) ?? 0) + 1);
  const counts = RANK.filter((s) => bySeverity.has(s)).map((s) => `${bySeverity.get(s)} ${s}`).join(', ');
  const day = d.start.slice(0, d.period === 'hourly' ? 16 : 10).replace('T', ' ');
  const subject = oneLine(`[Drydock] ${d.period} digest ${day}${d.period === 'hourly' ? 'Z' : ''}: ${d.items.length} finding event${d.items.length === 1 ? '' : 's'}${counts ? ` (${counts})` : ''}`);
  const lines = [`Findings of rule ${d.rule} from ${d.start} to ${d.end}:`, ''];
  for (const i of d.items) {
    const v = i.vulnerability;
    lines.push(`- ${WHAT[i.type] ?? i.type} ${v.severity}${v.kev ? ' KEV' : ''} ${v.id} in ${i.package.name} ${i.package.version} - ${imageName(i)} (${v.fixedVersions.length ? `fixed in ${v.fixedVersions.join(', ')}` : v.fixState})`);
  }
  lines.push('', `Digest: ${d.id}`);
  return { subject, text: lines.join('\n') + '\n' };
}
