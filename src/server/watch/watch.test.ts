import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store, type TeamContext } from '../../store/index.js';
import { buildApp, type DrydockApp } from '../http/app.js';
import { makeVulnDb } from '../http/testing.js';
import { acceptPushEvents, REGISTRY_EVENTS_MEDIA_TYPE } from '../http/routes-watch.js';
import { POLL_QUEUE, schedulePolls } from './jobs.js';
import { defaultCredentials, isArtifactTag, registryLocation, specRegistryOptions, watchesRepository } from './poll.js';

const D1 = `sha256:${'1'.repeat(64)}`;

describe('watched registry specs', () => {
  it('parses registry locations', () => {
    expect(registryLocation('registry.example.com:5000')).toEqual({ host: 'registry.example.com:5000', insecure: false });
    expect(registryLocation('https://Registry.Example.com/')).toEqual({ host: 'registry.example.com', insecure: false });
    expect(registryLocation('http://127.0.0.1:5000')).toEqual({ host: '127.0.0.1:5000', insecure: true });
    expect(() => registryLocation('https://r.example.com/v2/x')).toThrow(/not a host/);
    expect(() => registryLocation('a b')).toThrow(/not a host/);
  });

  it('matches repositories by name or glob, with or without the host', () => {
    const spec = { name: 'r', url: 'r.example.com', repositories: ['team/*', 'r.example.com/exact/app', 'deep/**'], pollIntervalSeconds: 0 };
    expect(watchesRepository(spec, 'r.example.com', 'team/app')).toBe(true);
    expect(watchesRepository(spec, 'r.example.com', 'team/a/b')).toBe(false);
    expect(watchesRepository(spec, 'r.example.com', 'exact/app')).toBe(true);
    expect(watchesRepository(spec, 'r.example.com', 'exact/app2')).toBe(false);
    expect(watchesRepository(spec, 'r.example.com', 'deep/a/b/c')).toBe(true);
  });

  it('leaves out signature, attestation and referrers tags', () => {
    expect(isArtifactTag(`sha256-${'a'.repeat(64)}.sig`)).toBe(true);
    expect(isArtifactTag(`sha256-${'a'.repeat(64)}`)).toBe(true);
    expect(isArtifactTag('v1.2.3')).toBe(false);
    expect(isArtifactTag('sha256-abc')).toBe(false);
  });

  it('resolves credentials references from DRYDOCK_SECRET_<REF>, never from the spec', () => {
    expect(defaultCredentials('corp-registry', { DRYDOCK_SECRET_CORP_REGISTRY: 'bot:s3cr:et' })).toEqual({ username: 'bot', password: 's3cr:et' });
    expect(defaultCredentials('tok', { DRYDOCK_SECRET_TOK: 'abc' })).toEqual({ password: 'abc' });
    expect(defaultCredentials('none', {})).toBeUndefined();
    const spec = { name: 'r', url: 'http://h:1', repositories: ['a'], pollIntervalSeconds: 0, credentialsRef: 'x' };
    expect(specRegistryOptions(spec, registryLocation(spec.url), { registryOptions: { timeoutMs: 5 }, credentials: () => ({ username: 'u', password: 'p' }) }))
      .toEqual({ timeoutMs: 5, insecure: ['h:1'], username: 'u', password: 'p' });
    expect(() => specRegistryOptions(spec, registryLocation(spec.url), { credentials: () => undefined })).toThrow(/no credentials/);
  });
});

describe('push events and the schedule (SQLite store)', () => {
  let dir: string;
  let store: Store;
  let ctx: TeamContext;
  let other: TeamContext;
  let app: DrydockApp;
  let token: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drydock-watch-'));
    store = await openStore(`sqlite:${join(dir, 's.sqlite')}`);
    ctx = { teamId: (await store.createTeam('a', 'test')).id, actor: 'test' };
    other = { teamId: (await store.createTeam('b', 'test')).id, actor: 'test' };
    token = (await store.createToken(ctx, { name: 'hook', scope: 'write' })).secret;
    app = await buildApp({ store, vulnDbPath: await makeVulnDb(dir) });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ev = (over: Record<string, unknown> = {}, target: Record<string, unknown> = {}) => ({
    action: 'push',
    target: { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D1, repository: 'team/app', tag: 'v1', ...target },
    request: { host: 'reg.example.com:5000' },
    ...over,
  });

  it('enqueues one ingest per watched tag push and ignores the rest', async () => {
    const reg = await store.registries.create(ctx, { name: 'main', url: 'reg.example.com:5000', repositories: ['team/*'], pollIntervalSeconds: 0 });
    await store.registries.create(other, { name: 'main', url: 'reg.example.com:5000', repositories: ['team/*'], pollIntervalSeconds: 0 });
    const a = await acceptPushEvents({ store }, ctx, [
      ev(),
      ev(), // the same push twice: one job
      ev({ action: 'pull' }),
      ev({}, { tag: undefined }), // by digest: an index child or a referrer
      ev({}, { tag: `sha256-${'1'.repeat(64)}.sig` }),
      ev({}, { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }),
      ev({}, { repository: 'elsewhere/app' }),
      ev({ request: { host: 'other.example.com' } }),
      null,
    ]);
    expect(a).toMatchObject({ accepted: 2, ignored: 7 });
    expect(a.jobs).toHaveLength(1);
    const [job] = await store.claimJobs(POLL_QUEUE, 5, 1000);
    expect(job).toMatchObject({ teamId: ctx.teamId, payload: { registryId: reg.id, repository: 'team/app', tag: 'v1', digest: D1 } });
    await store.completeJob(job!.id, job!.lease!);
  });

  it('serves the registry envelope media type with the token of the endpoint headers', async () => {
    const body = JSON.stringify({ events: [ev({}, { tag: 'v2' })] });
    const ok = await app.inject({ method: 'POST', url: '/api/v1/hooks/registry', headers: { authorization: `Bearer ${token}`, 'content-type': REGISTRY_EVENTS_MEDIA_TYPE }, payload: body });
    expect(ok.statusCode).toBe(202);
    expect(ok.json()).toMatchObject({ accepted: 1, ignored: 0 });
    // pinned by name: the host is not compared
    const pinned = await app.inject({ method: 'POST', url: '/api/v1/hooks/registry?registry=main', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: JSON.stringify({ events: [ev({ request: { host: 'public-name.example.com' } }, { tag: 'v3' })] }) });
    expect(pinned.json()).toMatchObject({ accepted: 1 });
    expect((await app.inject({ method: 'POST', url: '/api/v1/hooks/registry?registry=nope', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: '{"events":[]}' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'POST', url: '/api/v1/hooks/registry', headers: { 'content-type': 'application/json' }, payload: '{"events":[]}' })).statusCode).toBe(401);
    const broken = await app.inject({ method: 'POST', url: '/api/v1/hooks/registry', headers: { authorization: `Bearer ${token}`, 'content-type': REGISTRY_EVENTS_MEDIA_TYPE }, payload: '{"events":' });
    expect(broken.statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/v1/hooks/registry', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: '{"nothing":1}' })).statusCode).toBe(400);
    const jobs = await store.claimJobs(POLL_QUEUE, 10, 1000);
    expect(jobs.map((j) => j.payload.tag).sort()).toEqual(['v2', 'v3']);
    for (const j of jobs) await store.completeJob(j.id, j.lease!);
    // the route is in the OpenAPI document
    expect(Object.keys((await app.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json().paths)).toContain('/api/v1/hooks/registry');
  });

  it('schedules one poll per registry and slot', async () => {
    const reg = await store.registries.create(ctx, { name: 'sched', url: 'reg.example.com:5000', repositories: ['x'], pollIntervalSeconds: 60 });
    const seen = new Map<string, number>();
    const t0 = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    expect(await schedulePolls(store, t0, seen)).toBe(1);
    expect(await schedulePolls(store, new Date(t0.getTime() + 30_000), seen)).toBe(0); // same slot
    const [job] = await store.claimJobs(POLL_QUEUE, 5, 1000);
    expect(job).toMatchObject({ payload: { registryId: reg.id }, dedupeKey: `poll:${reg.id}:${t0.getTime() / 60_000}` });
    await store.completeJob(job!.id, job!.lease!);
    expect(await schedulePolls(store, new Date(t0.getTime() + 60_000), seen)).toBe(1); // next slot
    // another process (its own memory) in the same slot while the job is queued: deduplicated by the store
    expect(await schedulePolls(store, new Date(t0.getTime() + 61_000), new Map())).toBe(0);
  });
});
