/**
 * sign-blob / verify-blob end to end through the commander commands (in process; the lead registers
 * them in main.ts): a key written by cosign itself, keyless against the local Fulcio/Rekor, and a real
 * public-good bundle verified offline with the seeded trusted root.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DrydockError } from '../../src/core/errors.js';
import { signBlobCommand, verifyBlobCommand } from '../../src/cli/commands/blob.js';
import { startSigstore, type SigstoreHarness } from '../harness/sigstore.js';

const COSIGN_KEY = join(import.meta.dirname, '../../../shared/interop/cosign/pemsigstorekey.key');
const TESTDATA = join(import.meta.dirname, '../../src/sign/sigstore/testdata');

async function run(args: string[]): Promise<{ error?: DrydockError }> {
  const program = new Command('drydock').exitOverride();
  for (const c of [signBlobCommand(), verifyBlobCommand()]) program.addCommand(c.exitOverride());
  try {
    await program.parseAsync(['node', 'drydock', ...args]);
    return {};
  } catch (e) {
    if (e instanceof DrydockError) return { error: e };
    throw e;
  }
}

describe('drydock sign-blob / verify-blob', () => {
  let dir: string;
  let h: SigstoreHarness;
  const saved = { pw: process.env.DRYDOCK_PASSWORD, tok: process.env.SIGSTORE_ID_TOKEN };
  const p = (n: string) => join(dir, n);

  beforeAll(async () => {
    process.env.DRYDOCK_PASSWORD = 'hello';
    delete process.env.SIGSTORE_ID_TOKEN;
    dir = mkdtempSync(join(tmpdir(), 'drydock-blob-e2e-'));
    h = await startSigstore();
    writeFileSync(p('artifact.txt'), 'release artifact\n');
    writeFileSync(p('root.json'), JSON.stringify(h.trustedRoot));
  });
  afterAll(async () => {
    for (const [k, v] of [['DRYDOCK_PASSWORD', saved.pw], ['SIGSTORE_ID_TOKEN', saved.tok]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs with a cosign key: detached signature and bundle, no log entry, and verifies both', async () => {
    const before = h.requests.length;
    expect((await run(['sign-blob', p('artifact.txt'), '--key', COSIGN_KEY, '--output-signature', p('a.sig'), '--bundle', p('a.bundle'), '-q'])).error).toBeUndefined();
    expect(h.requests.length).toBe(before);
    expect(readFileSync(p('a.sig'), 'utf8')).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect((await run(['verify-blob', p('artifact.txt'), '--signature', p('a.sig'), '--key', COSIGN_KEY, '-o', p('v1.txt')])).error).toBeUndefined();
    expect(readFileSync(p('v1.txt'), 'utf8')).toMatch(/^Verified OK: .*\n  evidence checked: signature\n?$/);
    expect((await run(['verify-blob', p('artifact.txt'), '--bundle', p('a.bundle'), '--key', COSIGN_KEY, '-f', 'json', '-o', p('v2.json')])).error).toBeUndefined();
    expect(JSON.parse(readFileSync(p('v2.json'), 'utf8'))).toMatchObject({ verified: true, evidence: ['signature'] });
    // --require-tlog: the key bundle has no log entry
    const noLog = await run(['verify-blob', p('artifact.txt'), '--bundle', p('a.bundle'), '--key', COSIGN_KEY, '--require-tlog', '-o', p('v3.txt')]);
    expect(noLog.error).toMatchObject({ code: 'VERIFICATION_FAILED', exitCode: 1 });
    expect(noLog.error?.message).toMatch(/tlog-missing/);
    // a changed file
    writeFileSync(p('changed.txt'), 'release artifacT\n');
    const bad = await run(['verify-blob', p('changed.txt'), '--signature', p('a.sig'), '--key', COSIGN_KEY, '-o', p('v4.txt')]);
    expect(bad.error?.message).toMatch(/signature-invalid/);
    expect(readFileSync(p('v4.txt'), 'utf8')).toMatch(/^Verification FAILED/);
  });

  it('key signing with --tlog-upload logs in Rekor, and --require-tlog then passes', async () => {
    expect((await run(['sign-blob', p('artifact.txt'), '--key', COSIGN_KEY, '--tlog-upload', '--rekor-url', h.rekorUrl, '--bundle', p('t.bundle'), '-o', p('t.sig'), '-q'])).error).toBeUndefined();
    expect(h.requests).toContain('POST /api/v1/log/entries');
    const r = await run(['verify-blob', p('artifact.txt'), '--bundle', p('t.bundle'), '--key', COSIGN_KEY, '--require-tlog', '--trusted-root', p('root.json'), '-o', p('t.txt')]);
    expect(r.error).toBeUndefined();
    expect(readFileSync(p('t.txt'), 'utf8')).toContain('evidence checked: signature, tlog-inclusion, tlog-set');
  });

  it('signs keylessly against the local Fulcio and Rekor and verifies with the identity policy', async () => {
    const token = h.token({ sub: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main', iss: 'https://token.actions.githubusercontent.com' });
    process.env.SIGSTORE_ID_TOKEN = token;
    try {
      const s = await run(['sign-blob', p('artifact.txt'), '--keyless', '--fulcio-url', h.fulcioUrl, '--rekor-url', h.rekorUrl, '--tsa-url', h.tsaUrl, '--bundle', p('k.bundle'), '-f', 'json', '-o', p('k.json')]);
      expect(s.error).toBeUndefined();
    } finally {
      delete process.env.SIGSTORE_ID_TOKEN;
    }
    expect(JSON.parse(readFileSync(p('k.json'), 'utf8')).evidence).toEqual(['signature', 'certificate', 'tlog-entry', 'timestamp']);
    const ok = await run([
      'verify-blob', p('artifact.txt'), '--bundle', p('k.bundle'), '--trusted-root', p('root.json'),
      '--certificate-identity-regexp', '^https://github\\.com/acme/', '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com', '-o', p('k.txt'),
    ]);
    expect(ok.error).toBeUndefined();
    const text = readFileSync(p('k.txt'), 'utf8');
    expect(text).toContain('evidence checked: signature, certificate-chain, sct, tlog-inclusion, tlog-set, timestamp, identity');
    expect(text).toContain('identity: https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main (issuer https://token.actions.githubusercontent.com)');
    const other = await run(['verify-blob', p('artifact.txt'), '--bundle', p('k.bundle'), '--trusted-root', p('root.json'), '--certificate-identity', 'someone@else', '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com', '-o', p('k2.txt')]);
    expect(other.error?.message).toMatch(/identity-mismatch/);
    // without --trusted-root the mock's certificates are not trusted
    const pg = await run(['verify-blob', p('artifact.txt'), '--bundle', p('k.bundle'), '--certificate-identity-regexp', '.', '--certificate-oidc-issuer-regexp', '.', '-o', p('k3.txt')]);
    expect(pg.error).toMatchObject({ code: 'VERIFICATION_FAILED' });
  });

  it('verifies a real public-good bundle offline with the seeded trusted root', async () => {
    const r = await run([
      'verify-blob', join(TESTDATA, 'a.txt'), '--bundle', join(TESTDATA, 'a.txt.sigstore.json'),
      '--certificate-identity', 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main',
      '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com', '-o', p('pg.txt'),
    ]);
    expect(r.error).toBeUndefined();
    expect(readFileSync(p('pg.txt'), 'utf8')).toContain('evidence checked: signature, certificate-chain, sct, tlog-set, identity');
  });

  it('refuses bad option combinations and a missing token', async () => {
    expect((await run(['sign-blob', p('artifact.txt'), '--key', COSIGN_KEY, '--keyless'])).error).toMatchObject({ code: 'USAGE' });
    expect((await run(['sign-blob', p('artifact.txt')])).error).toMatchObject({ code: 'USAGE' });
    expect((await run(['verify-blob', p('artifact.txt'), '--signature', p('a.sig')])).error).toMatchObject({ code: 'USAGE' });
    expect((await run(['verify-blob', p('artifact.txt'), '--signature', p('a.sig'), '--bundle', p('a.bundle'), '--key', COSIGN_KEY])).error).toMatchObject({ code: 'USAGE' });
    expect((await run(['verify-blob', p('artifact.txt'), '--bundle', p('a.bundle'), '--certificate-identity', 'x'])).error).toMatchObject({ code: 'USAGE' });
    expect((await run(['sign-blob', p('artifact.txt'), '--keyless', '--fulcio-url', h.fulcioUrl, '--rekor-url', h.rekorUrl])).error).toMatchObject({ code: 'IDENTITY_TOKEN_MISSING' });
  });
});
