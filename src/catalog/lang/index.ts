import type { Cataloger } from '../types.js';

/** Language and binary catalogers. */
export const LANGUAGE_CATALOGERS: Cataloger[] = [];
