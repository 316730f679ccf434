/**
 * NVD CVE API 2.0 JSON feeds (nvdcve-2.0-*.json[.gz]): vulnerabilities[].cve.metrics.cvssMetric*[]
 * → CVSS scores per CVE, recomputed from the vectors. Streamed; a truncated file is FEED_INVALID.
 */
import { basename } from 'node:path';
import type { CvssScore } from '../../model/vuln.js';
import { cvssScore } from '../cvss.js';
import { openFeedStream, scanArrayProperty } from '../jsonstream.js';
import type { LoadContext } from './types.js';
import type { LoadCount } from './osv.js';

const METRIC_KEYS = ['cvssMetricV40', 'cvssMetricV31', 'cvssMetricV30', 'cvssMetricV2'];

export async function loadNvd(file: string, gzip: boolean, ctx: LoadContext): Promise<LoadCount> {
  ctx.sink.beginSource(ctx.name ?? `nvd:${basename(file).replace(/\.json(\.gz)?$/i, '')}`, 'nvd');
  const count: LoadCount = { records: 0, skipped: 0 };
  let index = 0;
  const res = await scanArrayProperty(openFeedStream(file, gzip), file, 'vulnerabilities', (json) => {
    const where = `${file}: vulnerabilities[${index++}]`;
    const item = JSON.parse(json) as { cve?: { id?: unknown; metrics?: Record<string, unknown> } };
    const cve = item.cve;
    if (!cve || typeof cve.id !== 'string') {
      ctx.sink.invalid(where, `invalid nvd item ${where}: no cve.id`);
      count.skipped++;
      return;
    }
    const scores: CvssScore[] = [];
    for (const key of METRIC_KEYS) {
      const list = cve.metrics?.[key];
      if (!Array.isArray(list)) continue;
      for (const m of list as { source?: unknown; type?: unknown; cvssData?: { vectorString?: unknown; baseScore?: unknown } }[]) {
        const vector = m?.cvssData?.vectorString;
        if (typeof vector !== 'string') continue;
        const source = m.type === 'Secondary' && typeof m.source === 'string' ? `nvd:${m.source}` : 'nvd';
        const s = cvssScore(vector, source);
        if (s) scores.push(s);
        else ctx.sink.invalid(where, `nvd item ${cve.id}: cvss vector ${JSON.stringify(vector)} cannot be scored`);
      }
    }
    ctx.sink.nvd(cve.id, scores);
    count.records++;
  });
  if (!res.found) ctx.sink.invalid(file, `nvd feed ${file} has no vulnerabilities list`);
  return count;
}
