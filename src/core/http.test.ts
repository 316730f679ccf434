/**
 * The HTTP transport against local servers: CONNECT tunnels through a proxy (with proxy
 * credentials) to an HTTPS server that only a CA file makes trusted, NO_PROXY, idle timeouts in a
 * body, and dump() of large bodies. The registry client's behaviour on top of it is tested in
 * src/image/registry (fake and real registries); the feed downloads in src/vulndb.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump, HttpTransport } from './http.js';

const listen = (s: Server | HttpsServer): Promise<number> =>
  new Promise((r) => s.listen(0, '127.0.0.1', () => r((s.address() as AddressInfo).port)));
const close = (s: Server | HttpsServer): Promise<void> =>
  new Promise((r) => {
    s.closeAllConnections();
    s.close(() => r());
  });

async function text(body: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const c of body) s += String(c);
  return s;
}

describe('HttpTransport', () => {
  let dir: string;
  let ca: string;
  let tlsServer: HttpsServer;
  let tlsPort = 0;
  let plain: Server;
  let plainPort = 0;
  let proxy: Server;
  let proxyPort = 0;
  const connects: { target: string; auth: string | undefined }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drydock-http-'));
    // a certificate for a name that is not loopback, so that the request goes through the proxy
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=registry.example.invalid', '-addext', 'subjectAltName=DNS:registry.example.invalid'], { stdio: 'ignore' });
    ca = readFileSync(join(dir, 'c.pem'), 'utf8');
    tlsServer = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: ca }, (req, res) => res.end(`tls ${req.headers.host} ${req.url}`));
    tlsPort = await listen(tlsServer);
    plain = createServer((req, res) => {
      if (req.url === '/stall') {
        res.writeHead(200, { 'content-length': '10' });
        res.write('12345');
        return;
      }
      if (req.url === '/endless') {
        // a body that never ends: only dump()'s limit ends the wait for it
        res.writeHead(200);
        const tick = setInterval(() => res.write(Buffer.alloc(64 * 1024)), 1);
        res.on('close', () => clearInterval(tick));
        return;
      }
      res.end(`plain ${req.url}`);
    });
    plainPort = await listen(plain);
    // a forward proxy: CONNECT to registry.example.invalid:443 reaches the local TLS server
    proxy = createServer((_req, res) => {
      res.writeHead(502);
      res.end();
    });
    proxy.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      connects.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] });
      if (req.url !== 'registry.example.invalid:443') {
        client.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const upstream = connect(tlsPort, '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    proxyPort = await listen(proxy);
  });

  afterAll(async () => {
    await Promise.all([close(tlsServer), close(plain), close(proxy)]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('tunnels HTTPS through the proxy with its credentials, trusting the CA file', async () => {
    connects.length = 0;
    const t = new HttpTransport({ ca: [...rootCertificates, ca], env: { HTTPS_PROXY: `http://user:p%40ss@127.0.0.1:${proxyPort}` } });
    try {
      const res = await t.request(new URL('https://registry.example.invalid/v2/'), { method: 'GET', headers: {}, timeoutMs: 5000 });
      expect(res.statusCode).toBe(200);
      expect(await text(res.body)).toBe('tls registry.example.invalid /v2/');
      expect(connects).toEqual([{ target: 'registry.example.invalid:443', auth: `Basic ${Buffer.from('user:p@ss').toString('base64')}` }]);
    } finally {
      t.close();
    }
    // without the CA the same tunnel fails the certificate check
    const strict = new HttpTransport({ env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` } });
    try {
      await expect(strict.request(new URL('https://registry.example.invalid/v2/'), { method: 'GET', headers: {}, timeoutMs: 5000 })).rejects.toMatchObject({
        code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/),
      });
    } finally {
      strict.close();
    }
  });

  it('fails closed when the proxy refuses the tunnel', async () => {
    const t = new HttpTransport({ env: { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` } });
    try {
      await expect(t.request(new URL('https://other.example.invalid/'), { method: 'GET', headers: {}, timeoutMs: 5000 })).rejects.toThrow(/refused the tunnel.*403/);
    } finally {
      t.close();
    }
  });

  it('goes direct for NO_PROXY entries and loopback', async () => {
    connects.length = 0;
    const env = { HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`, HTTP_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: 'foo.test,.example.invalid' };
    const t = new HttpTransport({ ca: [...rootCertificates, ca], env });
    try {
      // a NO_PROXY suffix: resolved directly (and this name does not resolve)
      await expect(t.request(new URL('https://registry.example.invalid/v2/'), { method: 'GET', headers: {}, timeoutMs: 5000 })).rejects.toMatchObject({ code: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/) });
      // loopback never uses the proxy (the proxy would answer 502)
      const res = await t.request(new URL(`http://127.0.0.1:${plainPort}/x`), { method: 'GET', headers: {}, timeoutMs: 5000 });
      expect(await text(res.body)).toBe('plain /x');
      expect(connects).toEqual([]);
    } finally {
      t.close();
    }
  });

  it('times out in a body that stalls, and dump() closes large bodies', async () => {
    const t = new HttpTransport({ env: {} });
    try {
      const res = await t.request(new URL(`http://127.0.0.1:${plainPort}/stall`), { method: 'GET', headers: {}, timeoutMs: 200 });
      expect(res.statusCode).toBe(200);
      await expect(text(res.body)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
      const endless = await t.request(new URL(`http://127.0.0.1:${plainPort}/endless`), { method: 'GET', headers: {}, timeoutMs: 5000 });
      await dump(endless.body);
      expect(endless.body.destroyed).toBe(true);
      // the pool still works after both
      const ok = await t.request(new URL(`http://127.0.0.1:${plainPort}/after`), { method: 'GET', headers: {}, timeoutMs: 5000 });
      expect(await text(ok.body)).toBe('plain /after');
    } finally {
      t.close();
    }
  });
});
