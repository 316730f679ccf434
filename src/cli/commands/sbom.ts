import { Command } from 'commander';
import { clockFromEnv } from '../../core/clock.js';
import type { SbomFormat } from '../../sbom/index.js';
import { newContext, scanOptions } from '../context.js';
import { parseFormat, type FormatName } from '../format.js';
import { IMAGE_OPTIONS, addOptions, resolveOptions, type OptionKey } from '../options.js';
import { writeOutput } from '../output.js';
import { TARGET_HELP } from '../help.js';
import { convertCommand } from './convert.js';
import { drydockVersion } from '../version.js';

/** the --format values `sbom` takes (docs/cli.md is generated from this) */
export const SBOM_FORMATS: readonly FormatName[] = ['table', 'json', 'cyclonedx-json', 'spdx-json'];

const KEYS: OptionKey[] = ['format', 'output', 'catalogers', 'scope', ...IMAGE_OPTIONS];

export function sbomCommand(): Command {
  const cmd = new Command('sbom')
    .summary('list the packages of an image as an SBOM (CycloneDX, SPDX, JSON or a table)')
    .description(
      'Catalog the packages of an image or directory: OS packages, language packages and binaries, each with ' +
        'the file it was found in and the layer (and Dockerfile step) that brought it in. Formats: table (default), ' +
        'json (the Drydock inventory), cyclonedx-json[@1.6|1.5|1.4], spdx-json. Every package has a package URL; ' +
        'CPEs come from the file classifiers, or are derived from the ecosystem\'s coordinates (source package, ' +
        'Maven group, Go module path, npm scope) with the upstream version: guesses of the NVD names, for tools ' +
        'that match by CPE. Problems that do not stop the run ' +
        'are printed on stderr and recorded in the SBOM. Timestamps honour SOURCE_DATE_EPOCH.',
    )
    .argument('<target>', 'image or directory to catalog')
    .addHelpText('after', TARGET_HELP);
  addOptions(cmd, KEYS);
  // `drydock sbom convert IN --format F`, the spelling the inventory issue and other SBOM tools use;
  // positional options (here and on the program): options after `convert` are its own
  cmd.enablePositionalOptions().addCommand(convertCommand());
  cmd.action(async (target: string) => {
    // loaded on use: `drydock --help` and light commands start fast
    const { encodeSbom, writesFileLists } = await import('../../sbom/index.js');
    const { sbomImage } = await import('../../scan/sbom.js');
    const v = resolveOptions(cmd, KEYS);
    const format = parseFormat(v.format as string, SBOM_FORMATS);
    const ctx = newContext(v);
    try {
      const catalogers = v.catalogers as string[] | undefined;
      const inv = await sbomImage(target, {
        ...scanOptions(v, ctx),
        ...(catalogers && catalogers.length ? { catalogers } : {}),
        scope: v.scope as 'squashed' | 'all-layers',
        tool: { name: 'drydock', version: drydockVersion() },
        fileLists: writesFileLists(format.name as SbomFormat),
      });
      ctx.renderer.done();
      const out = encodeSbom(inv, format.name as SbomFormat, { clock: clockFromEnv(), ...(format.version ? { version: format.version } : {}) });
      await writeOutput(out, v.output as string | undefined);
    } finally {
      ctx.renderer.done();
    }
  });
  return cmd;
}
