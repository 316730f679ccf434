/** Image attestations: storage beside images (cosign's .att tag, bundle referrers), discovery, verification, content checks. */
export {
  PREDICATE_TYPE_ANNOTATION,
  BUILDKIT_PREDICATE_ANNOTATION,
  BUILDKIT_REFERENCE_TYPE,
  attestImage,
  listImageAttestations,
  checkStoredAttestation,
  verifyImageAttestations,
  requireAttestation,
  type AttestationFormat,
  type AttestImageOptions,
  type AttestImageResult,
  type StoredAttestation,
  type AttestationListing,
  type AttestationCheck,
  type VerifyImageAttestationOptions,
  type VerifyImageAttestationsResult,
} from './image.js';
export {
  compareInventories,
  componentKey,
  catalogersOf,
  describeContentCheck,
  type ComponentRef,
  type ContentCheckResult,
  type ContentNote,
  type VersionChange,
} from './content.js';
