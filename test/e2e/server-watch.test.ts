/**
 * Watched registries against Debian's real docker-registry: polling (catalog glob, two tags, one of them
 * moved to a new digest), push events through the registry's notifications endpoint to the running
 * server, and `drydock scan --server`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scanCommand } from '../../src/cli/commands/scan.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import { startServer, type RunningServer } from '../../src/server/index.js';
import { makeVulnDb } from '../../src/server/http/testing.js';
import { startWatcher, type Watcher } from '../../src/server/watch/jobs.js';
import { buildImage, type BuiltImage } from '../testkit/index.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';

type J = any; // eslint-disable-line @typescript-eslint/no-explicit-any

/** an image holding lodash at a version (CVE-2021-23337 below 4.17.21) */
function lodashImage(version: string, owner = 'team@example.com'): Promise<BuiltImage> {
  return buildImage({
    config: { labels: { 'org.opencontainers.image.authors': owner } },
    layers: [{ createdBy: 'COPY app/ /app/', entries: [
      { path: 'app/package.json', content: `{"name":"app","version":"1.0.0","dependencies":{"lodash":"${version}"}}` },
      { path: 'app/node_modules/lodash/package.json', content: `{"name":"lodash","version":"${version}","license":"MIT"}` },
    ] }],
  });
}

async function push(reg: TestRegistry, repository: string, tag: string, img: BuiltImage): Promise<void> {
  const client = new RegistryClient({ insecure: [reg.host], ...(reg.username ? { username: reg.username, password: reg.password! } : {}) });
  const repo = { registry: reg.host, repository };
  try {
    await client.putBlob(repo, { mediaType: 'application/vnd.oci.image.config.v1+json', digest: img.configDigest, size: img.config.length }, img.config);
    for (const l of img.layers) await client.putBlob(repo, { mediaType: l.mediaType, digest: l.digest, size: l.blob.length }, l.blob);
    await client.putManifest(repo, tag, img.manifest);
  } finally {
    await client.close();
  }
}

let work: string;
let server: RunningServer;
let watcher: Watcher;
let token: string;
let polled: TestRegistry;
let hooked: TestRegistry;
const watchLog: J[] = [];

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: J }> {
  const r = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : undefined };
}

/** POST /registries/{id}/poll, then the summary of that job (the watcher's loop or drain() may run it) */
async function pollNow(id: string): Promise<J> {
  const r = await api('POST', `/api/v1/registries/${id}/poll`);
  expect(r.status).toBe(202);
  await watcher.drain(); // runs after any round in progress: the job is done when it returns
  const done = watchLog.filter((e) => e.type === 'poll-done' && e.job.id === r.json.job);
  expect(done).toHaveLength(1);
  return done[0].summary;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'drydock-watch-e2e-'));
  const dbPath = await makeVulnDb(work);
  server = await startServer({ dataDir: join(work, 'data'), listen: '127.0.0.1:0', vulnDbPath: dbPath, dbWatchMs: 0 });
  const team = await server.store.createTeam('platform', 'test');
  token = (await server.store.createToken({ teamId: team.id, actor: 'test' }, { name: 'ci', scope: 'admin' })).secret;
  // the registry the server polls, and one that notifies the server of every push
  polled = await startRegistry();
  hooked = await startRegistry({ notifications: [{ name: 'drydock', url: `${server.url}/api/v1/hooks/registry`, headers: { Authorization: [`Bearer ${token}`] } }] });
  // the registry watcher as a server process runs it; the layer cache lives in the work directory
  watcher = startWatcher(server.store, { db: server.app.vulnDb, sbomOptions: { cacheDir: join(work, 'cache') }, tickMs: 100, log: (e) => watchLog.push(e) });
}, 60_000);

afterAll(async () => {
  await watcher?.stop();
  await server?.close();
  await polled?.stop();
  await hooked?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('watched registries (real docker-registry)', () => {
  it('polls: a glob over the catalog, two tags on one digest, then one tag moved to a new digest', async () => {
    const v1 = await lodashImage('4.17.20');
    await push(polled, 'team/app', 'v1', v1);
    await push(polled, 'team/app', 'stable', v1);
    await push(polled, 'other/app', 'v1', v1); // not watched
    const spec = await api('POST', '/api/v1/registries', { name: 'polled', url: `http://${polled.host}`, repositories: ['team/*'], pollIntervalSeconds: 0 });
    expect(spec.status).toBe(201);

    const s1 = await pollNow(spec.json.id);
    expect(s1).toMatchObject({ registry: 'polled', repositories: 1, tags: 2, ingested: 1, moved: 0, unchanged: 0, errors: [] });
    expect(s1.images).toEqual([`${polled.host}/team/app@${v1.manifest.digest}`]);

    const images = (await api('GET', `/api/v1/images?repository=${polled.host}/team/app`)).json.items;
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ digest: v1.manifest.digest, tags: ['stable', 'v1'], owners: ['team@example.com'] });
    const f1 = (await api('GET', `/api/v1/images/${v1.manifest.digest}/findings`)).json.items;
    expect(f1.map((x: J) => `${x.vulnerabilityId} ${x.finding.package.name}@${x.finding.package.version} ${x.state}`)).toEqual(['CVE-2021-23337 lodash@4.17.20 new']);
    expect((await api('GET', `/api/v1/images?repository=${polled.host}/other/app`)).json.items).toEqual([]);

    // a second poll with nothing new writes nothing
    const s2 = await pollNow(spec.json.id);
    expect(s2).toMatchObject({ tags: 2, ingested: 0, moved: 0, unchanged: 2 });

    // v1 moves to a fixed build: the new digest is catalogued and matched, the old one keeps stable only
    const v2 = await lodashImage('4.17.15');
    await push(polled, 'team/app', 'v1', v2);
    const s3 = await pollNow(spec.json.id);
    expect(s3).toMatchObject({ tags: 2, ingested: 1, moved: 1, unchanged: 1, errors: [] });
    const after = (await api('GET', `/api/v1/images?repository=${polled.host}/team/app`)).json.items as J[];
    const byDigest = Object.fromEntries(after.map((i) => [i.digest, i]));
    expect(byDigest[v1.manifest.digest]).toMatchObject({ tags: ['stable'], previousTags: ['v1'] });
    expect(byDigest[v2.manifest.digest]).toMatchObject({ tags: ['v1'] });
    const f2 = (await api('GET', `/api/v1/images/${v2.manifest.digest}/findings`)).json.items;
    expect(f2.map((x: J) => x.vulnerabilityId).sort()).toEqual(['CVE-2020-8203', 'CVE-2021-23337']);
  }, 60_000);

  it('polls a private registry with the credentials its credentialsRef names (htpasswd)', async () => {
    const priv = await startRegistry({ auth: 'htpasswd' });
    try {
      const img = await lodashImage('4.17.20', 'private@example.com'); // a digest of its own: pulled, not reused
      await push(priv, 'secret/app', 'v1', img);
      const spec = await api('POST', '/api/v1/registries', { name: 'private', url: `http://${priv.host}`, repositories: ['secret/app'], pollIntervalSeconds: 0, credentialsRef: 'private-reg' });
      expect(spec.status).toBe(201);
      // no credentials yet: the job fails (listing the registry is refused) and nothing is stored
      await api('POST', `/api/v1/registries/${spec.json.id}/poll`);
      await watcher.drain();
      expect(watchLog.some((e) => e.type === 'poll-failed' && e.job.payload.registryId === spec.json.id && /no credentials/.test(e.error))).toBe(true);
      process.env.DRYDOCK_SECRET_PRIVATE_REG = `${priv.username}:${priv.password}`;
      try {
        const r = await api('POST', `/api/v1/registries/${spec.json.id}/poll`);
        await watcher.drain();
        const done = watchLog.find((e) => e.type === 'poll-done' && e.job.id === r.json.job);
        expect(done?.summary).toMatchObject({ ingested: 1, errors: [] });
      } finally {
        delete process.env.DRYDOCK_SECRET_PRIVATE_REG;
      }
      expect((await api('GET', `/api/v1/images?repository=${priv.host}/secret/app`)).json.items).toEqual([expect.objectContaining({ digest: img.manifest.digest, tags: ['v1'] })]);
    } finally {
      await priv.stop();
    }
  }, 60_000);

  it('receives push events from the registry\'s notifications and ingests the pushed tag', async () => {
    const spec = await api('POST', '/api/v1/registries', { name: 'hooked', url: `http://${hooked.host}`, repositories: ['shop/web'], pollIntervalSeconds: 0 });
    expect(spec.status).toBe(201);
    const img = await lodashImage('4.17.20', 'web@example.com');
    await push(hooked, 'shop/web', '2.0', img);
    await push(hooked, 'shop/ignored', '1.0', img); // not watched: its event is ignored
    const deadline = Date.now() + 20_000;
    let images: J[] = [];
    while (Date.now() < deadline) {
      images = (await api('GET', `/api/v1/images?repository=${hooked.host}/shop/web`)).json.items;
      if (images.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ digest: img.manifest.digest, tags: ['2.0'], owners: ['web@example.com'] });
    const f = (await api('GET', `/api/v1/images/${img.manifest.digest}/findings`)).json.items;
    expect(f.map((x: J) => x.vulnerabilityId)).toEqual(['CVE-2021-23337']);
    // the job came from the push (no poll was requested), and ingested exactly that tag
    const done = watchLog.filter((e) => e.type === 'poll-done' && e.job.payload.repository === 'shop/web');
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(done[0].job.payload).toMatchObject({ registryId: spec.json.id, repository: 'shop/web', tag: '2.0', digest: img.manifest.digest });
    expect(done[0].summary).toMatchObject({ tags: 1, ingested: 1 });
    expect((await api('GET', `/api/v1/images?repository=${hooked.host}/shop/ignored`)).json.items).toEqual([]);
  }, 60_000);

  it('refuses push events without a valid token', async () => {
    const r = await fetch(`${server.url}/api/v1/hooks/registry`, { method: 'POST', headers: { 'content-type': 'application/vnd.docker.distribution.events.v1+json' }, body: '{"events":[]}' });
    expect(r.status).toBe(401);
    const bad = await fetch(`${server.url}/api/v1/hooks/registry`, { method: 'POST', headers: { authorization: 'Bearer ddk_nope', 'content-type': 'application/vnd.docker.distribution.events.v1+json' }, body: '{"events":[]}' });
    expect(bad.status).toBe(401);
  });

  it('drydock scan --server uploads the SBOM; the server stores and matches it', async () => {
    const img = await lodashImage('4.17.20', 'ci@example.com');
    await push(polled, 'ci/build', 'sha-1234', img);
    let err = '';
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => { err += String(s); return true; });
    const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await scanCommand().parseAsync([
        `${polled.host}/ci/build:sha-1234`, '--insecure-registry', polled.host, '--db', server.app.vulnDb.path, '--skip-db-update', '--accept-stale-db',
        '--format', 'json', '--output', join(work, 'scan.json'), '--server', server.url, '--server-token', token,
      ], { from: 'user' });
    } finally {
      e.mockRestore();
      o.mockRestore();
    }
    expect(err).toContain(`uploaded ${polled.host}/ci/build@${img.manifest.digest} to ${server.url}: 1 findings (1 new, 0 resolved)`);
    const images = (await api('GET', `/api/v1/images?repository=${polled.host}/ci/build`)).json.items;
    expect(images).toEqual([expect.objectContaining({ digest: img.manifest.digest, tags: ['sha-1234'] })]);
    const f = (await api('GET', `/api/v1/images/${img.manifest.digest}/findings`)).json.items;
    expect(f.map((x: J) => `${x.vulnerabilityId} ${x.finding.package.name}@${x.finding.package.version}`)).toEqual(['CVE-2021-23337 lodash@4.17.20']);

    // a wrong token: a coded error, nothing stored
    await expect(scanCommand().parseAsync([
      `${polled.host}/ci/build:sha-1234`, '--insecure-registry', polled.host, '--db', server.app.vulnDb.path, '--skip-db-update', '--accept-stale-db',
      '--format', 'json', '--output', join(work, 'scan2.json'), '--server', server.url, '--server-token', 'ddk_wrong',
    ], { from: 'user' })).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
  }, 60_000);
});
