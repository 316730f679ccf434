import { Command } from 'commander';
import { newContext, scanOptions } from '../context.js';
import { parseFormat, type FormatName } from '../format.js';
import { IMAGE_OPTIONS, addOptions, resolveOptions, type OptionKey } from '../options.js';
import { writeOutput } from '../output.js';
import { TARGET_HELP } from '../help.js';

/** the --format values `copy` takes (docs/cli.md is generated from this) */
export const COPY_FORMATS: readonly FormatName[] = ['table', 'json'];

const KEYS: OptionKey[] = ['format', 'output', 'all', 'includeAttached', ...IMAGE_OPTIONS];

export function copyCommand(): Command {
  const cmd = new Command('copy')
    .summary('copy an image between registries, OCI layouts and archives, keeping digests')
    .description(
      'Copy an image from SOURCE to DEST. Sources: any target form; destinations: a registry, oci-dir: or ' +
        'oci-archive:. Manifests are copied as bytes, so the manifest digest stays the same. A docker-archive ' +
        'stores no manifest: Drydock derives one and says so; compare such images by config digest and diffIDs. ' +
        'From a multi-platform image, one platform is copied (--platform, default this host) unless --all. ' +
        'With --include-attached the signatures, attestations and SBOMs attached to the image (the cosign ' +
        'sha256-<hex>.sig/.att/.sbom tags and OCI referrers) are copied too, between registries and layouts.',
    )
    .argument('<source>', 'image to copy')
    .argument('<dest>', 'where to write it')
    .addHelpText('after', TARGET_HELP);
  addOptions(cmd, KEYS);
  cmd.action(async (source: string, dest: string) => {
    // loaded on use: `drydock --help` and light commands start fast
    const { copyImageTargets } = await import('../../scan/copy.js');
    const v = resolveOptions(cmd, KEYS);
    const format = parseFormat(v.format as string, COPY_FORMATS);
    const ctx = newContext(v);
    try {
      const r = await copyImageTargets(source, dest, { ...scanOptions(v, ctx), all: v.all === true, includeAttached: v.includeAttached === true });
      ctx.renderer.done();
      const text =
        format.name === 'json'
          ? JSON.stringify(r, null, 2)
          : `copied ${r.source} to ${r.destination}\ndigest: ${r.digest}${r.manifestDerived ? ' (derived: the source stores no manifest)' : ''}\n` +
            `manifests: ${r.manifests}, blobs copied: ${r.blobsCopied} (${r.bytesCopied} bytes), already present: ${r.blobsSkipped}` +
            (r.attached ? `\nattached: ${r.attached.tags.map((t) => t.tag).concat(r.attached.referrers.map((x) => `referrer ${x.digest}`)).join(', ') || 'none'}` : '');
      await writeOutput(text, v.output as string | undefined);
    } finally {
      ctx.renderer.done();
    }
  });
  return cmd;
}
