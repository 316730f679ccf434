import { Command } from 'commander';
import { newContext, scanOptions } from '../context.js';
import { parseFormat, type FormatName } from '../format.js';
import { IMAGE_OPTIONS, addOptions, resolveOptions, type OptionKey } from '../options.js';
import { writeOutput } from '../output.js';
import { TARGET_HELP } from '../help.js';

/** the --format values `inspect` takes (docs/cli.md is generated from this) */
export const INSPECT_FORMATS: readonly FormatName[] = ['table', 'json'];

const KEYS: OptionKey[] = ['format', 'output', 'verify', 'files', 'scope', ...IMAGE_OPTIONS];

export function inspectCommand(): Command {
  const cmd = new Command('inspect')
    .summary('show an image: manifest, config, history and layers, or every file with --files')
    .description(
      'Show what an image is: reference, manifest digest, platform, config (env, user, entrypoint, cmd, ' +
        'labels, exposed ports), history and layers. Without --verify no layer is read; with it every layer ' +
        'is read and its diffID checked. With --files, list every path with its type, size, mode and the layer ' +
        'that wrote it.',
    )
    .argument('<target>', 'image to inspect')
    .addHelpText('after', TARGET_HELP);
  addOptions(cmd, KEYS);
  cmd.action(async (target: string) => {
    // loaded on use: `drydock --help` and light commands start fast
    const { filesJson, filesTable, inspectJson, inspectTable } = await import('../../report/inspect.js');
    const { inspectImage, listImageFiles } = await import('../../scan/inspect.js');
    const v = resolveOptions(cmd, KEYS);
    const format = parseFormat(v.format as string, INSPECT_FORMATS);
    const ctx = newContext(v);
    try {
      const opts = scanOptions(v, ctx);
      if (v.files) {
        const scope = v.scope as 'squashed' | 'all-layers';
        const r = await listImageFiles(target, { ...opts, scope });
        ctx.renderer.done();
        await writeOutput(format.name === 'json' ? filesJson(r) : filesTable(r), v.output as string | undefined);
      } else {
        const r = await inspectImage(target, { ...opts, verify: v.verify === true });
        ctx.renderer.done();
        await writeOutput(format.name === 'json' ? inspectJson(r) : inspectTable(r), v.output as string | undefined);
      }
    } finally {
      ctx.renderer.done();
    }
  });
  return cmd;
}
