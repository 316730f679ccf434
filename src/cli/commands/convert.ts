import { Command } from 'commander';
import { clockFromEnv } from '../../core/clock.js';
import type { SbomFormat } from '../../sbom/index.js';
import { newContext } from '../context.js';
import { parseFormat, type FormatName } from '../format.js';
import { addOptions, resolveOptions, type OptionKey } from '../options.js';
import { writeOutput } from '../output.js';

/** the --format values `convert` takes (docs/cli.md is generated from this) */
export const CONVERT_FORMATS: readonly FormatName[] = ['table', 'json', 'cyclonedx-json', 'spdx-json'];

const KEYS: OptionKey[] = ['format', 'output', 'quiet'];

export function convertCommand(): Command {
  const cmd = new Command('convert')
    .summary('convert a stored SBOM to another format (CycloneDX, SPDX, JSON or a table)')
    .description(
      'Read an SBOM file (CycloneDX JSON 1.4-1.6, SPDX JSON 2.2/2.3, Syft JSON or Drydock JSON; the format is ' +
        'detected) and write it in another format. Everything both formats can carry is kept: names, versions, ' +
        'purls, CPEs, licenses, dependencies, and layer attribution and locations where the output format has a ' +
        'place for them. The same as `drydock sbom sbom:FILE`. Timestamps honour SOURCE_DATE_EPOCH.',
    )
    .argument('<sbom>', 'SBOM file to read (a path, or sbom:PATH)');
  addOptions(cmd, KEYS);
  cmd.action(async (input: string) => {
    // loaded on use: `drydock --help` and light commands start fast
    const { encodeSbom } = await import('../../sbom/index.js');
    const { inventoryFromSbomFile } = await import('../../scan/sbom-file.js');
    const v = resolveOptions(cmd, KEYS);
    const format = parseFormat(v.format as string, CONVERT_FORMATS);
    const ctx = newContext(v);
    try {
      const inv = await inventoryFromSbomFile(input.startsWith('sbom:') ? input.slice(5) : input, { issues: ctx.issues });
      const out = encodeSbom(inv, format.name as SbomFormat, { clock: clockFromEnv(), ...(format.version ? { version: format.version } : {}) });
      ctx.renderer.done();
      await writeOutput(out, v.output as string | undefined);
    } finally {
      ctx.renderer.done();
    }
  });
  return cmd;
}
