/**
 * Scan report encoders: a ScanResult (findings already filtered by the caller) as a table for
 * people, Drydock's JSON, SARIF 2.1.0, CycloneDX with vulnerabilities, OpenVEX or JUnit XML.
 * Pure functions: timestamps come from result.createdAt, never from the system clock.
 */
import { DrydockError } from '../core/errors.js';
import type { ScanResult } from '../model/vuln.js';
import type { ScanReportOptions } from './scan-common.js';
import { encodeScanCycloneDx } from './scan-cyclonedx.js';
import { encodeScanJson } from './scan-json.js';
import { encodeScanJunit } from './scan-junit.js';
import { encodeScanOpenVex } from './scan-openvex.js';
import { encodeScanSarif } from './scan-sarif.js';
import { encodeScanTable } from './scan-table.js';

export type { ScanReportOptions } from './scan-common.js';
export { encodeScanTable } from './scan-table.js';
export { encodeScanJson, scanReportJsonValue, SCAN_JSON_SCHEMA_VERSION } from './scan-json.js';
export { encodeScanSarif, sarifLevel, SARIF_FINGERPRINT_KEY } from './scan-sarif.js';
export { encodeScanCycloneDx, scanCycloneDxDocument } from './scan-cyclonedx.js';
export { encodeScanOpenVex, scanOpenVexDocument, OPENVEX_CONTEXT } from './scan-openvex.js';
export { encodeScanJunit } from './scan-junit.js';

export type ScanFormat = 'table' | 'json' | 'sarif' | 'cyclonedx-json' | 'openvex' | 'junit';
export const SCAN_FORMATS: readonly ScanFormat[] = ['table', 'json', 'sarif', 'cyclonedx-json', 'openvex', 'junit'];

export function encodeScanReport(result: ScanResult, format: ScanFormat, opts: ScanReportOptions = {}): string {
  switch (format) {
    case 'table':
      return encodeScanTable(result, opts);
    case 'json':
      return encodeScanJson(result);
    case 'sarif':
      return encodeScanSarif(result, opts);
    case 'cyclonedx-json':
      return encodeScanCycloneDx(result, opts);
    case 'openvex':
      return encodeScanOpenVex(result, opts);
    case 'junit':
      return encodeScanJunit(result, opts);
    default:
      throw new DrydockError('FORMAT_UNSUPPORTED', `scan report format ${JSON.stringify(format)} is not one of ${SCAN_FORMATS.join(', ')}`);
  }
}
