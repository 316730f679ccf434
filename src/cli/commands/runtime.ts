/**
 * `drydock ps` (running containers with their image digests) and `drydock drift CONTAINER`
 * (a running container against its image); their options are declared in options-runtime.ts.
 */
import { Command } from 'commander';
import { DrydockError } from '../../core/errors.js';
import type { IssueLog } from '../../core/issues.js';
import type { Finding, Severity } from '../../model/vuln.js';
import type { ContainerRuntime, DriftReport, RunningContainer } from '../../runtime/types.js';
import { severityCounts } from '../../report/scan-common.js';
import { renderTable } from '../../report/table.js';
import { newContext, imageOptions } from '../context.js';
import { parseFormat, type FormatName } from '../format.js';
import { IMAGE_OPTIONS, addOptions, resolveOptions, type OptionKey } from '../options.js';
import { writeOutput } from '../output.js';


/** the --format values (docs/cli.md is generated from these once the commands are registered) */
export const PS_FORMATS: readonly FormatName[] = ['table', 'json'];
export const DRIFT_FORMATS: readonly FormatName[] = ['table', 'json'];




function short(id: string | undefined, n = 12): string {
  return (id ?? '').replace(/^sha256:/, '').slice(0, n);
}

/** Counts of an image's findings by severity (suppressed ones left out), for `ps --db`. */
export type FindingCounts = Record<Severity, number>;

/** every severity, highest first (the scan reports' counts) */
export function countFindings(findings: readonly Finding[]): FindingCounts {
  return Object.fromEntries(severityCounts(findings.filter((f) => !f.suppressed))) as FindingCounts;
}

/** "2 critical, 1 high" (none: "none"). */
export function formatCounts(c: FindingCounts): string {
  return (Object.entries(c) as [Severity, number][]).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`).join(', ') || 'none';
}

export function renderPsTable(list: RunningContainer[], via: string, findings?: Map<string, FindingCounts | string>): string {
  if (list.length === 0) return `No running containers (podman via ${via}).\n`;
  const head = ['CONTAINER ID', 'NAME', 'IMAGE', 'IMAGE DIGEST', 'PID', 'STARTED'];
  const row = (c: RunningContainer) => [short(c.id), c.name, c.image, c.imageDigest ?? '-', c.pid !== undefined ? String(c.pid) : '-', c.startedAt ?? '-'];
  const summary = (c: RunningContainer) => {
    const f = findings?.get(c.id);
    return f === undefined ? '-' : typeof f === 'string' ? `error: ${f}` : formatCounts(f);
  };
  return (
    renderTable(findings ? [...head, 'FINDINGS'] : head, list.map((c) => (findings ? [...row(c), summary(c)] : row(c)))) + `\n(podman via ${via})\n`
  );
}

/**
 * The findings summary of each container's image from the local vulnerability database: one scan per
 * distinct image (read through the runtime, warm from the layer cache), counted by severity. An image
 * that cannot be scanned gets its error message instead of counts.
 */
export async function psFindings(rt: ContainerRuntime, list: readonly RunningContainer[], opts: { dbPath: string; cacheDir?: string | null; issues?: IssueLog }): Promise<Map<string, FindingCounts | string>> {
  const { scanImage } = await import('../../scan/scan.js');
  const byImage = new Map<string, Promise<FindingCounts | string>>();
  const out = new Map<string, FindingCounts | string>();
  for (const c of list) {
    const target = rt.imageTarget(c);
    let p = byImage.get(target);
    if (!p) {
      // a stale database still answers for an inventory listing; scan says when it is stale
      p = scanImage(target, { db: { path: opts.dbPath }, freshness: { acceptStale: true }, ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}), ...(opts.issues ? { issues: opts.issues } : {}) })
        .then((r) => countFindings(r.findings), (e: unknown) => (e instanceof Error ? e.message : String(e)));
      byImage.set(target, p);
      // one image at a time: the layer reads are the cost, and memory stays bounded
      await p;
    }
    out.set(c.id, await p);
  }
  return out;
}

export function renderDriftTable(r: DriftReport): string {
  const lines: string[] = [];
  lines.push(`Container ${r.container.name} (${short(r.container.id)}, pid ${r.container.pid}) against ${r.image.target}${r.image.digest ? ` (${r.image.digest})` : ''}`);
  lines.push(`Left out: ${r.excluded.map((e) => `${e.path} (${e.reason}${e.fstype ? ` ${e.fstype}` : ''})`).join(', ') || 'nothing'}`);
  if (r.findings.length === 0) lines.push('', 'No drift: the running filesystem matches the image.');
  else {
    lines.push('');
    lines.push(renderTable(['SEVERITY', 'KIND', 'SUBJECT', 'DETAIL'], r.findings.map((f) => [f.severity, f.kind, f.subject, f.message])));
    const count = (s: string) => r.files.filter((f) => f.status === s).length;
    lines.push('', `${count('added')} added, ${count('changed')} changed, ${count('deleted')} deleted; ${r.packages.length} package change${r.packages.length === 1 ? '' : 's'}`);
  }
  for (const i of r.issues) lines.push(`warning: ${i.code}: ${i.message}`);
  return lines.join('\n') + '\n';
}

const PS_KEYS: OptionKey[] = ['format', 'output', 'quiet', 'runtime', 'podmanSocket', 'db', 'cacheDir', 'noCache'];

export function psCommand(): Command {
  const cmd = new Command('ps')
    .summary('list running containers with their image digests')
    .description(
      'List the running containers of a runtime (podman: its REST API when --podman-socket or $CONTAINER_HOST names a socket, ' +
        'else its command-line client) with id, name, image reference and digest, PID and start time. With --db FILE, each ' +
        "container's image is scanned against that vulnerability database and its findings are counted by severity.",
    );
  addOptions(cmd, PS_KEYS);
  cmd.action(async () => {
    const { runtimeNamed } = await import('../../runtime/drift.js');
    const v = resolveOptions(cmd, PS_KEYS);
    const l = v;
    const format = parseFormat(v.format as string, PS_FORMATS);
    const rt = runtimeNamed(l.runtime as string, { podman: l.podmanSocket ? { socket: l.podmanSocket as string } : {} });
    const list = await rt.list();
    // only an explicit --db scans (not $DRYDOCK_DB): a plain ps stays a cheap listing
    const findings = v.db && cmd.getOptionValueSource('db') === 'cli' ? await psFindings(rt, list, { dbPath: v.db as string, cacheDir: v.noCache === true ? null : ((v.cacheDir as string | undefined) ?? undefined) }) : undefined;
    const containers = findings ? list.map((c) => { const f = findings.get(c.id); return typeof f === 'string' ? { ...c, findingsError: f } : { ...c, findings: f }; }) : list;
    const out = format.name === 'json' ? JSON.stringify({ runtime: rt.name, via: rt.via, containers }, null, 2) + '\n' : renderPsTable(list, rt.via, findings);
    await writeOutput(out, v.output as string | undefined);
  });
  return cmd;
}

const DRIFT_KEYS: OptionKey[] = ['format', 'output', 'failOn', 'catalogers', 'image', 'podmanSocket', 'maxHashBytes', 'maxWalkEntries', ...IMAGE_OPTIONS];

export function driftCommand(): Command {
  const cmd = new Command('drift')
    .summary('compare a running container with its image')
    .description(
      "Walk a running container's root filesystem (/proc/PID/root; never following links out of it, never writing) and compare it " +
        "with the image's squashed view: files added, changed (size, mode, owner, content sha256) and deleted, new executables, " +
        'modified package binaries, and packages installed, removed or changed at run time. /proc, /sys, /dev and the ' +
        "container's mounts are left out and listed. --fail-on gates on the findings' severities (critical, high, medium, low, info).",
    )
    .argument('<container>', 'podman://ID|NAME or proc://PID (with --image)');
  addOptions(cmd, DRIFT_KEYS);
  cmd.action(async (container: string) => {
    const { driftContainer } = await import('../../runtime/drift.js');
    const { reachesThreshold } = await import('../../runtime/compare.js');
    const v = resolveOptions(cmd, DRIFT_KEYS);
    const l = v;
    const format = parseFormat(v.format as string, DRIFT_FORMATS);
    const ctx = newContext(v);
    try {
      const catalogers = v.catalogers as string[] | undefined;
      const report = await driftContainer(container, {
        ...(l.image ? { image: l.image as string } : {}),
        ...(l.podmanSocket ? { podman: { socket: l.podmanSocket as string } } : {}),
        ...(catalogers && catalogers.length ? { catalogers } : {}),
        cacheDir: v.noCache === true ? null : ((v.cacheDir as string | undefined) ?? undefined),
        imageOptions: imageOptions(v, ctx),
        imageLimits: { maxUncompressedBytes: v.maxUncompressed as number, maxEntries: v.maxEntries as number },
        walkLimits: { maxEntries: l.maxWalkEntries as number },
        hashBudget: { maxHashBytes: l.maxHashBytes as number },
        issues: ctx.issues,
        events: ctx.renderer.sink,
        ...(v.tmpDir ? { tempDir: v.tmpDir as string } : {}),
      });
      ctx.renderer.done();
      await writeOutput(format.name === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderDriftTable(report), v.output as string | undefined);
      const failOn = v.failOn as string | undefined;
      if (failOn) {
        const failing = reachesThreshold(report.findings, failOn);
        if (failing.length) throw new DrydockError('CHECK_FAILED', `${failing.length} drift finding${failing.length === 1 ? '' : 's'} at or above severity ${failOn} (--fail-on ${failOn})`);
      }
    } finally {
      ctx.renderer.done();
    }
  });
  return cmd;
}

export function runtimeCommands(): Command[] {
  return [psCommand(), driftCommand()];
}
