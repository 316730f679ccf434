/**
 * Local Fulcio (v2 signingCert), Rekor (v1 log entries) and timestamp authority servers for tests:
 * @sigstore/mock's request handlers mounted on node:http at 127.0.0.1. Never the public instances.
 * The trusted root of this deployment (CA root, CT log key, Rekor key, TSA chain) comes with it, so
 * what it issues verifies through the same offline code path as public-good bundles.
 */
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, initializeTSA, rekorHandler, tsaHandler } from '@sigstore/mock';
import { buildTrustedRootJson } from '../../src/sign/sigstore/trusted-root.js';

type Handler = ReturnType<typeof fulcioHandler>;

export interface SigstoreHarness {
  url: string;
  fulcioUrl: string;
  rekorUrl: string;
  tsaUrl: string;
  /** TrustedRoot JSON for this deployment */
  trustedRoot: Record<string, unknown>;
  /** an unsigned OIDC-shaped token (the mock Fulcio reads its claims without checking a signature) */
  token(claims?: { sub?: string; iss?: string; email?: string }): string;
  /** requests seen, by path */
  requests: string[];
  close(): Promise<void>;
}

export interface SigstoreHarnessOptions {
  /** the clock of the certificate authority (a past date issues certificates that have expired by now) */
  caClock?: Date;
  /** the clock of the log (integrated time) */
  logClock?: Date;
}

function p256(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

export async function startSigstore(opts: SigstoreHarnessOptions = {}): Promise<SigstoreHarness> {
  const caKeys = p256();
  const ctKeys = p256();
  const logKeys = p256();
  const tsaKeys = p256();
  const requests: string[] = [];
  const routes = new Map<string, Handler['fn']>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      requests.push(`${req.method} ${path}`);
      const fn = req.method === 'POST' ? routes.get(path) : undefined;
      if (!fn) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      fn(Buffer.concat(chunks).toString('utf8')).then(
        (r) => {
          res.writeHead(r.statusCode, { 'content-type': r.contentType ?? 'application/json' });
          res.end(typeof r.response === 'string' ? r.response : Buffer.from(r.response.buffer, r.response.byteOffset, r.response.byteLength));
        },
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ctlog = await initializeCTLog(ctKeys, opts.caClock);
  const ca = await initializeCA(caKeys, ctlog, opts.caClock);
  const tlog = await initializeTLog(url, logKeys, opts.logClock);
  const tsa = await initializeTSA(tsaKeys, opts.logClock);
  // The mock writes genTime with the milliseconds DER-style (trailing zeros dropped: ".12Z"), which
  // @sigstore/core's parser refuses unless there are exactly three digits; whole seconds parse always.
  if (!opts.logClock) (tsa as unknown as { getCurrentTime: () => Date }).getCurrentTime = () => new Date(Math.floor(Date.now() / 1000) * 1000);
  for (const h of [fulcioHandler(ca), rekorHandler(tlog), tsaHandler(tsa)]) routes.set(h.path, h.fn);

  const der = (v: ArrayBufferView) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  const rootDer = der(ca.rootCertificate);
  const rootStart = new Date(new X509Certificate(rootDer).validFrom);
  const trustedRoot = buildTrustedRootJson({
    certificateAuthorities: [{ uri: url, chainDer: [rootDer], start: new Date(rootStart.getTime() - 86_400_000) }],
    tlogs: [{ baseUrl: url, publicKey: logKeys.publicKey, start: new Date(0) }],
    ctlogs: [{ baseUrl: url, publicKey: ctKeys.publicKey, logId: der(ctlog.logID), start: new Date(0) }],
    timestampAuthorities: [{ uri: url, chainDer: [der(tsa.intCertificate), der(tsa.rootCertificate)], start: new Date(0) }],
  });

  return {
    url,
    fulcioUrl: url,
    rekorUrl: url,
    tsaUrl: url,
    trustedRoot,
    requests,
    token(claims = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload = { iss: 'https://oidc.test.example', sub: 'signer@example.test', aud: 'sigstore', iat: now, exp: now + 600, ...claims };
      return `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(payload)}.`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
