/**
 * One error class for the whole project. Every fatal error carries a stable code from
 * ERROR_CODES, a lower-case message that names the object (reference, digest, path),
 * an optional cause, and the process exit code the CLI uses for it.
 *
 * docs/errors.md documents every code; src/core/errors.test.ts keeps the two in step.
 */

/** Exit codes: 0 success, 1 a check failed, 2 usage error, 3+ runtime errors. */
export const EXIT = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  runtime: 3,
  io: 4,
  network: 5,
  corrupt: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

interface CodeInfo {
  readonly exit: ExitCode;
  readonly summary: string;
}

/** The registry of error codes. Add a code here and describe it in docs/errors.md. */
export const ERROR_CODES = {
  // usage
  USAGE: { exit: EXIT.usage, summary: 'invalid command line, option value or option combination' },
  TARGET_INVALID: { exit: EXIT.usage, summary: 'a target string could not be parsed' },
  REFERENCE_INVALID: { exit: EXIT.usage, summary: 'an image reference does not follow the Docker reference grammar' },
  PLATFORM_INVALID: { exit: EXIT.usage, summary: 'a --platform value is not os/arch[/variant]' },
  CONFIG_INVALID: { exit: EXIT.usage, summary: 'a configuration file or environment variable has an invalid value' },
  FORMAT_UNSUPPORTED: { exit: EXIT.usage, summary: 'the requested --format is not available for this command' },

  // checks
  CHECK_FAILED: { exit: EXIT.checkFailed, summary: 'a gate (--fail-on, verification, policy) failed' },

  // image resolution
  PLATFORM_NOT_FOUND: { exit: EXIT.runtime, summary: 'no manifest of an index matches the requested platform; the message lists the available ones' },
  IMAGE_NOT_FOUND: { exit: EXIT.runtime, summary: 'the image, tag or manifest does not exist at the source' },
  IMAGE_AMBIGUOUS: { exit: EXIT.runtime, summary: 'the source holds several images and the target does not say which; the message lists them' },
  MANIFEST_UNSUPPORTED: { exit: EXIT.runtime, summary: 'the manifest format is refused (Docker schema 1, unknown media type)' },
  MANIFEST_INVALID: { exit: EXIT.corrupt, summary: 'a manifest, index or config is malformed, too large, or inconsistent' },
  MEDIA_TYPE_UNSUPPORTED: { exit: EXIT.runtime, summary: 'a layer or blob has a media type Drydock cannot read' },
  BLOB_NOT_FOUND: { exit: EXIT.runtime, summary: 'a manifest references a blob that the source does not hold' },

  // integrity
  DIGEST_MISMATCH: { exit: EXIT.corrupt, summary: 'bytes read do not hash to the digest that names them' },
  DIGEST_INVALID: { exit: EXIT.corrupt, summary: 'a digest string is malformed or uses an unsupported algorithm' },
  DIFFID_MISMATCH: { exit: EXIT.corrupt, summary: 'the uncompressed layer does not hash to the diffID in the image config' },
  SIZE_MISMATCH: { exit: EXIT.corrupt, summary: 'a blob is longer or shorter than its descriptor says' },

  // archives and layers
  ARCHIVE_CORRUPT: { exit: EXIT.corrupt, summary: 'an archive or layer tar stream is truncated or malformed' },
  DECOMPRESS_FAILED: { exit: EXIT.corrupt, summary: 'a gzip or zstd stream is corrupt or truncated' },
  LIMIT_EXCEEDED: { exit: EXIT.corrupt, summary: 'an image exceeds the configured limit on uncompressed bytes or entries (decompression bomb)' },
  PATH_UNSAFE: { exit: EXIT.corrupt, summary: 'an archive entry names a path outside its root (.., absolute, link escape)' },
  SBOM_INVALID: { exit: EXIT.corrupt, summary: 'an SBOM document is not JSON, is in no known format, or is malformed; the message names the path' },

  // registry and network
  AUTH_REQUIRED: { exit: EXIT.network, summary: 'the registry refused the request without valid credentials (401)' },
  AUTH_DENIED: { exit: EXIT.network, summary: 'the registry refused the credentials or the scope (403)' },
  AUTH_CONFIG: { exit: EXIT.runtime, summary: 'credentials could not be read (docker config, credential helper)' },
  REGISTRY_ERROR: { exit: EXIT.network, summary: 'the registry answered with an unexpected status' },
  RATE_LIMITED: { exit: EXIT.network, summary: 'the registry kept answering 429 after every retry' },
  NETWORK_ERROR: { exit: EXIT.network, summary: 'a connection failed, was reset, or TLS could not be established' },
  TIMEOUT: { exit: EXIT.network, summary: 'a request received no answer within the timeout' },

  // local I/O
  IO_ERROR: { exit: EXIT.io, summary: 'a local file could not be read or written' },
  CACHE_ERROR: { exit: EXIT.io, summary: 'the layer cache could not be used' },
  CONTAINER_NOT_FOUND: { exit: EXIT.runtime, summary: 'no running container has that id, name or process id' },
  RUNTIME_UNAVAILABLE: { exit: EXIT.runtime, summary: 'a container engine (podman, Docker) is not installed or not reachable' },

  // vulnerability data and scanning
  VERSION_INVALID: { exit: EXIT.corrupt, summary: 'a version string is not valid in its versioning scheme; the message names the scheme and the string' },
  VULNDB_MISSING: { exit: EXIT.runtime, summary: 'no vulnerability database exists at the path; run drydock db update or drydock db import' },
  VULNDB_CORRUPT: { exit: EXIT.corrupt, summary: 'the vulnerability database is unreadable, half-written or not a Drydock database' },
  VULNDB_SCHEMA: { exit: EXIT.runtime, summary: 'the vulnerability database has a schema version this Drydock does not support' },
  VULNDB_STALE: { exit: EXIT.runtime, summary: 'the vulnerability database is older than --db-max-age and no update was allowed' },
  FEED_INVALID: { exit: EXIT.corrupt, summary: 'a vulnerability feed file (OSV, secdb, NVD, EPSS, KEV) is corrupt, partial or of an unknown shape' },
  FEED_UNAVAILABLE: { exit: EXIT.network, summary: 'a vulnerability feed could not be downloaded (HTTP status, connection)' },
  ECOSYSTEM_UNSUPPORTED: { exit: EXIT.runtime, summary: 'an advisory or package names an ecosystem Drydock cannot match' },
  IGNORE_FILE_INVALID: { exit: EXIT.usage, summary: 'an ignore file (drydock-ignore.yaml, .trivyignore) is malformed; the message names the file and line' },
  IGNORE_RULE_EXPIRED: { exit: EXIT.checkFailed, summary: 'an ignore rule passed its expiry date and no longer suppresses findings (a warning; the scan goes on)' },
  VEX_INVALID: { exit: EXIT.corrupt, summary: 'a VEX document (OpenVEX, CycloneDX VEX, CSAF) is malformed or in no known format' },

  // keys, signatures and attestations
  KEY_INVALID: { exit: EXIT.corrupt, summary: 'a key file or PEM block is malformed, of an unsupported type, or not what the command needs (a public key where a private one is required)' },
  KEY_PASSWORD: { exit: EXIT.usage, summary: 'the password does not decrypt the private key, or no password was given and none can be prompted for' },
  KEY_PROVIDER_UNSUPPORTED: { exit: EXIT.usage, summary: 'a key reference names a provider Drydock does not support yet (awskms://, gcpkms://, azurekms://, hashivault://)' },
  PKCS11_ERROR: { exit: EXIT.runtime, summary: 'a PKCS#11 module, token, PIN or key object could not be used; the message names the URI (without the PIN)' },
  SIGNATURE_NOT_FOUND: { exit: EXIT.checkFailed, summary: 'the image or blob has no signature or attestation to verify' },
  VERIFICATION_FAILED: { exit: EXIT.checkFailed, summary: 'no signature or attestation verified; the message gives each one\'s reason' },
  BUNDLE_INVALID: { exit: EXIT.corrupt, summary: 'a Sigstore bundle, DSSE envelope, certificate or trusted root is malformed' },
  SIGSTORE_ERROR: { exit: EXIT.network, summary: 'Fulcio, Rekor, a timestamp authority or the TUF repository refused a request or could not be reached' },
  IDENTITY_TOKEN_MISSING: { exit: EXIT.usage, summary: 'keyless signing needs an OIDC identity token (--identity-token, SIGSTORE_ID_TOKEN or a CI provider)' },

  // the server's store
  STORE_UNAVAILABLE: { exit: EXIT.io, summary: 'the store (SQLite file or PostgreSQL server) cannot be opened, reached or migrated' },
  STORE_SCHEMA: { exit: EXIT.runtime, summary: 'the store has a schema newer than this Drydock, or a migration history it does not know' },
  STORE_CONFLICT: { exit: EXIT.usage, summary: 'a team, registry or rule with that name already exists' },
  STORE_INPUT_INVALID: { exit: EXIT.usage, summary: 'a page cursor, page size, triage rule or token scope given to the store is invalid' },

  INTERNAL: { exit: EXIT.runtime, summary: 'a bug in Drydock; please report it' },
} as const satisfies Record<string, CodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface DrydockErrorOptions {
  cause?: unknown;
  /** Extra structured facts (never secrets) for JSON output. */
  details?: Record<string, unknown>;
}

export class DrydockError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: DrydockErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DrydockError';
    this.code = code;
    this.exitCode = ERROR_CODES[code].exit;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isDrydockError(e: unknown, code?: ErrorCode): e is DrydockError {
  return e instanceof DrydockError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a DrydockError, keeping DrydockErrors as they are. */
export function toDrydockError(e: unknown, code: ErrorCode, message: string): DrydockError {
  if (e instanceof DrydockError) return e;
  return new DrydockError(code, message, { cause: e });
}
