/** Every cataloger, in one plain list (no registration by import side effects). */
import { LANGUAGE_CATALOGERS } from './lang/index.js';
import { OS_CATALOGERS } from './os/index.js';
import type { Cataloger } from './types.js';

export function allCatalogers(): Cataloger[] {
  return [...OS_CATALOGERS, ...LANGUAGE_CATALOGERS];
}
