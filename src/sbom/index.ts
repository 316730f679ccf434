/** SBOM encoders: the neutral Inventory → CycloneDX, SPDX, native JSON and table. Pure functions. */
import type { Inventory } from '../model/package.js';
import type { EncodeOptions } from './common.js';
import { encodeCycloneDx, type CycloneDxVersion } from './cyclonedx.js';
import { encodeNativeJson, encodeTable } from './native.js';
import { encodeSpdx } from './spdx.js';

export { encodeCycloneDx, CYCLONEDX_VERSIONS, type CycloneDxVersion, type CycloneDxOptions } from './cyclonedx.js';
export { encodeSpdx, spdxId, spdxPackageId } from './spdx.js';
export { encodeNativeJson, encodeTable, inventoryToJsonValue } from './native.js';
export { contentUuid, type EncodeOptions } from './common.js';

export type SbomFormat = 'cyclonedx-json' | 'spdx-json' | 'json' | 'table';

/** Whether `format` writes OS packages' installed-file lists (`metadata.files`); the others leave them out. */
export function writesFileLists(format: SbomFormat): boolean {
  return format === 'json';
}

/** Encodes an inventory in one of the SBOM formats (`version`: the CycloneDX spec version). */
export function encodeSbom(inv: Inventory, format: SbomFormat, opts: EncodeOptions & { version?: string } = {}): string {
  switch (format) {
    case 'cyclonedx-json':
      return encodeCycloneDx(inv, { ...opts, version: (opts.version ?? '1.6') as CycloneDxVersion });
    case 'spdx-json':
      return encodeSpdx(inv, opts);
    case 'json':
      return encodeNativeJson(inv);
    case 'table':
      return encodeTable(inv);
  }
}
