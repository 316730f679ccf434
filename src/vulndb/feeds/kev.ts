/** CISA Known Exploited Vulnerabilities catalogue (known_exploited_vulnerabilities.json). Replaces the previous one. */
import type { KevEntry } from '../../model/vuln.js';
import { openFeedStream, scanArrayProperty } from '../jsonstream.js';
import type { LoadContext } from './types.js';
import type { LoadCount } from './osv.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export async function loadKev(file: string, gzip: boolean, ctx: LoadContext): Promise<LoadCount> {
  ctx.sink.beginSource(ctx.name ?? 'kev', 'kev');
  ctx.sink.resetTable('kev');
  const count: LoadCount = { records: 0, skipped: 0 };
  let index = 0;
  const res = await scanArrayProperty(openFeedStream(file, gzip), file, 'vulnerabilities', (json) => {
    const where = `${file}: vulnerabilities[${index++}]`;
    const v = JSON.parse(json) as Record<string, unknown>;
    const cve = str(v.cveID);
    const dateAdded = str(v.dateAdded);
    if (!cve || !dateAdded) {
      ctx.sink.invalid(where, `invalid kev entry ${where}: no cveID or dateAdded`);
      count.skipped++;
      return;
    }
    const k: KevEntry = { dateAdded };
    const dueDate = str(v.dueDate);
    if (dueDate) k.dueDate = dueDate;
    const ransom = str(v.knownRansomwareCampaignUse);
    if (ransom) k.knownRansomwareCampaignUse = ransom;
    const vendor = str(v.vendorProject);
    if (vendor) k.vendorProject = vendor;
    const product = str(v.product);
    if (product) k.product = product;
    ctx.sink.kev(cve, k);
    count.records++;
  });
  if (!res.found) ctx.sink.invalid(file, `kev catalogue ${file} has no vulnerabilities list`);
  return count;
}
