/**
 * Attestations (attest/ is level 4): in-toto statements, DSSE envelopes, predicates, CEL policies and
 * attestations about files. Image attestations (storage in registries, discovery, --check-content)
 * build on these.
 */
export {
  STATEMENT_V1,
  STATEMENT_V01,
  INTOTO_PAYLOAD_TYPE,
  ACCEPTED_SUBJECT_ALGORITHMS,
  makeStatement,
  validateStatement,
  parseStatement,
  subjectMatches,
  toDigestSet,
  isTypeUri,
  type DigestSet,
  type ResourceDescriptor,
  type Statement,
  type SubjectInput,
} from './statement.js';
export {
  DSSE_ENVELOPE_MEDIA_TYPE,
  pae,
  decodeBase64,
  parseEnvelope,
  signPayload,
  signEnvelope,
  verifyEnvelope,
  type DsseSignature,
  type Envelope,
  type EnvelopeVerification,
  type VerifyEnvelopeOptions,
} from './dsse.js';
export {
  PREDICATE_TYPES,
  PREDICATE_TYPE_NAMES,
  predicateTypeOf,
  predicateTypeMatches,
  checkPredicate,
  predicateFromFile,
  vulnPredicate,
  sbomPredicate,
  type PredicateTypeName,
  type SbomPredicateFormat,
  type VulnPredicateOptions,
} from './predicates.js';
export {
  compilePolicy,
  loadPolicyFile,
  runPolicy,
  evaluatePolicy,
  policyFailures,
  type Policy,
  type PolicyCondition,
  type PolicyResult,
  type ConditionResult,
} from './policy.js';
export {
  attestBlob,
  blobStatement,
  verifyBlobAttestation,
  sha256Hex,
  type AttestBlobInput,
  type BlobAttestationResult,
  type VerifyBlobAttestationOptions,
  envelopeBundle,
  envelopeFromBundle,
} from './blob.js';
