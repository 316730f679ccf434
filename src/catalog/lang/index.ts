import type { Cataloger } from '../types.js';
import { npmInstalledCataloger, npmLockCataloger } from './npm.js';

/** Language and binary catalogers. */
export const LANGUAGE_CATALOGERS: Cataloger[] = [npmInstalledCataloger, npmLockCataloger];
