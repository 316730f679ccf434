/**
 * The Drydock library API (docs/api.md). Everything exported here follows semver; deeper
 * imports are internal.
 */
export * from './core/index.js';

// images: targets, references, platforms, sources and writers
export * from './image/types.js';
export type { ImageReader, ImageWriter } from './image/transport.js';
export { parseTarget } from './image/target.js';
export { parseReference, formatReference, familiarName, type Reference } from './image/reference.js';
export { parsePlatform, formatPlatform, hostPlatform, platformMatches, selectFromIndex } from './image/platform.js';
export { openImage, openReader, openWriter } from './image/open.js';
export { resolveImage } from './image/resolve.js';
export { copyImage, type CopyOptions, type CopyResult } from './image/copy.js';
export { RegistryClient, type RegistryClientOptions, type RepoRef } from './image/registry/client.js';

// layers: the streaming, layer-aware filesystem
export * from './layers/types.js';
export { buildImageFilesystem, type BuildOptions, type ImageFilesystem } from './layers/filesystem.js';
export { verifyLayers, layerVerificationStatus, type VerifyOptions } from './layers/verify.js';
export { LayerCache } from './layers/cache.js';

// orchestration
export { inspectImage, listImageFiles, type ScanCommonOptions } from './scan/inspect.js';
export { copyImageTargets, type CopyTargetsResult } from './scan/copy.js';
export type { InspectResult, InspectLayer, FilesResult, FilesLayer } from './report/inspect.js';

// inventory and SBOMs
export * from './model/package.js';
export { packageId, comparePackages } from './model/ids.js';
export { sbomImage, selectCatalogers, catalogerList, type SbomOptions, type CatalogerInfo } from './scan/sbom.js';
export { inventoryFromSbomFile } from './scan/sbom-file.js';
export { decodeSbom, detectSbomFormat, decodeCycloneDx, decodeSpdx, decodeSyft, decodeNative, type DecodeOptions, type DecodedFormat, type DetectedFormat } from './sbom/decode/index.js';
export { encodeSbom, encodeCycloneDx, encodeSpdx, encodeNativeJson, encodeTable, CYCLONEDX_VERSIONS, type SbomFormat, type CycloneDxVersion, type EncodeOptions } from './sbom/index.js';

// vulnerability data, matching and scanning
export * from './model/vuln.js';
export { compareVersions, comparator, isValidVersion, VERSION_SCHEMES, type VersionScheme, type Comparator } from './version/index.js';
export {
  VulnDb,
  importFeeds,
  updateDb,
  exportDb,
  dbStatus,
  defaultDbPath,
  parseSourceSpec,
  DEFAULT_SOURCES,
  type ImportInput,
  type ImportOptions,
  type ImportSummary,
  type UpdateSource,
  type UpdateOptions,
  type UpdateSummary,
  type DbStatus,
  type ChangeLog,
} from './vulndb/index.js';
export { Matcher, matchInventory, distroStatus, type MatchOptions } from './match/index.js';
export { applySuppressions, loadIgnoreFile, loadVex, type IgnoreRuleSet, type VexDocument } from './match/suppress/index.js';
export { selectFindings, gate, parseSeverityList } from './policy/filter.js';
export { scanImage, evaluateInventory, openScanDatabase, DEFAULT_DB_MAX_AGE_MS, type ScanOptions, type ScanDatabase, type DbFreshness } from './scan/scan.js';
export { encodeScanReport, SCAN_FORMATS, type ScanFormat, type ScanReportOptions } from './report/scan-index.js';

// the server's store (SQLite by default, PostgreSQL at scale)
export * from './store/index.js';
