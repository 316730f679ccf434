/** Options of the signing and attestation commands (merged into OPTIONS in options.ts). */
import { d } from './option-decl.js';

export const SIGN_OPTIONS = {
  // keys (generate-key-pair, import-key-pair, public-key; sign and verify take --key too)
  key: d({ key: 'key', flags: '--key <ref>', kind: 'string', help: 'key reference: a PEM file, env://VAR (the PEM in an environment variable) or a pkcs11: URI (RFC 7512); awskms://, gcpkms://, azurekms:// and hashivault:// are not supported yet. Key passwords come from DRYDOCK_PASSWORD or COSIGN_PASSWORD, else a prompt' }),
  outputKeyPrefix: d({ key: 'outputKeyPrefix', flags: '--output-key-prefix <prefix>', kind: 'string', help: 'write PREFIX.key (mode 0600) and PREFIX.pub (default: cosign for generate-key-pair, import-cosign for import-key-pair)' }),
  force: d({ key: 'force', flags: '--force', kind: 'bool', default: false, help: 'overwrite existing key files' }),
  // image signatures (sign, verify, tree, clean)
  annotation: d({ key: 'annotation', flags: '-a, --annotation <key=value>', kind: 'list', noSplit: true, help: 'sign: add key=value to the signed payload; verify: require it there (repeatable; a value may contain commas)' }),
  recursive: d({ key: 'recursive', flags: '-r, --recursive', kind: 'bool', default: false, help: 'for an index, also sign every manifest it lists' }),
  signatureFormat: d({ key: 'signatureFormat', flags: '--signature-format <format>', env: 'DRYDOCK_SIGNATURE_FORMAT', kind: 'string', default: 'cosign', choices: ['cosign', 'bundle'], help: 'cosign: the sha256-<hex>.sig tag layout; bundle: a Sigstore bundle v0.3 stored as an OCI 1.1 referrer (as cosign 3 does)' }),
  type: d({ key: 'type', flags: '--type <type>', kind: 'string', help: 'clean: what to remove (signature, attestation, sbom or all; default all); attestation commands: the predicate type (cyclonedx, spdxjson, vuln, slsaprovenance, slsaprovenance1, openvex, custom or a URI)' }),
} as const;
