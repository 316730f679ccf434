/** attest-blob and verify-blob-attestation: in-toto attestations about files, in DSSE envelopes (cosign's semantics). */
import { Command } from 'commander';
import type { FormatName } from '../format.js';
import { addOptions, resolveOptions, type OptionKey } from '../options.js';

/** attest-blob writes an envelope and takes no --format */
export const ATTEST_BLOB_FORMATS: readonly FormatName[] = [];
/** what verify-blob-attestation prints on stdout */
export const VERIFY_BLOB_ATTESTATION_FORMATS: readonly FormatName[] = ['table', 'json'];

const keys = (...k: OptionKey[]) => k;

const PASSWORD_HELP = `
Key passwords: DRYDOCK_PASSWORD, else COSIGN_PASSWORD, else a prompt on the terminal.`;

const ATTEST_KEYS = keys('key', 'keyless', 'identityToken', 'fulcioUrl', 'rekorUrl', 'tsaUrl', 'timeout', 'predicate', 'type', 'outputSignature', 'bundle', 'quiet');

export function attestBlobCommand(): Command {
  const cmd = new Command('attest-blob')
    .summary('attest a file: an in-toto statement about its sha256, signed in a DSSE envelope')
    .description(
      'Make an in-toto Statement v1 whose subject is FILE (its base name and sha256) and whose predicate is --predicate ' +
        'of --type, sign it with --key in a DSSE envelope (payload type application/vnd.in-toto+json, ECDSA signatures ' +
        'in DER as cosign writes them) and write the envelope to --output-signature or stdout. The predicate must be what ' +
        'its type declares (a CycloneDX BOM for cyclonedx, an SPDX document for spdxjson, ...). No transparency-log entry ' +
        'is made. --bundle OUT also writes the envelope as a Sigstore bundle v0.3 (dsseEnvelope and the key\'s hint), ' +
        'as cosign attest-blob --bundle does. With --keyless instead of --key, the envelope is signed with a short-lived ' +
        'Fulcio certificate for an OIDC identity and logged in Rekor (an intoto entry); the certificate and the log ' +
        'entry travel in the bundle, so --bundle is required.',
    )
    .argument('<file>', 'the file to attest')
    .addHelpText('after', PASSWORD_HELP);
  addOptions(cmd, ATTEST_KEYS);
  cmd.action(async (file: string) => {
    const { readFile } = await import('node:fs/promises');
    const { basename } = await import('node:path');
    const { DrydockError } = await import('../../core/errors.js');
    const { loadSigner } = await import('../../sign/keys/index.js');
    const { attestBlob, predicateFromFile } = await import('../../attest/index.js');
    const { writeOutput } = await import('../output.js');
    const v = resolveOptions(cmd, ATTEST_KEYS) as Record<string, unknown>;
    const keyRef = v.key as string | undefined;
    const keyless = v.keyless === true;
    const predicateFile = v.predicate as string | undefined;
    if (!keyRef === !keyless) throw new DrydockError('USAGE', 'attest-blob needs exactly one of --key REF and --keyless');
    if (keyless && !v.bundle) throw new DrydockError('USAGE', 'attest-blob --keyless needs --bundle OUT: the certificate and the transparency-log entry travel in the bundle');
    if (!predicateFile) throw new DrydockError('USAGE', 'attest-blob needs --predicate FILE');
    const read = async (path: string, what: string) => {
      try {
        return await readFile(path);
      } catch (e) {
        throw new DrydockError('IO_ERROR', `cannot read ${what} ${path}`, { cause: e });
      }
    };
    const blob = await read(file, 'file');
    const { predicateType, predicate } = predicateFromFile((await read(predicateFile, 'predicate file')).toString('utf8'), (v.type as string | undefined) ?? 'custom', { what: `predicate file ${predicateFile}` });
    if (keyless) {
      const { imageSignerOf } = await import('../sign-context.js');
      const { signDsseBundle } = await import('../../sign/image/index.js');
      const { blobStatement } = await import('../../attest/index.js');
      const signer = await imageSignerOf(v, 'attest-blob');
      try {
        const statement = blobStatement({ blob, name: basename(file), predicateType, predicate });
        const { bundle } = await signDsseBundle(Buffer.from(JSON.stringify(statement), 'utf8'), signer);
        const bundleFile = v.bundle as string;
        await writeOutput(bundle.toString('utf8'), bundleFile);
        const out = v.outputSignature as string | undefined;
        if (out) await writeOutput(JSON.stringify((JSON.parse(bundle.toString('utf8')) as { dsseEnvelope: unknown }).dsseEnvelope), out);
        if (v.quiet !== true) process.stderr.write(`Sigstore bundle (certificate, Rekor entry) written to ${bundleFile}\n`);
      } finally {
        await signer.close();
      }
      return;
    }
    const signer = await loadSigner(keyRef!);
    try {
      const { envelope } = await attestBlob({ blob, name: basename(file), predicateType, predicate, signer });
      const out = v.outputSignature as string | undefined;
      const bundleFile = v.bundle as string | undefined;
      if (bundleFile) {
        const { createPublicKey } = await import('node:crypto');
        const { envelopeBundle } = await import('../../attest/index.js');
        await writeOutput(JSON.stringify(envelopeBundle(envelope, createPublicKey(signer.publicKeyPem()))), bundleFile);
        if (v.quiet !== true) process.stderr.write(`Sigstore bundle written to ${bundleFile}\n`);
      }
      if (!bundleFile || out) await writeOutput(JSON.stringify(envelope), out);
      if (out && v.quiet !== true) process.stderr.write(`DSSE envelope written to ${out}\n`);
    } finally {
      await signer.close();
    }
  });
  return cmd;
}

const VERIFY_KEYS = keys(
  'key', 'certificateIdentity', 'certificateIdentityRegexp', 'certificateOidcIssuer', 'certificateOidcIssuerRegexp', 'trustedRoot', 'requireTlog',
  'signature', 'bundle', 'type', 'policy', 'format', 'output', 'quiet',
);

export function verifyBlobAttestationCommand(): Command {
  const cmd = new Command('verify-blob-attestation')
    .summary('verify a DSSE attestation about a file')
    .description(
      'Verify the DSSE envelope --signature against FILE as cosign does: a signature by --key over the envelope ' +
        '(DER or IEEE P1363 ECDSA), a well-formed in-toto statement (v1, or v0.1 as cosign writes), a subject whose ' +
        'sha256 is the file\'s, the predicate type --type when given, a predicate that is what its type declares, and ' +
        '--policy when given. Exit 1 (VERIFICATION_FAILED) with the reason otherwise. --format json prints the result ' +
        'with the verified statement; table prints the statement. --bundle reads the envelope from a Sigstore bundle ' +
        '(v0.1-v0.3) instead of --signature. A keyless bundle is verified with --certificate-identity[-regexp] and ' +
        '--certificate-oidc-issuer[-regexp] instead of --key: the certificate chain to Fulcio (--trusted-root), SCTs, ' +
        'the Rekor entry or a timestamp, and the identity, offline.',
    )
    .argument('<file>', 'the attested file')
    .addHelpText('after', PASSWORD_HELP);
  addOptions(cmd, VERIFY_KEYS);
  cmd.action(async (file: string) => {
    const { readFile } = await import('node:fs/promises');
    const { DrydockError } = await import('../../core/errors.js');
    const { clockFromEnv } = await import('../../core/clock.js');
    const { loadPublicKey } = await import('../../sign/keys/index.js');
    const { loadPolicyFile, parseEnvelope, predicateTypeOf, verifyBlobAttestation } = await import('../../attest/index.js');
    const { parseFormat } = await import('../format.js');
    const { writeOutput } = await import('../output.js');
    const v = resolveOptions(cmd, VERIFY_KEYS) as Record<string, unknown>;
    const format = parseFormat(v.format as string, VERIFY_BLOB_ATTESTATION_FORMATS);
    const keyRef = v.key as string | undefined;
    const bundleFile = v.bundle as string | undefined;
    const sigFile = (v.signature as string | undefined) ?? bundleFile;
    const { identityPolicyOf } = await import('../sign-context.js');
    const keyless = Object.keys(identityPolicyOf(v)).length > 0;
    if (!keyRef && !keyless) throw new DrydockError('USAGE', 'verify-blob-attestation needs --key REF, or --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] for a keyless bundle');
    if (!sigFile || (v.signature !== undefined && bundleFile !== undefined)) throw new DrydockError('USAGE', 'verify-blob-attestation needs exactly one of --signature ENVELOPE and --bundle BUNDLE');
    if (keyless && !bundleFile) throw new DrydockError('USAGE', 'keyless verification needs --bundle BUNDLE (the certificate and the log entry are in the bundle)');
    const type = v.type as string | undefined;
    if (type !== undefined) predicateTypeOf(type); // an unknown --type is a usage error, not a failed verification
    const read = async (path: string, what: string) => {
      try {
        return await readFile(path);
      } catch (e) {
        throw new DrydockError('IO_ERROR', `cannot read ${what} ${path}`, { cause: e });
      }
    };
    const blob = await read(file, 'file');
    const policy = v.policy ? await loadPolicyFile(v.policy as string) : undefined;
    const checks = { ...(type ? { type } : {}), ...(policy ? { policy } : {}), clock: clockFromEnv() };
    // the result, and what the JSON summary holds besides the fields both ways share
    let r: { verified: boolean; reason?: string; detail?: string; digest: string; evidence: string[]; statement?: unknown };
    let extra: Record<string, unknown>;
    if (keyless) {
      const k = await checkKeylessBlobAttestation(blob, bundleFile!, await read(bundleFile!, 'bundle'), v, checks);
      r = k;
      extra = k.identity ? { identity: k.identity } : {};
    } else {
      const envelope = bundleFile
        ? (await import('../../attest/index.js')).envelopeFromBundle(await read(bundleFile, 'bundle'), `bundle ${bundleFile}`)
        : parseEnvelope(await read(sigFile, 'envelope'), `envelope ${sigFile}`);
      const key = await loadPublicKey(keyRef!);
      const k = verifyBlobAttestation(blob, envelope, [key], checks);
      r = { ...k, digest: k.blobDigest };
      extra = {
        signatures: k.checks,
        ...(k.policy ? { policy: k.policy.results.map((c) => ({ name: c.name, passed: c.passed, ...(c.error ? { error: c.error } : {}) })) } : {}),
      };
    }
    const summary = {
      verified: r.verified,
      ...(r.reason ? { reason: r.reason, detail: r.detail } : {}),
      file,
      digest: r.digest,
      evidence: r.evidence,
      ...extra,
      ...(r.verified && r.statement ? { statement: r.statement } : {}),
    };
    if (format.name === 'json') await writeOutput(JSON.stringify(summary, null, 2), v.output as string | undefined);
    if (!r.verified) {
      throw new DrydockError('VERIFICATION_FAILED', `attestation ${sigFile} of ${file} did not verify: ${r.reason}: ${r.detail ?? ''}`, { details: { reason: r.reason } });
    }
    if (format.name === 'table') await writeOutput(JSON.stringify(r.statement, null, 2), v.output as string | undefined);
    // a keyless bundle's evidence names the log entry or timestamp that was checked
    if (v.quiet !== true) process.stderr.write(`Verified OK (${r.evidence.join(', ')}${keyless ? '' : '; no transparency log checked'})\n`);
  });
  return cmd;
}

/**
 * A keyless (certificate) bundle about a file: the same checks as an image attestation stored as a
 * bundle referrer (signature by the certificate's key once the certificate, its SCTs, log entry or
 * timestamp and the identity policy verified; statement; subject = the file's sha256; type; policy).
 */
async function checkKeylessBlobAttestation(
  blob: Buffer, bundleFile: string, bundleBytes: Buffer, v: Record<string, unknown>, checks: Parameters<typeof import('../../attest/image/index.js').checkStoredAttestation>[3],
) {
  const { DrydockError } = await import('../../core/errors.js');
  const { sha256Hex } = await import('../../attest/index.js');
  const { checkStoredAttestation } = await import('../../attest/image/index.js');
  const { parseDsseBundle } = await import('../../sign/image/bundle.js');
  const { imageVerifierOf } = await import('../sign-context.js');
  const parsed = parseDsseBundle(bundleBytes);
  if (typeof parsed === 'string') throw new DrydockError('BUNDLE_INVALID', `bundle ${bundleFile}: ${parsed}`);
  const verifier = (await imageVerifierOf(v))!;
  const digest = `sha256:${sha256Hex(blob)}`;
  const r = await checkStoredAttestation(
    { source: `bundle ${bundleFile}`, kind: 'referrer', bundle: parsed.raw, envelope: parsed.raw.dsseEnvelope, ...(parsed.certificate ? { certificate: parsed.certificate } : {}) },
    digest,
    verifier,
    checks,
  );
  return { ...r, digest };
}

export function attestBlobCommands(): Command[] {
  return [attestBlobCommand(), verifyBlobAttestationCommand()];
}
