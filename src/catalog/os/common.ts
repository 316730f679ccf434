/** Small helpers shared by the OS package catalogers. */
import type { Distro, LayerRef, Location } from '../../model/package.js';
import type { CatalogContext } from '../types.js';

/** distro qualifier value: "debian-12", "alpine-3.20.0", falling back to the codename */
export function distroQualifier(d: Distro | undefined): string | undefined {
  if (!d) return undefined;
  const v = d.versionId ?? d.versionCodename;
  return v ? `${d.id}-${v}` : d.id;
}

/** The layer a location was written by, as a LayerRef (undefined when unknown). */
export function layerRefOf(ctx: CatalogContext, loc: Location): LayerRef | undefined {
  if (loc.layer < 0) return undefined;
  const l = ctx.fs.layers[loc.layer];
  if (!l) return undefined;
  return { index: loc.layer, digest: l.digest, diffId: l.diffId };
}

export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
export function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** Sorted, unique strings. */
export function uniqSorted(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}
