import { createRequire } from 'node:module';
import { byString } from '../core/compare.js';

const require = createRequire(import.meta.url);

type PackageUrlLib = typeof import('packageurl-js');

/**
 * The packageurl-js versions whose load-time Intl.Collator is checked to order nothing a code-unit
 * comparison orders differently (purl.test.ts compares both loads on many package URLs).
 */
const COLLATOR_CHECKED = new Set(['2.0.1']);

/** A stand-in for Intl.Collator that compares by code units (what packageurl-js gets while it loads). */
function CodeUnitCollator(): { compare: (a: unknown, b: unknown) => number } {
  return {
    compare: (a, b) => byString(String(a), String(b)),
  };
}

/**
 * Loads packageurl-js. It builds an `Intl.Collator` when it loads, only to order the names of its
 * eight components (looked up as the strings '0' to '7'), which code units order the same way; the
 * collator initialises ICU's collation data, about 70M instructions (14 ms on a slow machine, a
 * twentieth of a warm `sbom`). So for the checked versions it loads with a code-unit collator in
 * Intl.Collator's place, put back before the require returns (loading is synchronous: no other
 * code sees it). Other versions load untouched.
 */
export function loadPackageUrlLib(opts: { codeUnitCollator?: boolean } = {}): PackageUrlLib {
  if (!(opts.codeUnitCollator ?? packageUrlCollatorChecked())) return require('packageurl-js') as PackageUrlLib;
  const intl = Intl as unknown as { Collator: unknown };
  const real = intl.Collator;
  intl.Collator = CodeUnitCollator;
  try {
    return require('packageurl-js') as PackageUrlLib;
  } finally {
    intl.Collator = real;
  }
}

/** Whether this installation's packageurl-js loads with the code-unit collator. */
export function packageUrlCollatorChecked(): boolean {
  return COLLATOR_CHECKED.has((require('packageurl-js/package.json') as { version?: string }).version ?? '');
}

let lib: PackageUrlLib | undefined;

/**
 * packageurl-js, loaded on first use (loadPackageUrlLib), so commands that never write a package URL
 * skip it, and `sbom` loads it while the first layer is still arriving (preloadPackageUrl).
 */
export function packageUrlLib(): PackageUrlLib {
  return (lib ??= loadPackageUrlLib());
}

/** Loads packageurl-js in a later turn of the event loop, typically while the main thread waits for I/O. */
export function preloadPackageUrl(): void {
  setImmediate(() => {
    try {
      packageUrlLib();
    } catch {
      // the first real use reports it
    }
  });
}

/**
 * A package URL (https://github.com/package-url/purl-spec) as a string, or undefined when the parts
 * do not make a valid one. Qualifiers that are undefined or empty and an empty version are left out.
 */
export function packageUrl(
  type: string,
  namespace: string | undefined,
  name: string,
  version: string | undefined,
  qualifiers?: Record<string, string | undefined>,
): string | undefined {
  let q: Record<string, string> | null = null;
  for (const [k, v] of Object.entries(qualifiers ?? {})) if (v !== undefined && v !== '') (q ??= {})[k] = v;
  try {
    return new (packageUrlLib().PackageURL)(type, namespace ?? null, name, version || null, q, null).toString();
  } catch {
    return undefined;
  }
}
