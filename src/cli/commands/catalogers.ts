import { Command } from 'commander';
import { renderTable } from '../../report/table.js';
import { parseFormat, type FormatName } from '../format.js';
import { addOptions, resolveOptions, type OptionKey } from '../options.js';
import { writeOutput } from '../output.js';

/** the --format values `catalogers` takes (docs/cli.md is generated from this) */
export const CATALOGERS_FORMATS: readonly FormatName[] = ['table', 'json'];

const KEYS: OptionKey[] = ['format', 'output'];

export function catalogersCommand(): Command {
  const cmd = new Command('catalogers')
    .summary('list the catalogers, their tags and whether they run by default')
    .description(
      'List every cataloger with its version, its tags and whether `drydock sbom` runs it by default for images ' +
        'and for dir: targets. Select others with --catalogers: names or tags, +x to add, -x to remove, a bare list to replace.',
    );
  addOptions(cmd, KEYS);
  cmd.action(async () => {
    // loaded on use: `drydock --help` and light commands start fast
    const { catalogerList } = await import('../../scan/sbom.js');
    const v = resolveOptions(cmd, KEYS);
    const format = parseFormat(v.format as string, CATALOGERS_FORMATS);
    const list = catalogerList();
    const out =
      format.name === 'json'
        ? JSON.stringify(list, null, 2) + '\n'
        : list.length === 0
          ? 'No catalogers.\n'
          : renderTable(
              ['NAME', 'VERSION', 'TAGS', 'IMAGES', 'DIRS'],
              list.map((c) => [c.name, c.version, c.tags.join(','), c.defaultForImages ? 'yes' : 'no', c.defaultForDirs ? 'yes' : 'no']),
            ) + '\n';
    await writeOutput(out, v.output as string | undefined);
  });
  return cmd;
}
