/**
 * NuGet versions (NuGet.Versioning's NuGetVersion): Major[.Minor[.Patch[.Revision]]] with
 * missing parts 0 (so "1.0" = "1.0.0" = "1.0.0.0"), leading zeros allowed, each part at most
 * 2147483647; optional -prerelease labels and +metadata (ignored), SemVer 2.0 style.
 * Order (docs "Package versioning", SemVer 2.0): the four numbers; a release above its
 * prereleases; labels pairwise — numeric labels (as .NET int.TryParse reads them) numerically
 * and below non-numeric ones, which compare case-insensitively (ordinal, upper-cased);
 * more labels win when all shared ones are equal.
 * No NuGet exists on this machine; src/version/nuget.test.ts checks the documented edge cases.
 */
import { type Comparator, type Order, cmpStr, invalidVersion } from './types.js';

export type NugetLabel = number | string;
export interface NugetVersion {
  readonly parts: readonly [number, number, number, number];
  /** empty for a release; numeric labels as numbers, others upper-cased */
  readonly labels: readonly NugetLabel[];
}

const NUGET =
  /^([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;
const INT_MAX = 2147483647;

function part(v: string, digits: string | undefined): number {
  if (digits === undefined) return 0;
  const n = Number(digits);
  if (n > INT_MAX) throw invalidVersion('nuget', v, 'version part above 2147483647');
  return n;
}

function label(s: string): NugetLabel {
  // int.TryParse: optional sign, digits, within Int32
  if (/^-?[0-9]+$/.test(s)) {
    const n = Number(s);
    if (n >= -2147483648 && n <= INT_MAX) return n === 0 ? 0 : n;
  }
  return s.toUpperCase();
}

export function parseNuget(v: string): NugetVersion {
  const m = NUGET.exec(v);
  if (m === null) throw invalidVersion('nuget', v, v === '' ? 'empty version' : 'not major[.minor[.patch[.revision]]][-prerelease][+metadata]');
  return {
    parts: [part(v, m[1]), part(v, m[2]), part(v, m[3]), part(v, m[4])],
    labels: m[5] === undefined ? [] : m[5].split('.').map(label),
  };
}

export function compareNuget(a: NugetVersion, b: NugetVersion): Order {
  for (let i = 0; i < 4; i++) {
    const x = a.parts[i]!;
    const y = b.parts[i]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  const la = a.labels;
  const lb = b.labels;
  if (la.length === 0 || lb.length === 0) return la.length === lb.length ? 0 : la.length === 0 ? 1 : -1;
  const n = la.length < lb.length ? la.length : lb.length;
  for (let i = 0; i < n; i++) {
    const x = la[i]!;
    const y = lb[i]!;
    const xs = typeof x === 'string';
    const ys = typeof y === 'string';
    if (xs !== ys) return xs ? 1 : -1;
    if (x !== y) return xs ? cmpStr(x, y as string) : (x as number) < (y as number) ? -1 : 1;
  }
  return la.length === lb.length ? 0 : la.length < lb.length ? -1 : 1;
}

export const nugetComparator: Comparator<NugetVersion> = { scheme: 'nuget', parse: parseNuget, compare: compareNuget };
