import type { Cataloger } from '../types.js';
import { apkCataloger } from './apk.js';
import { dpkgCataloger } from './dpkg.js';
import { rpmCataloger } from './rpm/index.js';

/** Operating-system package catalogers (dpkg, apk, rpm), in the order they run. */
export const OS_CATALOGERS: Cataloger[] = [dpkgCataloger, apkCataloger, rpmCataloger];
