import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { clockFromEnv } from '../../core/clock.js';
import { DrydockError } from '../../core/errors.js';
import type { Severity } from '../../model/vuln.js';
import { newContext, scanOptions } from '../context.js';
import { DB_OPTIONS, dbPathOf, freshnessOf } from '../db-options.js';
import { parseFormat, type FormatName } from '../format.js';
import { IMAGE_OPTIONS, addOptions, resolveOptions, type OptionKey } from '../options.js';
import { writeOutput } from '../output.js';
import { TARGET_HELP } from '../help.js';
import { drydockVersion } from '../version.js';

/** the --format values `scan` takes (docs/cli.md is generated from this) */
export const SCAN_FORMATS: readonly FormatName[] = ['table', 'json', 'sarif', 'cyclonedx-json', 'openvex', 'junit'];

const KEYS: OptionKey[] = [
  'format', 'output', 'severity', 'failOn', 'ignoreUnfixed', 'onlyFixed', 'ignoreFile', 'vex', 'showSuppressed',
  'detectionPriority', ...DB_OPTIONS, 'server', 'serverToken', 'catalogers', 'scope', ...IMAGE_OPTIONS,
];

/** Ignore files a scan reads without being told: the ones in the current directory, as Trivy does. */
const DEFAULT_IGNORE_FILES = ['drydock-ignore.yaml', '.trivyignore', '.trivyignore.yaml'];

export function scanCommand(): Command {
  const cmd = new Command('scan')
    .summary('find the known vulnerabilities of an image, directory or SBOM')
    .description(
      'Catalog the target (as `drydock sbom` does, or read a stored SBOM with sbom:PATH) and match every package ' +
        'against the local vulnerability database: OS packages with their distribution\'s advisories (Debian and ' +
        'Ubuntu through the source package), language packages with their ecosystem\'s, Go binaries with the Go ' +
        'advisories of their modules and of stdlib at their Go version. Every finding names the package, installed ' +
        'and fixed versions, the matched range, the advisories and aliases, severity and its source, EPSS, KEV and ' +
        'the layer that brought the package in. The database is refreshed first when it is older than --db-max-age, ' +
        'unless --skip-db-update. Ignore files and VEX documents suppress findings (kept with --show-suppressed); ' +
        '--fail-on gates a CI build with exit code 1. Progress goes to stderr.',
    )
    .argument('<target>', 'image, directory or sbom:PATH to scan')
    .addHelpText('after', TARGET_HELP);
  addOptions(cmd, KEYS);
  cmd.action(async (target: string) => {
    // loaded on use: `drydock --help` and light commands start fast
    const { scanImage } = await import('../../scan/scan.js');
    const { encodeScanReport } = await import('../../report/scan-index.js');
    const { gate, parseSeverityList } = await import('../../policy/filter.js');
    const v = resolveOptions(cmd, KEYS);
    const format = parseFormat(v.format as string, SCAN_FORMATS);
    const severities = v.severity && (v.severity as string[]).length ? parseSeverityList((v.severity as string[]).join(',')) : undefined;
    const failOn = v.failOn as Severity | undefined;
    if ((failOn as string | undefined) === 'info') throw new DrydockError('USAGE', '--fail-on info is for drift findings; scan severities are critical, high, medium, low, negligible, unknown');
    const ctx = newContext(v);
    try {
      const catalogers = v.catalogers as string[] | undefined;
      const ignoreFiles = (v.ignoreFile as string[] | undefined)?.length ? (v.ignoreFile as string[]) : DEFAULT_IGNORE_FILES.filter((f) => existsSync(f));
      const result = await scanImage(target, {
        ...scanOptions(v, ctx),
        ...(catalogers && catalogers.length ? { catalogers } : {}),
        scope: v.scope as 'squashed' | 'all-layers',
        tool: { name: 'drydock', version: drydockVersion() },
        db: { path: await dbPathOf(v) },
        freshness: freshnessOf(v, ctx),
        detectionPriority: v.detectionPriority as 'precise' | 'comprehensive',
        ignoreFiles,
        vexFiles: (v.vex as string[] | undefined) ?? [],
        ...(severities ? { severities } : {}),
        ignoreUnfixed: v.ignoreUnfixed === true,
        onlyFixed: v.onlyFixed === true,
        clock: clockFromEnv(),
      });
      ctx.renderer.done();
      const out = encodeScanReport(result, format.name as never, {
        color: format.name === 'table' && !v.output && process.stdout.isTTY === true && !process.env.NO_COLOR,
        showSuppressed: v.showSuppressed === true,
        ...(format.name === 'cyclonedx-json' && format.version ? { cyclonedxVersion: format.version as '1.6' } : {}),
      });
      await writeOutput(out, v.output as string | undefined);
      const server = v.server as string | undefined;
      const serverToken = v.serverToken as string | undefined;
      if (server) {
        if (!serverToken) throw new DrydockError('USAGE', '--server needs an API token: --server-token or DRYDOCK_SERVER_TOKEN');
        const { uploadScan } = await import('../../server/watch/upload.js');
        const up = await uploadScan(target, result, { server, token: serverToken });
        const counts = (up.response.evaluation as { counts?: Record<string, number> } | undefined)?.counts;
        process.stderr.write(`uploaded ${up.repository}@${up.digest} to ${server}${counts ? `: ${up.response.findings as number} findings (${counts.new ?? 0} new, ${counts.resolved ?? 0} resolved)` : ''}\n`);
      }
      const decision = gate(result.findings, failOn);
      if (decision.failed) {
        const n = decision.failing.length;
        throw new DrydockError('CHECK_FAILED', `${n} finding${n === 1 ? '' : 's'} at or above severity ${failOn} (--fail-on ${failOn})`);
      }
    } finally {
      ctx.renderer.done();
    }
  });
  return cmd;
}
