import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { isDrydockError, type ErrorCode } from '../../core/errors.js';
import {
  decryptPrivateKey,
  generateKeyPair,
  importKeyPair,
  loadPublicKey,
  loadSigner,
  p1363ToDer,
  parsePem,
  passwordFromEnv,
  promptSecret,
  spkiPem,
  verifyWithKey,
} from './index.js';

const INTEROP = join(import.meta.dirname, '../../../../shared/interop/cosign');
const hello = { password: async () => 'hello' };
const tmp = mkdtempSync(join(tmpdir(), 'drydock-keys-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function code(p: Promise<unknown>): Promise<ErrorCode | 'resolved' | 'other'> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isDrydockError(e) ? e.code : 'other';
  }
}

const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

/** DSSE pre-authentication encoding (DSSE protocol spec) */
function pae(type: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${payload.length} `), payload]);
}

describe('cosign interop keys', () => {
  for (const file of ['pemsigstorekey.key', 'pemcosignkey.key']) {
    it(`${file} loads with "hello", signs, and its public half verifies`, async () => {
      const signer = await loadSigner(join(INTEROP, file), hello);
      expect(signer.algorithm).toBe('ecdsa-p256');
      const data = Buffer.from('some payload');
      const sig = await signer.sign(data);
      const pub = await loadPublicKey(join(INTEROP, file), hello);
      expect(spkiPem(pub)).toBe(signer.publicKeyPem());
      expect(verifyWithKey(pub, data, sig)).toBe(true);
      expect(verifyWithKey(pub, Buffer.from('other payload'), sig)).toBe(false);
    });

    it(`${file} refuses a wrong password with KEY_PASSWORD`, async () => {
      expect(await code(loadSigner(join(INTEROP, file), { password: async () => 'hellO' }))).toBe('KEY_PASSWORD');
      expect(await code(loadSigner(join(INTEROP, file), { password: async () => '' }))).toBe('KEY_PASSWORD');
    });
  }

  it('the DSSE envelope cosign signed verifies with cosign.pub, and not once tampered', async () => {
    const env = JSON.parse(readFileSync(join(INTEROP, 'blobSLSAProvenanceSignature.dsse.json'), 'utf8')) as {
      payloadType: string;
      payload: string;
      signatures: { sig: string }[];
    };
    const pub = await loadPublicKey(join(INTEROP, 'cosign.pub'));
    const payload = Buffer.from(env.payload, 'base64');
    const sig = Buffer.from(env.signatures[0]!.sig, 'base64');
    expect(verifyWithKey(pub, pae(env.payloadType, payload), sig)).toBe(true);
    const badPayload = Buffer.from(payload);
    badPayload[10] = (badPayload[10] ?? 0) ^ 1;
    expect(verifyWithKey(pub, pae(env.payloadType, badPayload), sig)).toBe(false);
    const badSig = Buffer.from(sig);
    badSig[badSig.length - 3] = (badSig[badSig.length - 3] ?? 0) ^ 1;
    expect(verifyWithKey(pub, pae(env.payloadType, payload), badSig)).toBe(false);
    // a key that is not cosign.pub does not verify it
    const other = await loadPublicKey(join(INTEROP, 'pemsigstorekey.key'), hello);
    expect(verifyWithKey(other, pae(env.payloadType, payload), sig)).toBe(false);
  });

  it('the passwords come from DRYDOCK_PASSWORD, then COSIGN_PASSWORD (empty counts)', async () => {
    expect(passwordFromEnv({ DRYDOCK_PASSWORD: 'a', COSIGN_PASSWORD: 'b' })).toBe('a');
    expect(passwordFromEnv({ COSIGN_PASSWORD: '' })).toBe('');
    expect(passwordFromEnv({})).toBeUndefined();
    const signer = await loadSigner(join(INTEROP, 'pemsigstorekey.key'), { env: { COSIGN_PASSWORD: 'hello' } });
    expect(signer.algorithm).toBe('ecdsa-p256');
  });

  it('without a password in the environment and no terminal, loading fails with KEY_PASSWORD', async () => {
    // vitest workers have no TTY on stdin
    expect(await code(loadSigner(join(INTEROP, 'pemsigstorekey.key'), { env: {} }))).toBe('KEY_PASSWORD');
  });
});

describe('encrypted key format', () => {
  it('writes the same JSON shape as cosign (field names, order, parameters, sizes)', async () => {
    const mine = await generateKeyPair('pw');
    const shape = (pem: string) => {
      const block = parsePem(pem, 'x');
      const doc = JSON.parse(block.der.toString()) as { kdf: { params: unknown; salt: string }; cipher: { nonce: string } };
      return {
        label: block.label,
        keys: JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'string' ? typeof v : v)),
        salt: Buffer.from(doc.kdf.salt, 'base64').length,
        nonce: Buffer.from(doc.cipher.nonce, 'base64').length,
      };
    };
    expect(shape(mine.privateKeyPem)).toEqual(shape(readFileSync(join(INTEROP, 'pemsigstorekey.key'), 'utf8')));
    expect(mine.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it('round trip: generate → load → sign → verify with the .pub; fresh salt each time', async () => {
    const a = await generateKeyPair('s3cret');
    const b = await generateKeyPair('s3cret');
    expect(a.privateKeyPem).not.toBe(b.privateKeyPem);
    writeFileSync(join(tmp, 'rt.key'), a.privateKeyPem);
    writeFileSync(join(tmp, 'rt.pub'), a.publicKeyPem);
    const signer = await loadSigner(join(tmp, 'rt.key'), { password: async () => 's3cret' });
    expect(signer.publicKeyPem()).toBe(a.publicKeyPem);
    const data = Buffer.from('{"critical":{}}');
    const sig = await signer.sign(data);
    const pub = await loadPublicKey(join(tmp, 'rt.pub'));
    expect(verifyWithKey(pub, data, sig)).toBe(true);
    // OpenSSL agrees (an independent ECDSA implementation)
    writeFileSync(join(tmp, 'rt.data'), data);
    writeFileSync(join(tmp, 'rt.sig'), sig);
    expect(openssl('dgst', '-sha256', '-verify', join(tmp, 'rt.pub'), '-signature', join(tmp, 'rt.sig'), join(tmp, 'rt.data'))).toContain('Verified OK');
    expect(await code(loadSigner(join(tmp, 'rt.key'), { password: async () => 's3cre' }))).toBe('KEY_PASSWORD');
  });

  it('a password with non-ASCII characters round-trips', async () => {
    const pair = await generateKeyPair('pässwörd ✓');
    const der = await decryptPrivateKey(parsePem(pair.privateKeyPem, 'k'), 'pässwörd ✓', 'k');
    expect(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).asymmetricKeyType).toBe('ec');
  });
});

describe('import of PEM keys made by OpenSSL', () => {
  const cases: { name: string; gen: string[]; convert?: string[]; label: string; alg: string }[] = [
    { name: 'EC P-256 PKCS#8', gen: ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], label: 'PRIVATE KEY', alg: 'ecdsa-p256' },
    { name: 'EC P-384 SEC1', gen: ['ecparam', '-name', 'secp384r1', '-genkey'], label: 'EC PRIVATE KEY', alg: 'ecdsa-p384' },
    { name: 'RSA 2048 PKCS#1', gen: ['genrsa', '-traditional', '2048'], label: 'RSA PRIVATE KEY', alg: 'rsa' },
    { name: 'RSA 3072 PKCS#8', gen: ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], label: 'PRIVATE KEY', alg: 'rsa' },
    { name: 'Ed25519 PKCS#8', gen: ['genpkey', '-algorithm', 'ed25519'], label: 'PRIVATE KEY', alg: 'ed25519' },
  ];
  for (const c of cases) {
    it(`${c.name}: imports, loads, signs; OpenSSL verifies the signature with the exported .pub`, async () => {
      const pem = openssl(...c.gen);
      expect(pem).toContain(`-----BEGIN ${c.label}-----`);
      const pair = await importKeyPair(pem, 'imp', { what: c.name });
      const slug = c.name.replace(/\W+/g, '-');
      writeFileSync(join(tmp, `${slug}.key`), pair.privateKeyPem);
      writeFileSync(join(tmp, `${slug}.pub`), pair.publicKeyPem);
      const signer = await loadSigner(join(tmp, `${slug}.key`), { password: async () => 'imp' });
      expect(signer.algorithm).toBe(c.alg);
      // the imported key is the same key: its public half equals the one OpenSSL derives from the input
      writeFileSync(join(tmp, `${slug}.in.pem`), pem);
      expect(signer.publicKeyPem()).toBe(openssl('pkey', '-pubout', '-in', join(tmp, `${slug}.in.pem`)));
      const data = Buffer.from(`payload for ${c.name}`);
      const sig = await signer.sign(data);
      expect(verifyWithKey(createPublicKey(pair.publicKeyPem), data, sig)).toBe(true);
      writeFileSync(join(tmp, `${slug}.data`), data);
      writeFileSync(join(tmp, `${slug}.sig`), sig);
      const args =
        c.alg === 'ed25519'
          ? ['pkeyutl', '-verify', '-pubin', '-inkey', join(tmp, `${slug}.pub`), '-rawin', '-in', join(tmp, `${slug}.data`), '-sigfile', join(tmp, `${slug}.sig`)]
          : ['dgst', c.alg === 'ecdsa-p384' ? '-sha384' : '-sha256', '-verify', join(tmp, `${slug}.pub`), '-signature', join(tmp, `${slug}.sig`), join(tmp, `${slug}.data`)];
      expect(openssl(...args)).toMatch(/Verified OK|Signature Verified Successfully/);
    });
  }

  it('refuses weak RSA keys, unsupported curves, public keys and cosign keys', async () => {
    expect(await code(importKeyPair(openssl('genrsa', '-traditional', '1024'), 'x'))).toBe('KEY_INVALID');
    expect(await code(importKeyPair(openssl('ecparam', '-name', 'secp256k1', '-genkey'), 'x'))).toBe('KEY_INVALID');
    expect(await code(importKeyPair(readFileSync(join(INTEROP, 'cosign.pub'), 'utf8'), 'x'))).toBe('KEY_INVALID');
    expect(await code(importKeyPair(readFileSync(join(INTEROP, 'pemsigstorekey.key'), 'utf8'), 'x'))).toBe('KEY_INVALID');
  });

  it('an encrypted PKCS#8 input needs its password', async () => {
    const pem = openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-aes-256-cbc', '-pass', 'pass:inpw');
    expect(pem).toContain('ENCRYPTED PRIVATE KEY');
    expect(await code(importKeyPair(pem, 'x'))).toBe('KEY_PASSWORD');
    expect(await code(importKeyPair(pem, 'x', { inputPassword: async () => 'wrong' }))).toBe('KEY_PASSWORD');
    const pair = await importKeyPair(pem, 'x', { inputPassword: async () => 'inpw' });
    expect(pair.privateKeyPem).toContain('ENCRYPTED SIGSTORE PRIVATE KEY');
  });
});

describe('verifyWithKey', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const data = Buffer.from('statement');

  it('accepts ECDSA in DER and in IEEE P1363 form, and converts P1363 to DER', () => {
    const der = cryptoSign('sha256', data, privateKey);
    const p1363 = cryptoSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect(p1363.length).toBe(64);
    expect(verifyWithKey(publicKey, data, der)).toBe(true);
    expect(verifyWithKey(publicKey, data, p1363)).toBe(true);
    expect(verifyWithKey(publicKey, data, p1363ToDer(p1363))).toBe(true);
    const bad = Buffer.from(p1363);
    bad[5] = (bad[5] ?? 0) ^ 0x40;
    expect(verifyWithKey(publicKey, data, bad)).toBe(false);
  });

  it('returns false, never throws, for garbage signatures and unsupported keys', () => {
    expect(verifyWithKey(publicKey, data, Buffer.alloc(0))).toBe(false);
    expect(verifyWithKey(publicKey, data, Buffer.from('30020100', 'hex'))).toBe(false);
    const dsa = generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 });
    expect(verifyWithKey(dsa.publicKey, data, Buffer.alloc(40))).toBe(false);
  });

  it('accepts P-384 signatures over SHA-384 and over SHA-256 (cosign uses SHA-256)', () => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(verifyWithKey(k.publicKey, data, cryptoSign('sha384', data, k.privateKey))).toBe(true);
    expect(verifyWithKey(k.publicKey, data, cryptoSign('sha256', data, k.privateKey))).toBe(true);
    expect(verifyWithKey(k.publicKey, data, cryptoSign('sha1', data, k.privateKey))).toBe(false);
  });

  it('RSA PKCS#1 v1.5 SHA-256 and Ed25519', () => {
    const r = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(verifyWithKey(r.publicKey, data, cryptoSign('sha256', data, r.privateKey))).toBe(true);
    expect(verifyWithKey(r.publicKey, data, cryptoSign('sha512', data, r.privateKey))).toBe(false);
    const e = generateKeyPairSync('ed25519');
    expect(verifyWithKey(e.publicKey, data, cryptoSign(null, data, e.privateKey))).toBe(true);
    expect(verifyWithKey(e.publicKey, Buffer.from('x'), cryptoSign(null, data, e.privateKey))).toBe(false);
  });
});

describe('key references', () => {
  it('env://VAR holds the PEM (private or public)', async () => {
    const pem = readFileSync(join(INTEROP, 'pemsigstorekey.key'), 'utf8');
    const env = { MY_KEY: pem, MY_PUB: readFileSync(join(INTEROP, 'cosign.pub'), 'utf8') };
    const signer = await loadSigner('env://MY_KEY', { env, password: async () => 'hello' });
    expect(signer.algorithm).toBe('ecdsa-p256');
    const pub = await loadPublicKey('env://MY_PUB', { env });
    expect(pub.asymmetricKeyType).toBe('ec');
    expect(await code(loadSigner('env://NOT_SET', { env }))).toBe('KEY_INVALID');
    expect(await code(loadSigner('env://1bad', { env }))).toBe('USAGE');
  });

  it('a certificate gives its public key; a public key is refused where a private key is needed', async () => {
    const keyFile = join(tmp, 'cert.key');
    const certFile = join(tmp, 'cert.pem');
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-subj', '/CN=drydock-test', '-days', '1');
    const pub = await loadPublicKey(certFile);
    expect(spkiPem(pub)).toBe(spkiPem(createPublicKey(readFileSync(keyFile, 'utf8'))));
    // and the plain PKCS#8 key OpenSSL wrote loads as a signer without any password
    const signer = await loadSigner(keyFile, { password: async () => { throw new Error('not asked'); } });
    expect(signer.publicKeyPem()).toBe(spkiPem(pub));
    expect(await code(loadSigner(certFile))).toBe('KEY_INVALID');
    expect(await code(loadSigner(join(INTEROP, 'cosign.pub')))).toBe('KEY_INVALID');
  });

  for (const ref of ['awskms:///arn:aws:kms:us-east-1:1:key/k', 'gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k', 'azurekms://v.vault.azure.net/k', 'hashivault://transit-key', 'AWSKMS://x', 'foo://bar']) {
    it(`${ref} is refused with KEY_PROVIDER_UNSUPPORTED`, async () => {
      expect(await code(loadSigner(ref))).toBe('KEY_PROVIDER_UNSUPPORTED');
      expect(await code(loadPublicKey(ref))).toBe('KEY_PROVIDER_UNSUPPORTED');
    });
  }

  it('a missing file is IO_ERROR', async () => {
    expect(await code(loadSigner(join(tmp, 'nope.key')))).toBe('IO_ERROR');
  });

  const malformed: [string, string][] = [
    ['no PEM at all', 'hello world\n'],
    ['empty file', ''],
    ['bad base64', '-----BEGIN PUBLIC KEY-----\n!!!notbase64***\n-----END PUBLIC KEY-----\n'],
    ['mismatched END', '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'],
    ['DER garbage in a PUBLIC KEY', '-----BEGIN PUBLIC KEY-----\nAAAAAAAA\n-----END PUBLIC KEY-----\n'],
    ['DER garbage in a PRIVATE KEY', '-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n'],
    ['unknown label', '-----BEGIN SOMETHING ELSE-----\nAAAA\n-----END SOMETHING ELSE-----\n'],
    ['cosign key that is not JSON', `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from('not json').toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`],
    ['cosign key with another kdf', `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify({ kdf: { name: 'argon2', params: {} }, cipher: { name: 'nacl/secretbox', nonce: '' }, ciphertext: '' })).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`],
    ['cosign key with hostile scrypt N', `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify({ kdf: { name: 'scrypt', params: { N: 2 ** 30, r: 8, p: 1 }, salt: 'AAAA' }, cipher: { name: 'nacl/secretbox', nonce: Buffer.alloc(24).toString('base64') }, ciphertext: Buffer.alloc(40).toString('base64') })).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`],
    ['cosign key with a short nonce', `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify({ kdf: { name: 'scrypt', params: { N: 16, r: 8, p: 1 }, salt: 'AAAA' }, cipher: { name: 'nacl/secretbox', nonce: 'AAAA' }, ciphertext: Buffer.alloc(40).toString('base64') })).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`],
  ];
  for (const [name, text] of malformed) {
    it(`malformed: ${name} → KEY_INVALID`, async () => {
      const f = join(tmp, `bad-${name.replace(/\W+/g, '-')}.pem`);
      writeFileSync(f, text);
      expect(await code(loadSigner(f, hello))).toBe('KEY_INVALID');
      expect(await code(loadPublicKey(f, hello))).toBe('KEY_INVALID');
    });
  }

  it('a cosign key whose ciphertext was altered is refused like a wrong password', async () => {
    const pem = readFileSync(join(INTEROP, 'pemsigstorekey.key'), 'utf8');
    const block = parsePem(pem, 'k');
    const doc = JSON.parse(block.der.toString()) as { ciphertext: string };
    const ct = Buffer.from(doc.ciphertext, 'base64');
    ct[3] = (ct[3] ?? 0) ^ 1;
    doc.ciphertext = ct.toString('base64');
    const f = join(tmp, 'altered.key');
    writeFileSync(f, `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify(doc)).toString('base64')}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`);
    expect(await code(loadSigner(f, hello))).toBe('KEY_PASSWORD');
  });
});

describe('password prompt', () => {
  function fakeTty() {
    const input = new PassThrough() as unknown as NodeJS.ReadStream & { isRaw: boolean };
    const modes: boolean[] = [];
    Object.assign(input, { isTTY: true, isRaw: false, setRawMode: (m: boolean) => { modes.push(m); (input as { isRaw: boolean }).isRaw = m; return input; } });
    const output = new PassThrough();
    let written = '';
    output.on('data', (c: Buffer) => (written += c.toString()));
    return { input, output, modes, written: () => written };
  }

  it('reads a line in raw mode without echo, honouring backspace, and restores the mode', async () => {
    const t = fakeTty();
    const p = promptSecret('Password: ', { input: t.input, output: t.output });
    (t.input as unknown as PassThrough).write('hellx\u007fo\r');
    expect(await p).toBe('hello');
    expect(t.modes).toEqual([true, false]);
    expect(t.written()).toBe('Password: \n');
  });

  it('Ctrl-C aborts with KEY_PASSWORD', async () => {
    const t = fakeTty();
    const p = promptSecret('Password: ', { input: t.input, output: t.output });
    (t.input as unknown as PassThrough).write('ab\u0003');
    expect(await code(p)).toBe('KEY_PASSWORD');
  });
});
