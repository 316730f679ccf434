import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { digestOf } from '../../core/digest.js';
import { attachedTag, dockerReferenceOf, goJsonString, parseAnnotationPairs, parseSimpleSigningPayload, simpleSigningPayload } from './payload.js';
import { appendSignatureLayer, buildSignatureManifest, signatureConfig, signatureLayerDescriptor } from './sig-manifest.js';
import { EMPTY_CONFIG_DESCRIPTOR, pae, signStatement } from './bundle.js';
import { checkSignatureLayer, verifyRawSignature } from './verify.js';

const D = 'sha256:d34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33fd34db33f';

describe('simple signing payload', () => {
  // expected strings: the output of cosign's Go marshaller (sigstore/sigstore pkg/signature/payload tests)
  it('matches cosign byte for byte without annotations (optional is null)', () => {
    expect(simpleSigningPayload('example.com/test/image', D).toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"example.com/test/image"},"image":{"docker-manifest-digest":"${D}"},"type":"cosign container image signature"},"optional":null}`,
    );
  });

  it('sorts annotation keys and nested objects as Go does', () => {
    const p = simpleSigningPayload('example.com/cosign/test/image', D, {
      creator: 'anyone',
      some_struct: { foo: 'bar', false: true, nothing: null },
      'CamelCase WithSpace': 8.314,
    });
    expect(p.toString()).toBe(
      `{"critical":{"identity":{"docker-reference":"example.com/cosign/test/image"},"image":{"docker-manifest-digest":"${D}"},"type":"cosign container image signature"},"optional":{"CamelCase WithSpace":8.314,"creator":"anyone","some_struct":{"false":true,"foo":"bar","nothing":null}}}`,
    );
  });

  it('escapes strings the way encoding/json does', () => {
    expect(goJsonString('a<b>&c\u2028"\\\n\u0001é')).toBe('"a\\u003cb\\u003e\\u0026c\\u2028\\"\\\\\\n\\u0001é"');
  });

  it('parses its own output and rejects other shapes', () => {
    const p = parseSimpleSigningPayload(simpleSigningPayload('r/x', D, { a: 'b' }));
    expect(p).toEqual({ dockerReference: 'r/x', digest: D, type: 'cosign container image signature', optional: { a: 'b' } });
    expect(parseSimpleSigningPayload(Buffer.from('{'))).toMatch(/not JSON/);
    expect(parseSimpleSigningPayload(Buffer.from('{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"sha256:00"},"type":"atomic container signature"}}'))).toMatch(/critical.type/);
    // the spec's own example spells the key with a capital D
    const caps = parseSimpleSigningPayload(Buffer.from(`{"critical":{"identity":{"docker-reference":"x"},"image":{"Docker-manifest-digest":"${D}"},"type":"cosign container image signature"}}`));
    expect(typeof caps === 'object' && caps.digest).toBe(D);
  });

  it('names tags and references as cosign does', () => {
    expect(attachedTag(D, 'signature')).toBe(`sha256-${D.slice(7)}.sig`);
    expect(attachedTag(D, 'attestation')).toBe(`sha256-${D.slice(7)}.att`);
    expect(dockerReferenceOf({ registry: 'docker.io', repository: 'library/alpine' })).toBe('index.docker.io/library/alpine');
    expect(dockerReferenceOf({ registry: '127.0.0.1:5000', repository: 'app' })).toBe('127.0.0.1:5000/app');
    expect(parseAnnotationPairs(['a=b=c', 'x='])).toEqual({ a: 'b=c', x: '' });
    expect(() => parseAnnotationPairs(['nope'])).toThrow(/key=value/);
  });
});

describe('signature manifest', () => {
  it('writes the config go-containerregistry writes for cosign', () => {
    const payload = simpleSigningPayload('r/x', D);
    const l = signatureLayerDescriptor({ payload, signature: 'AAAA' });
    expect(signatureConfig([l]).bytes.toString()).toBe(
      `{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["${digestOf(payload)}"]},"config":{}}`,
    );
    const { manifest, config } = buildSignatureManifest([l]);
    expect(manifest.bytes.toString()).toBe(
      `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":${config.bytes.length},"digest":"${config.descriptor.digest}"},` +
        `"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":${payload.length},"digest":"${digestOf(payload)}","annotations":{"dev.cosignproject.cosign/signature":"AAAA"}}]}`,
    );
  });

  it('appends new signatures and skips an identical one', () => {
    const payload = simpleSigningPayload('r/x', D);
    const a = signatureLayerDescriptor({ payload, signature: 'AAAA' });
    const b = signatureLayerDescriptor({ payload, signature: 'BBBB' });
    expect(appendSignatureLayer([a], a)).toBeUndefined();
    expect(appendSignatureLayer([a], b)).toHaveLength(2);
  });

  it('uses the OCI empty descriptor and the DSSE PAE', () => {
    expect(EMPTY_CONFIG_DESCRIPTOR.digest).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    // DSSE protocol.md example: PAE("http://example.com/HelloWorld", "hello world")
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
    expect(JSON.parse(signStatement(D, { a: 'b' }).toString())).toEqual({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ digest: { sha256: D.slice(7) }, annotations: { a: 'b' } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    });
  });
});

describe('layer checks', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const payload = simpleSigningPayload('r/x', D, { env: 'prod' });
  const sig = cryptoSign('sha256', payload, privateKey);
  const layer = signatureLayerDescriptor({ payload, signature: sig.toString('base64') });

  it('verifies and fails with one reason each', async () => {
    expect(verifyRawSignature(publicKey, payload, sig)).toBe(true);
    const ctx = { digest: D, annotations: {}, verifier: { key: publicKey } };
    expect(await checkSignatureLayer('s', layer, payload, ctx)).toEqual({ source: 's', verified: true, evidence: ['signature'] });
    expect((await checkSignatureLayer('s', layer, payload, { ...ctx, verifier: { key: other.publicKey } })).reason).toBe('signature-invalid');
    const flipped = Buffer.from(payload);
    flipped.writeUInt8(flipped.readUInt8(10) ^ 1, 10);
    expect((await checkSignatureLayer('s', layer, flipped, ctx)).reason).toBe('signature-invalid');
    expect((await checkSignatureLayer('s', layer, payload, { ...ctx, digest: digestOf('x') })).reason).toBe('digest-mismatch');
    expect((await checkSignatureLayer('s', layer, payload, { ...ctx, annotations: { env: 'dev' } })).reason).toBe('annotation-mismatch');
    expect((await checkSignatureLayer('s', layer, payload, { ...ctx, annotations: { team: 'x' } })).reason).toBe('annotation-mismatch');
    expect((await checkSignatureLayer('s', layer, payload, { ...ctx, verifier: {} })).reason).toBe('key-mismatch');
  });
});
