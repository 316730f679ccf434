/**
 * Attestation round trip on the corpus `app` image (a copy of its OCI layout, so the corpus is never written):
 * `attest --sbom`, `verify-attestation --check-content` passes; an attestation whose SBOM lost one package or
 * another image's SBOM fails, naming the packages; a tampered envelope fails. Through the built CLI.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, sandboxEnv } from '../harness/cli.js';

const CORPUS = process.env.DRYDOCK_CORPUS ?? (existsSync('/var/tmp/drydock-corpus/images/app') ? '/var/tmp/drydock-corpus' : undefined);
const KEY = join(import.meta.dirname, '../../../shared/interop/cosign/pemsigstorekey.key');
if ((!CORPUS || !existsSync(KEY)) && process.env.CI) throw new Error('the corpus and ../shared/interop are needed in CI');

describe.skipIf(!CORPUS || !existsSync(KEY))('attest: corpus app image', () => {
  let work: string;
  let env: NodeJS.ProcessEnv;
  let layout: string;
  const run = (args: string[]) => runCli(args, { env, timeoutMs: 600_000, maxBuffer: 1 << 28 });

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'drydock-attest-corpus-'));
    for (const d of ['home', 'cache', 'tmp']) mkdirSync(join(work, d), { recursive: true });
    env = sandboxEnv(work, { DRYDOCK_PASSWORD: 'hello' });
    layout = join(work, 'app');
    cpSync(join(CORPUS!, 'images', 'app'), layout, { recursive: true });
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('attests the SBOM, verifies it against the image, and fails when the attested SBOM does not describe it', async () => {
    const target = `oci-dir:${layout}:latest`;
    const a = await run(['attest', target, '--sbom', '--key', KEY, '--quiet']);
    expect(a.code, a.stderr).toBe(0);
    const v = await run(['verify-attestation', target, '--type', 'cyclonedx', '--key', KEY, '--check-content', '--format', 'json', '--quiet']);
    expect(v.code, v.stderr).toBe(0);
    const ok = JSON.parse(v.stdout);
    expect(ok.checks.filter((c: any) => c.verified)).toHaveLength(1);
    expect(ok.checks[0].content.counts.matched).toBeGreaterThan(100);

    // an attestation of an SBOM with one npm package removed and one version changed: both named, verification fails
    const sbom = await run(['sbom', target, '--format', 'cyclonedx-json', '--quiet']);
    const doc = JSON.parse(sbom.stdout);
    const npm = doc.components.filter((c: any) => String(c.purl ?? '').startsWith('pkg:npm/'));
    const removed = npm[0];
    const changed = npm[1];
    doc.components = doc.components.filter((c: any) => c !== removed);
    changed.version = '0.0.1-drydock';
    changed.purl = String(changed.purl).replace(/@[^?]+/, '@0.0.1-drydock');
    writeFileSync(join(work, 'edited.cdx.json'), JSON.stringify(doc));
    const fresh = join(work, 'app2');
    cpSync(join(CORPUS!, 'images', 'app'), fresh, { recursive: true });
    const t2 = `oci-dir:${fresh}:latest`;
    expect((await run(['attest', t2, '--predicate', join(work, 'edited.cdx.json'), '--type', 'cyclonedx', '--key', KEY, '--quiet'])).code).toBe(0);
    const bad = await run(['verify-attestation', t2, '--type', 'cyclonedx', '--key', KEY, '--check-content', '--format', 'json', '--quiet']);
    expect(bad.code).toBe(1);
    const check = JSON.parse(bad.stdout).checks[0];
    expect(check.reason).toBe('content-mismatch');
    const names = JSON.stringify(check.content);
    expect(names).toContain(removed.name);
    expect(names).toContain(changed.name);

    // a tampered envelope: one byte of the stored attestation layer changed (the blob no longer matches its digest)
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const att = index.manifests.find((m: any) => /\.att$/.test(m.annotations?.['org.opencontainers.image.ref.name'] ?? ''));
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs', ...att.digest.split(':')), 'utf8'));
    const envPath = join(layout, 'blobs', ...manifest.layers[0].digest.split(':'));
    const bytes = readFileSync(envPath);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 1;
    writeFileSync(envPath, bytes);
    const tampered = await run(['verify-attestation', target, '--type', 'cyclonedx', '--key', KEY, '--format', 'json', '--quiet']);
    expect(tampered.code).toBe(1);
    expect(JSON.parse(tampered.stdout).checks[0].reason).toBe('layer-digest-mismatch');
  }, 600_000);
});
