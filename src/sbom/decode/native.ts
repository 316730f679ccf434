/**
 * Drydock's own JSON (`--format json`): the Inventory itself. Checked field by field so that a
 * hand-edited or truncated file fails with the JSON path instead of deep inside a later stage.
 */
import type { Inventory, Package } from '../../model/package.js';
import { DecodeContext, isPackageType, type DecodeOptions, type Json } from './common.js';

export function decodeNative(doc: Json, opts: DecodeOptions = {}): Inventory {
  const ctx = new DecodeContext('drydock-json', opts);
  const s = ctx.obj(doc.source, 'source');
  ctx.need(s.kind, 'source.kind');
  ctx.str(s.name, 'source.name');
  ctx.str(s.target, 'source.target');
  ctx.arr(s.layers, 'source.layers').forEach((l, i) => {
    const o = ctx.obj(l, `source.layers[${i}]`);
    if (typeof o.index !== 'number') ctx.fail(`source.layers[${i}].index`, 'expected a number');
  });
  if (doc.distro !== undefined) ctx.need(ctx.obj(doc.distro, 'distro').id, 'distro.id');
  const ids = new Set<string>();
  const packages = ctx.arr(doc.packages, 'packages').map((x, i) => {
    const at = `packages[${i}]`;
    const p = ctx.obj(x, at);
    const id = ctx.need(p.id, `${at}.id`);
    ids.add(id);
    const type = ctx.need(p.type, `${at}.type`);
    if (!isPackageType(type)) ctx.fail(`${at}.type`, `unknown package type ${JSON.stringify(type)}`);
    ctx.need(p.name, `${at}.name`);
    if (ctx.str(p.version, `${at}.version`) === undefined) ctx.fail(`${at}.version`, 'missing');
    if (p.version === '') ctx.warn(`package ${String(p.name)} (${id}) has no version`);
    ctx.arr(p.locations, `${at}.locations`).forEach((l, j) => ctx.need(ctx.obj(l, `${at}.locations[${j}]`).path, `${at}.locations[${j}].path`));
    for (const k of ['cpes', 'licenses', 'evidence'] as const) ctx.arr(p[k], `${at}.${k}`).forEach((v, j) => ctx.need(v, `${at}.${k}[${j}]`));
    return { ...p, locations: p.locations ?? [], foundBy: p.foundBy ?? 'sbom:drydock-json' } as unknown as Package;
  });
  const relationships = ctx.arr(doc.relationships, 'relationships').map((x, i) => {
    const r = ctx.obj(x, `relationships[${i}]`);
    for (const k of ['from', 'to'] as const) if (!ids.has(ctx.need(r[k], `relationships[${i}].${k}`))) ctx.fail(`relationships[${i}].${k}`, `no package has id ${String(r[k])}`);
    ctx.need(r.type, `relationships[${i}].type`);
    return r as unknown as Inventory['relationships'][number];
  });
  const issues = ctx.arr(doc.issues, 'issues').map((x, i) => {
    const o = ctx.obj(x, `issues[${i}]`);
    ctx.need(o.code, `issues[${i}].code`);
    ctx.need(o.message, `issues[${i}].message`);
    return o as unknown as Inventory['issues'][number];
  });
  const inv: Inventory = {
    source: { ...(s as unknown as Inventory['source']), layers: (s.layers ?? []) as Inventory['source']['layers'] },
    ...(doc.distro !== undefined ? { distro: doc.distro as unknown as NonNullable<Inventory['distro']> } : {}),
    packages,
    relationships,
    issues: [...issues, ...ctx.issues],
    ...(doc.descriptor !== undefined ? { descriptor: ctx.obj(doc.descriptor, 'descriptor') as unknown as NonNullable<Inventory['descriptor']> } : {}),
  };
  return inv;
}
