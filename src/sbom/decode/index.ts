/**
 * SBOM decoders: CycloneDX JSON, SPDX JSON, Syft JSON and Drydock's own JSON → the neutral
 * Inventory. `detectSbomFormat` looks at the document; `decodeSbom` parses and decodes. Pure:
 * nothing here reads files (scan/sbom-file.ts does).
 */
import { DrydockError } from '../../core/errors.js';
import type { Inventory } from '../../model/package.js';
import { kindOf, type DecodeOptions, type Json } from './common.js';
import { decodeCycloneDx } from './cyclonedx.js';
import { decodeNative } from './native.js';
import { decodeSpdx } from './spdx.js';
import { decodeSyft } from './syft.js';

export { decodeCycloneDx } from './cyclonedx.js';
export { decodeSpdx } from './spdx.js';
export { decodeSyft } from './syft.js';
export { decodeNative } from './native.js';
export { parsePurl, type DecodeOptions, type Purl } from './common.js';

export type DecodedFormat = 'cyclonedx-json' | 'spdx-json' | 'syft-json' | 'json';

export interface DetectedFormat {
  format: DecodedFormat;
  /** spec or schema version as the document states it */
  version?: string;
}

const CDX_VERSIONS = ['1.2', '1.3', '1.4', '1.5', '1.6'];
const SPDX_VERSIONS = ['SPDX-2.2', 'SPDX-2.3'];

function invalid(opts: DecodeOptions, why: string): DrydockError {
  return new DrydockError('SBOM_INVALID', `invalid sbom${opts.path ? ` ${opts.path}` : ''}: ${why}`, { ...(opts.path ? { details: { path: opts.path } } : {}) });
}

/** Which decoder reads `doc`; SBOM_INVALID when none does. */
export function detectSbomFormat(doc: unknown, opts: DecodeOptions = {}): DetectedFormat {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(opts, `expected a JSON object, found ${kindOf(doc)}`);
  const d = doc as Json;
  if (d.bomFormat === 'CycloneDX') {
    const v = typeof d.specVersion === 'string' ? d.specVersion : '';
    if (!CDX_VERSIONS.includes(v)) throw invalid(opts, `CycloneDX specVersion ${JSON.stringify(d.specVersion)} is not supported (read: ${CDX_VERSIONS.join(', ')})`);
    return { format: 'cyclonedx-json', version: v };
  }
  if (typeof d.spdxVersion === 'string') {
    if (!SPDX_VERSIONS.includes(d.spdxVersion)) throw invalid(opts, `spdxVersion ${JSON.stringify(d.spdxVersion)} is not supported (read: ${SPDX_VERSIONS.join(', ')})`);
    return { format: 'spdx-json', version: d.spdxVersion.slice(5) };
  }
  if (Array.isArray(d.artifacts)) {
    const schema = d.schema && typeof d.schema === 'object' ? (d.schema as Json) : {};
    return { format: 'syft-json', ...(typeof schema.version === 'string' ? { version: schema.version } : {}) };
  }
  if (Array.isArray(d.packages) && d.source && typeof d.source === 'object' && 'kind' in d.source) return { format: 'json' };
  throw invalid(opts, 'not a known SBOM format (CycloneDX JSON, SPDX JSON, Syft JSON, Drydock JSON)');
}

/** Decodes a document (JSON text or an already parsed value) into an Inventory. */
export function decodeSbom(input: string | Buffer | unknown, opts: DecodeOptions = {}): Inventory {
  let doc: unknown = input;
  if (typeof input === 'string' || Buffer.isBuffer(input)) {
    const text = (typeof input === 'string' ? input : input.toString('utf8')).replace(/^\uFEFF/, '');
    const head = text.trimStart();
    if (head.startsWith('<')) throw invalid(opts, 'XML documents (CycloneDX XML) are not supported; use the JSON form');
    if (/^(SPDXVersion|DocumentName|##)\s*:?/.test(head)) throw invalid(opts, 'SPDX tag-value documents are not supported; use SPDX JSON');
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new DrydockError('SBOM_INVALID', `invalid sbom${opts.path ? ` ${opts.path}` : ''}: not JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
    }
  }
  const { format } = detectSbomFormat(doc, opts);
  const d = doc as Json;
  switch (format) {
    case 'cyclonedx-json':
      return decodeCycloneDx(d, opts);
    case 'spdx-json':
      return decodeSpdx(d, opts);
    case 'syft-json':
      return decodeSyft(d, opts);
    case 'json':
      return decodeNative(d, opts);
  }
}
