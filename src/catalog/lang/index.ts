import type { Cataloger } from '../types.js';
import { goBinaryCataloger } from './golang.js';
import { javaArchiveCataloger } from './java.js';
import { npmInstalledCataloger, npmLockCataloger } from './npm.js';
import { pythonInstalledCataloger, pythonLockCataloger } from './python.js';
import { rustAuditBinaryCataloger, rustLockCataloger } from './rust.js';
import { rubyInstalledCataloger, rubyLockCataloger } from './ruby.js';
import { phpInstalledCataloger, phpLockCataloger } from './php.js';
import { dotnetDepsCataloger, dotnetLockCataloger } from './dotnet.js';
import { goModCataloger } from './golang-mod.js';
import { javaDeclaredCataloger } from './java-declared.js';
import { binaryClassifierCataloger } from './binary-classifiers.js';
import { embeddedSbomCataloger } from './embedded-sbom.js';

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
  rubyInstalledCataloger,
  rubyLockCataloger,
  phpInstalledCataloger,
  phpLockCataloger,
  dotnetDepsCataloger,
  dotnetLockCataloger,
  goModCataloger,
  javaDeclaredCataloger,
  binaryClassifierCataloger,
  embeddedSbomCataloger,
];
