/** Options of the signing and attestation commands (merged into OPTIONS in options.ts). */
import { d } from './option-decl.js';

export const SIGN_OPTIONS = {
  // keys (generate-key-pair, import-key-pair, public-key; sign and verify take --key too)
  key: d({ key: 'key', flags: '--key <ref>', kind: 'string', help: 'key reference: a PEM file, env://VAR (the PEM in an environment variable) or a pkcs11: URI (RFC 7512); awskms://, gcpkms://, azurekms:// and hashivault:// are not supported yet. Key passwords come from DRYDOCK_PASSWORD or COSIGN_PASSWORD, else a prompt' }),
  outputKeyPrefix: d({ key: 'outputKeyPrefix', flags: '--output-key-prefix <prefix>', kind: 'string', help: 'write PREFIX.key (mode 0600) and PREFIX.pub (default: cosign for generate-key-pair, import-cosign for import-key-pair)' }),
  force: d({ key: 'force', flags: '--force', kind: 'bool', default: false, help: 'overwrite existing key files' }),
  // image signatures (sign, verify, tree, clean)
  annotation: d({ key: 'annotation', flags: '-a, --annotation <key=value>', kind: 'list', noSplit: true, help: 'sign: add key=value to the signed payload; verify: require it there (repeatable; a value may contain commas)' }),
  recursive: d({ key: 'recursive', flags: '-r, --recursive', kind: 'bool', default: false, help: 'for an index, also sign (attest) every manifest it lists' }),
  signatureFormat: d({ key: 'signatureFormat', flags: '--signature-format <format>', env: 'DRYDOCK_SIGNATURE_FORMAT', kind: 'string', default: 'cosign', choices: ['cosign', 'bundle'], help: 'cosign: the sha256-<hex>.sig tag layout; bundle: a Sigstore bundle v0.3 stored as an OCI 1.1 referrer (as cosign 3 does)' }),
  type: d({ key: 'type', flags: '--type <type>', kind: 'string', help: 'clean: what to remove (signature, attestation, sbom or all; default all); attestation commands: the predicate type (cyclonedx, spdxjson, vuln, slsaprovenance, slsaprovenance1, openvex, custom or a URI)' }),
  // keyless signing, Sigstore bundles and blobs (sign-blob, verify-blob; sign and verify take them too)
  keyless: d({ key: 'keyless', flags: '--keyless', kind: 'bool', default: false, help: 'sign with a short-lived Fulcio certificate for an OIDC identity instead of a key; the signature is always logged in Rekor' }),
  identityToken: d({ key: 'identityToken', flags: '--identity-token <jwt>', kind: 'string', help: 'OIDC identity token for keyless signing (else SIGSTORE_ID_TOKEN, else the GitHub Actions token service)' }),
  fulcioUrl: d({ key: 'fulcioUrl', flags: '--fulcio-url <url>', env: 'DRYDOCK_FULCIO_URL', kind: 'string', default: 'https://fulcio.sigstore.dev', help: 'Fulcio certificate authority for keyless signing' }),
  rekorUrl: d({ key: 'rekorUrl', flags: '--rekor-url <url>', env: 'DRYDOCK_REKOR_URL', kind: 'string', default: 'https://rekor.sigstore.dev', help: 'Rekor transparency log' }),
  tsaUrl: d({ key: 'tsaUrl', flags: '--tsa-url <url>', env: 'DRYDOCK_TSA_URL', kind: 'string', help: 'RFC 3161 timestamp authority to countersign the signature (none by default)' }),
  tlogUpload: d({ key: 'tlogUpload', flags: '--tlog-upload', env: 'DRYDOCK_TLOG_UPLOAD', kind: 'bool', default: false, help: 'with --key: also record the signature in the transparency log (keyless always does)' }),
  bundle: d({ key: 'bundle', flags: '--bundle <file>', kind: 'string', help: 'sign-blob, attest-blob: also write a Sigstore bundle (v0.3) to FILE; verify-blob, verify-blob-attestation: verify this bundle' }),
  outputSignature: d({ key: 'outputSignature', flags: '--output-signature <file>', kind: 'string', help: 'write the signature to FILE instead of stdout: base64 for sign-blob, the DSSE envelope for attest-blob' }),
  signature: d({ key: 'signature', flags: '--signature <file>', kind: 'string', help: 'the signature to verify: base64 as cosign writes it or raw DER (verify-blob), the DSSE envelope (verify-blob-attestation)' }),
  certificateIdentity: d({ key: 'certificateIdentity', flags: '--certificate-identity <san>', kind: 'string', help: 'keyless: the exact identity (email, URI) the certificate must name' }),
  certificateIdentityRegexp: d({ key: 'certificateIdentityRegexp', flags: '--certificate-identity-regexp <re>', kind: 'string', help: 'keyless: a regular expression the identity must match (searched; anchor with ^…$)' }),
  certificateOidcIssuer: d({ key: 'certificateOidcIssuer', flags: '--certificate-oidc-issuer <url>', kind: 'string', help: 'keyless: the exact OIDC issuer the certificate must name' }),
  certificateOidcIssuerRegexp: d({ key: 'certificateOidcIssuerRegexp', flags: '--certificate-oidc-issuer-regexp <re>', kind: 'string', help: 'keyless: a regular expression the OIDC issuer must match' }),
  trustedRoot: d({ key: 'trustedRoot', flags: '--trusted-root <file>', env: 'DRYDOCK_TRUSTED_ROOT', kind: 'string', help: 'Sigstore trusted root JSON (Fulcio CAs, Rekor and CT log keys, timestamp authorities); default: the public-good root shipped with Drydock, used offline' }),
  requireTlog: d({ key: 'requireTlog', flags: '--require-tlog', env: 'DRYDOCK_REQUIRE_TLOG', kind: 'bool', default: false, help: 'fail unless a transparency-log entry verifies (key-based verification does not need one otherwise)' }),
  // attestations
  replace: d({ key: 'replace', flags: '--replace', kind: 'bool', default: false, help: 'attest: replace the attestations of the same predicate type about the image instead of adding one (cosign\'s --replace)' }),
  predicate: d({ key: 'predicate', flags: '--predicate <file>', kind: 'string', help: 'the predicate: a JSON file (any text with --type custom, which cosign wraps as {Data, Timestamp})' }),
  policy: d({ key: 'policy', flags: '--policy <file>', kind: 'string', help: 'CEL policy over the verified statement: one expression, or a YAML/JSON list of {name, expr}; binds predicate, predicateType, subject, statement, now. CUE and Rego are refused' }),
  sbom: d({ key: 'sbom', flags: '--sbom', kind: 'bool', default: false, help: 'catalog the image and attest its CycloneDX SBOM (instead of --predicate)' }),
  scan: d({ key: 'scan', flags: '--scan', kind: 'bool', default: false, help: 'scan the image and attest the cosign vulnerability predicate (instead of --predicate); takes the database options of scan' }),
  checkContent: d({ key: 'checkContent', flags: '--check-content', kind: 'bool', default: false, help: 'catalog the image again and compare it with the attested SBOM: missing, extra and different-version packages fail the verification' }),
  strict: d({ key: 'strict', flags: '--strict', kind: 'bool', default: false, help: 'with --check-content: also fail on components that are not packages, on the operating system and on packages only other catalogers find' }),
} as const;
