/** The key commands run in-process through a commander program built like src/cli/main.ts. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isDrydockError, type ErrorCode } from '../../core/errors.js';
import { keysCommands } from '../../cli/commands/keys.js';
import { loadSigner, verifyWithKey } from './index.js';
import { createPublicKey } from 'node:crypto';

const tmp = mkdtempSync(join(tmpdir(), 'drydock-keys-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let stdout = '';
beforeEach(() => {
  stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  vi.stubEnv('DRYDOCK_PASSWORD', 'cli-pw');
  vi.stubEnv('DRYDOCK_CONFIG', join(tmp, 'no-config.yaml'));
  writeFileSync(join(tmp, 'no-config.yaml'), '{}\n');
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function drydock(...args: string[]): Promise<ErrorCode | 'ok'> {
  const program = new Command('drydock').exitOverride();
  for (const c of keysCommands()) program.addCommand(c.exitOverride());
  try {
    await program.parseAsync(['node', 'drydock', ...args]);
    return 'ok';
  } catch (e) {
    if (isDrydockError(e)) return e.code;
    throw e;
  }
}

describe('key commands', () => {
  it('generate-key-pair writes PREFIX.key (0600) and PREFIX.pub, and refuses to overwrite without --force', async () => {
    const prefix = join(tmp, 'gen');
    expect(await drydock('generate-key-pair', '--output-key-prefix', prefix)).toBe('ok');
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
    const key = readFileSync(`${prefix}.key`, 'utf8');
    expect(key).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----/);
    const signer = await loadSigner(`${prefix}.key`, { password: async () => 'cli-pw' });
    const data = Buffer.from('x');
    expect(verifyWithKey(createPublicKey(readFileSync(`${prefix}.pub`, 'utf8')), data, await signer.sign(data))).toBe(true);

    expect(await drydock('generate-key-pair', '--output-key-prefix', prefix)).toBe('USAGE');
    expect(readFileSync(`${prefix}.key`, 'utf8')).toBe(key);
    expect(await drydock('generate-key-pair', '--output-key-prefix', prefix, '--force')).toBe('ok');
    expect(readFileSync(`${prefix}.key`, 'utf8')).not.toBe(key);
    expect(statSync(`${prefix}.key`).mode & 0o777).toBe(0o600);
  });

  it('generate-key-pair without a password and without a terminal fails with KEY_PASSWORD', async () => {
    vi.stubEnv('DRYDOCK_PASSWORD', undefined);
    vi.stubEnv('COSIGN_PASSWORD', undefined);
    delete process.env.DRYDOCK_PASSWORD;
    delete process.env.COSIGN_PASSWORD;
    expect(await drydock('generate-key-pair', '--output-key-prefix', join(tmp, 'nopw'))).toBe('KEY_PASSWORD');
  });

  it('import-key-pair re-encrypts an OpenSSL key; public-key prints its public half', async () => {
    const input = join(tmp, 'rsa.pem');
    writeFileSync(input, execFileSync('openssl', ['genrsa', '-traditional', '2048'], { encoding: 'utf8' }));
    const prefix = join(tmp, 'imported');
    expect(await drydock('import-key-pair', '--key', input, '--output-key-prefix', prefix)).toBe('ok');
    expect(readFileSync(`${prefix}.key`, 'utf8')).toContain('ENCRYPTED SIGSTORE PRIVATE KEY');
    const pub = readFileSync(`${prefix}.pub`, 'utf8');
    expect(pub).toBe(execFileSync('openssl', ['pkey', '-pubout', '-in', input], { encoding: 'utf8' }));

    expect(await drydock('public-key', '--key', `${prefix}.key`)).toBe('ok');
    expect(stdout).toBe(pub);
    expect(await drydock('public-key', '--key', `${prefix}.key`, '--output', join(tmp, 'out.pub'))).toBe('ok');
    expect(readFileSync(join(tmp, 'out.pub'), 'utf8')).toBe(pub);

    vi.stubEnv('DRYDOCK_PASSWORD', 'wrong');
    expect(await drydock('public-key', '--key', `${prefix}.key`)).toBe('KEY_PASSWORD');
    expect(await drydock('import-key-pair', '--key', join(tmp, 'missing.pem'), '--output-key-prefix', join(tmp, 'm'))).toBe('IO_ERROR');
    expect(await drydock('public-key', '--key', 'gcpkms://projects/p/k')).toBe('KEY_PROVIDER_UNSUPPORTED');
    expect(await drydock('public-key')).toBe('USAGE');
  });
});
