import { Command } from 'commander';
import { DrydockError } from '../../core/errors.js';
import { newContext, registryOptions } from '../context.js';
import { parseFormat, type FormatName } from '../format.js';
import { addOptions, resolveOptions, type OptionKey, type ResolvedValues } from '../options.js';
import { writeOutput } from '../output.js';
import { dbPathOf, runDbUpdate } from '../db-options.js';

/** the --format values of the `db` commands that print something (docs/cli.md is generated from this) */
export const DB_FORMATS: readonly FormatName[] = ['table', 'json'];

const NET: OptionKey[] = ['caFile', 'timeout', 'retries', 'quiet'];

function sub(name: string, summary: string, description: string, keys: OptionKey[]): Command {
  const c = new Command(name).summary(summary).description(description);
  addOptions(c, keys);
  return c;
}

function render(v: ResolvedValues, value: unknown, table: () => string): string {
  const format = parseFormat(v.format as string, DB_FORMATS);
  return format.name === 'json' ? `${JSON.stringify(value, null, 2)}\n` : table();
}

export function dbCommand(): Command {
  const db = new Command('db')
    .summary('manage the local vulnerability database: update, import, status, export, diff')
    .description(
      'The vulnerability database is one SQLite file (default under the cache directory, --db to choose) built ' +
        'from OSV exports, Alpine secdb, NVD CVSS, EPSS and CISA KEV. Every update or import is atomic (a failure ' +
        'leaves the previous database usable) and gives the database a new identity with a change log of the ' +
        'advisories added, modified and withdrawn.',
    );

  const update = sub('update', 'download the configured advisory feeds into the database',
    'Download each configured feed (the public defaults, or --db-source) with conditional requests (ETag, ' +
      'If-Modified-Since), import what changed and swap the database in atomically.',
    ['db', 'dbSource', 'format', 'output', ...NET]);
  update.action(async () => {
    const v = resolveOptions(update, ['db', 'dbSource', 'format', 'output', ...NET]);
    const ctx = newContext(v);
    try {
      const summary = await runDbUpdate(v, ctx);
      ctx.renderer.done();
      await writeOutput(render(v, summary, () => summaryTable(summary)), v.output as string | undefined);
    } finally {
      ctx.renderer.done();
    }
  });

  const importCmd = sub('import', 'import feed files or URLs into the database (offline, air-gapped)',
    'Import OSV zips (as osv.dev exports them), directories of OSV JSON or YAML, Alpine secdb JSON, NVD 2.0 JSON ' +
      '(plain or gzip), EPSS CSV (plain or gzip), the CISA KEV catalogue, or a database written by `drydock db ' +
      'export`. The kind of each input is detected from its content.',
    ['db', 'format', 'output', ...NET]);
  importCmd.argument('<inputs...>', 'files, directories or URLs to import');
  importCmd.action(async (inputs: string[]) => {
    const v = resolveOptions(importCmd, ['db', 'format', 'output', ...NET]);
    const ctx = newContext(v);
    const { importFeeds } = await import('../../vulndb/index.js');
    try {
      const reg = registryOptions(v);
      const summary = await importFeeds(await dbPathOf(v), inputs.map((i) => (/^https?:\/\//.test(i) ? { url: i } : { path: i })), {
        issues: ctx.issues,
        events: ctx.renderer.sink,
        timeoutMs: reg.timeoutMs,
        retries: reg.retries,
        ...(reg.caFile ? { caFile: reg.caFile } : {}),
      });
      ctx.renderer.done();
      await writeOutput(render(v, summary, () => summaryTable(summary)), v.output as string | undefined);
    } finally {
      ctx.renderer.done();
    }
  });

  const status = sub('status', 'show the database identity, age, sources and record counts', 'Show where the database is, its identity (digest and time), its age, the newest record ("data as of") and, per source, its origin, record count and last-modified time.', ['db', 'format', 'output', 'quiet']);
  status.action(async () => {
    const v = resolveOptions(status, ['db', 'format', 'output', 'quiet']);
    const { dbStatus } = await import('../../vulndb/index.js');
    const st = dbStatus(await dbPathOf(v));
    await writeOutput(render(v, st, () => statusTable(st)), v.output as string | undefined);
  });

  const exportCmd = sub('export', 'write a consistent copy of the database to a file (to carry into an air gap)', 'Write a consistent copy of the database to FILE; `drydock db import FILE` on the other side takes it in.', ['db', 'quiet']);
  exportCmd.argument('<file>', 'file to write');
  exportCmd.action(async (file: string) => {
    const v = resolveOptions(exportCmd, ['db', 'quiet']);
    const { exportDb } = await import('../../vulndb/index.js');
    await exportDb(await dbPathOf(v), file);
  });

  const diff = sub('diff', 'list the advisories added, modified and withdrawn between two database identities',
    'Print the change log between identity A and identity B (digests as `db status` shows them; a unique prefix is ' +
      'enough). Without B, the current identity.', ['db', 'format', 'output', 'quiet']);
  diff.argument('<from>', 'older identity digest').argument('[to]', 'newer identity digest (default: current)');
  diff.action(async (from: string, to: string | undefined) => {
    const v = resolveOptions(diff, ['db', 'format', 'output', 'quiet']);
    const { VulnDb } = await import('../../vulndb/index.js');
    const h = VulnDb.open(await dbPathOf(v));
    try {
      const log = h.changes(from, to);
      await writeOutput(render(v, log, () => changesTable(log)), v.output as string | undefined);
    } finally {
      h.close();
    }
  });

  for (const c of [update, importCmd, status, exportCmd, diff]) db.addCommand(c);
  db.action(() => {
    throw new DrydockError('USAGE', 'db needs a subcommand: update, import, status, export or diff');
  });
  return db;
}

interface SummaryLike {
  path: string;
  digest: string;
  previousDigest?: string;
  updatedAt: string;
  unchanged?: boolean;
  advisories?: number;
  changes: { added: number; modified: number; withdrawn: number; removed: number };
  inputs?: { input: string; kind: string; records: number; skipped: number }[];
  sources?: { name: string; status: string; records?: number }[];
}

function summaryTable(raw: unknown): string {
  const s = raw as SummaryLike;
  const lines = [
    `database   ${s.path}`,
    `identity   ${s.digest}${s.unchanged ? ' (unchanged: every feed answered 304 Not Modified)' : ''}`,
    ...(s.previousDigest ? [`previous   ${s.previousDigest}`] : []),
    `updated    ${s.updatedAt}`,
    ...(s.advisories !== undefined ? [`advisories ${s.advisories}`] : []),
    `changes    ${s.changes.added} added, ${s.changes.modified} modified, ${s.changes.withdrawn} withdrawn, ${s.changes.removed} removed`,
  ];
  for (const i of s.inputs ?? []) lines.push(`  ${i.kind.padEnd(12)} ${String(i.records).padStart(7)} records${i.skipped ? ` (${i.skipped} invalid, skipped)` : ''}  ${i.input}`);
  for (const x of s.sources ?? []) lines.push(`  ${x.status.padEnd(12)} ${x.records !== undefined ? String(x.records).padStart(7) : '      -'} records  ${x.name}`);
  return `${lines.join('\n')}\n`;
}

function statusTable(raw: unknown): string {
  const s = raw as { path: string; exists: boolean; size?: number; info?: { digest: string; updatedAt: string; dataAsOf?: string; schemaVersion: number; sources: { name: string; origin: string; records: number; modified?: string }[] }; ageMs?: number; advisories?: number; ecosystems?: readonly string[] };
  if (!s.exists || !s.info) return `database   ${s.path}\nstatus     missing: run drydock db update or drydock db import\n`;
  const days = s.ageMs !== undefined ? ` (${(s.ageMs / 86_400_000).toFixed(1)} days ago)` : '';
  const lines = [
    `database   ${s.path}${s.size !== undefined ? ` (${(s.size / 1048576).toFixed(1)} MiB)` : ''}`,
    `identity   ${s.info.digest}`,
    `updated    ${s.info.updatedAt}${days}`,
    `data as of ${s.info.dataAsOf ?? '-'}`,
    `schema     ${s.info.schemaVersion}`,
    ...(s.advisories !== undefined ? [`advisories ${s.advisories}`] : []),
    ...(s.ecosystems?.length ? [`ecosystems ${s.ecosystems.join(', ')}`] : []),
    'sources:',
  ];
  for (const src of s.info.sources) lines.push(`  ${src.name.padEnd(24)} ${String(src.records).padStart(7)} records  modified ${src.modified ?? '-'}  ${src.origin}`);
  return `${lines.join('\n')}\n`;
}

function changesTable(raw: unknown): string {
  const c = raw as { from: string; to: string; added: string[]; modified: string[]; withdrawn: string[]; removed: string[] };
  const lines = [`from ${c.from}`, `to   ${c.to}`];
  for (const kind of ['added', 'modified', 'withdrawn', 'removed'] as const) {
    lines.push(`${kind} (${c[kind].length})`);
    for (const id of c[kind]) lines.push(`  ${id}`);
  }
  return `${lines.join('\n')}\n`;
}
