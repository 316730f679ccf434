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
