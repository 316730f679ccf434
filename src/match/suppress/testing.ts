/** Test helpers: findings built from a few facts. */
import type { Finding, FindingPackage } from '../../model/vuln.js';

export function makeFinding(id: string, pkg: Partial<FindingPackage> & { name: string; version: string }, over: Partial<Finding> = {}): Finding {
  return {
    id,
    aliases: [],
    package: { id: `${pkg.name}@${pkg.version}`, type: 'npm', locations: [], ...pkg },
    fixedVersions: [],
    fixState: 'unknown',
    severity: 'high',
    cvss: [],
    urls: [],
    match: {
      matcher: 'test',
      ecosystem: 'test',
      searchedName: pkg.name,
      searchedVersion: pkg.version,
      scheme: 'semver',
      matchedRange: '<99',
      advisoryIds: [id],
      sources: ['test'],
    },
    ...over,
  };
}
