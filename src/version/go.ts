/**
 * Go module versions with golang.org/x/mod/semver semantics: "v" MAJOR[.MINOR[.PATCH]]
 * [-prerelease][+build]; the shorthands "v1" and "v1.2" mean v1.0.0 and v1.2.0 and take no
 * prerelease or build; prerelease precedence as in SemVer 2.0; build metadata, including
 * "+incompatible", is ignored. Pseudo-versions (v0.0.0-20191109021931-daa7c04131f5) are
 * ordinary prereleases. OSV writes Go versions without the "v": both forms are accepted.
 */
import { type Comparator, type Order, cmpNum, invalidVersion, toNum } from './types.js';
import { type SemVersion, comparePreIds, parsePreIds } from './semver.js';

const NUM = '(0|[1-9][0-9]*)';
const ID = '(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)';
const GO = new RegExp(
  `^v${NUM}(?:\\.${NUM}(?:\\.${NUM}(?:-(${ID}(?:\\.${ID})*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?)?)?$`,
);

export function parseGo(v: string): SemVersion {
  const m = GO.exec(v.startsWith('v') ? v : `v${v}`);
  if (m === null) throw invalidVersion('go', v, v === '' ? 'empty version' : 'not a go module version (vmajor[.minor[.patch[-pre][+build]]])');
  return { major: toNum(m[1]!), minor: toNum(m[2] ?? '0'), patch: toNum(m[3] ?? '0'), pre: parsePreIds(m[4]), build: m[5] ?? '' };
}

export function compareGo(a: SemVersion, b: SemVersion): Order {
  return cmpNum(a.major, b.major) || cmpNum(a.minor, b.minor) || cmpNum(a.patch, b.patch) || comparePreIds(a.pre, b.pre);
}

export const goComparator: Comparator<SemVersion> = { scheme: 'go', parse: parseGo, compare: compareGo };
