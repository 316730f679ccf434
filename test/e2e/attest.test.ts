/**
 * attest / verify-attestation / download attestation end to end against the real registry and an
 * oci-dir layout, through the commander commands in process (main.ts registers them), with a key file
 * written by cosign itself (../shared/interop/cosign, password `hello`). The image is made by the
 * testkit: a dpkg status file and npm packages, cataloged by the real catalogers.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../src/core/digest.js';
import { DrydockError } from '../../src/core/errors.js';
import { RegistryClient } from '../../src/image/registry/client.js';
import { attestCommand, downloadCommand, verifyAttestationCommand } from '../../src/cli/commands/attest.js';
import { buildImage, buildIndex, writeOciLayout, type BuiltImage } from '../testkit/index.js';
import { startRegistry, type TestRegistry } from '../harness/registry.js';

const COSIGN_KEY = join(import.meta.dirname, '../../../shared/interop/cosign/pemsigstorekey.key');

async function run(args: string[]): Promise<{ error?: DrydockError }> {
  const program = new Command('drydock').exitOverride();
  for (const c of [attestCommand(), verifyAttestationCommand(), downloadCommand()]) program.addCommand(c.exitOverride());
  try {
    await program.parseAsync(['node', 'drydock', ...args]);
    return {};
  } catch (e) {
    if (e instanceof DrydockError) return { error: e };
    throw e;
  }
}

const status = (pkgs: [string, string][]) => pkgs.map(([n, v]) => `Package: ${n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${v}\n`).join('\n');

function testImage(debs: [string, string][], npms: [string, string][], platform?: { os: string; architecture: string }): Promise<BuiltImage> {
  return buildImage({
    ...(platform ? { platform } : {}),
    layers: [
      [
        { path: '/etc/os-release', content: 'ID=debian\nVERSION_ID="12"\n' },
        { path: '/var/lib/dpkg/status', content: status(debs) },
      ],
      npms.map(([n, v]) => ({ path: `/srv/node_modules/${n}/package.json`, content: JSON.stringify({ name: n, version: v }) })),
    ],
  });
}

const DEBS: [string, string][] = [['libc6', '2.36-9+deb12u4'], ['zlib1g', '1:1.2.13.dfsg-1']];
const NPMS: [string, string][] = [['left-pad', '1.3.0'], ['lodash', '4.17.21']];

interface CheckJson {
  source: string;
  verified: boolean;
  reason?: string;
  detail?: string;
  predicateType?: string;
  content?: { passed: boolean; missing: { key: string }[]; extra: { key: string }[]; changed: { key: string; attested: string; image: string }[] };
}

describe('drydock attest / verify-attestation / download attestation (registry)', () => {
  let reg: TestRegistry;
  let dir: string;
  let client: RegistryClient;
  let app: BuiltImage;
  let other: BuiltImage;
  const saved = process.env.DRYDOCK_PASSWORD;
  const repo = () => ({ registry: reg.host, repository: 'app' });
  const common = () => ['--insecure-registry', reg.host, '--cache-dir', join(dir, 'cache'), '--quiet'];
  const out = (name: string) => join(dir, name);

  async function push(img: BuiltImage, tag: string): Promise<void> {
    for (const [d, b] of img.blobs) await client.putBlob(repo(), { mediaType: 'application/octet-stream', digest: d, size: b.length }, b);
    await client.putManifest(repo(), tag, img.manifest);
  }

  beforeAll(async () => {
    process.env.DRYDOCK_PASSWORD = 'hello';
    reg = await startRegistry();
    dir = mkdtempSync(join(tmpdir(), 'drydock-attest-e2e-'));
    client = new RegistryClient({ insecure: [reg.host] });
    app = await testImage(DEBS, NPMS);
    other = await testImage(DEBS.slice(1), [...NPMS, ['express', '4.19.2']]);
    await push(app, 'v1');
    await push(other, 'other');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(out('wrong.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  }, 30_000);

  afterAll(async () => {
    if (saved === undefined) delete process.env.DRYDOCK_PASSWORD;
    else process.env.DRYDOCK_PASSWORD = saved;
    await client?.close();
    await reg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const verify = async (image: string, extra: string[], name: string): Promise<{ error?: DrydockError; json: { verified: boolean; digest: string; checks: CheckJson[] } }> => {
    const r = await run(['verify-attestation', image, '--format', 'json', ...common(), ...extra, '-o', out(name)]);
    return { ...r, json: JSON.parse(readFileSync(out(name), 'utf8')) };
  };

  it('attest --sbom, verify with --check-content, download', async () => {
    const image = `${reg.host}/app:v1`;
    const t0 = Date.now();
    expect((await run(['attest', image, '--sbom', '--key', COSIGN_KEY, ...common(), '-o', out('attest.txt')])).error).toBeUndefined();
    const attestMs = Date.now() - t0;
    expect(readFileSync(out('attest.txt'), 'utf8')).toMatch(new RegExp(`^attested ${app.manifest.digest} \\(https://cyclonedx.org/bom\\): tag ${reg.host}/app:sha256-[0-9a-f]{64}\\.att layer 0`));

    // the stored layout: one DSSE layer with cosign's annotations
    const tag = `sha256-${app.manifest.digest.slice(7)}.att`;
    const m = JSON.parse((await client.getManifest(repo(), tag)).bytes.toString('utf8'));
    expect(m.layers.map((l: { mediaType: string; annotations: Record<string, string> }) => [l.mediaType, l.annotations])).toEqual([
      ['application/vnd.dsse.envelope.v1+json', { 'dev.cosignproject.cosign/signature': '', predicateType: 'https://cyclonedx.org/bom' }],
    ]);

    const t1 = Date.now();
    const ok = await verify(image, ['--key', COSIGN_KEY, '--type', 'cyclonedx', '--check-content'], 'ok.json');
    const verifyMs = Date.now() - t1;
    expect(ok.error).toBeUndefined();
    expect(ok.json.verified).toBe(true);
    expect(ok.json.digest).toBe(app.manifest.digest);
    expect(ok.json.checks.map((c) => [c.verified, c.content?.passed])).toEqual([[true, true]]);

    // table output prints the verified statement
    expect((await run(['verify-attestation', image, '--key', COSIGN_KEY, ...common(), '-o', out('ok.txt')])).error).toBeUndefined();
    const table = readFileSync(out('ok.txt'), 'utf8');
    expect(table).toMatch(/verified {2}tag sha256-[0-9a-f]{64}\.att layer 0 https:\/\/cyclonedx\.org\/bom \[signature, statement, subject, predicate\]/);
    expect(table).toContain('"_type":"https://in-toto.io/Statement/v1"');

    // download: unverified without a key, verified with one
    expect((await run(['download', 'attestation', image, ...common().slice(0, 2), '-o', out('dl.jsonl')])).error).toBeUndefined();
    const dl = readFileSync(out('dl.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(dl.map((x) => [x.status, x.predicateType, x.envelope.payloadType])).toEqual([['unverified', 'https://cyclonedx.org/bom', 'application/vnd.in-toto+json']]);
    expect((await run(['download', 'attestation', image, '--key', COSIGN_KEY, ...common().slice(0, 2), '-o', out('dl2.jsonl')])).error).toBeUndefined();
    expect(JSON.parse(readFileSync(out('dl2.jsonl'), 'utf8')).status).toBe('verified');
    expect((await run(['download', 'attestation', image, '--key', out('wrong.pub'), ...common().slice(0, 2), '-o', out('dl3.jsonl')])).error).toBeUndefined();
    expect(JSON.parse(readFileSync(out('dl3.jsonl'), 'utf8'))).toMatchObject({ status: 'failed', reason: 'signature-invalid' });

    // in-process timings with a warm layer cache: a loose guard
    expect(attestMs).toBeLessThan(10_000);
    expect(verifyMs).toBeLessThan(5_000);
  }, 60_000);

  it('--replace keeps one attestation of the type in the registry, in the .att tag and as bundle referrers', async () => {
    // a repository of its own: the tests below tamper with app's attestations
    const rrepo = { registry: reg.host, repository: 'replace' };
    for (const [d, b] of other.blobs) await client.putBlob(rrepo, { mediaType: 'application/octet-stream', digest: d, size: b.length }, b);
    await client.putManifest(rrepo, 'v1', other.manifest);
    const image = `${reg.host}/replace:v1`;
    const tag = `sha256-${other.manifest.digest.slice(7)}.att`;
    for (let i = 0; i < 2; i++) expect((await run(['attest', image, '--sbom', '--key', COSIGN_KEY, ...common(), '-o', out('r.txt')])).error).toBeUndefined();
    const layers = async () => JSON.parse((await client.getManifest(rrepo, tag)).bytes.toString('utf8')).layers as unknown[];
    expect(await layers()).toHaveLength(2);
    expect((await run(['attest', image, '--sbom', '--replace', '--key', COSIGN_KEY, ...common(), '--format', 'json', '-o', out('r.json')])).error).toBeUndefined();
    expect(JSON.parse(readFileSync(out('r.json'), 'utf8'))).toMatchObject({ added: true, replaced: 2 });
    expect(await layers()).toHaveLength(1);

    const bundles = async () => (await client.referrers(rrepo, other.manifest.digest)).filter((d) => d.artifactType?.startsWith('application/vnd.dev.sigstore.bundle'));
    for (let i = 0; i < 2; i++) expect((await run(['attest', image, '--sbom', '--signature-format', 'bundle', '--key', COSIGN_KEY, ...common(), '-o', out('b.txt')])).error).toBeUndefined();
    expect(await bundles()).toHaveLength(2);
    expect((await run(['attest', image, '--sbom', '--signature-format', 'bundle', '--replace', '--key', COSIGN_KEY, ...common(), '-o', out('b2.txt')])).error).toBeUndefined();
    expect(readFileSync(out('b2.txt'), 'utf8')).toMatch(/\(replaced 2\)\s*$/);
    expect(await bundles()).toHaveLength(1);
    const v = await verify(image, ['--key', COSIGN_KEY, '--type', 'cyclonedx'], 'r-v.json');
    expect(v.json.checks.map((c) => c.verified)).toEqual([true, true]);
  }, 60_000);

  it('each tampering fails with its reason', async () => {
    const image = `${reg.host}/app:v1`;
    const tag = `sha256-${app.manifest.digest.slice(7)}.att`;
    const original = await client.getManifest(repo(), tag);
    const m = JSON.parse(original.bytes.toString('utf8'));
    const layer = m.layers[0];
    const env = JSON.parse((await client.getBlobBytes(repo(), layer)).toString('utf8'));
    // a consistent store holding a forged envelope: new blob, manifest re-pointed, tag moved
    const storeEnvelope = async (e: unknown): Promise<void> => {
      const bytes = Buffer.from(JSON.stringify(e));
      const desc = { ...layer, digest: digestOf(bytes), size: bytes.length };
      await client.putBlob(repo(), desc, bytes);
      const mb = Buffer.from(JSON.stringify({ ...m, layers: [desc] }));
      await client.putManifest(repo(), tag, { bytes: mb, mediaType: original.mediaType, digest: digestOf(mb) });
    };
    const reasonOf = async (extra: string[], name: string) => {
      const r = await verify(image, extra, name);
      expect(r.error?.code).toBe('VERIFICATION_FAILED');
      expect(r.error?.exitCode).toBe(1);
      return r.json.checks.map((c) => c.reason);
    };

    expect(await reasonOf(['--key', out('wrong.pub')], 'wrongkey.json')).toEqual(['signature-invalid']);
    expect(await reasonOf(['--key', COSIGN_KEY, '--type', 'slsaprovenance'], 'wrongtype.json')).toEqual(['predicate-type-mismatch']);

    const payload = Buffer.from(env.payload, 'base64').toString('utf8');
    await storeEnvelope({ ...env, payload: Buffer.from(payload.replace('"lodash"', '"lodasH"')).toString('base64') });
    expect(await reasonOf(['--key', COSIGN_KEY], 'payload.json')).toEqual(['signature-invalid']);

    const sig = Buffer.from(env.signatures[0].sig, 'base64');
    sig[8] = (sig[8] ?? 0) ^ 0x40;
    await storeEnvelope({ ...env, signatures: [{ keyid: '', sig: sig.toString('base64') }] });
    expect(await reasonOf(['--key', COSIGN_KEY], 'sig.json')).toEqual(['signature-invalid']);

    // a valid attestation of the other image, copied under this image's .att tag
    const otherImage = `${reg.host}/app:other`;
    expect((await run(['attest', otherImage, '--sbom', '--key', COSIGN_KEY, ...common()])).error).toBeUndefined();
    const otherAtt = await client.getManifest(repo(), `sha256-${other.manifest.digest.slice(7)}.att`);
    await client.putManifest(repo(), tag, otherAtt);
    expect(await reasonOf(['--key', COSIGN_KEY], 'subject.json')).toEqual(['digest-mismatch']);

    // back to the original: verifies again
    await client.putManifest(repo(), tag, original);
    expect((await verify(image, ['--key', COSIGN_KEY], 'back.json')).error).toBeUndefined();
  }, 60_000);

  it('--check-content: an SBOM with one package removed, one version changed, or of another image fails and names it', async () => {
    const image = `${reg.host}/app:v1`;
    const env = JSON.parse(readFileSync(out('dl.jsonl'), 'utf8').trim()).envelope;
    const bom = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')).predicate as { components: { name: string; version?: string; purl?: string }[] };
    const attestEdited = async (name: string, predicate: unknown, tag: string) => {
      writeFileSync(out(name), JSON.stringify(predicate));
      await client.putManifest(repo(), tag, app.manifest);
      expect((await run(['attest', `${reg.host}/app:${tag}`, '--predicate', out(name), '--type', 'cyclonedx', '--key', COSIGN_KEY, ...common()])).error).toBeUndefined();
    };
    // all three tags name the same manifest, so each attestation lands in the same .att tag: clean between
    const tag = `sha256-${app.manifest.digest.slice(7)}.att`;
    const saved = await client.getManifest(repo(), tag);
    const only = async (edit: () => Promise<void>) => {
      await client.deleteManifest(repo(), saved.digest).catch(() => undefined);
      await edit();
    };

    await only(() => attestEdited('removed.json', { ...bom, components: bom.components.filter((c) => c.name !== 'left-pad') }, 'removed'));
    const r1 = await verify(image, ['--key', COSIGN_KEY, '--check-content'], 'removed-v.json');
    expect(r1.error?.code).toBe('VERIFICATION_FAILED');
    const c1 = r1.json.checks.find((c) => c.content)!;
    expect(c1.content!.extra.map((c) => c.key)).toEqual(['pkg:npm/left-pad']);
    expect([c1.content!.missing, c1.content!.changed]).toEqual([[], []]);

    const att = await client.getManifest(repo(), tag);
    await only(async () => {
      await client.deleteManifest(repo(), att.digest).catch(() => undefined);
      await attestEdited('changed.json', { ...bom, components: bom.components.map((c) => (c.name === 'zlib1g' ? { ...c, version: '1:1.2.13.dfsg-2', purl: c.purl?.replace('1.2.13.dfsg-1', '1.2.13.dfsg-2') } : c)) }, 'changed');
    });
    const r2 = await verify(image, ['--key', COSIGN_KEY, '--check-content'], 'changed-v.json');
    expect(r2.error?.code).toBe('VERIFICATION_FAILED');
    const c2 = r2.json.checks.find((c) => c.content)!;
    expect(c2.content!.changed).toEqual([{ key: 'pkg:deb/debian/zlib1g', name: 'debian/zlib1g', attested: '1:1.2.13.dfsg-2', image: '1:1.2.13.dfsg-1' }]);
    expect([c2.content!.missing, c2.content!.extra]).toEqual([[], []]);
    const text = await run(['verify-attestation', image, '--key', COSIGN_KEY, '--check-content', ...common(), '-o', out('changed.txt')]);
    expect(text.error?.code).toBe('VERIFICATION_FAILED');
    expect(readFileSync(out('changed.txt'), 'utf8')).toContain('different version: pkg:deb/debian/zlib1g attested 1:1.2.13.dfsg-2, image 1:1.2.13.dfsg-1');

    // the SBOM of the other image, attested about this one
    const otherEnv = await client.getManifest(repo(), `sha256-${other.manifest.digest.slice(7)}.att`);
    const otherLayer = JSON.parse(otherEnv.bytes.toString('utf8')).layers[0];
    const otherBom = JSON.parse(Buffer.from(JSON.parse((await client.getBlobBytes(repo(), otherLayer)).toString('utf8')).payload, 'base64').toString('utf8')).predicate;
    const att2 = await client.getManifest(repo(), tag);
    await only(async () => {
      await client.deleteManifest(repo(), att2.digest).catch(() => undefined);
      await attestEdited('other.json', otherBom, 'victim');
    });
    const r3 = await verify(image, ['--key', COSIGN_KEY, '--check-content'], 'other-v.json');
    expect(r3.error?.code).toBe('VERIFICATION_FAILED');
    const c3 = r3.json.checks.find((c) => c.content)!;
    expect(c3.content!.missing.map((c) => c.key)).toEqual(['pkg:npm/express']);
    expect(c3.content!.extra.map((c) => c.key)).toEqual(['pkg:deb/debian/libc6']);
  }, 60_000);
});

describe('drydock attest / verify-attestation (oci-dir)', () => {
  let dir: string;
  beforeAll(() => {
    process.env.DRYDOCK_PASSWORD = 'hello';
    dir = mkdtempSync(join(tmpdir(), 'drydock-attest-oci-'));
  });
  afterAll(() => {
    delete process.env.DRYDOCK_PASSWORD;
    rmSync(dir, { recursive: true, force: true });
  });

  it('attests and verifies in the layout itself, also as a bundle referrer; usage errors', async () => {
    const img = await testImage(DEBS, NPMS);
    writeOciLayout(join(dir, 'img'), img);
    const target = `oci-dir:${join(dir, 'img')}`;
    const cache = ['--cache-dir', join(dir, 'cache'), '--quiet'];
    expect((await run(['attest', target, '--sbom', '--key', COSIGN_KEY, ...cache])).error).toBeUndefined();
    writeFileSync(join(dir, 'vex.json'), JSON.stringify({ '@context': 'https://openvex.dev/ns/v0.2.0', statements: [] }));
    expect((await run(['attest', target, '--predicate', join(dir, 'vex.json'), '--type', 'openvex', '--signature-format', 'bundle', '--key', COSIGN_KEY, ...cache])).error).toBeUndefined();
    const r = await run(['verify-attestation', target, '--key', COSIGN_KEY, '--format', 'json', '--check-content', ...cache, '-o', join(dir, 'v.json')]);
    expect(r.error).toBeUndefined();
    const v = JSON.parse(readFileSync(join(dir, 'v.json'), 'utf8')) as { checks: CheckJson[] };
    // the SBOM passes its content check; the OpenVEX bundle verifies but is no SBOM
    expect(v.checks.map((c) => [c.source.split(' ')[0], c.verified, c.reason])).toEqual([
      ['referrer', false, 'predicate-type-mismatch'],
      ['tag', true, undefined],
    ]);
    const vex = await run(['verify-attestation', target, '--key', COSIGN_KEY, '--type', 'openvex', '--format', 'json', ...cache, '-o', join(dir, 'vex-v.json')]);
    expect(vex.error).toBeUndefined();

    expect((await run(['attest', target, '--key', COSIGN_KEY])).error?.code).toBe('USAGE');
    // an index: --recursive --sbom catalogs each platform image and attests it on its own
    const amd = await testImage(DEBS, NPMS, { os: 'linux', architecture: 'amd64' });
    const arm = await testImage(DEBS.slice(1), [['express', '4.19.2']], { os: 'linux', architecture: 'arm64' });
    writeOciLayout(join(dir, 'multi'), buildIndex([amd, arm]));
    const multi = `oci-dir:${join(dir, 'multi')}`;
    expect((await run(['attest', multi, '--sbom', '--recursive', '--key', COSIGN_KEY, '--format', 'json', ...cache, '-o', join(dir, 'multi.json')])).error).toBeUndefined();
    const done = JSON.parse(readFileSync(join(dir, 'multi.json'), 'utf8')) as { digest: string; predicateType: string }[];
    expect(done.map((x) => x.digest)).toEqual([amd.manifest.digest, arm.manifest.digest]);
    for (const [img, platform] of [[amd, 'linux/amd64'], [arm, 'linux/arm64']] as const) {
      // each platform's SBOM passes the content check against that platform's image
      const out = join(dir, `multi-${img.manifest.digest.slice(7, 15)}.json`);
      const check = await run(['verify-attestation', multi, '--platform', platform, '--key', COSIGN_KEY, '--type', 'cyclonedx', '--check-content', '--format', 'json', ...cache, '-o', out]);
      expect(check.error).toBeUndefined();
      const j = JSON.parse(readFileSync(out, 'utf8')) as { digest: string; checks: CheckJson[] };
      expect(j.digest).toBe(img.manifest.digest);
      expect(j.checks.map((c) => [c.verified, c.content?.passed])).toEqual([[true, true]]);
    }
    // the index itself carries none, and a platform it does not have is named as such
    expect((await run(['verify-attestation', multi, '--key', COSIGN_KEY, ...cache, '-o', join(dir, 'idx.txt')])).error?.code).toBe('SIGNATURE_NOT_FOUND');
    const s390 = await run(['verify-attestation', multi, '--platform', 'linux/s390x', '--key', COSIGN_KEY, ...cache, '-o', join(dir, 's390.txt')]);
    expect(s390.error).toMatchObject({ code: 'PLATFORM_NOT_FOUND', message: expect.stringMatching(/linux\/amd64, linux\/arm64/) });
    expect((await run(['attest', target, '--sbom', '--scan', '--key', COSIGN_KEY])).error?.code).toBe('USAGE');
    expect((await run(['verify-attestation', target])).error?.code).toBe('USAGE');
    expect((await run(['verify-attestation', target, '--key', COSIGN_KEY, '--strict'])).error?.code).toBe('USAGE');
  }, 60_000);
});
