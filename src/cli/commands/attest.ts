/** attest, verify-attestation and download attestation: in-toto attestations stored beside images (cosign's .att tag, bundle referrers). */
import { Command } from 'commander';
import { DrydockError } from '../../core/errors.js';
import type { FormatName } from '../format.js';
import { DB_OPTIONS } from '../db-options.js';
import { IMAGE_OPTIONS, addOptions, resolveOptions, type OptionKey } from '../options.js';
import { imageSignerOf, imageVerifierOf } from '../sign-context.js';
import { drydockVersion } from '../version.js';

/** attest prints where the attestation went */
export const ATTEST_FORMATS: readonly FormatName[] = ['table', 'json'];
export const VERIFY_ATTESTATION_FORMATS: readonly FormatName[] = ['table', 'json'];


const REGISTRY_KEYS: OptionKey[] = ['insecureRegistry', 'caFile', 'username', 'password', 'passwordStdin', 'timeout', 'retries', 'quiet'];
const IDENTITY_KEYS: OptionKey[] = ['certificateIdentity', 'certificateIdentityRegexp', 'certificateOidcIssuer', 'certificateOidcIssuerRegexp', 'trustedRoot', 'requireTlog'];

const IMAGE_HELP = `
IMAGE is a registry reference (tag or @digest) or oci-dir:PATH[:TAG]; in a layout, attestations are
stored in the layout itself (an index.json entry named sha256-<hex>.att, and referrer entries).
Key passwords: DRYDOCK_PASSWORD, else COSIGN_PASSWORD, else a prompt on the terminal.`;

export function attestCommand(): Command {
  const keys: OptionKey[] = [
    'key', 'keyless', 'identityToken', 'fulcioUrl', 'rekorUrl', 'tsaUrl', 'predicate', 'type', 'sbom', 'scan', 'recursive', 'replace', 'signatureFormat', 'format', 'output',
    'catalogers', 'scope', ...DB_OPTIONS, ...IMAGE_OPTIONS,
  ];
  const cmd = new Command('attest')
    .summary('attest an image: an in-toto statement about its digest, signed in a DSSE envelope and stored beside it')
    .description(
      'Resolve IMAGE to its manifest digest, make an in-toto Statement v1 whose subject is that digest (named after ' +
        'the repository) with the predicate of --predicate FILE and --type, sign it in a DSSE envelope with --key or ' +
        '--keyless, and store it as cosign does: a layer of the sha256-<hex>.att tag (media type ' +
        'application/vnd.dsse.envelope.v1+json, annotation predicateType; attesting again adds a layer), or with ' +
        '--signature-format bundle a Sigstore bundle v0.3 referrer. Shortcuts: --sbom catalogs the image and attests its ' +
        'CycloneDX SBOM; --scan scans it and attests the cosign vulnerability predicate (scanner, database identity, ' +
        'scanFinishedOn). --replace removes the attestations of the same predicate type about the image once the new ' +
        'one is stored (cosign\'s --replace), so a nightly --scan keeps one current vulnerability attestation.',
    )
    .argument('<image>', 'image to attest')
    .addHelpText('after', IMAGE_HELP);
  addOptions(cmd, keys);
  cmd.action(async (image: string) => {
    const { parseFormat } = await import('../format.js');
    const { writeOutput } = await import('../output.js');
    const { newContext, registryOptions, scanOptions } = await import('../context.js');
    const { clockFromEnv } = await import('../../core/clock.js');
    const v = resolveOptions(cmd, keys);
    const extra = { sbom: v.sbom === true, scan: v.scan === true };
    const format = parseFormat(v.format as string, ATTEST_FORMATS);
    const sources = [v.predicate !== undefined, extra.sbom === true, extra.scan === true].filter(Boolean).length;
    if (sources !== 1) throw new DrydockError('USAGE', 'attest needs exactly one of --predicate FILE, --sbom and --scan');
    if ((extra.sbom || extra.scan) && v.type !== undefined) throw new DrydockError('USAGE', `--type does not go with --${extra.sbom ? 'sbom' : 'scan'}: the predicate type is ${extra.sbom ? 'cyclonedx' : 'vuln'}`);
    const clock = clockFromEnv();
    let predicate: { predicateType: string; predicate: Record<string, unknown> } | undefined;
    if (v.predicate !== undefined) {
      const { readFile } = await import('node:fs/promises');
      const { predicateFromFile } = await import('../../attest/index.js');
      const file = v.predicate as string;
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        throw new DrydockError('IO_ERROR', `cannot read predicate file ${file}`, { cause: e });
      }
      predicate = predicateFromFile(text, (v.type as string | undefined) ?? 'custom', { what: `predicate file ${file}`, clock });
    }
    const signer = await imageSignerOf(v, 'attest');
    const ctx = newContext(v);
    try {
      // a keyless attestation needs its log entry beside it: stored as a bundle (cosign 3's default), whose
      // verification material carries it; the .att layout has no place for an intoto log entry here
      let layout = v.signatureFormat === 'bundle' ? ('bundle' as const) : ('cosign' as const);
      if (v.keyless === true && layout === 'cosign') {
        const chosen = cmd.getOptionValueSource('signatureFormat') === 'cli' || process.env.DRYDOCK_SIGNATURE_FORMAT !== undefined;
        if (chosen) throw new DrydockError('USAGE', 'keyless attestations are stored as Sigstore bundles: use --signature-format bundle (the default with --keyless)');
        layout = 'bundle';
      }
      const store = { format: layout, clock, ...(v.replace === true ? { replace: true } : {}) };
      const catalogers = v.catalogers as string[] | undefined;
      const sbomOpts = {
        ...scanOptions(v, ctx),
        ...(catalogers && catalogers.length ? { catalogers } : {}),
        scope: v.scope as 'squashed' | 'all-layers',
        tool: { name: 'drydock', version: drydockVersion() },
      };
      let r;
      let all: { digest: string; statement: { predicateType: string }; location: string; added: boolean }[] | undefined;
      if (predicate && v.recursive === true) {
        const { attestImageRecursive } = await import('../../attest/image/index.js');
        all = await attestImageRecursive(image, predicate, signer, { ...store, registry: registryOptions(v) });
        r = all[0]!;
      } else if (predicate) {
        const { attestImage } = await import('../../attest/image/index.js');
        r = await attestImage(image, predicate, signer, { ...store, registry: registryOptions(v) });
      } else if (extra.sbom) {
        const { attestEachPlatform, attestImageSbom } = await import('../../scan/attest.js');
        const opts = { ...sbomOpts, ...store };
        if (v.recursive === true) r = (all = await attestEachPlatform(image, opts, (o) => attestImageSbom(image, signer, o)))[0]!;
        else r = await attestImageSbom(image, signer, opts);
      } else {
        const { attestEachPlatform, attestImageScan } = await import('../../scan/attest.js');
        const { dbPathOf, freshnessOf } = await import('../db-options.js');
        const opts = { ...sbomOpts, ...store, db: { path: await dbPathOf(v) }, freshness: freshnessOf(v, ctx) };
        if (v.recursive === true) r = (all = await attestEachPlatform(image, opts, (o) => attestImageScan(image, signer, o)))[0]!;
        else r = await attestImageScan(image, signer, opts);
      }
      ctx.renderer.done();
      const results = all ?? [r];
      const summaries = results.map((x) => ({ digest: x.digest, predicateType: x.statement.predicateType, location: x.location, added: x.added, ...('replaced' in x && x.replaced !== undefined ? { replaced: x.replaced } : {}) }));
      await writeOutput(
        format.name === 'json'
          ? JSON.stringify(all ? summaries : summaries[0], null, 2)
          : results.map((x) => `${x.added ? 'attested' : 'already attested'} ${x.digest} (${x.statement.predicateType}): ${x.location}${'replaced' in x && x.replaced ? ` (replaced ${x.replaced})` : ''}`).join('\n'),
        v.output as string | undefined,
      );
    } finally {
      ctx.renderer.done();
      await signer.close();
    }
  });
  return cmd;
}

export function verifyAttestationCommand(): Command {
  const keys: OptionKey[] = ['key', ...IDENTITY_KEYS, 'type', 'policy', 'checkContent', 'strict', 'format', 'output', 'catalogers', 'scope', ...IMAGE_OPTIONS];
  const cmd = new Command('verify-attestation')
    .summary('verify the attestations of an image')
    .description(
      'Find every attestation of IMAGE (the sha256-<hex>.att tag, Sigstore bundle referrers; BuildKit attestation ' +
        'manifests of an index are listed as unsigned, never verified) and check each: the signature with --key or ' +
        'the keyless certificate identity, the in-toto statement (v1, or v0.1 as cosign writes), a subject whose digest ' +
        'is the image\'s, the predicate type --type, the predicate content, and --policy (CEL). With --check-content the ' +
        'image is cataloged again and compared with the attested SBOM by package URL (type, namespace, name, version): ' +
        'missing, extra and different-version packages fail. On an index, --platform verifies the attestations of that ' +
        'platform\'s image (as attest --recursive stores them) instead of the index\'s. Prints each attestation with its result and the verified ' +
        'statements; exits 0 when at least one passed every check, 1 otherwise (SIGNATURE_NOT_FOUND when there is none, ' +
        'VERIFICATION_FAILED with every reason).',
    )
    .argument('<image>', 'image whose attestations to verify')
    .addHelpText('after', IMAGE_HELP);
  addOptions(cmd, keys);
  cmd.action(async (image: string) => {
    const { parseFormat } = await import('../format.js');
    const { writeOutput } = await import('../output.js');
    const { newContext, registryOptions, scanOptions } = await import('../context.js');
    const { clockFromEnv } = await import('../../core/clock.js');
    const { loadPolicyFile, predicateTypeOf } = await import('../../attest/index.js');
    const { requireAttestation, describeContentCheck } = await import('../../attest/image/index.js');
    const { verifyImageAttestation } = await import('../../scan/attest.js');
    const v = resolveOptions(cmd, keys);
    const extra = { checkContent: v.checkContent === true, strict: v.strict === true };
    const format = parseFormat(v.format as string, VERIFY_ATTESTATION_FORMATS);
    if (extra.strict && !extra.checkContent) throw new DrydockError('USAGE', '--strict goes with --check-content');
    const type = v.type as string | undefined;
    if (type !== undefined) predicateTypeOf(type);
    const verifier = await imageVerifierOf(v);
    if (!verifier) throw new DrydockError('USAGE', 'verify-attestation needs --key REF, or --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] for keyless attestations');
    const policy = v.policy ? await loadPolicyFile(v.policy as string) : undefined;
    const ctx = newContext(v);
    let r;
    try {
      const catalogers = v.catalogers as string[] | undefined;
      r = await verifyImageAttestation(image, verifier, {
        ...(v.platform !== undefined ? { platform: v.platform as string } : {}),
        ...(type !== undefined ? { type } : {}),
        ...(policy ? { policy } : {}),
        clock: clockFromEnv(),
        registry: registryOptions(v),
        ...(extra.checkContent
          ? {
              checkContent: {
                ...scanOptions(v, ctx),
                ...(catalogers && catalogers.length ? { catalogers } : {}),
                scope: v.scope as 'squashed' | 'all-layers',
                strict: extra.strict === true,
              },
            }
          : {}),
      });
    } finally {
      ctx.renderer.done();
    }
    const verified = r.checks.some((c) => c.verified);
    let text: string;
    if (format.name === 'json') {
      text = JSON.stringify({ image, digest: r.digest, verified, ...(r.catalogedDigest ? { catalogedDigest: r.catalogedDigest } : {}), checks: r.checks }, null, 2);
    } else {
      const lines = [`Attestations of ${image} (${r.digest}):`];
      if (r.checks.length === 0) lines.push('  no attestations found');
      for (const c of r.checks) {
        const pt = c.predicateType ? ` ${c.predicateType}` : '';
        lines.push(c.verified ? `  verified  ${c.source}${pt} [${c.evidence.join(', ')}]` : `  FAILED    ${c.source}${pt}: ${c.reason ?? 'unknown'}${c.detail ? ` (${c.detail})` : ''}`);
        if (c.content) for (const l of describeContentCheck(c.content)) lines.push(`            ${l}`);
      }
      for (const c of r.checks) if (c.verified && c.statement) lines.push(JSON.stringify(c.statement));
      text = lines.join('\n');
    }
    await writeOutput(text, v.output as string | undefined);
    requireAttestation(r, image);
  });
  return cmd;
}

export function downloadAttestationCommand(): Command {
  const keys: OptionKey[] = ['key', ...IDENTITY_KEYS, 'type', 'output', ...REGISTRY_KEYS];
  const cmd = new Command('attestation')
    .summary('print the attestations stored beside an image, one JSON line each')
    .description(
      'Print every attestation stored beside IMAGE (the .att tag layers, bundle referrers, BuildKit attestation ' +
        'manifests), one JSON object per line: source, kind, predicateType, status and the DSSE envelope (the bare ' +
        'statement for BuildKit). With --key or a keyless identity each is checked and marked "verified" or "failed" ' +
        '(with the reason); otherwise every one is "unverified". --type keeps only that predicate type.',
    )
    .argument('<image>', 'image whose attestations to print')
    .addHelpText('after', IMAGE_HELP);
  addOptions(cmd, keys);
  cmd.action(async (image: string) => {
    const { writeOutput } = await import('../output.js');
    const { registryOptions } = await import('../context.js');
    const { predicateTypeMatches, predicateTypeOf } = await import('../../attest/index.js');
    const { listImageAttestations, checkStoredAttestation } = await import('../../attest/image/index.js');
    const v = resolveOptions(cmd, keys);
    const type = v.type as string | undefined;
    if (type !== undefined) predicateTypeOf(type);
    const verifier = await imageVerifierOf(v);
    const l = await listImageAttestations(image, { registry: registryOptions(v) });
    const lines: string[] = [];
    for (const a of l.attestations) {
      const check = verifier ? await checkStoredAttestation(a, l.digest, verifier) : undefined;
      const predicateType = check?.statement?.predicateType ?? a.annotatedPredicateType;
      if (type !== undefined && !(predicateType && predicateTypeMatches(type, predicateType))) continue;
      lines.push(
        JSON.stringify({
          source: a.source,
          kind: a.kind,
          ...(predicateType ? { predicateType } : {}),
          status: !check ? 'unverified' : check.verified ? 'verified' : 'failed',
          ...(check && !check.verified ? { reason: check.reason, ...(check.detail ? { detail: check.detail } : {}) } : {}),
          ...(a.envelope !== undefined ? { envelope: a.envelope } : {}),
          ...(a.statement !== undefined ? { statement: a.statement } : {}),
          ...(a.problem && !check ? { problem: a.problem } : {}),
        }),
      );
    }
    await writeOutput(lines.join('\n'), v.output as string | undefined);
  });
  return cmd;
}

export function downloadCommand(): Command {
  const cmd = new Command('download').summary('download what is stored beside an image').description('Download objects stored beside an image: `download attestation IMAGE`.');
  cmd.addCommand(downloadAttestationCommand());
  return cmd;
}

export function attestCommands(): Command[] {
  return [attestCommand(), verifyAttestationCommand(), downloadCommand()];
}
