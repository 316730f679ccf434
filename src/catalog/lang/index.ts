import type { Cataloger } from '../types.js';
import { goBinaryCataloger } from './golang.js';
import { javaArchiveCataloger } from './java.js';
import { npmInstalledCataloger, npmLockCataloger } from './npm.js';
import { pythonInstalledCataloger, pythonLockCataloger } from './python.js';
import { rustAuditBinaryCataloger, rustLockCataloger } from './rust.js';

/** Language and binary catalogers. */
export const LANGUAGE_CATALOGERS: Cataloger[] = [
  npmInstalledCataloger,
  npmLockCataloger,
  pythonInstalledCataloger,
  pythonLockCataloger,
  goBinaryCataloger,
  javaArchiveCataloger,
  rustAuditBinaryCataloger,
  rustLockCataloger,
];
