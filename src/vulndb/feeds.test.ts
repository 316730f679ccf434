import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync, strToU8 } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssueLog } from '../core/issues.js';
import { cvssBaseScore, importFeeds, parseSourceSpec, updateDb, VulnDb } from './index.js';
import { detectFeed } from './feeds/detect.js';

const TD = new URL('./testdata/', import.meta.url).pathname;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drydock-feeds-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('small feeds', () => {
  it('detects kinds from content', () => {
    const gz = join(dir, 'epss.csv.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(TD, 'epss-sample.csv'))));
    expect(detectFeed(join(TD, 'secdb-v3.19-main.json')).kind).toBe('alpine-secdb');
    expect(detectFeed(join(TD, 'nvd-sample.json')).kind).toBe('nvd');
    expect(detectFeed(join(TD, 'kev-sample.json')).kind).toBe('kev');
    expect(detectFeed(join(TD, 'epss-sample.csv')).kind).toBe('epss');
    expect(detectFeed(gz)).toEqual({ kind: 'epss', gzip: true });
    expect(detectFeed(join(TD, 'osv-dir')).kind).toBe('osv-dir');
    expect(detectFeed(join(TD, 'osv-dir/PYSEC-2099-1.yaml')).kind).toBe('osv-json');
  });

  it('imports secdb, nvd, epss (plain and gzip), kev and an osv yaml/json directory', async () => {
    const path = join(dir, 'small.db');
    const nvdGz = join(dir, 'nvdcve-2.0-sample.json.gz');
    writeFileSync(nvdGz, gzipSync(readFileSync(join(TD, 'nvd-sample.json'))));
    const issues = new IssueLog();
    const s = await importFeeds(path, [
      { path: join(TD, 'secdb-v3.19-main.json') },
      { path: nvdGz },
      { path: join(TD, 'epss-sample.csv') },
      { path: join(TD, 'kev-sample.json') },
      { path: join(TD, 'osv-dir') },
    ], { issues });
    expect(s.inputs.map((i) => [i.kind, i.source, i.records, i.skipped])).toEqual([
      ['alpine-secdb', 'alpine-secdb:v3.19/main', 6, 1],
      ['nvd', 'nvd:nvdcve-2.0-sample', 2, 1],
      ['epss', 'epss', 2, 1],
      ['kev', 'kev', 2, 1],
      ['osv-dir', 'osv-dir:osv-dir', 2, 1],
    ]);
    expect(issues.issues.every((i) => i.code === 'FEED_INVALID')).toBe(true);
    expect(issues.issues).toHaveLength(5);
    const db = VulnDb.open(path);
    try {
      // secdb: fixed versions become ranges, "0" is recorded as not affected without a range
      const ossl = db.affected('Alpine:v3.19', 'openssl');
      expect(ossl.map((e) => e.advisoryId)).toEqual(['ALPINE-CVE-2022-1234', 'ALPINE-CVE-2023-5678', 'ALPINE-CVE-2023-6237', 'ALPINE-CVE-2024-0727']);
      expect(ossl[0]!.affected).toEqual({ package: { ecosystem: 'Alpine:v3.19', name: 'openssl' }, versions: [], database_specific: { 'alpine-secdb': 'not-affected' } });
      expect(ossl[1]!.affected.ranges).toEqual([{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '3.1.4-r1' }] }]);
      expect(ossl[1]!.source).toBe('alpine-secdb:v3.19/main');
      expect(db.advisory('ALPINE-CVE-2023-5678')!.aliases).toEqual(['CVE-2023-5678']);
      expect(db.affected('Alpine:v3.19', 'busybox')).toHaveLength(2);
      // nvd: scores recomputed from the vectors
      expect(db.nvdCvss('CVE-2021-44228')).toEqual([
        { version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', score: 10, source: 'nvd' },
        { version: '2.0', vector: 'AV:N/AC:M/Au:N/C:C/I:C/A:C', score: 9.3, source: 'nvd' },
      ]);
      expect(db.nvdCvss('CVE-2024-0001')).toEqual([
        { version: '4.0', vector: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N', score: 9.3, source: 'nvd:cna@example.org' },
        { version: '3.0', vector: 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N', score: 9.1, source: 'nvd' },
      ]);
      expect(db.epss('CVE-2021-44228')).toEqual({ score: 0.97565, percentile: 0.99996, date: '2025-01-02' });
      expect(db.epss('CVE-1999-0001')).toBeUndefined();
      expect(db.kev('CVE-2021-44228')).toEqual({ dateAdded: '2021-12-10', dueDate: '2021-12-24', knownRansomwareCampaignUse: 'Known', vendorProject: 'Apache', product: 'Log4j2' });
      // osv yaml: PyPI names are normalised (PEP 503); CVSS computed at import
      expect(db.affected('PyPI', 'foo-bar-baz')[0]!.name).toBe('Foo_Bar.Baz');
      expect(db.affected('PyPI', 'Foo.Bar_Baz')[0]!.advisoryId).toBe('PYSEC-2099-1');
      expect(db.advisory('PYSEC-2099-1')!.cvss).toEqual([{ version: '3.1', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8, source: 'PYSEC-2099-1' }]);
      expect(db.affected('Frobnicator:7', 'widget')[0]!.affected.ranges![0]!.events).toEqual([{ introduced: '0' }, { fixed: 'not a version!' }]);
    } finally {
      db.close();
    }
    // a new EPSS file (gzip) replaces the old scores
    const gz = join(dir, 'epss2.csv.gz');
    writeFileSync(gz, gzipSync('cve,epss,percentile\nCVE-2024-0001,0.5,0.9\n'));
    await importFeeds(path, [{ path: gz }]);
    const db2 = VulnDb.open(path);
    try {
      expect(db2.epss('CVE-2021-44228')).toBeUndefined();
      expect(db2.epss('CVE-2024-0001')).toEqual({ score: 0.5, percentile: 0.9 });
      expect(db2.kev('CVE-2024-0001')).toEqual({ dateAdded: '2024-02-01', knownRansomwareCampaignUse: 'Unknown' });
    } finally {
      db2.close();
    }
  });

  it('truncated json, gzip and yaml inputs are fatal FEED_INVALID naming the file', async () => {
    const path = join(dir, 'trunc.db');
    const nvd = readFileSync(join(TD, 'nvd-sample.json'));
    const cutJson = join(dir, 'nvd-cut.json');
    writeFileSync(cutJson, nvd.subarray(0, nvd.length - 40));
    const cutGz = join(dir, 'kev-cut.json.gz');
    const kevGz = gzipSync(readFileSync(join(TD, 'kev-sample.json')));
    writeFileSync(cutGz, kevGz.subarray(0, kevGz.length - 30));
    const badYamlDir = join(dir, 'yamldir');
    rmSync(badYamlDir, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(badYamlDir);
    writeFileSync(join(badYamlDir, 'X.yaml'), 'id: X\nmodified: "2025"\naffected: [ {package: {');
    for (const f of [cutJson, cutGz, badYamlDir]) {
      await expect(importFeeds(path, [{ path: f }])).rejects.toMatchObject({ code: 'FEED_INVALID', message: expect.stringContaining(f) });
    }
  });

  it('scores cvss vectors of every version and rejects incomplete ones', () => {
    expect(cvssBaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H')).toBe(9.8);
    expect(cvssBaseScore('CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N')).toBe(5.5);
    expect(cvssBaseScore('AV:N/AC:L/Au:N/C:P/I:P/A:P')).toBe(7.5);
    expect(cvssBaseScore('CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N')).toBe(9.3);
    expect(cvssBaseScore('CVSS:3.1/AV:N/AC:L')).toBeUndefined();
    expect(cvssBaseScore('nonsense')).toBeUndefined();
  });

  it('parses --db-source values', () => {
    expect(parseSourceSpec('osv:Go=https://example.org/Go/all.zip')).toEqual({ name: 'osv:Go', url: 'https://example.org/Go/all.zip', kind: 'osv-zip' });
    expect(parseSourceSpec('https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip')).toMatchObject({ name: 'osv:Rocky Linux', kind: 'osv-zip' });
    expect(parseSourceSpec('https://epss.cyentia.com/epss_scores-current.csv.gz')).toMatchObject({ name: 'epss', kind: 'epss' });
    expect(() => parseSourceSpec('kev=ftp://x')).toThrow(/not an http/);
  });
});

describe('update over http', () => {
  let server: Server;
  let base: string;
  const requests: { url: string; headers: IncomingHttpHeaders }[] = [];
  let mode: 'ok' | 'error' | 'truncated' = 'ok';
  let body: Buffer;
  let etag = '"v1"';

  beforeAll(async () => {
    body = Buffer.from(zipSync({ 'U-1.json': strToU8(JSON.stringify({ id: 'U-1', modified: '2025-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'left-pad' } }] })) }));
    server = createServer((req, res) => {
      requests.push({ url: req.url ?? '', headers: req.headers });
      // a mirror layout: the feed moved (redirect), and this server compresses on the wire
      if (req.url === '/moved/all.zip') {
        res.writeHead(302, { location: '/gz/all.zip' }).end();
        return;
      }
      if (req.url === '/gz/all.zip') {
        res.writeHead(200, { 'content-encoding': 'gzip', etag: '"gz"' }).end(gzipSync(body));
        return;
      }
      if (mode === 'error') {
        res.writeHead(500).end('boom');
        return;
      }
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      if (mode === 'truncated') {
        res.writeHead(200, { 'content-length': String(body.length), etag });
        res.write(body.subarray(0, body.length >> 1));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.writeHead(200, { 'content-length': String(body.length), etag, 'content-type': 'application/zip' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends If-None-Match, keeps data on 304, and leaves the database on 500 or a truncated body', async () => {
    const path = join(dir, 'update.db');
    const sources = [{ name: 'osv:npm', url: `${base}/npm/all.zip`, kind: 'osv-zip' as const }];
    const first = await updateDb(path, sources, { timeoutMs: 5000 });
    expect(first.unchanged).toBe(false);
    expect(first.sources).toEqual([{ name: 'osv:npm', url: sources[0]!.url, status: 'updated', bytes: body.length, records: 1 }]);
    expect(requests[0]!.headers['if-none-match']).toBeUndefined();

    const second = await updateDb(path, sources, { timeoutMs: 5000 });
    expect(requests[1]!.headers['if-none-match']).toBe('"v1"');
    expect(second).toMatchObject({ unchanged: true, digest: first.digest, sources: [{ status: 'not-modified' }] });
    let db = VulnDb.open(path);
    expect(db.affected('npm', 'left-pad').map((e) => e.advisoryId)).toEqual(['U-1']);
    db.close();

    mode = 'error';
    await expect(updateDb(path, sources, { timeoutMs: 5000, retries: 1 })).rejects.toMatchObject({ code: 'FEED_UNAVAILABLE' });
    expect(requests).toHaveLength(4); // one retry
    etag = '"v2"';
    mode = 'truncated';
    await expect(updateDb(path, sources, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'FEED_UNAVAILABLE' });
    db = VulnDb.open(path);
    expect(db.info().digest).toBe(first.digest);
    expect(db.affected('npm', 'left-pad')).toHaveLength(1);
    db.close();

    // a changed feed is downloaded again and replaces the source
    mode = 'ok';
    body = Buffer.from(zipSync({ 'U-2.json': strToU8(JSON.stringify({ id: 'U-2', modified: '2025-02-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'left-pad' } }] })) }));
    const third = await updateDb(path, sources, { timeoutMs: 5000 });
    expect(third.changes).toEqual({ added: 1, modified: 0, withdrawn: 0, removed: 1 });
    db = VulnDb.open(path);
    expect(db.affected('npm', 'left-pad').map((e) => e.advisoryId)).toEqual(['U-2']);
    expect(db.changes(first.digest)).toMatchObject({ added: ['U-2'], removed: ['U-1'] });
    db.close();
  });

  it('follows a redirect and decodes a gzip content coding', async () => {
    const path = join(dir, 'moved.db');
    const r = await updateDb(path, [{ name: 'osv:npm', url: `${base}/moved/all.zip`, kind: 'osv-zip' as const }], { timeoutMs: 5000 });
    expect(r.sources).toMatchObject([{ status: 'updated', bytes: body.length, records: 1 }]);
    expect(requests.slice(-2).map((q) => q.url)).toEqual(['/moved/all.zip', '/gz/all.zip']);
  });
});
