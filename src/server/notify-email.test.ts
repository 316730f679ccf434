import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../core/clock.js';
import { findingEventId, type Store, type TeamContext } from '../store/index.js';
import { VulnDb } from '../vulndb/index.js';
import { findingMail, ownerAddresses, parseAddresses, smtpMailer, smtpSettingsFromEnv, type Mailer } from './notify-email.js';
import { collectDigests, deliverOutbox, digestPeriod, type DeliverOptions, type DigestBody, type RuleWithDigest } from './notify.js';
import { reevaluate } from './reevaluate.js';
import { buildDbV1, populate, type Populated } from './testdata/fixture.js';
import { startReceiver, type Receiver } from './testdata/receiver.js';
import { requirePg, tempStore, type TempStore } from './testdata/stores.js';

// A real SMTP server: Debian's aiosmtpd with a handler that writes every accepted message to a file,
// refuses mails to flaky@ twice per Message-ID (451, a temporary failure) and mails to down@ always (554).
const SMTP_SERVER = String.raw`
import json, os, re, sys, threading
from aiosmtpd.controller import Controller
out, port = sys.argv[1], int(sys.argv[2])
class Handler:
    def __init__(self):
        self.n = 0
        self.tries = {}
    def write(self, kind, envelope, data):
        self.n += 1
        p = os.path.join(out, '%06d.json' % self.n)
        with open(p + '.tmp', 'w') as f:
            json.dump({'kind': kind, 'from': envelope.mail_from, 'to': envelope.rcpt_tos, 'data': data}, f)
        os.rename(p + '.tmp', p)
    async def handle_DATA(self, server, session, envelope):
        data = envelope.content.decode('utf8', errors='replace')
        m = re.search(r'^Message-ID:\s*(\S+)', data, re.M | re.I)
        mid = m.group(1) if m else ''
        if any(r.startswith('flaky@') for r in envelope.rcpt_tos):
            self.tries[mid] = self.tries.get(mid, 0) + 1
            if self.tries[mid] <= 2:
                self.write('refused', envelope, data)
                return '451 4.3.0 try again later'
        if any(r.startswith('down@') for r in envelope.rcpt_tos):
            self.write('refused', envelope, data)
            return '554 5.7.1 mailbox unavailable'
        self.write('accepted', envelope, data)
        return '250 OK'
c = Controller(Handler(), hostname='127.0.0.1', port=port)
c.start()
print('ready', flush=True)
threading.Event().wait()
`;

interface Mail {
  kind: 'accepted' | 'refused';
  from: string;
  to: string[];
  data: string;
  headers: Map<string, string>;
  body: string;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Unfolds RFC 5322 headers (lower-case names) and returns the body after the blank line. */
function parseMail(raw: { kind: Mail['kind']; from: string; to: string[]; data: string }): Mail {
  const text = raw.data.replace(/\r\n/g, '\n');
  const split = text.indexOf('\n\n');
  const head = text.slice(0, split).replace(/\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  let body = text.slice(split + 2);
  if (/quoted-printable/i.test(headers.get('content-transfer-encoding') ?? '')) {
    // RFC 2045 6.7: soft line breaks and =XX octets
    body = Buffer.from(body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
  return { ...raw, headers, body };
}

class SmtpServer {
  readonly dir: string;
  readonly url: string;
  readonly #child: ChildProcess;
  private constructor(dir: string, url: string, child: ChildProcess) {
    this.dir = dir;
    this.url = url;
    this.#child = child;
  }
  static async start(root: string): Promise<SmtpServer> {
    const dir = join(root, `mails-${Math.random().toString(36).slice(2)}`);
    mkdirSync(dir, { recursive: true });
    const script = join(root, 'smtp-server.py');
    writeFileSync(script, SMTP_SERVER);
    const port = await freePort();
    const child = spawn('/usr/bin/python3', [script, dir, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`smtp server did not start: ${err}`)), 15_000);
      child.stdout!.on('data', (c: Buffer) => { if (c.toString().includes('ready')) { clearTimeout(t); resolve(); } });
      child.on('exit', (code) => { clearTimeout(t); reject(new Error(`smtp server exited with ${code}: ${err}`)); });
    });
    return new SmtpServer(dir, `smtp://127.0.0.1:${port}`, child);
  }
  mails(kind: Mail['kind'] = 'accepted'): Mail[] {
    return readdirSync(this.dir).filter((f) => f.endsWith('.json')).sort()
      .map((f) => parseMail(JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as Parameters<typeof parseMail>[0]))
      .filter((m) => m.kind === kind);
  }
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await exited;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'drydock-email-'));
const dbPath = join(dir, 'vulndb.sqlite');
let db: VulnDb;
let smtp: SmtpServer;
let mailer: Mailer;

beforeAll(async () => {
  await buildDbV1(dir, dbPath);
  db = VulnDb.open(dbPath);
  smtp = await SmtpServer.start(dir);
  mailer = smtpMailer({ url: smtp.url, from: 'drydock@example.org', timeoutMs: 5000 });
}, 60_000);
afterAll(async () => {
  mailer?.close();
  db?.close();
  await smtp?.stop();
  rmSync(dir, { recursive: true, force: true });
});

let temp: TempStore | undefined;
let store: Store | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await store?.close();
  await temp?.cleanup();
  await receiver?.close();
  store = undefined;
  temp = undefined;
  receiver = undefined;
});

async function setup(n: number, o: { maxAttempts?: number; clock?: Clock; kind?: 'sqlite' | 'postgres' } = {}): Promise<{ store: Store; pop: Populated }> {
  temp = await tempStore(o.kind ?? 'sqlite', 'email');
  store = await temp.open({ ...(o.maxAttempts ? { outboxMaxAttempts: o.maxAttempts } : {}), ...(o.clock ? { clock: o.clock } : {}) });
  return { store, pop: await populate(store, n) };
}

async function drain(store: Store, o: DeliverOptions): Promise<void> {
  for (let i = 0; i < 100; i++) if ((await deliverOutbox(store, o)).claimed === 0) return;
  throw new Error('outbox did not drain');
}

/** Finding event ids of team `ctx` for open findings passing `keep`, with each image's owner address. */
async function expectedEvents(store: Store, pop: Populated, ctx: TeamContext, keep: (severity: string) => boolean): Promise<Map<string, { owner: string; vuln: string; repository: string }>> {
  const out = new Map<string, { owner: string; vuln: string; repository: string }>();
  for (const [i, img] of pop.images.entries()) {
    if (img.ctx !== ctx) continue;
    const page = await store.listFindings(ctx, img.digest, { limit: 1000 });
    for (const s of page.items) {
      if (!keep(s.finding.severity)) continue;
      out.set(findingEventId(ctx.teamId, img.digest, s.finding.id, s.finding.package.id, 'new', s.revision), { owner: `dev${i % 3}@example.com`, vuln: s.finding.id, repository: img.repository });
    }
  }
  return out;
}

describe('email helpers', () => {
  it('parses rule targets and owner labels into addresses', () => {
    expect(parseAddresses('Sec@Example.com, ops@example.com;ops@example.com  not-an-address')).toEqual(['ops@example.com', 'sec@example.com']);
    expect(ownerAddresses(['Jane Doe <jane@example.com>', 'team-app', 'a@x.org, B <b@y.org>'])).toEqual(['a@x.org', 'b@y.org', 'jane@example.com']);
  });

  it('reads and checks the SMTP settings of the environment', () => {
    expect(smtpSettingsFromEnv({})).toBeUndefined();
    expect(smtpSettingsFromEnv({ DRYDOCK_SMTP_URL: 'smtp://mail:25' })).toEqual({ url: 'smtp://mail:25', from: 'drydock@localhost' });
    expect(smtpSettingsFromEnv({ DRYDOCK_SMTP_URL: 'smtps://u:p@mail', DRYDOCK_SMTP_FROM: 'dd@x.org' })).toEqual({ url: 'smtps://u:p@mail', from: 'dd@x.org' });
    expect(() => smtpSettingsFromEnv({ DRYDOCK_SMTP_URL: 'http://mail' })).toThrow(/smtp:\/\/ or smtps:\/\//);
    expect(() => smtpSettingsFromEnv({ DRYDOCK_SMTP_URL: 'smtp://u:secret@mail', DRYDOCK_SMTP_FROM: 'nobody' })).toThrow(/from address/);
  });

  it('puts transition, severity, vulnerability, package and image in the subject, on one line', () => {
    const m = findingMail({
      id: 'e1', type: 'finding.new', rule: 'r', image: { digest: 'sha256:00', repositories: ['example.com/app', 'example.com/mirror'] }, owners: [],
      vulnerability: { id: 'CVE-1', aliases: [], severity: 'high', kev: true, fixState: 'fixed', fixedVersions: ['2.0'], urls: [] },
      package: { name: 'lib\r\nBcc: x@y', version: '1.0' },
    });
    expect(m.subject).toBe('[Drydock] New high CVE-1 in lib Bcc: x@y 1.0 - example.com/app (+1)');
    expect(m.text).toContain('Severity:      high (known exploited)');
    expect(m.text).toContain('Event: e1');
  });

  it('cuts periods at UTC hours and days', () => {
    const at = new Date('2025-03-01T10:15:30Z');
    expect(digestPeriod('hourly', at)).toEqual({ start: new Date('2025-03-01T10:00:00Z'), end: new Date('2025-03-01T11:00:00Z') });
    expect(digestPeriod('daily', at)).toEqual({ start: new Date('2025-03-01T00:00:00Z'), end: new Date('2025-03-02T00:00:00Z') });
  });
});

describe('email notifications over a real SMTP server', () => {
  it('sends one mail per event and address, with the event id in a header', async () => {
    const { store, pop } = await setup(8);
    const [alpha] = pop.teams as [TeamContext];
    await store.rules.create(alpha, { name: 'mail', channel: 'email', target: 'sec@example.com, ops@example.com', toOwners: true, filter: { minSeverity: 'high' }, enabled: true });
    const before = smtp.mails().length;
    await reevaluate(store, db, { full: true });
    await drain(store, { mailer, backoffMs: () => 0 });
    const want = await expectedEvents(store, pop, alpha, (s) => s === 'high' || s === 'critical');
    expect(want.size).toBeGreaterThan(0);
    const got = smtp.mails().slice(before);
    // every event to sec@, ops@ and the image's owner address (dev0..2@example.com); team-app is no address
    expect(got).toHaveLength(want.size * 3);
    const byEvent = new Map<string, string[]>();
    for (const m of got) {
      const id = m.headers.get('x-drydock-event-id')!;
      expect(want.has(id), id).toBe(true);
      byEvent.set(id, [...(byEvent.get(id) ?? []), ...m.to].sort());
      const w = want.get(id)!;
      expect(m.from).toBe('drydock@example.org');
      expect(m.headers.get('subject')).toMatch(new RegExp(`^\\[Drydock\\] New (high|critical) ${w.vuln.replace(/[.]/g, '\\.')} in \\S+ \\S+ - ${w.repository.replace(/[.]/g, '\\.')}$`));
      expect(m.headers.get('message-id')).toMatch(/^<[a-f0-9]{40}@drydock>$/);
      expect(m.body).toContain(`Event: ${id}`);
    }
    for (const [id, w] of want) expect(byEvent.get(id), id).toEqual([w.owner, 'ops@example.com', 'sec@example.com'].sort());
    // nothing left, nothing sent twice
    expect((await deliverOutbox(store, { mailer })).claimed).toBe(0);
    expect(smtp.mails().length - before).toBe(want.size * 3);
  }, 60_000);

  it('retries refused mails with the same Message-ID and makes dead letters of mails refused for good', async () => {
    const { store, pop } = await setup(4, { maxAttempts: 3 });
    const [alpha] = pop.teams as [TeamContext];
    await store.rules.create(alpha, { name: 'flaky', channel: 'email', target: 'flaky@example.com', filter: {}, enabled: true });
    await store.rules.create(alpha, { name: 'down', channel: 'email', target: 'down@example.com', filter: {}, enabled: true });
    const acceptedBefore = smtp.mails().length;
    const refusedBefore = smtp.mails('refused').length;
    await reevaluate(store, db, { full: true });
    await drain(store, { mailer, backoffMs: () => 0 });
    const want = await expectedEvents(store, pop, alpha, () => true);
    expect(want.size).toBeGreaterThan(0);
    const accepted = smtp.mails().slice(acceptedBefore);
    const refused = smtp.mails('refused').slice(refusedBefore);
    // flaky@: refused twice, accepted the third time, under one Message-ID and one event id
    expect(accepted).toHaveLength(want.size);
    expect(new Set(accepted.map((m) => m.headers.get('x-drydock-event-id')))).toEqual(new Set(want.keys()));
    const flakyRefused = refused.filter((m) => m.to[0] === 'flaky@example.com');
    expect(flakyRefused).toHaveLength(want.size * 2);
    for (const m of accepted) expect(flakyRefused.filter((r) => r.headers.get('message-id') === m.headers.get('message-id'))).toHaveLength(2);
    // down@: three attempts each, then dead letters
    expect(refused.filter((m) => m.to[0] === 'down@example.com')).toHaveLength(want.size * 3);
    const dead = await store.listDeadLetters(alpha, { limit: 1000 });
    expect(dead.items).toHaveLength(want.size);
    expect(dead.items[0]!.lastError).toMatch(/refused the mail to down@example.com: .*554/);
  }, 60_000);

  it('counts email rules as unsupported when no SMTP server is configured', async () => {
    const { store, pop } = await setup(2);
    const [alpha] = pop.teams as [TeamContext];
    await store.rules.create(alpha, { name: 'mail', channel: 'email', target: 'sec@example.com', filter: {}, enabled: true });
    await reevaluate(store, db, { full: true });
    const s = await deliverOutbox(store, { mailer: null });
    const alphaEvents = (await expectedEvents(store, pop, alpha, () => true)).size;
    expect(alphaEvents).toBeGreaterThan(0);
    expect(s.routed).toBeGreaterThanOrEqual(alphaEvents);
    expect(s.unsupported).toBe(alphaEvents);
    expect(s.deliveries).toBe(0);
  }, 60_000);
});

const havePg = await requirePg();
for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`digests on ${kind}`, () => {
    it.skipIf(kind === 'postgres' && !havePg)('collects events and sends one summary per period (injected clock)', async () => {
      let now = new Date('2025-03-01T10:15:00Z');
      const clock: Clock = { now: () => now };
      const { store, pop } = await setup(6, { clock, kind });
      receiver = await startReceiver();
      const [alpha] = pop.teams as [TeamContext];
      const hourly: RuleWithDigest = { name: 'hourly', channel: 'webhook', target: `${receiver.url}/digest`, filter: {}, enabled: true, digest: 'hourly' };
      const daily: RuleWithDigest = { name: 'daily', channel: 'email', target: 'digest@example.com', filter: { minSeverity: 'high' }, enabled: true, digest: 'daily' };
      await store.rules.create(alpha, hourly);
      await store.rules.create(alpha, daily);
      const mailsBefore = smtp.mails().length;
      await reevaluate(store, db, { full: true, clock });
      const o: DeliverOptions = { mailer, clock, backoffMs: () => 0 };
      await drain(store, o);
      const all = await expectedEvents(store, pop, alpha, () => true);
      const high = await expectedEvents(store, pop, alpha, (s) => s === 'high' || s === 'critical');
      expect(all.size).toBeGreaterThan(high.size);
      expect(high.size).toBeGreaterThan(0);
      // nothing is sent during the period
      expect(await collectDigests(store)).toEqual({ items: 0, summaries: 0 });
      await drain(store, o);
      expect(receiver.received).toHaveLength(0);

      // the hour ends: one webhook summary with every event of the hour
      now = new Date('2025-03-01T11:00:01Z');
      expect(await collectDigests(store)).toEqual({ items: all.size, summaries: 1 });
      await drain(store, o);
      expect(receiver.received).toHaveLength(1);
      const d = JSON.parse(receiver.received[0]!.body) as DigestBody;
      expect(receiver.received[0]!.headers['x-drydock-event-id']).toBe(d.id);
      expect(d).toMatchObject({ type: 'digest', rule: 'hourly', count: all.size, period: { kind: 'hourly', start: '2025-03-01T10:00:00.000Z', end: '2025-03-01T11:00:00.000Z' } });
      expect(new Set(d.items.map((i) => i.id))).toEqual(new Set(all.keys()));
      expect(smtp.mails().length).toBe(mailsBefore);

      // the day ends: one mail with the high and critical events of the day
      now = new Date('2025-03-02T00:00:05Z');
      expect(await collectDigests(store)).toEqual({ items: high.size, summaries: 1 });
      await drain(store, o);
      const mails = smtp.mails().slice(mailsBefore);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.to).toEqual(['digest@example.com']);
      expect(mails[0]!.headers.get('subject')).toMatch(new RegExp(`^\\[Drydock\\] daily digest 2025-03-01: ${high.size} finding events? \\(`));
      for (const w of high.values()) expect(mails[0]!.body).toContain(w.vuln);
      expect(mails[0]!.body.split('\n').filter((l) => l.startsWith('- '))).toHaveLength(high.size);
      // nothing more
      expect(await collectDigests(store)).toEqual({ items: 0, summaries: 0 });
      await drain(store, o);
      expect(receiver.received).toHaveLength(1);
      expect(smtp.mails().length - mailsBefore).toBe(1);
    }, 60_000);
  });
}
