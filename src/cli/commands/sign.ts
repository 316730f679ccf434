/** sign, verify, tree and clean: image signatures as cosign stores them (tag layout) or as Sigstore bundle referrers. */
import { Command } from 'commander';
import { DrydockError } from '../../core/errors.js';
import type { FormatName } from '../format.js';
import { imageSignerOf, imageVerifierOf } from '../sign-context.js';
import { addOptions, resolveOptions, type OptionKey, type ResolvedValues } from '../options.js';

/** the --format values of sign, verify, tree and clean (docs/cli.md is generated from these) */
export const SIGN_FORMATS: readonly FormatName[] = ['table', 'json'];
export const VERIFY_FORMATS: readonly FormatName[] = ['table', 'json'];
export const TREE_FORMATS: readonly FormatName[] = ['table', 'json'];
export const CLEAN_FORMATS: readonly FormatName[] = ['table', 'json'];

const REGISTRY_KEYS: OptionKey[] = ['insecureRegistry', 'caFile', 'username', 'password', 'passwordStdin', 'timeout', 'retries', 'quiet'];


const IMAGE_HELP = `
IMAGE is a registry reference (tag or @digest) or oci-dir:PATH[:TAG]; in a layout, signatures are
stored in the layout itself (index.json entries named sha256-<hex>.sig, and referrer entries).`;

export function signCommand(): Command {
  const shared: OptionKey[] = ['key', 'format', 'output', ...REGISTRY_KEYS];
  const local: OptionKey[] = ['annotation', 'recursive', 'signatureFormat', 'keyless', 'identityToken', 'fulcioUrl', 'rekorUrl', 'tsaUrl', 'tlogUpload'];
  const cmd = new Command('sign')
    .summary('sign an image as cosign does (or as a Sigstore bundle referrer)')
    .description(
      'Resolve IMAGE to its manifest digest, sign the simple signing payload that names it (critical.identity, ' +
        'critical.image.docker-manifest-digest, critical.type, -a annotations under optional) and store the ' +
        'signature beside the image: by default in the sha256-<hex>.sig tag (an OCI manifest with one layer per ' +
        'signature; signing again adds a layer), with --signature-format bundle as a Sigstore bundle v0.3 ' +
        'referrer. Only manifests are read; image layers never are.',
    )
    .argument('<image>', 'image to sign')
    .addHelpText('after', IMAGE_HELP);
  addOptions(cmd, [...shared, ...local]);
  cmd.action(async (image: string) => {
    const { parseFormat } = await import('../format.js');
    const { writeOutput } = await import('../output.js');
    const { registryOptions } = await import('../context.js');
    const { clockFromEnv } = await import('../../core/clock.js');
    const { signImage, parseAnnotationPairs } = await import('../../sign/image/index.js');
    const v = resolveOptions(cmd, [...shared, ...local]);
    const format = parseFormat(v.format as string, SIGN_FORMATS);
    const signer = await imageSignerOf(v, 'sign');
    try {
      const r = await signImage(image, signer, {
        annotations: parseAnnotationPairs(v.annotation as string[] | undefined),
        recursive: v.recursive === true,
        format: v.signatureFormat === 'bundle' ? 'bundle' : 'cosign',
        registry: registryOptions(v),
        clock: clockFromEnv(),
      });
      const text =
        format.name === 'json'
          ? JSON.stringify(r, null, 2)
          : r.signed.map((s) => `${s.added ? 'signed' : 'already signed'} ${s.digest}: ${s.location}`).join('\n');
      await writeOutput(text, v.output as string | undefined);
    } finally {
      await signer.close();
    }
  });
  return cmd;
}

export function verifyCommand(): Command {
  const shared: OptionKey[] = ['key', 'format', 'output', ...REGISTRY_KEYS];
  const local: OptionKey[] = ['annotation', 'certificateIdentity', 'certificateIdentityRegexp', 'certificateOidcIssuer', 'certificateOidcIssuerRegexp', 'trustedRoot', 'requireTlog'];
  const cmd = new Command('verify')
    .summary('verify the signatures of an image')
    .description(
      'Find every signature of IMAGE (the sha256-<hex>.sig tag and Sigstore bundle referrers) and check each: ' +
        'the payload matches its digest, the signature verifies with --key, the payload is a cosign image ' +
        'signature naming the digest being verified, and every -a key=value is signed. Prints each signature ' +
        'with its result and reason; exits 0 when at least one verified, 1 otherwise (SIGNATURE_NOT_FOUND ' +
        'when there is none, VERIFICATION_FAILED with every reason).',
    )
    .argument('<image>', 'image to verify')
    .addHelpText('after', IMAGE_HELP);
  addOptions(cmd, [...shared, ...local]);
  cmd.action(async (image: string) => {
    const { parseFormat } = await import('../format.js');
    const { writeOutput } = await import('../output.js');
    const { registryOptions } = await import('../context.js');
    const { verifyImage, requireVerified, parseAnnotationPairs } = await import('../../sign/image/index.js');
    const v = resolveOptions(cmd, [...shared, ...local]);
    const format = parseFormat(v.format as string, VERIFY_FORMATS);
    const verifier = await imageVerifierOf(v);
    if (!verifier) throw new DrydockError('USAGE', 'verify needs --key REF, or --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] for keyless signatures');
    const r = await verifyImage(image, verifier, { annotations: parseAnnotationPairs(v.annotation as string[] | undefined), registry: registryOptions(v) });
    const verified = r.checks.some((c) => c.verified);
    const text =
      format.name === 'json'
        ? JSON.stringify({ image, digest: r.digest, verified, checks: r.checks }, null, 2)
        : [
            `Verification for ${image} (${r.digest}):`,
            ...(r.checks.length === 0 ? ['  no signatures found'] : []),
            ...r.checks.map((c) =>
              c.verified ? `  verified  ${c.source} [${c.evidence.join(', ')}]` : `  FAILED    ${c.source}: ${c.reason ?? 'unknown'}${c.detail ? ` (${c.detail})` : ''}`,
            ),
          ].join('\n');
    await writeOutput(text, v.output as string | undefined);
    requireVerified(r, image);
  });
  return cmd;
}

export function treeCommand(): Command {
  const shared: OptionKey[] = ['format', 'output', ...REGISTRY_KEYS];
  const cmd = new Command('tree')
    .summary('list the signatures, attestations, SBOMs and referrers attached to an image')
    .description('List what is attached to IMAGE: the cosign tags sha256-<hex>.sig, .att and .sbom with their layers, and OCI 1.1 referrers (Sigstore bundles and other artifacts).')
    .argument('<image>', 'image to inspect')
    .addHelpText('after', IMAGE_HELP);
  addOptions(cmd, shared);
  cmd.action(async (image: string) => {
    const { parseFormat } = await import('../format.js');
    const { writeOutput } = await import('../output.js');
    const { registryOptions } = await import('../context.js');
    const { listAttached } = await import('../../sign/image/index.js');
    const v = resolveOptions(cmd, shared);
    const format = parseFormat(v.format as string, TREE_FORMATS);
    const l = await listAttached(image, { registry: registryOptions(v) });
    await writeOutput(format.name === 'json' ? JSON.stringify(l, null, 2) : renderListing(l, 'Attached to'), v.output as string | undefined);
  });
  return cmd;
}

export function cleanCommand(): Command {
  const shared: OptionKey[] = ['format', 'output', ...REGISTRY_KEYS];
  const local: OptionKey[] = ['type'];
  const cmd = new Command('clean')
    .summary('remove the signatures, attestations and SBOMs attached to an image')
    .description(
      'Remove what is attached to IMAGE: the cosign tags (the manifest behind each is deleted, which needs a ' +
        'registry with deletion enabled) and referrers of the chosen --type. In an oci-dir layout the index.json ' +
        'entries are removed (blobs stay).',
    )
    .argument('<image>', 'image to clean')
    .addHelpText('after', IMAGE_HELP);
  addOptions(cmd, [...shared, ...local]);
  cmd.action(async (image: string) => {
    const { parseFormat } = await import('../format.js');
    const { writeOutput } = await import('../output.js');
    const { registryOptions } = await import('../context.js');
    const { cleanAttached } = await import('../../sign/image/index.js');
    const v = resolveOptions(cmd, [...shared, ...local]);
    const format = parseFormat(v.format as string, CLEAN_FORMATS);
    const kind = (v.type as string | undefined) ?? 'all';
    if (!['signature', 'attestation', 'sbom', 'all'].includes(kind)) throw new DrydockError('USAGE', `invalid value ${JSON.stringify(kind)} for --type; use one of signature, attestation, sbom, all`);
    const removed = await cleanAttached(image, [kind as 'all'], { registry: registryOptions(v) });
    await writeOutput(format.name === 'json' ? JSON.stringify(removed, null, 2) : renderListing(removed, 'Removed from'), v.output as string | undefined);
  });
  return cmd;
}

interface Listing {
  name: string;
  digest: string;
  tags: { kind: string; tag: string; digest: string; layers: string[] }[];
  referrers: { digest: string; artifactType: string; kind: string; annotations?: Record<string, string> }[];
}

function renderListing(l: Listing, verb: string): string {
  const lines = [`${verb} ${l.name}@${l.digest}:`];
  if (l.tags.length === 0 && l.referrers.length === 0) lines.push('  nothing');
  for (const t of l.tags) {
    lines.push(`  ${t.kind} tag ${l.name}:${t.tag} (${t.digest})`);
    for (const layer of t.layers) lines.push(`    ${layer}`);
  }
  for (const r of l.referrers) {
    const p = r.annotations?.['dev.sigstore.bundle.predicateType'];
    lines.push(`  ${r.kind} referrer ${r.digest} (${r.artifactType}${p ? `, ${p}` : ''})`);
  }
  return lines.join('\n');
}
