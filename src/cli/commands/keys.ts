/** generate-key-pair, import-key-pair and public-key: cosign-compatible key files. */
import { Command } from 'commander';
import type { FormatName } from '../format.js';
import { addOptions, resolveOptions, type OptionKey } from '../options.js';
import { writeOutput } from '../output.js';

/** these commands write PEM files and take no --format */
export const KEYS_FORMATS: readonly FormatName[] = [];

const PASSWORD_HELP = `
Key passwords: DRYDOCK_PASSWORD, else COSIGN_PASSWORD (an empty value is the empty password, as in
cosign), else a prompt on the terminal (asked twice for a new key). Without a terminal and without
these variables the command fails with KEY_PASSWORD.`;

/** Writes the key pair; refuses to replace existing files unless `force` (cosign asks on a terminal instead). */
async function writeKeyPair(prefix: string, pair: { privateKeyPem: string; publicKeyPem: string }, force: boolean): Promise<void> {
  const { writeFile, chmod, rm } = await import('node:fs/promises');
  const { existsSync } = await import('node:fs');
  const { DrydockError } = await import('../../core/errors.js');
  const keyFile = `${prefix}.key`;
  const pubFile = `${prefix}.pub`;
  if (!force) {
    const existing = [keyFile, pubFile].filter((f) => existsSync(f));
    if (existing.length) {
      throw new DrydockError('USAGE', `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}; pass --force to overwrite or choose another --output-key-prefix`);
    }
  }
  try {
    // replaced files are removed first, so the new private key is never readable under an old, wider mode;
    // 'wx' makes a race with another writer fail instead of overwriting
    if (force) await Promise.all([rm(keyFile, { force: true }), rm(pubFile, { force: true })]);
    await writeFile(keyFile, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
    await chmod(keyFile, 0o600); // exactly 0600, whatever the umask
    await writeFile(pubFile, pair.publicKeyPem, { mode: 0o644, flag: 'wx' });
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot write key pair ${keyFile} / ${pubFile}`, { cause: e });
  }
  process.stderr.write(`Private key written to ${keyFile}\nPublic key written to ${pubFile}\n`);
}

const GEN_KEYS: OptionKey[] = ['outputKeyPrefix', 'force'];

export function generateKeyPairCommand(): Command {
  const cmd = new Command('generate-key-pair')
    .summary('create a cosign-compatible key pair (ECDSA P-256)')
    .description(
      'Create an ECDSA P-256 key pair: PREFIX.key holds the private key encrypted as cosign does ' +
        '(ENCRYPTED SIGSTORE PRIVATE KEY: scrypt and NaCl secretbox), mode 0600; PREFIX.pub the public key (PEM). ' +
        'cosign reads both files. Existing files are not replaced without --force.',
    )
    .addHelpText('after', PASSWORD_HELP);
  addOptions(cmd, GEN_KEYS);
  cmd.action(async () => {
    const { generateKeyPair, defaultPasswordSource } = await import('../../sign/keys/index.js');
    const v = resolveOptions(cmd, GEN_KEYS);
    const prefix = (v.outputKeyPrefix as string | undefined) ?? 'cosign';
    const password = await defaultPasswordSource({ prompt: 'Enter password for private key: ', confirm: true })();
    await writeKeyPair(prefix, await generateKeyPair(password), v.force === true);
  });
  return cmd;
}

const IMPORT_KEYS: OptionKey[] = ['key', 'outputKeyPrefix', 'force'];

export function importKeyPairCommand(): Command {
  const cmd = new Command('import-key-pair')
    .summary('re-encrypt a PEM private key (EC, RSA, Ed25519) as a cosign-compatible key pair')
    .description(
      'Read a PEM private key (PKCS#8, SEC1 EC, PKCS#1 RSA of 2048 to 4096 bits, Ed25519 PKCS#8) and write it ' +
        'encrypted as cosign does to PREFIX.key (mode 0600) with its public key in PREFIX.pub.',
    )
    .addHelpText('after', PASSWORD_HELP);
  addOptions(cmd, IMPORT_KEYS);
  cmd.action(async () => {
    const { readFile } = await import('node:fs/promises');
    const { DrydockError } = await import('../../core/errors.js');
    const { importKeyPair, defaultPasswordSource } = await import('../../sign/keys/index.js');
    const v = resolveOptions(cmd, IMPORT_KEYS);
    const file = v.key as string | undefined;
    if (!file) throw new DrydockError('USAGE', 'import-key-pair needs --key FILE');
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch (e) {
      throw new DrydockError('IO_ERROR', `cannot read key file ${file}`, { cause: e });
    }
    const prefix = (v.outputKeyPrefix as string | undefined) ?? 'import-cosign';
    const inputPassword = defaultPasswordSource({ prompt: `Enter password of ${file}: ` });
    // the new password is asked for only after the input key has been read and checked
    const password = defaultPasswordSource({ prompt: 'Enter password for the imported private key: ', confirm: true });
    const pair = await importKeyPair(pem, password, { what: file, inputPassword });
    await writeKeyPair(prefix, pair, v.force === true);
  });
  return cmd;
}

const PUB_KEYS: OptionKey[] = ['key', 'output'];

export function publicKeyCommand(): Command {
  const cmd = new Command('public-key')
    .summary('print the public key of a key reference')
    .description(
      'Print the public key (PEM) of --key: a private key file (its password is needed when it is encrypted), ' +
        'env://VAR, or a pkcs11: URI naming a key on a token.',
    )
    .addHelpText('after', PASSWORD_HELP);
  addOptions(cmd, PUB_KEYS);
  cmd.action(async () => {
    const { DrydockError } = await import('../../core/errors.js');
    const { loadPublicKey, spkiPem } = await import('../../sign/keys/index.js');
    const v = resolveOptions(cmd, PUB_KEYS);
    const ref = v.key as string | undefined;
    if (!ref) throw new DrydockError('USAGE', 'public-key needs --key REF');
    await writeOutput(spkiPem(await loadPublicKey(ref)), v.output as string | undefined);
  });
  return cmd;
}

export function keysCommands(): Command[] {
  return [generateKeyPairCommand(), importKeyPairCommand(), publicKeyCommand()];
}
