/** match/: packages + advisories → findings (level 4; suppression lives in match/suppress/). */
export { Matcher, matchInventory, compareFindings, sortFindings } from './matcher.js';
export type { MatchOptions, MatcherOptions, Hit, LookupResult } from './matcher.js';
export {
  distroEcosystems,
  ecosystemScheme,
  rangeScheme,
  languageEcosystem,
  ecosystemPackageName,
  osPackageQuery,
  languagePackageQuery,
  goToolchainSemver,
  rpmEvr,
} from './ecosystems.js';
export type { DistroEcosystems, PackageQuery } from './ecosystems.js';
export { ecosystemBase } from './ecosystems.js';
export { compileAffected, ParseCache, vendorFixStateOf } from './ranges.js';
export type { CompiledAffected, RangeMatch, EntryProblem, VendorFixState } from './ranges.js';
export { decideSeverity, severityFromCvss, bestCvss, collectCvss } from './severity.js';
export type { SeverityDecision } from './severity.js';
export { distroStatus } from './eol.js';
export type { DistroStatus } from './eol.js';
