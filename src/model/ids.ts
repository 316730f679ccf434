import { createHash } from 'node:crypto';
import { byString } from '../core/compare.js';
import type { Package, Relationship } from './package.js';

/**
 * A package id derived from content: type, namespace, name, version and the first evidence path.
 * The same package found in the same file gets the same id on every run.
 */
export function packageId(p: Pick<Package, 'type' | 'namespace' | 'name' | 'version' | 'locations'>): string {
  const h = createHash('sha256')
    .update([p.type, p.namespace ?? '', p.name, p.version, p.locations[0]?.path ?? ''].join('\u0000'))
    .digest('hex');
  return `pkg-${h.slice(0, 16)}`;
}

/** Sorts packages deterministically: type, namespace, name, version, first path. */
export function comparePackages(a: Package, b: Package): number {
  const k = (p: Package) => [p.type, p.namespace ?? '', p.name, p.version, p.locations[0]?.path ?? ''];
  const ka = k(a);
  const kb = k(b);
  for (let i = 0; i < ka.length; i++) {
    if (ka[i]! < kb[i]!) return -1;
    if (ka[i]! > kb[i]!) return 1;
  }
  return 0;
}

/** Relationships without repeats (same from, to and type), ordered by from, to, type: reproducible output. */
export function uniqueRelationships(rels: Iterable<Relationship>): Relationship[] {
  const byKey = new Map<string, Relationship>();
  for (const r of rels) byKey.set(`${r.from}\u0000${r.to}\u0000${r.type}`, { from: r.from, to: r.to, type: r.type });
  return [...byKey.entries()].sort((a, b) => byString(a[0], b[0])).map(([, r]) => r);
}
