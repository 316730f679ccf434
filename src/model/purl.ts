import { lazyPackage } from '../core/lazy.js';

/**
 * packageurl-js, loaded on first use. Its load costs about 17 ms (7 of them in the `Intl.Collator` it
 * builds at load), so commands that never write a package URL skip it, and `sbom` loads it while
 * the first layer is still arriving (preloadPackageUrl).
 */
export const packageUrlLib = lazyPackage<typeof import('packageurl-js')>('packageurl-js');

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
