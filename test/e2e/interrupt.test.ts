/**
 * Ctrl-C in the middle of a run: the command exits with 130 and removes its temporary files. The
 * image comes from a local registry stub that serves the manifest and config and then stalls on the
 * layer, so the run is reliably waiting (with its spill directory made) when the signal arrives.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from '../testkit/index.js';
import { CLI, sandboxEnv } from '../harness/cli.js';

let img: BuiltImage;
let server: Server;
let host = '';
let layerRequested: () => void = () => {};
const root = mkdtempSync(join(tmpdir(), 'drydock-interrupt-'));

beforeAll(async () => {
  img = await buildImage({ layers: [[{ path: '/etc/os-release', content: 'ID=stall\n' }]] });
  const layer = img.layers[0]!.digest;
  server = createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v2/' || url === '/v2') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    if (url.startsWith('/v2/stall/app/manifests/')) {
      res.writeHead(200, { 'content-type': img.manifest.mediaType, 'docker-content-digest': img.manifest.digest, 'content-length': img.manifest.bytes.length });
      return void res.end(req.method === 'HEAD' ? undefined : img.manifest.bytes);
    }
    const m = /^\/v2\/stall\/app\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url);
    const blob = m ? img.blobs.get(m[1]!) : undefined;
    if (!blob) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length });
    if (m![1] !== layer) return void res.end(blob);
    res.write(blob.subarray(0, 10)); // then nothing more: the run waits here
    layerRequested();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(root, { recursive: true, force: true });
});

describe('an interrupted run', () => {
  it('exits with 130 on SIGINT and leaves no temporary files', async () => {
    const env = sandboxEnv(root);
    mkdirSync(env.TMPDIR!, { recursive: true });
    const requested = new Promise<void>((r) => (layerRequested = r));
    const child = spawn(process.execPath, [CLI, 'sbom', `${host}/stall/app:v1`, '--insecure-registry', host, '--no-cache', '-o', join(root, 'out.json')], { env });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await requested;
    // the run is now waiting for the layer, its spill directory made
    expect(readdirSync(env.TMPDIR!).filter((n) => n.startsWith('drydock-'))).not.toEqual([]);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/interrupted \(SIGINT\)/);
    expect(readdirSync(env.TMPDIR!)).toEqual([]);
    expect(readdirSync(root).filter((n) => n.includes('out.json'))).toEqual([]);
  }, 30_000);

  it('a command blocked reading a key file that is a FIFO still dies on SIGTERM (no work files, default handling)', async () => {
    const env = sandboxEnv(root);
    const fifo = join(root, 'key.fifo');
    execFileSync('mkfifo', [fifo]);
    const child = spawn(process.execPath, [CLI, 'public-key', '--key', fifo], { env });
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
    try {
      await new Promise((r) => setTimeout(r, 500)); // started and blocked in the read
      child.kill('SIGTERM');
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 5000))])).toBe('SIGTERM');
    } finally {
      child.kill('SIGKILL'); // a no-op when it is gone
    }
  }, 30_000);
});
