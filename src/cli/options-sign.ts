/** Options of the signing and attestation commands (merged into OPTIONS in options.ts). */
import { d } from './option-decl.js';

export const SIGN_OPTIONS = {
} as const;
