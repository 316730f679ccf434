/**
 * `drydock ps` (running containers with their image digests) and `drydock drift CONTAINER`
 * (a running container against its image); their options are declared in options-runtime.ts.
 */
import { Command } from 'commander';
import { DrydockError } from '../../core/errors.js';
import type { DriftReport, RunningContainer } from '../../runtime/types.js';
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

export function renderPsTable(list: RunningContainer[], via: string): string {
  if (list.length === 0) return `No running containers (podman via ${via}).\n`;
  return (
    renderTable(
      ['CONTAINER ID', 'NAME', 'IMAGE', 'IMAGE DIGEST', 'PID', 'STARTED'],
      list.map((c) => [short(c.id), c.name, c.image, c.imageDigest ?? '-', c.pid !== undefined ? String(c.pid) : '-', c.startedAt ?? '-']),
    ) + `\n(podman via ${via})\n`
  );
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

const PS_KEYS: OptionKey[] = ['format', 'output', 'quiet', 'runtime', 'podmanSocket'];

export function psCommand(): Command {
  const cmd = new Command('ps')
    .summary('list running containers with their image digests')
    .description(
      'List the running containers of a runtime (podman: its REST API when --podman-socket or $CONTAINER_HOST names a socket, ' +
        'else its command-line client) with id, name, image reference and digest, PID and start time.',
    );
  addOptions(cmd, PS_KEYS);
  cmd.action(async () => {
    const { runtimeNamed } = await import('../../runtime/drift.js');
    const v = resolveOptions(cmd, PS_KEYS);
    const l = v;
    const format = parseFormat(v.format as string, PS_FORMATS);
    const rt = runtimeNamed(l.runtime as string, { podman: l.podmanSocket ? { socket: l.podmanSocket as string } : {} });
    const list = await rt.list();
    const out = format.name === 'json' ? JSON.stringify({ runtime: rt.name, via: rt.via, containers: list }, null, 2) + '\n' : renderPsTable(list, rt.via);
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
