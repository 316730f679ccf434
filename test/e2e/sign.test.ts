/**
 * sign / verify / tree / clean end to end against the real registry, through the commander commands
 * (in process: the commands are registered in main.ts by the lead), with a key file written by cosign
 * itself (../shared/interop/cosign, password `hello`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrydockError } from '../../src/core/errors.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import { cleanCommand, signCommand, treeCommand, verifyCommand } from '../../src/cli/commands/sign.js';
import { copyCommand } from '../../src/cli/commands/copy.js';
import { attestCommands } from '../../src/cli/commands/attest.js';
import { buildTestImage, startRegistry, type TestRegistry } from '../harness/registry.js';
import { startSigstore, type SigstoreHarness } from '../harness/sigstore.js';

const COSIGN_KEY = join(import.meta.dirname, '../../../shared/interop/cosign/pemsigstorekey.key');

async function run(args: string[]): Promise<{ error?: DrydockError }> {
  const program = new Command('drydock').exitOverride();
  for (const c of [signCommand(), verifyCommand(), treeCommand(), cleanCommand(), copyCommand(), ...attestCommands()]) program.addCommand(c.exitOverride());
  try {
    await program.parseAsync(['node', 'drydock', ...args]);
    return {};
  } catch (e) {
    if (e instanceof DrydockError) return { error: e };
    throw e;
  }
}

describe('drydock sign / verify / tree / clean', () => {
  let reg: TestRegistry;
  let dir: string;
  const img = buildTestImage('e2e');
  const saved = process.env.DRYDOCK_PASSWORD;

  beforeAll(async () => {
    process.env.DRYDOCK_PASSWORD = 'hello';
    reg = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'drydock-sign-e2e-'));
    const client = new RegistryClient({ insecure: [reg.host] });
    const repo = { registry: reg.host, repository: 'app' };
    await client.putBlob(repo, img.config, img.config.bytes);
    for (const l of img.layers) await client.putBlob(repo, l, l.bytes);
    await client.putManifest(repo, 'v1', img.manifest);
    await client.close();
  }, 30_000);

  afterAll(async () => {
    if (saved === undefined) delete process.env.DRYDOCK_PASSWORD;
    else process.env.DRYDOCK_PASSWORD = saved;
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs with a cosign key, verifies, lists and cleans', async () => {
    const image = `${reg.host}/app:v1`;
    const common = ['--insecure-registry', reg.host];
    const out = (name: string): string => join(dir, name);
    const t0 = Date.now();
    expect((await run(['sign', image, '--key', COSIGN_KEY, '-a', 'env=prod,eu', ...common, '-o', out('sign.txt')])).error).toBeUndefined();
    const signMs = Date.now() - t0;
    expect(readFileSync(out('sign.txt'), 'utf8')).toMatch(new RegExp(`^signed ${img.manifest.digest}: tag ${reg.host}/app:sha256-[0-9a-f]{64}\\.sig layer 0`));
    expect((await run(['sign', image, '--key', COSIGN_KEY, '--signature-format', 'bundle', '-a', 'env=prod,eu', ...common, '-o', out('sign2.txt')])).error).toBeUndefined();

    const t1 = Date.now();
    expect((await run(['verify', image, '--key', COSIGN_KEY, '-a', 'env=prod,eu', '--format', 'json', ...common, '-o', out('verify.json')])).error).toBeUndefined();
    const verifyMs = Date.now() - t1;
    const v = JSON.parse(readFileSync(out('verify.json'), 'utf8')) as { digest: string; verified: boolean; checks: { verified: boolean; reason?: string }[] };
    expect(v.digest).toBe(img.manifest.digest);
    expect(v.checks.map((c) => c.verified)).toEqual([true, true]);

    // a required annotation that is not signed: both fail, exit code 1 with every reason
    const bad = await run(['verify', image, '--key', COSIGN_KEY, '-a', 'env=dev', ...common, '-o', out('bad.txt')]);
    expect(bad.error?.code).toBe('VERIFICATION_FAILED');
    expect(bad.error?.exitCode).toBe(1);
    expect(readFileSync(out('bad.txt'), 'utf8')).toMatch(/FAILED .*annotation-mismatch/);

    expect((await run(['tree', image, ...common, '-o', out('tree.txt')])).error).toBeUndefined();
    const tree = readFileSync(out('tree.txt'), 'utf8');
    expect(tree).toMatch(/signature tag .*\.sig/);
    expect(tree).toMatch(/signature referrer sha256:[0-9a-f]{64} \(application\/vnd\.dev\.sigstore\.bundle\.v0\.3\+json/);

    expect((await run(['clean', image, '--type', 'signature', ...common, '-o', out('clean.txt')])).error).toBeUndefined();
    const none = await run(['verify', image, '--key', COSIGN_KEY, ...common, '-o', out('none.txt')]);
    expect(none.error?.code).toBe('SIGNATURE_NOT_FOUND');
    // in-process timings (no process start): a loose guard against a path that reads layers
    expect(signMs).toBeLessThan(3000);
    expect(verifyMs).toBeLessThan(3000);
  }, 60_000);

  it('refuses a wrong key password and an unknown signature format', async () => {
    process.env.DRYDOCK_PASSWORD = 'nope';
    try {
      const r = await run(['sign', `${reg.host}/app:v1`, '--key', COSIGN_KEY, '--insecure-registry', reg.host]);
      expect(r.error?.code).toBe('KEY_PASSWORD');
    } finally {
      process.env.DRYDOCK_PASSWORD = 'hello';
    }
    await expect(run(['sign', `${reg.host}/app:v1`, '--key', COSIGN_KEY, '--signature-format', 'x'])).rejects.toThrow(/Allowed choices/);
  });
});

describe('drydock copy --include-attached', () => {
  let reg: TestRegistry;
  let dir: string;
  const img = buildTestImage('carried');
  const saved = process.env.DRYDOCK_PASSWORD;

  beforeAll(async () => {
    process.env.DRYDOCK_PASSWORD = 'hello';
    reg = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'drydock-copy-attached-'));
    const client = new RegistryClient({ insecure: [reg.host] });
    const repo = { registry: reg.host, repository: 'src' };
    await client.putBlob(repo, img.config, img.config.bytes);
    for (const l of img.layers) await client.putBlob(repo, l, l.bytes);
    await client.putManifest(repo, 'v1', img.manifest);
    await client.close();
  }, 30_000);
  afterAll(async () => {
    if (saved === undefined) delete process.env.DRYDOCK_PASSWORD;
    else process.env.DRYDOCK_PASSWORD = saved;
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries the .sig tag and the bundle referrer to another repository and into a layout, where they verify', async () => {
    const common = ['--insecure-registry', reg.host, '-q'];
    const src = `${reg.host}/src:v1`;
    expect((await run(['sign', src, '--key', COSIGN_KEY, ...common, '-o', join(dir, 's1')])).error).toBeUndefined();
    expect((await run(['sign', src, '--key', COSIGN_KEY, '--signature-format', 'bundle', ...common, '-o', join(dir, 's2')])).error).toBeUndefined();
    const layout = `oci-dir:${join(dir, 'layout')}:v1`;
    for (const dest of [`${reg.host}/dst:v1`, layout]) {
      // without --include-attached nothing follows the image
      if (dest !== layout) {
        expect((await run(['copy', src, dest, ...common, '-o', join(dir, 'c0')])).error).toBeUndefined();
        expect((await run(['verify', dest, '--key', COSIGN_KEY, ...common, '-o', join(dir, 'v0')])).error?.code).toBe('SIGNATURE_NOT_FOUND');
      }
      expect((await run(['copy', src, dest, '--include-attached', ...common, '-f', 'json', '-o', join(dir, 'c1')])).error).toBeUndefined();
      const copied = JSON.parse(readFileSync(join(dir, 'c1'), 'utf8')) as { attached: { tags: unknown[]; referrers: unknown[] } };
      expect([copied.attached.tags.length, copied.attached.referrers.length]).toEqual([1, 1]);
      expect((await run(['verify', dest, '--key', COSIGN_KEY, '--format', 'json', ...common, '-o', join(dir, 'v1')])).error).toBeUndefined();
      const v = JSON.parse(readFileSync(join(dir, 'v1'), 'utf8')) as { digest: string; checks: { verified: boolean }[] };
      expect(v.digest).toBe(img.manifest.digest);
      expect(v.checks.map((c) => c.verified)).toEqual([true, true]);
    }
  }, 60_000);
});

describe('drydock sign --keyless / verify --certificate-identity against a local Fulcio and Rekor', () => {
  let reg: TestRegistry;
  let h: SigstoreHarness;
  let dir: string;
  const img = buildTestImage('keyless');

  beforeAll(async () => {
    reg = await startRegistry();
    h = await startSigstore();
    dir = mkdtempSync(join(tmpdir(), 'drydock-sign-keyless-'));
    writeFileSync(join(dir, 'root.json'), JSON.stringify(h.trustedRoot));
    const client = new RegistryClient({ insecure: [reg.host] });
    const repo = { registry: reg.host, repository: 'keyless' };
    await client.putBlob(repo, img.config, img.config.bytes);
    for (const l of img.layers) await client.putBlob(repo, l, l.bytes);
    await client.putManifest(repo, 'v1', img.manifest);
    await client.close();
  }, 30_000);
  afterAll(async () => {
    await reg?.stop();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs with a Fulcio certificate logged in Rekor, in both layouts, and verifies identity and issuer offline', async () => {
    const image = `${reg.host}/keyless:v1`;
    const common = ['--insecure-registry', reg.host];
    const token = h.token({ sub: 'release@example.com', email: 'release@example.com', iss: 'https://issuer.example' });
    const sigstore = ['--fulcio-url', h.fulcioUrl, '--rekor-url', h.rekorUrl, '--identity-token', token];
    expect((await run(['sign', image, '--keyless', ...sigstore, ...common, '-o', join(dir, 's1.txt')])).error).toBeUndefined();
    expect((await run(['sign', image, '--keyless', '--signature-format', 'bundle', ...sigstore, ...common, '-o', join(dir, 's2.txt')])).error).toBeUndefined();
    expect(h.requests.some((r) => r.includes('/api/v1/log/entries'))).toBe(true);
    const trust = ['--trusted-root', join(dir, 'root.json')];
    const ok = await run(['verify', image, '--certificate-identity', 'release@example.com', '--certificate-oidc-issuer', 'https://issuer.example', ...trust, '--format', 'json', ...common, '-o', join(dir, 'v.json')]);
    expect(ok.error).toBeUndefined();
    const v = JSON.parse(readFileSync(join(dir, 'v.json'), 'utf8')) as { checks: { verified: boolean; evidence: string[]; reason?: string }[] };
    expect(v.checks.map((c) => c.verified)).toEqual([true, true]);
    expect(v.checks[0]!.evidence).toEqual(expect.arrayContaining(['certificate-chain', 'identity']));
    // another identity, another issuer, and the public-good root (which does not trust the local Fulcio) all fail
    const who = await run(['verify', image, '--certificate-identity', 'someone@example.com', '--certificate-oidc-issuer', 'https://issuer.example', ...trust, ...common, '-o', join(dir, 'w.txt')]);
    expect(who.error?.code).toBe('VERIFICATION_FAILED');
    expect(readFileSync(join(dir, 'w.txt'), 'utf8')).toMatch(/identity-mismatch/);
    const iss = await run(['verify', image, '--certificate-identity', 'release@example.com', '--certificate-oidc-issuer', 'https://other.example', ...trust, ...common, '-o', join(dir, 'i.txt')]);
    expect(readFileSync(join(dir, 'i.txt'), 'utf8')).toMatch(/issuer-mismatch/);
    expect(iss.error?.code).toBe('VERIFICATION_FAILED');
    const pub = await run(['verify', image, '--certificate-identity', 'release@example.com', '--certificate-oidc-issuer', 'https://issuer.example', ...common, '-o', join(dir, 'p.txt')]);
    expect(pub.error?.code).toBe('VERIFICATION_FAILED');
    // a keyless attestation: the same certificate path, for an in-toto statement about the image
    writeFileSync(join(dir, 'prov.json'), JSON.stringify({ builder: { id: 'https://ci.example/builder' }, buildType: 'https://example.com/v1', invocation: {} }));
    expect((await run(['attest', image, '--keyless', ...sigstore, '--predicate', join(dir, 'prov.json'), '--type', 'slsaprovenance', ...common, '-o', join(dir, 'a1.txt')])).error).toBeUndefined();
    const att = await run(['verify-attestation', image, '--type', 'slsaprovenance', '--certificate-identity', 'release@example.com', '--certificate-oidc-issuer', 'https://issuer.example', ...trust, '--format', 'json', ...common, '-o', join(dir, 'a2.json')]);
    expect(att.error).toBeUndefined();
    const a2 = JSON.parse(readFileSync(join(dir, 'a2.json'), 'utf8')) as { checks: { verified: boolean }[] };
    expect(a2.checks.some((c) => c.verified)).toBe(true);
    const attWho = await run(['verify-attestation', image, '--type', 'slsaprovenance', '--certificate-identity', 'mallory@example.com', '--certificate-oidc-issuer', 'https://issuer.example', ...trust, ...common, '-o', join(dir, 'a3.txt')]);
    expect(attWho.error?.code).toBe('VERIFICATION_FAILED');
    // a key-based verification does not accept a certificate it was not told to trust
    expect((await run(['verify', image, ...common])).error?.code).toBe('USAGE');
    // a key-based signature is logged only when asked: --tlog-upload records it in Rekor, in cosign's bundle annotation
    process.env.DRYDOCK_PASSWORD = 'hello';
    const logged = h.requests.filter((r) => r.includes('/api/v1/log/entries')).length;
    expect((await run(['sign', image, '--key', COSIGN_KEY, ...common, '-o', join(dir, 'k1.txt')])).error).toBeUndefined();
    expect(h.requests.filter((r) => r.includes('/api/v1/log/entries')).length).toBe(logged);
    expect((await run(['sign', image, '--key', COSIGN_KEY, '--tlog-upload', '--rekor-url', h.rekorUrl, '-a', 'logged=yes', ...common, '-o', join(dir, 'k2.txt')])).error).toBeUndefined();
    expect(h.requests.filter((r) => r.includes('/api/v1/log/entries')).length).toBe(logged + 1);
    const client = new RegistryClient({ insecure: [reg.host] });
    const sig = await client.getManifest({ registry: reg.host, repository: 'keyless' }, `sha256-${img.manifest.digest.slice(7)}.sig`);
    await client.close();
    const layers = (JSON.parse(sig.bytes.toString()) as { layers: { annotations: Record<string, string> }[] }).layers;
    expect(layers.at(-1)!.annotations['dev.sigstore.cosign/bundle']).toMatch(/"logIndex"/);
    expect((await run(['verify', image, '--key', COSIGN_KEY, '-a', 'logged=yes', ...common, '-o', join(dir, 'k3.txt')])).error).toBeUndefined();
    // --require-tlog: the logged signature verifies with its Rekor entry checked against the trusted root; the
    // unlogged one fails with tlog-missing; with the public-good root (which does not know the local log) nothing does
    const req = await run(['verify', image, '--key', COSIGN_KEY, '--require-tlog', ...trust, '--format', 'json', ...common, '-o', join(dir, 'k4.json')]);
    expect(req.error).toBeUndefined();
    const k4 = JSON.parse(readFileSync(join(dir, 'k4.json'), 'utf8')) as { checks: { source: string; verified: boolean; reason?: string; evidence: string[] }[] };
    const keyed = k4.checks.filter((c) => c.source.includes('.sig'));
    expect(keyed.filter((c) => c.verified).map((c) => c.evidence.includes('signature') && c.evidence.some((e) => e.startsWith('tlog')))).toEqual([true]);
    expect(keyed.filter((c) => !c.verified && c.reason === 'tlog-missing').length).toBeGreaterThanOrEqual(1);
    const otherRoot = await run(['verify', image, '--key', COSIGN_KEY, '-a', 'logged=yes', '--require-tlog', ...common, '-o', join(dir, 'k5.txt')]);
    expect(otherRoot.error?.code).toBe('VERIFICATION_FAILED');
    delete process.env.DRYDOCK_PASSWORD;
  }, 60_000);
});
