/**
 * Alpine secdb (https://secdb.alpinelinux.org/<version>/<repo>.json): per package, the version
 * that fixed each CVE. Converted to OSV-shaped records in ecosystem "Alpine:<distroversion>", one
 * record per vulnerability id ("ALPINE-CVE-..."): introduced 0, fixed at the secfix version.
 * A secfix version "0" means Alpine considers the package not affected: the entry is kept with an
 * empty version list and no range, so no version matches it.
 */
import { readFileSync } from 'node:fs';
import { DrydockError } from '../../core/errors.js';
import type { OsvAffected, OsvRecord } from '../../model/vuln.js';
import type { LoadContext } from './types.js';
import type { LoadCount } from './osv.js';

/** Secdb files are small (a few MB): read whole. */
const MAX_SECDB_BYTES = 64 * 1024 * 1024;

export function loadSecdb(file: string, text: string | undefined, ctx: LoadContext): LoadCount {
  const raw = text ?? readFileSync(file, 'utf8');
  if (raw.length > MAX_SECDB_BYTES) throw new DrydockError('FEED_INVALID', `secdb ${file} is larger than ${MAX_SECDB_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (cause) {
    throw new DrydockError('FEED_INVALID', `secdb ${file} is not valid json (corrupt or truncated)`, { cause });
  }
  const d = doc as { distroversion?: unknown; reponame?: unknown; packages?: unknown };
  if (typeof d?.distroversion !== 'string' || !Array.isArray(d.packages)) {
    throw new DrydockError('FEED_INVALID', `secdb ${file} has no distroversion or packages list`);
  }
  const repo = typeof d.reponame === 'string' ? d.reponame : 'main';
  const ecosystem = `Alpine:${d.distroversion}`;
  ctx.sink.beginSource(ctx.name ?? `alpine-secdb:${d.distroversion}/${repo}`, 'alpine-secdb');

  const byId = new Map<string, OsvAffected[]>();
  const count: LoadCount = { records: 0, skipped: 0 };
  d.packages.forEach((p: unknown, i: number) => {
    const pkg = (p as { pkg?: { name?: unknown; secfixes?: unknown } })?.pkg;
    const where = `${file}: packages[${i}]`;
    if (!pkg || typeof pkg.name !== 'string' || pkg.name === '') {
      ctx.sink.invalid(where, `invalid secdb entry ${where}: no package name`);
      count.skipped++;
      return;
    }
    const fixes = pkg.secfixes ?? {};
    if (typeof fixes !== 'object' || fixes === null || Array.isArray(fixes)) {
      ctx.sink.invalid(where, `invalid secdb entry ${where} (${pkg.name}): secfixes is not an object`);
      count.skipped++;
      return;
    }
    for (const [version, ids] of Object.entries(fixes as Record<string, unknown>)) {
      if (!Array.isArray(ids)) {
        ctx.sink.invalid(where, `invalid secdb entry ${where} (${pkg.name} ${version}): ids are not a list`);
        count.skipped++;
        continue;
      }
      for (const item of ids) {
        if (typeof item !== 'string') continue;
        // An item may hold several ids separated by spaces ("CVE-2020-1 CVE-2020-2").
        for (const vid of item.split(/\s+/).filter(Boolean)) {
          const entry: OsvAffected =
            version === '0'
              ? { package: { ecosystem, name: pkg.name }, versions: [], database_specific: { 'alpine-secdb': 'not-affected' } }
              : { package: { ecosystem, name: pkg.name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: version }] }] };
          const list = byId.get(vid) ?? [];
          list.push(entry);
          byId.set(vid, list);
        }
      }
    }
  });
  const part = `${d.distroversion}/${repo}`;
  for (const id of [...byId.keys()].sort()) {
    const rec: OsvRecord = {
      id: `ALPINE-${id}`,
      // secdb carries no times; a fixed value keeps identities reproducible (content changes still show)
      modified: '1970-01-01T00:00:00Z',
      aliases: [id],
      affected: byId.get(id)!,
      database_specific: { source: 'alpine-secdb' },
    };
    ctx.sink.advisory(part, rec);
    count.records++;
  }
  return count;
}
