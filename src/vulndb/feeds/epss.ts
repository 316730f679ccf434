/**
 * EPSS scores (https://www.first.org/epss/data_stats): CSV "cve,epss,percentile", plain or gzip,
 * optionally preceded by "#model_version:...,score_date:YYYY-MM-DDT...". Replaces the previous scores.
 */
import { createInterface } from 'node:readline';
import { DrydockError } from '../../core/errors.js';
import { openFeedStream } from '../jsonstream.js';
import type { LoadContext } from './types.js';
import type { LoadCount } from './osv.js';

const CVE_RE = /^CVE-\d{4}-\d{4,}$/;

export async function loadEpss(file: string, gzip: boolean, ctx: LoadContext): Promise<LoadCount> {
  ctx.sink.beginSource(ctx.name ?? 'epss', 'epss');
  ctx.sink.resetTable('epss');
  const count: LoadCount = { records: 0, skipped: 0 };
  let date: string | undefined;
  let lineNo = 0;
  let sawHeader = false;
  const lines = createInterface({ input: openFeedStream(file, gzip), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      lineNo++;
      if (line === '') continue;
      if (line.startsWith('#')) {
        const m = /score_date:(\d{4}-\d{2}-\d{2})/.exec(line);
        if (m) date = m[1];
        continue;
      }
      if (!sawHeader && /^cve,/i.test(line)) {
        sawHeader = true;
        continue;
      }
      const [cve, score, pct] = line.split(',');
      const s = Number(score);
      const p = Number(pct);
      if (!cve || !CVE_RE.test(cve) || score === undefined || pct === undefined || !Number.isFinite(s) || !Number.isFinite(p) || s < 0 || s > 1 || p < 0 || p > 1) {
        ctx.sink.invalid(`${file}:${lineNo}`, `invalid epss row ${file}:${lineNo}`);
        count.skipped++;
        continue;
      }
      ctx.sink.epss(cve, date ? { score: s, percentile: p, date } : { score: s, percentile: p });
      count.records++;
    }
  } catch (cause) {
    if (cause instanceof DrydockError) throw cause;
    throw new DrydockError('FEED_INVALID', `epss file ${file} cannot be read (truncated or corrupt)`, { cause });
  }
  if (!sawHeader) throw new DrydockError('FEED_INVALID', `epss file ${file} has no "cve,epss,percentile" header`);
  return count;
}
