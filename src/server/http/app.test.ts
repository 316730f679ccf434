import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/index.js';
import { buildApp, type DrydockApp } from './app.js';
import { cyclonedx, DIGEST_A, DIGEST_B, makeVulnDb, spdx } from './testing.js';
import { mkdirSync } from 'node:fs';
import type { Clock } from '../../core/clock.js';
import { cyclonedxValidator } from '../../sbom/testdata/schemas.js';
import { VulnDb } from '../../vulndb/index.js';
import { buildImage, writeOciArchive } from '../../../test/testkit/index.js';
import { runWorker } from '../worker.js';

type J = any; // eslint-disable-line @typescript-eslint/no-explicit-any

let dir: string;
let dbPath: string;
let store: Store;
let app: DrydockApp;
const tok: Record<string, string> = {};
const H = (t: string): Record<string, string> => ({ authorization: `Bearer ${tok[t]}` });

async function imageCount(token = 'admin'): Promise<number> {
  const r = await app.inject({ method: 'GET', url: '/api/v1/images?limit=1000', headers: H(token) });
  return (r.json() as J).items.length;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-http-'));
  dbPath = await makeVulnDb(dir);
  store = await openStore({ kind: 'sqlite', path: join(dir, 'store.sqlite') });
  const a = await store.createTeam('team-a', 'test');
  const b = await store.createTeam('team-b', 'test');
  for (const scope of ['read', 'write', 'admin'] as const) tok[scope] = (await store.createToken({ teamId: a.id, actor: 'test' }, { name: scope, scope })).secret;
  tok.other = (await store.createToken({ teamId: b.id, actor: 'test' }, { name: 'b-admin', scope: 'admin' })).secret;
  app = await buildApp({ store, vulnDbPath: dbPath, bodyLimit: 64 * 1024 });
}, 60_000);

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ingest, images and findings', () => {
  it('stores an uploaded CycloneDX SBOM and its real findings', async () => {
    const r = await app.inject({ method: 'POST', url: `/api/v1/sboms?repository=registry.example.com/team/app&digest=${DIGEST_A}&tag=v1`, headers: H('write'), payload: cyclonedx([['lodash', '4.17.15'], ['ansi-regex', '4.1.0'], ['left-pad', '1.3.0']]) });
    expect(r.statusCode, r.body).toBe(201);
    const body = r.json() as J;
    expect(body).toMatchObject({ packages: 3, findings: 3, image: { repository: 'registry.example.com/team/app', digest: DIGEST_A, tags: ['v1'] }, evaluation: { counts: { new: 3, changed: 0, resolved: 0, unchanged: 0 } } });
    expect(body.evaluation.dbIdentity).toBe(app.vulnDb.get().info.digest);
  });

  it('pages an image\'s findings by cursor and filters them by state', async () => {
    const seen: string[] = [];
    let url = `/api/v1/images/${DIGEST_A}/findings?limit=2`;
    for (;;) {
      const r = await app.inject({ method: 'GET', url, headers: H('read') });
      expect(r.statusCode, r.body).toBe(200);
      const p = r.json() as J;
      seen.push(...p.items.map((f: J) => `${f.vulnerabilityId} ${f.finding.package.name}@${f.finding.package.version} ${f.state}`));
      if (!p.next) break;
      url = `/api/v1/images/${DIGEST_A}/findings?limit=2&after=${encodeURIComponent(p.next)}`;
    }
    expect(seen).toEqual(['CVE-2020-8203 lodash@4.17.15 new', 'CVE-2021-23337 lodash@4.17.15 new', 'CVE-2021-3807 ansi-regex@4.1.0 new']);
  });

  it('takes the wrapper form with SPDX, lists every repository of a digest, and resolves what disappeared', async () => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/sboms', headers: H('write'), payload: { repository: 'registry.example.com/mirror/app', digest: DIGEST_A, tags: ['latest'], sbom: spdx([['lodash', '4.17.15']]) } });
    expect(r.statusCode, r.body).toBe(201);
    expect((r.json() as J).evaluation.counts).toEqual({ new: 0, changed: 0, resolved: 1, unchanged: 2 });
    const img = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_A}`, headers: H('read') });
    expect((img.json() as J).images.map((i: J) => i.repository)).toEqual(['registry.example.com/mirror/app', 'registry.example.com/team/app']);
    const resolved = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_A}/findings?states=resolved`, headers: H('read') });
    expect((resolved.json() as J).items.map((f: J) => f.vulnerabilityId)).toEqual(['CVE-2021-3807']);
    const list = await app.inject({ method: 'GET', url: '/api/v1/images?limit=1', headers: H('read') });
    const p = list.json() as J;
    expect(p.items).toHaveLength(1);
    expect(typeof p.next).toBe('string');
  });

  it('answers portfolio searches by name and version', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/packages?name=lodash&version=4.17.15', headers: H('read') });
    expect(r.statusCode).toBe(200);
    expect((r.json() as J).items).toEqual([expect.objectContaining({ digest: DIGEST_A, repositories: ['registry.example.com/mirror/app', 'registry.example.com/team/app'], package: expect.objectContaining({ name: 'lodash', version: '4.17.15', purl: 'pkg:npm/lodash@4.17.15' }) })]);
    expect((await app.inject({ method: 'GET', url: '/api/v1/packages?name=lodash&version=9.9.9', headers: H('read') })).json()).toEqual({ items: [] });
    expect((await app.inject({ method: 'GET', url: '/api/v1/packages?version=1', headers: H('read') })).statusCode).toBe(400);
  });

  it('accepts a Dependency-Track upload with X-Api-Key and answers a token', async () => {
    const bom = Buffer.from(JSON.stringify(cyclonedx([['ansi-regex', '4.0.0']]))).toString('base64');
    const refused = await app.inject({ method: 'PUT', url: '/api/v1/bom', headers: { 'x-api-key': tok.write! }, payload: { projectName: 'dt/app', projectVersion: '2.0', autoCreate: false, bom } });
    expect(refused.statusCode).toBe(404);
    const r = await app.inject({ method: 'PUT', url: '/api/v1/bom', headers: { 'x-api-key': tok.write! }, payload: { projectName: 'dt/app', projectVersion: '2.0', autoCreate: true, bom } });
    expect(r.statusCode, r.body).toBe(200);
    expect((r.json() as J).token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}$/);
    const imgs = await app.inject({ method: 'GET', url: '/api/v1/images?repository=dt/app', headers: H('read') });
    const [img] = (imgs.json() as J).items;
    expect(img).toMatchObject({ repository: 'dt/app', tags: ['2.0'] });
    const f = await app.inject({ method: 'GET', url: `/api/v1/images/${img.digest}/findings`, headers: H('read') });
    expect((f.json() as J).items.map((x: J) => x.vulnerabilityId)).toEqual(['CVE-2021-3807']);
    // existing project: autoCreate false is fine now
    const again = await app.inject({ method: 'PUT', url: '/api/v1/bom', headers: { 'x-api-key': tok.write! }, payload: { projectName: 'dt/app', projectVersion: '2.0', bom } });
    expect(again.statusCode).toBe(200);
  });
});

describe('triage and VEX', () => {
  it('records triage with an audit trail and exports it as OpenVEX', async () => {
    const url = `/api/v1/images/${DIGEST_A}/findings/CVE-2021-23337/triage`;
    expect((await app.inject({ method: 'PUT', url, headers: H('read'), payload: { state: 'affected' } })).statusCode).toBe(403);
    const r = await app.inject({ method: 'PUT', url, headers: H('write'), payload: { state: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', reason: 'template() is never called' } });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ state: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', target: { digest: DIGEST_A } });
    const until = '2030-01-01T00:00:00.000Z';
    const acc = await app.inject({ method: 'PUT', url: `/api/v1/images/${DIGEST_A}/findings/CVE-2020-8203/triage`, headers: H('write'), payload: { state: 'accepted', until } });
    expect(acc.statusCode, acc.body).toBe(200);

    const hist = await app.inject({ method: 'GET', url, headers: H('read') });
    expect((hist.json() as J).history.map((h: J) => h.to)).toEqual(['not_affected']);
    const f = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_A}/findings`, headers: H('read') });
    expect((f.json() as J).items.map((x: J) => [x.vulnerabilityId, x.triage?.state])).toEqual([['CVE-2020-8203', 'accepted'], ['CVE-2021-23337', 'not_affected']]);

    const vex = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_A}/vex`, headers: H('read') });
    expect(vex.statusCode).toBe(200);
    const doc = vex.json() as J;
    expect(doc['@context']).toBe('https://openvex.dev/ns/v0.2.0');
    const byId = Object.fromEntries(doc.statements.map((s: J) => [s.vulnerability.name, s]));
    expect(byId['CVE-2021-23337']).toMatchObject({ status: 'not_affected', justification: 'vulnerable_code_not_in_execute_path' });
    expect(byId['CVE-2020-8203']).toMatchObject({ status: 'affected' });
    expect(byId['CVE-2020-8203'].status_notes).toContain(`accepted until ${until}`);
    expect(byId['CVE-2021-23337'].products[0]['@id']).toMatch(/^pkg:oci\/app@sha256(:|%3A)a{64}/);

    const audit = await app.inject({ method: 'GET', url: '/api/v1/audit', headers: H('admin') });
    expect(audit.statusCode).toBe(200);
    const actions = (audit.json() as J).items.map((e: J) => e.action);
    expect(actions).toContain('triage.set');
    expect(actions).toContain('findings.evaluate');
  });

  it('refuses a not_affected triage without justification (store rule) as 400', async () => {
    const r = await app.inject({ method: 'PUT', url: `/api/v1/images/${DIGEST_A}/findings/CVE-2021-23337/triage`, headers: H('write'), payload: { state: 'not_affected' } });
    expect(r.statusCode).toBe(400);
    expect((r.json() as J).error.code).toBe('STORE_INPUT_INVALID');
  });
});

describe('registries and rules', () => {
  it('does CRUD with the right scopes and team isolation', async () => {
    const spec = { name: 'local', url: '127.0.0.1:5000', repositories: ['team/*'], pollIntervalSeconds: 300 };
    expect((await app.inject({ method: 'POST', url: '/api/v1/registries', headers: H('write'), payload: spec })).statusCode).toBe(403);
    const c = await app.inject({ method: 'POST', url: '/api/v1/registries', headers: H('admin'), payload: spec });
    expect(c.statusCode, c.body).toBe(201);
    const id = (c.json() as J).id;
    expect((await app.inject({ method: 'POST', url: '/api/v1/registries', headers: H('admin'), payload: spec })).statusCode).toBe(409);
    expect((await app.inject({ method: 'GET', url: `/api/v1/registries/${id}`, headers: H('read') })).json()).toMatchObject({ spec });
    expect((await app.inject({ method: 'GET', url: `/api/v1/registries/${id}`, headers: H('other') })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PUT', url: `/api/v1/registries/${id}`, headers: H('admin'), payload: { ...spec, repositories: ['x'] } })).json()).toMatchObject({ spec: { repositories: ['x'] } });
    expect((await app.inject({ method: 'GET', url: '/api/v1/registries', headers: H('other') })).json()).toEqual({ items: [] });
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/registries/${id}`, headers: H('other') })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/registries/${id}`, headers: H('admin') })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: `/api/v1/registries/${id}`, headers: H('admin') })).statusCode).toBe(404);

    const rule = { name: 'sec', channel: 'webhook', target: 'https://hooks.example.com/x', filter: { minSeverity: 'high', events: ['new'] } };
    const rc = await app.inject({ method: 'POST', url: '/api/v1/rules', headers: H('write'), payload: rule });
    expect(rc.statusCode, rc.body).toBe(201);
    expect((rc.json() as J).spec).toEqual({ ...rule, enabled: true });
    expect((await app.inject({ method: 'GET', url: '/api/v1/rules', headers: H('read') })).json()).toMatchObject({ items: [{ spec: { name: 'sec' } }] });
  });
});

describe('bad input is refused with a clear 4xx and nothing stored', () => {
  it('401 without a token or with a wrong one, also for the Dependency-Track route', async () => {
    for (const headers of [{}, { authorization: 'Bearer ddk_nope' }, { authorization: `Basic ${tok.read}` }]) {
      const r = await app.inject({ method: 'GET', url: '/api/v1/images', headers });
      expect(r.statusCode).toBe(401);
      expect((r.json() as J).error.code).toBe('UNAUTHENTICATED');
    }
    // X-Api-Key counts only on the Dependency-Track route
    expect((await app.inject({ method: 'GET', url: '/api/v1/images', headers: { 'x-api-key': tok.read! } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/bom', headers: { 'x-api-key': 'ddk_wrong' }, payload: { projectName: 'x', bom: 'e30=' } })).statusCode).toBe(401);
  });

  it('a token revoked through the API stops working at once (despite the token cache)', async () => {
    const c = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: H('admin'), payload: { name: 'ci', scope: 'read' } });
    expect(c.statusCode).toBe(201);
    const { token, secret } = c.json() as J;
    const auth = { authorization: `Bearer ${secret}` };
    expect((await app.inject({ method: 'GET', url: '/api/v1/images', headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: auth, payload: { name: 'x', scope: 'admin' } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: H('other') })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: `/api/v1/tokens/${token.id}`, headers: H('admin') })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/api/v1/images', headers: auth })).statusCode).toBe(401);
    const listed = (await app.inject({ method: 'GET', url: '/api/v1/tokens', headers: H('admin') })).json() as J;
    expect(JSON.stringify(listed)).not.toContain(secret);
  });

  it('403 for a scope that is too low', async () => {
    const before = await imageCount();
    expect((await app.inject({ method: 'POST', url: `/api/v1/sboms?repository=r&digest=${DIGEST_B}`, headers: H('read'), payload: cyclonedx([['lodash', '4.17.15']]) })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/api/v1/audit', headers: H('write') })).statusCode).toBe(403);
    expect((await app.inject({ method: 'PUT', url: '/api/v1/bom', headers: { 'x-api-key': tok.read! }, payload: { projectName: 'x', autoCreate: true, bom: 'e30=' } })).statusCode).toBe(403);
    expect(await imageCount()).toBe(before);
  });

  it('404, not 403, for the images of another team', async () => {
    for (const url of [`/api/v1/images/${DIGEST_A}`, `/api/v1/images/${DIGEST_A}/findings`, `/api/v1/images/${DIGEST_A}/vex`, `/api/v1/images/${DIGEST_A}/findings/CVE-2021-23337/triage`]) {
      const r = await app.inject({ method: 'GET', url, headers: H('other') });
      expect(r.statusCode, url).toBe(404);
      expect((r.json() as J).error.code).toBe('NOT_FOUND');
    }
    const put = await app.inject({ method: 'PUT', url: `/api/v1/images/${DIGEST_A}/findings/CVE-2021-23337/triage`, headers: H('other'), payload: { state: 'false_positive' } });
    expect(put.statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/api/v1/images', headers: H('other') })).json()).toEqual({ items: [] });
    expect((await app.inject({ method: 'GET', url: '/api/v1/packages?name=lodash', headers: H('other') })).json()).toEqual({ items: [] });
    // the triage of team A is unchanged
    const t = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_A}/findings/CVE-2021-23337/triage`, headers: H('read') });
    expect((t.json() as J).current.state).toBe('not_affected');
  });

  it('malformed SBOM uploads: 400 for broken JSON, 422 for a document in no SBOM format', async () => {
    const before = await imageCount();
    const url = `/api/v1/sboms?repository=bad/app&digest=${DIGEST_B}`;
    const broken = await app.inject({ method: 'POST', url, headers: { ...H('write'), 'content-type': 'application/json' }, payload: '{"bomFormat": "CycloneDX", ' });
    expect(broken.statusCode).toBe(400);
    expect((broken.json() as J).error.code).toBe('REQUEST_INVALID');
    for (const doc of [{ hello: 'world' }, { bomFormat: 'CycloneDX', specVersion: '9.9' }, { bomFormat: 'CycloneDX', specVersion: '1.5', components: 'nope' }, { spdxVersion: 'SPDX-2.3', packages: [{ name: 7 }] }]) {
      const r = await app.inject({ method: 'POST', url, headers: H('write'), payload: doc });
      expect(r.statusCode, JSON.stringify(doc)).toBe(422);
      expect((r.json() as J).error.code).toBe('SBOM_INVALID');
    }
    const arr = await app.inject({ method: 'POST', url, headers: H('write'), payload: [1, 2] });
    expect(arr.statusCode).toBe(400);
    const xml = await app.inject({ method: 'POST', url, headers: { ...H('write'), 'content-type': 'application/xml' }, payload: '<bom/>' });
    expect(xml.statusCode).toBe(415);
    const badBom = await app.inject({ method: 'PUT', url: '/api/v1/bom', headers: { 'x-api-key': tok.write! }, payload: { projectName: 'bad/app', autoCreate: true, bom: 'not base64 at all!' } });
    expect(badBom.statusCode).toBe(400);
    const notSbom = await app.inject({ method: 'PUT', url: '/api/v1/bom', headers: { 'x-api-key': tok.write! }, payload: { projectName: 'bad/app', autoCreate: true, bom: Buffer.from('{"x":1}').toString('base64') } });
    expect(notSbom.statusCode).toBe(422);
    const noDigest = await app.inject({ method: 'POST', url: '/api/v1/sboms?repository=bad/app', headers: H('write'), payload: cyclonedx([['lodash', '4.17.15']]) });
    expect(noDigest.statusCode).toBe(400);
    expect(await imageCount()).toBe(before);
  });

  it('413 for an oversized body', async () => {
    const before = await imageCount();
    const big = cyclonedx(Array.from({ length: 2000 }, (_, i) => [`pkg-${i}`, '1.0.0'] as [string, string]));
    const r = await app.inject({ method: 'POST', url: `/api/v1/sboms?repository=big/app&digest=${DIGEST_B}`, headers: H('write'), payload: big });
    expect(r.statusCode).toBe(413);
    expect((r.json() as J).error.code).toBe('BODY_TOO_LARGE');
    expect(await imageCount()).toBe(before);
  });

  it('400 for unknown fields and parameters', async () => {
    const before = await imageCount();
    const cases: [string, string, unknown][] = [
      ['POST', '/api/v1/scans', { target: 'registry.example.com/a:1', extra: true }],
      ['POST', `/api/v1/sboms?repository=x&digest=${DIGEST_B}&colour=red`, cyclonedx([['lodash', '4.17.15']])],
      ['POST', '/api/v1/sboms', { repository: 'x', digest: DIGEST_B, sbom: cyclonedx([['lodash', '4.17.15']]), team: 'b' }],
      ['PUT', `/api/v1/images/${DIGEST_A}/findings/CVE-2021-23337/triage`, { state: 'affected', severity: 'low' }],
      ['PUT', `/api/v1/images/${DIGEST_A}/findings/CVE-2021-23337/triage`, { state: 'maybe' }],
      ['POST', '/api/v1/rules', { name: 'r2', channel: 'webhook', target: 'https://x', filter: { minSeverity: 'high', sql: 1 } }],
      ['PUT', '/api/v1/bom', { projectName: 'x', autoCreate: true, bom: 'e30=', teamId: 'other' }],
      ['GET', '/api/v1/images?repo=x', undefined],
      ['GET', `/api/v1/images/${DIGEST_A}/findings?states=open`, undefined],
      ['GET', `/api/v1/images/${DIGEST_A}/findings?limit=5000`, undefined],
      ['GET', '/api/v1/images/sha256:abc', undefined],
    ];
    for (const [method, url, payload] of cases) {
      const r = await app.inject({ method: method as 'GET', url, headers: H('admin'), ...(payload === undefined ? {} : { payload: payload as object }) });
      expect(r.statusCode, `${method} ${url}: ${r.body}`).toBe(400);
      expect((r.json() as J).error.message).toBeTruthy();
    }
    expect(await imageCount()).toBe(before);
  });

  it('treats SQL-significant strings as data', async () => {
    const evil = "x' OR '1'='1'; DROP TABLE images; --";
    const r = await app.inject({ method: 'GET', url: `/api/v1/images?repository=${encodeURIComponent(evil)}`, headers: H('read') });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ items: [] });
    const p = await app.inject({ method: 'GET', url: `/api/v1/packages?name=${encodeURIComponent(evil)}&version=${encodeURIComponent("1' --")}`, headers: H('read') });
    expect(p.json()).toEqual({ items: [] });
    const c = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_A}/findings?after=${encodeURIComponent(evil)}`, headers: H('read') });
    expect(c.statusCode).toBe(400);
    // stored verbatim as a repository name, and found again by it
    const s = await app.inject({ method: 'POST', url: `/api/v1/sboms?repository=${encodeURIComponent(evil)}&digest=${DIGEST_A}`, headers: H('write'), payload: cyclonedx([['lodash', '4.17.15']]) });
    expect(s.statusCode, s.body).toBe(201);
    const again = await app.inject({ method: 'GET', url: `/api/v1/images?repository=${encodeURIComponent(evil)}`, headers: H('read') });
    expect((again.json() as J).items.map((i: J) => i.repository)).toEqual([evil]);
    expect(await imageCount()).toBeGreaterThan(1);
  });

  it('503 when the vulnerability database is missing, and nothing stored', async () => {
    const other = await buildApp({ store, vulnDbPath: join(dir, 'missing.db') });
    try {
      const before = await imageCount();
      const r = await other.inject({ method: 'POST', url: `/api/v1/sboms?repository=nodb/app&digest=${DIGEST_B}`, headers: H('write'), payload: cyclonedx([['lodash', '4.17.15']]) });
      expect(r.statusCode).toBe(503);
      expect((r.json() as J).error.code).toBe('VULNDB_MISSING');
      expect(await imageCount()).toBe(before);
      expect((await other.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
    } finally {
      await other.close();
    }
  });

  it('refuses scan targets the server must not read', async () => {
    for (const target of [`oci-dir:${dir}`, `dir:${dir}`, `sbom:${join(dir, 'x.json')}`, 'docker:alpine', 'bad target !!']) {
      const r = await app.inject({ method: 'POST', url: '/api/v1/scans', headers: H('write'), payload: { target } });
      expect(r.statusCode, `${target}: ${r.body}`).toBe(400);
    }
  });
});

describe('operations', () => {
  it('health, readiness and metrics', async () => {
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect((ready.json() as J).checks).toMatchObject({ store: 'ok', vulnerabilityDatabase: 'ok' });
    const m = await app.inject({ method: 'GET', url: '/metrics' });
    expect(m.headers['content-type']).toMatch(/^text\/plain/);
    const text = m.body;
    expect(text).toMatch(/^drydock_http_requests_total\{method="GET",route="\/api\/v1\/images\/:digest\/findings",status="200"\} \d+$/m);
    expect(text).toMatch(/^drydock_http_requests_total\{method="GET",route="\/api\/v1\/images",status="401"\} \d+$/m);
    expect(text).toMatch(/^drydock_http_request_duration_seconds_bucket\{method="POST",route="\/api\/v1\/sboms",le="\+Inf"\} \d+$/m);
    expect(text).toMatch(/^drydock_images [1-9]\d*$/m);
    expect(text).toMatch(/^drydock_findings [1-9]\d*$/m);
    expect(text).toMatch(/^drydock_jobs_queued \d+$/m);
    // every sample line is "name{labels} value" or "name value"
    for (const line of text.trimEnd().split('\n')) expect(line).toMatch(/^(# (HELP|TYPE) .+|[a-z_]+(\{[^}]*\})? [0-9.e+-]+)$/);
  });

  it('serves an OpenAPI 3.1 document that describes every route and compiles as JSON Schema 2020-12', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json() as J;
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    // the structure OpenAPI 3.1 requires of what this document uses (spec sections 4.8.1-4.8.17)
    const structure = {
      type: 'object',
      required: ['openapi', 'info', 'paths'],
      properties: {
        openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
        info: { type: 'object', required: ['title', 'version'] },
        paths: {
          type: 'object',
          propertyNames: { pattern: '^/' },
          additionalProperties: {
            type: 'object',
            propertyNames: { enum: ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace', 'summary', 'description', 'parameters', 'servers'] },
            additionalProperties: {
              type: 'object',
              required: ['responses'],
              properties: {
                operationId: { type: 'string' },
                parameters: { type: 'array', items: { type: 'object', required: ['name', 'in', 'schema'], properties: { in: { enum: ['path', 'query', 'header', 'cookie'] }, required: { type: 'boolean' } } } },
                requestBody: { type: 'object', required: ['content'] },
                responses: { type: 'object', minProperties: 1, propertyNames: { pattern: '^([1-5]\\d\\d|default)$' }, additionalProperties: { type: 'object', required: ['description'] } },
                security: { type: 'array' },
              },
            },
          },
        },
        components: { type: 'object', properties: { securitySchemes: { type: 'object', additionalProperties: { type: 'object', required: ['type'] } } } },
      },
    };
    const ok = ajv.validate(structure, doc);
    expect(ajv.errors ?? [], JSON.stringify(ajv.errors)).toEqual([]);
    expect(ok).toBe(true);
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, J>)) {
      for (const [method, op] of Object.entries(item as Record<string, J>)) {
        expect(ids.has(op.operationId), op.operationId).toBe(false);
        ids.add(op.operationId);
        // every {param} of the path is a required path parameter, and the other way round
        const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
        const declared = (op.parameters ?? []).filter((p: J) => p.in === 'path').map((p: J) => { expect(p.required).toBe(true); return p.name; }).sort();
        expect(declared, `${method} ${path}`).toEqual(inPath);
        for (const p of op.parameters ?? []) ajv.compile(p.schema);
        for (const c of Object.values(op.requestBody?.content ?? {}) as J[]) ajv.compile(c.schema);
        for (const res of Object.values(op.responses) as J[]) for (const c of Object.values(res.content ?? {}) as J[]) ajv.compile(c.schema);
        for (const s of op.security ?? []) for (const name of Object.keys(s)) expect(doc.components.securitySchemes[name]).toBeDefined();
      }
    }
    const routes = Object.entries(doc.paths as Record<string, J>).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    for (const want of ['POST /api/v1/scans', 'POST /api/v1/sboms', 'PUT /api/v1/bom', 'GET /api/v1/images', 'GET /api/v1/images/{digest}', 'GET /api/v1/images/{digest}/findings',
      'PUT /api/v1/images/{digest}/findings/{vulnId}/triage', 'GET /api/v1/images/{digest}/vex', 'GET /api/v1/packages', 'GET /api/v1/registries', 'POST /api/v1/registries',
      'PUT /api/v1/registries/{id}', 'DELETE /api/v1/registries/{id}', 'GET /api/v1/rules/{id}', 'GET /api/v1/audit', 'GET /healthz', 'GET /readyz', 'GET /metrics']) {
      expect(routes).toContain(want);
    }
    expect(doc.paths['/api/v1/images/{digest}/findings'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/api/v1/bom'].put.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
  });
});


describe('CycloneDX VEX export', () => {
  const DIGEST_V = `sha256:${'d'.repeat(64)}`;

  it('exports the image\'s findings and triage as a CycloneDX 1.6 BOM valid against the official schema', async () => {
    const up = await app.inject({ method: 'POST', url: `/api/v1/sboms?repository=registry.example.com/team/vex&digest=${DIGEST_V}`, headers: H('write'), payload: cyclonedx([['lodash', '4.17.15'], ['ansi-regex', '4.1.0'], ['left-pad', '1.3.0']], 'registry.example.com/team/vex') });
    expect(up.statusCode, up.body).toBe(201);
    const triage = async (vuln: string, body: object) => {
      const r = await app.inject({ method: 'PUT', url: `/api/v1/images/${DIGEST_V}/findings/${vuln}/triage`, headers: H('write'), payload: body });
      expect(r.statusCode, r.body).toBe(200);
    };
    await triage('CVE-2021-23337', { state: 'not_affected', justification: 'vulnerable_code_not_in_execute_path', reason: 'template() is never called' });
    await triage('CVE-2020-8203', { state: 'false_positive' });
    await triage('CVE-2021-3807', { state: 'accepted', until: '2030-01-01T00:00:00Z' });

    const r = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_V}/vex?format=cyclonedx`, headers: H('read') });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/vnd\.cyclonedx\+json/);
    const doc = r.json() as J;
    const v = cyclonedxValidator('1.6')(doc);
    expect(v.valid, v.errors).toBe(true);
    expect(doc).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.6' });
    const byId = new Map<string, J>((doc.vulnerabilities as J[]).map((x) => [x.id, x]));
    expect([...byId.keys()].sort()).toEqual(['CVE-2020-8203', 'CVE-2021-23337', 'CVE-2021-3807']);
    expect(byId.get('CVE-2021-23337').analysis).toMatchObject({ state: 'not_affected', justification: 'code_not_reachable' });
    expect(byId.get('CVE-2021-23337').analysis.detail).toContain('template() is never called');
    expect(byId.get('CVE-2020-8203').analysis.state).toBe('false_positive');
    expect(byId.get('CVE-2021-3807').analysis).toMatchObject({ state: 'exploitable', response: ['will_not_fix'] });
    expect(byId.get('CVE-2021-3807').analysis.detail).toContain('accepted until 2030-01-01');
    // each vulnerability affects a component of the BOM
    const refs = new Set((doc.components as J[]).map((c) => c['bom-ref']));
    for (const x of byId.values()) for (const a of x.affects) expect(refs.has(a.ref), a.ref).toBe(true);

    // the default stays OpenVEX; other formats are refused; other teams see nothing
    const open = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_V}/vex`, headers: H('read') });
    expect((open.json() as J)['@context']).toBe('https://openvex.dev/ns/v0.2.0');
    const bad = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_V}/vex?format=csaf`, headers: H('read') });
    expect(bad.statusCode).toBe(400);
    const other = await app.inject({ method: 'GET', url: `/api/v1/images/${DIGEST_V}/vex?format=cyclonedx`, headers: H('other') });
    expect(other.statusCode).toBe(404);
  });
});

describe('asynchronous scans through the job queue', () => {
  let adir: string;
  let astore: Store;
  let aapp: DrydockApp;
  let vdb: VulnDb;
  const atok: Record<string, string> = {};
  const AH = (t: string): Record<string, string> => ({ authorization: `Bearer ${atok[t]}` });

  beforeAll(async () => {
    adir = mkdtempSync(join(tmpdir(), 'drydock-async-'));
    mkdirSync(join(adir, 'imports'));
    astore = await openStore({ kind: 'sqlite', path: join(adir, 'store.sqlite') }, { jobBackoffMs: 1 });
    const a = await astore.createTeam('team-a', 'test');
    const b = await astore.createTeam('team-b', 'test');
    atok.write = (await astore.createToken({ teamId: a.id, actor: 'test' }, { name: 'w', scope: 'write' })).secret;
    atok.other = (await astore.createToken({ teamId: b.id, actor: 'test' }, { name: 'o', scope: 'admin' })).secret;
    aapp = await buildApp({ store: astore, vulnDbPath: dbPath, scanRoots: [join(adir, 'imports')] });
    vdb = VulnDb.open(dbPath);
  }, 60_000);
  afterAll(async () => {
    vdb?.close();
    await aapp?.close();
    await astore?.close();
    rmSync(adir, { recursive: true, force: true });
  });

  const work = () => runWorker(astore, vdb, { once: true, retention: false, deliver: { mailer: null } });

  it('answers 202 with a job, runs it in the worker and reports the stored image', async () => {
    const img = await buildImage({ layers: [{ createdBy: 'COPY app/ /app/', entries: [
      { path: 'app/package.json', content: '{"name":"app","version":"1.0.0","dependencies":{"lodash":"4.17.20"}}' },
      { path: 'app/node_modules/lodash/package.json', content: '{"name":"lodash","version":"4.17.20","license":"MIT"}' },
    ] }] });
    const archive = join(adir, 'imports', 'app.oci.tar');
    await writeOciArchive(archive, img);
    const body = { target: `oci-archive:${archive}`, repository: 'local/app', tags: ['1.0.0'] };
    const r = await aapp.inject({ method: 'POST', url: '/api/v1/scans?async=true', headers: AH('write'), payload: body });
    expect(r.statusCode, r.body).toBe(202);
    const job = (r.json() as J).job;
    expect(r.headers.location).toBe(`/api/v1/jobs/${job.id}`);
    expect(job).toMatchObject({ queue: 'scan', state: 'queued', attempts: 0, request: body });
    // the same request while queued is the same job
    const again = await aapp.inject({ method: 'POST', url: '/api/v1/scans?async=true', headers: AH('write'), payload: body });
    expect((again.json() as J).job.id).toBe(job.id);
    // nothing stored before the worker ran
    expect(((await aapp.inject({ method: 'GET', url: '/api/v1/images', headers: AH('write') })).json() as J).items).toEqual([]);
    // another team does not see the job
    expect((await aapp.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}`, headers: AH('other') })).statusCode).toBe(404);

    const w = await work();
    expect(w.failed).toBe(0);
    const done = (await aapp.inject({ method: 'GET', url: `/api/v1/jobs/${job.id}`, headers: AH('write') })).json() as J;
    expect(done.job).toMatchObject({ id: job.id, state: 'done', attempts: 1, result: { image: { repository: 'local/app' }, evaluation: { counts: { new: 1, changed: 0, resolved: 0, unchanged: 0 } } } });
    const digest = done.job.result.image.digest;
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    const f = (await aapp.inject({ method: 'GET', url: `/api/v1/images/${digest}/findings`, headers: AH('write') })).json() as J;
    expect(f.items.map((x: J) => `${x.vulnerabilityId} ${x.finding.package.name}@${x.finding.package.version}`)).toEqual(['CVE-2021-23337 lodash@4.17.20']);
    // the audit log names the token and the job
    const tokenId = (await astore.authenticate(atok.write!))!.id;
    const audit = await astore.listAudit({ teamId: (await astore.getTeamByName('team-a'))!.id, actor: 'test' }, { limit: 100 });
    expect(audit.items.some((e) => e.action === 'image.record' && e.actor === `${tokenId}/job:${job.id}`)).toBe(true);
    // the synchronous path is still there
    const sync = await aapp.inject({ method: 'POST', url: '/api/v1/scans', headers: AH('write'), payload: body });
    expect(sync.statusCode, sync.body).toBe(201);
    expect((sync.json() as J).image.digest).toBe(digest);
  }, 60_000);

  it('refuses bad targets before queueing, and records a failing scan\'s error on its job', async () => {
    const bad = await aapp.inject({ method: 'POST', url: '/api/v1/scans?async=true', headers: AH('write'), payload: { target: `oci-archive:${join(adir, 'elsewhere.tar')}` } });
    expect(bad.statusCode).toBe(400);
    const missing = join(adir, 'imports', 'missing.tar');
    const r = await aapp.inject({ method: 'POST', url: '/api/v1/scans?async=true', headers: AH('write'), payload: { target: `oci-archive:${missing}` } });
    expect(r.statusCode, r.body).toBe(202);
    const id = (r.json() as J).job.id;
    let job: J;
    for (let i = 0; i < 50; i++) {
      await work();
      job = ((await aapp.inject({ method: 'GET', url: `/api/v1/jobs/${id}`, headers: AH('write') })).json() as J).job;
      if (job.state === 'failed') break;
      await new Promise((res) => setTimeout(res, 5));
    }
    expect(job!).toMatchObject({ state: 'failed', attempts: 3, maxAttempts: 3 });
    expect(job!.lastError).toContain('missing.tar');
    expect(job!.result).toBeUndefined();
    expect((await aapp.inject({ method: 'GET', url: '/api/v1/jobs/no-such-job', headers: AH('write') })).statusCode).toBe(404);
  }, 60_000);

  it('lists the new routes in the OpenAPI document', async () => {
    const doc = (await aapp.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as J;
    expect(doc.paths['/api/v1/jobs/{id}'].get).toBeDefined();
    expect(doc.paths['/api/v1/scans'].post.responses['202']).toBeDefined();
    expect(doc.paths['/api/v1/scans'].post.parameters.map((p: J) => p.name)).toContain('async');
    expect(doc.paths['/api/v1/images/{digest}/vex'].get.parameters.map((p: J) => p.name)).toContain('format');
  });
});

describe('retention job', () => {
  it('deletes digests not seen for the configured days and not currently tagged, periodically', async () => {
    const rdir = mkdtempSync(join(tmpdir(), 'drydock-retention-'));
    let now = new Date('2025-01-01T00:00:00Z');
    const clock: Clock = { now: () => now };
    const rstore = await openStore({ kind: 'sqlite', path: join(rdir, 'store.sqlite') }, { clock });
    const vdb = VulnDb.open(dbPath);
    try {
      const team = await rstore.createTeam('team-r', 'test');
      const ctx = { teamId: team.id, actor: 'test' };
      const D = (c: string) => `sha256:${c.repeat(64)}`;
      await rstore.recordImage(ctx, { repository: 'r/app', digest: D('1'), tags: ['latest'] });
      await rstore.recordImage(ctx, { repository: 'r/app', digest: D('2') });
      // v1 moves from digest 3 to digest 4: digest 3 is no longer tagged
      await rstore.recordImage(ctx, { repository: 'r/app', digest: D('3'), tags: ['v1'] });
      await rstore.recordImage(ctx, { repository: 'r/app', digest: D('4'), tags: ['v1'] });
      const digests = async () => (await rstore.listImages(ctx, { limit: 100 })).items.map((i) => i.digest.slice(7, 8)).sort().join('');
      const opts = { once: true, retention: { days: 30, everyMs: 3_600_000 }, clock, deliver: { mailer: null } } as const;

      now = new Date('2025-01-20T00:00:00Z');
      await runWorker(rstore, vdb, opts);
      expect(await digests()).toBe('1234');

      now = new Date('2025-02-15T00:00:00Z');
      // the next run is due an hour after the first
      await runWorker(rstore, vdb, opts);
      expect(await digests()).toBe('14');
      const audit = await rstore.listAudit(ctx, { limit: 100 });
      expect(audit.items.find((e) => e.action === 'image.retention')).toMatchObject({ actor: 'system:retention', details: { deleted: 2 } });

      // a later run (due an hour after the one before) deletes what has aged since
      await rstore.recordImage(ctx, { repository: 'r/other', digest: D('5') });
      now = new Date('2025-03-30T00:00:00Z');
      await rstore.recordImage(ctx, { repository: 'r/app', digest: D('1'), tags: ['latest'] });
      await rstore.recordImage(ctx, { repository: 'r/app', digest: D('4'), tags: ['v1'] });
      await runWorker(rstore, vdb, opts);
      expect(await digests()).toBe('14');
    } finally {
      vdb.close();
      await rstore.close();
      rmSync(rdir, { recursive: true, force: true });
    }
  });
});
