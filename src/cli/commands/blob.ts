/** sign-blob and verify-blob: files signed with a key or keylessly, detached signatures and Sigstore bundles. */
import { Command } from 'commander';
import { DrydockError } from '../../core/errors.js';
import type { FormatName } from '../format.js';
import { identityPolicyOf, sigstoreServicesOf } from '../sign-context.js';
import { addOptions, resolveOptions, type OptionKey, type ResolvedValues } from '../options.js';

/** the --format values of sign-blob and verify-blob (docs/cli.md is generated from these) */
export const SIGN_BLOB_FORMATS: readonly FormatName[] = ['table', 'json'];
export const VERIFY_BLOB_FORMATS: readonly FormatName[] = ['table', 'json'];


const SHARED: OptionKey[] = ['key', 'format', 'output', 'timeout', 'retries', 'quiet'];

async function readInput(path: string, what: string): Promise<Buffer> {
  const { readFile } = await import('node:fs/promises');
  try {
    return await readFile(path);
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot read ${what} ${path}`, { cause: e });
  }
}

export function signBlobCommand(): Command {
  const local: OptionKey[] = ['keyless', 'identityToken', 'fulcioUrl', 'rekorUrl', 'tsaUrl', 'tlogUpload', 'bundle', 'outputSignature'];
  const cmd = new Command('sign-blob')
    .summary('sign a file with a key or keylessly')
    .description(
      'Sign FILE. With --key the signature is made by that key (a file, env://VAR or pkcs11: URI) and no ' +
        'transparency-log entry is written unless --tlog-upload. With --keyless an OIDC identity token ' +
        '(--identity-token, SIGSTORE_ID_TOKEN or GitHub Actions) buys a short-lived certificate from Fulcio and the ' +
        'signature is always recorded in Rekor. --bundle writes a Sigstore bundle v0.3 that verify-blob (and ' +
        'cosign) read; the base64 signature goes to --output-signature or stdout.',
    )
    .argument('<file>', 'the file to sign');
  addOptions(cmd, [...SHARED, ...local]);
  cmd.action(async (file: string) => {
    const { parseFormat } = await import('../format.js');
    const { writeFile } = await import('node:fs/promises');
    const { writeOutput } = await import('../output.js');
    const { signBlob } = await import('../../sign/blob/index.js');
    const v = resolveOptions(cmd, [...SHARED, ...local]);
    const format = parseFormat(v.format as string, SIGN_BLOB_FORMATS);
    const keyRef = v.key as string | undefined;
    const keyless = v.keyless === true;
    if (keyRef && keyless) throw new DrydockError('USAGE', 'use either --key or --keyless, not both');
    if (!keyRef && !keyless) throw new DrydockError('USAGE', 'sign-blob needs --key REF or --keyless');
    if (keyless && v.tlogUpload === false && cmd.getOptionValueSource('tlogUpload') === 'cli') {
      throw new DrydockError('USAGE', 'keyless signatures are always logged; --tlog-upload cannot be turned off');
    }
    const data = await readInput(file, 'file');
    const { identityToken: _token, ...fromFlags } = sigstoreServicesOf(v);
    const services = { ...fromFlags, retries: (v.retries as number | undefined) ?? 0 };
    let signer;
    if (keyRef) {
      const { loadSigner, defaultPasswordSource } = await import('../../sign/keys/index.js');
      signer = await loadSigner(keyRef, { password: defaultPasswordSource({ prompt: 'Enter password for private key: ' }) });
    }
    try {
      const r = await signBlob(data, {
        ...services,
        ...(signer ? { signer } : {}),
        ...(keyless ? { keyless: { ...(v.identityToken ? { identityToken: v.identityToken as string } : {}) } } : {}),
        tlogUpload: v.tlogUpload === true,
        bundle: typeof v.bundle === 'string',
      });
      const writes: Promise<void>[] = [];
      if (typeof v.bundle === 'string' && r.bundle) writes.push(writeFile(v.bundle, `${JSON.stringify(r.bundle)}\n`));
      if (typeof v.outputSignature === 'string') writes.push(writeFile(v.outputSignature, r.signature));
      await Promise.all(writes).catch((e: unknown) => {
        throw new DrydockError('IO_ERROR', 'cannot write the signature or bundle', { cause: e });
      });
      const summary = {
        file,
        signature: r.signature,
        ...(typeof v.bundle === 'string' ? { bundle: v.bundle } : {}),
        ...(typeof v.outputSignature === 'string' ? { signatureFile: v.outputSignature } : {}),
        ...(r.subject ? { identity: r.subject } : {}),
        evidence: r.evidence,
      };
      if (format.name === 'json') {
        await writeOutput(JSON.stringify(summary, null, 2), v.output as string | undefined);
      } else {
        if (v.quiet !== true) {
          process.stderr.write(`signed ${file}${r.subject ? ` as ${r.subject}` : ''}; evidence: ${r.evidence.join(', ')}${typeof v.bundle === 'string' ? `; bundle: ${v.bundle}` : ''}\n`);
        }
        if (typeof v.outputSignature !== 'string') await writeOutput(r.signature, v.output as string | undefined);
      }
    } finally {
      await signer?.close();
    }
  });
  return cmd;
}

export function verifyBlobCommand(): Command {
  const local: OptionKey[] = ['signature', 'bundle', 'certificateIdentity', 'certificateIdentityRegexp', 'certificateOidcIssuer', 'certificateOidcIssuerRegexp', 'trustedRoot', 'requireTlog'];
  const cmd = new Command('verify-blob')
    .summary('verify the signature or Sigstore bundle of a file, offline')
    .description(
      'Verify FILE against a detached --signature or a Sigstore --bundle (v0.1 to v0.3, message signatures and ' +
        'DSSE), with a --key or with a certificate identity and OIDC issuer policy. Everything is checked offline ' +
        'against the trusted root (--trusted-root, default: the public-good root shipped with Drydock): the ' +
        'certificate chain to Fulcio, SCTs, transparency-log inclusion proofs and checkpoints or signed entry ' +
        'timestamps, RFC 3161 timestamps, the signing time inside the certificate validity. Keyless verification ' +
        'needs a log entry or a signed timestamp; key verification needs a log entry only with --require-tlog. ' +
        'Prints the evidence that was checked; exits 1 when the signature does not verify.',
    )
    .argument('<file>', 'the signed file');
  addOptions(cmd, [...SHARED, ...local]);
  cmd.action(async (file: string) => {
    const { parseFormat } = await import('../format.js');
    const { writeOutput } = await import('../output.js');
    const { verifyBlob } = await import('../../sign/blob/index.js');
    const { resolveTrustedRoot } = await import('../../sign/sigstore/trusted-root.js');
    const v = resolveOptions(cmd, [...SHARED, ...local]);
    const format = parseFormat(v.format as string, VERIFY_BLOB_FORMATS);
    const sigPath = v.signature as string | undefined;
    const bundlePath = v.bundle as string | undefined;
    if (!sigPath === !bundlePath) throw new DrydockError('USAGE', 'verify-blob needs exactly one of --signature and --bundle');
    const keyRef = v.key as string | undefined;
    const policy = identityPolicyOf(v);
    const hasPolicy = Object.keys(policy).length > 0;
    if (keyRef && hasPolicy) throw new DrydockError('USAGE', 'use either --key or the --certificate-identity/--certificate-oidc-issuer options, not both');
    if (!keyRef && !hasPolicy) throw new DrydockError('USAGE', 'verify-blob needs --key REF, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp]');
    const [data, sigOrBundle] = await Promise.all([readInput(file, 'file'), readInput((sigPath ?? bundlePath)!, sigPath ? 'signature' : 'bundle')]);
    let publicKey;
    if (keyRef) {
      const { loadPublicKey, defaultPasswordSource } = await import('../../sign/keys/index.js');
      publicKey = await loadPublicKey(keyRef, { password: defaultPasswordSource({ prompt: 'Enter password for private key: ' }) });
    }
    const check = verifyBlob(data, {
      ...(sigPath ? { signature: sigOrBundle } : { bundle: sigOrBundle }),
      ...(publicKey ? { publicKey } : { policy }),
      trustedRoot: resolveTrustedRoot(v.trustedRoot as string | undefined),
      requireTlog: v.requireTlog === true,
      source: (sigPath ?? bundlePath)!,
    });
    if (format.name === 'json') {
      await writeOutput(JSON.stringify({ file, ...check }, null, 2), v.output as string | undefined);
    } else {
      const lines = [
        check.verified ? `Verified OK: ${file} (${check.source})` : `Verification FAILED: ${file} (${check.source}): ${check.reason}: ${check.detail ?? ''}`,
      ];
      if (check.evidence.length) lines.push(`  evidence checked: ${check.evidence.join(', ')}`);
      if (check.identity) lines.push(`  identity: ${check.identity.subject}${check.identity.issuer ? ` (issuer ${check.identity.issuer})` : ''}`);
      await writeOutput(lines.join('\n'), v.output as string | undefined);
    }
    if (!check.verified) {
      throw new DrydockError('VERIFICATION_FAILED', `${file}: ${check.reason}: ${check.detail ?? 'the signature does not verify'}`);
    }
  });
  return cmd;
}
