/**
 * Drydock's own formats: `json` (the Inventory itself, fields in a fixed order) and `table`
 * (one line per package: NAME VERSION TYPE LAYER PATH, sorted).
 */
import type { Inventory, Package } from '../model/package.js';
import { byString } from '../core/compare.js';

const ORDER: Record<string, readonly string[]> = {
  inventory: ['source', 'distro', 'packages', 'relationships', 'issues', 'descriptor'],
  source: ['target', 'kind', 'name', 'digest', 'configDigest', 'platform', 'layers'],
  layer: ['index', 'digest', 'diffId', 'createdBy'],
  distro: ['id', 'versionId', 'versionCodename', 'idLike', 'prettyName', 'name', 'cpeName', 'source'],
  package: ['id', 'type', 'namespace', 'name', 'version', 'purl', 'cpes', 'licenses', 'foundBy', 'locations', 'introducedBy', 'ownedBy', 'evidence', 'metadata'],
  location: ['path', 'layer', 'layerDigest', 'diffId', 'role'],
  relationship: ['from', 'to', 'type'],
  issue: ['code', 'severity', 'message', 'path', 'layer'],
  descriptor: ['name', 'version', 'options'],
};

/** Known keys first in their order, the rest sorted; nested plain objects get sorted keys. */
function ordered(o: object | undefined, kind: string): Record<string, unknown> | undefined {
  if (!o) return undefined;
  const rec = o as Record<string, unknown>;
  const known = ORDER[kind] ?? [];
  const rest = Object.keys(rec).filter((k) => !known.includes(k)).sort(byString);
  const out: Record<string, unknown> = {};
  // known shapes get their nested known objects ordered by the caller; anything else (metadata) is sorted deeply
  for (const k of [...known, ...rest]) if (rec[k] !== undefined) out[k] = kind === '' || !known.includes(k) ? sorted(rec[k]) : rec[k];
  return out;
}

function sorted(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sorted);
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) return ordered(v, '');
  return v;
}

export function inventoryToJsonValue(inv: Inventory): Record<string, unknown> {
  const src = ordered({ ...inv.source, layers: inv.source.layers.map((l) => ordered(l, 'layer')) }, 'source');
  const pkg = (p: Package) =>
    ordered(
      {
        ...p,
        locations: p.locations.map((l) => ordered(l, 'location')),
        introducedBy: ordered(p.introducedBy, 'layer'),
        metadata: p.metadata ? ordered({ ...p.metadata }, '') : undefined,
      },
      'package',
    );
  return ordered(
    {
      source: src,
      distro: ordered(inv.distro, 'distro'),
      packages: inv.packages.map(pkg),
      relationships: inv.relationships.map((r) => ordered(r, 'relationship')),
      issues: inv.issues.map((i) => ordered(i, 'issue')),
      descriptor: inv.descriptor ? ordered({ ...inv.descriptor, options: ordered(inv.descriptor.options, '') }, 'descriptor') : undefined,
    },
    'inventory',
  )!;
}

export function encodeNativeJson(inv: Inventory): string {
  return JSON.stringify(inventoryToJsonValue(inv), null, 2) + '\n';
}

function layerCell(p: Package): string {
  if (p.introducedBy) return String(p.introducedBy.index);
  const l = p.locations[0]?.layer;
  return l === undefined || l < 0 ? '-' : String(l);
}

export function encodeTable(inv: Inventory): string {
  const rows = inv.packages.map((p) => [p.namespace && p.type === 'npm' ? `@${p.namespace}/${p.name}` : p.name, p.version, p.type, layerCell(p), p.locations[0]?.path ?? '']);
  rows.sort((a, b) => {
    for (let i = 0; i < a.length; i++) {
      const c = byString(a[i]!, b[i]!);
      if (c) return c;
    }
    return 0;
  });
  if (rows.length === 0) return 'No packages found.\n';
  const head = ['NAME', 'VERSION', 'TYPE', 'LAYER', 'PATH'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}
