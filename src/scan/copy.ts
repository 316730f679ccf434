/** `copy`: opens the source reader and the destination writer and copies at the raw level. */
import { copyImage, type CopyResult } from '../image/copy.js';
import { openReader, openWriter } from '../image/open.js';
import { parsePlatform } from '../image/platform.js';
import { parseReference } from '../image/reference.js';
import { parseTarget } from '../image/target.js';
import { copyAttached, type AttachedListing } from '../sign/image/index.js';
import type { ScanCommonOptions } from './inspect.js';

export interface CopyTargetsResult extends CopyResult {
  source: string;
  destination: string;
  /** with includeAttached: the signatures, attestations, SBOMs and referrers copied along */
  attached?: AttachedListing;
}

export async function copyImageTargets(
  source: string,
  dest: string,
  opts: ScanCommonOptions & { all?: boolean; includeAttached?: boolean },
): Promise<CopyTargetsResult> {
  const src = parseTarget(source);
  const dst = parseTarget(dest);
  // a bad --platform is a usage error before anything is opened or created at the destination
  if (typeof opts.image?.platform === 'string') parsePlatform(opts.image.platform);
  const imageOpts = { ...opts.image, ...(opts.events ? { events: opts.events } : {}) };
  let tag: string | undefined;
  let mountFrom: string | undefined;
  if (dst.kind === 'registry') {
    const ref = parseReference(dst.ref ?? dst.input);
    tag = ref.tag; // undefined for a digest-only reference: push by digest
    if (src.kind === 'registry') {
      const s = parseReference(src.ref ?? src.input);
      if (s.registry === ref.registry && s.repository !== ref.repository) mountFrom = s.repository;
    }
  } else {
    tag = dst.ref ?? (src.kind === 'registry' ? parseReference(src.ref ?? src.input).tag : src.ref) ?? 'latest';
  }
  const reader = await openReader(src, imageOpts);
  let r: CopyResult;
  try {
    const writer = await openWriter(dst, imageOpts);
    r = await copyImage(reader, writer, {
      ...(opts.all ? { all: true } : {}),
      ...(opts.image?.platform ? { platform: opts.image.platform } : {}),
      ...(tag ? { tag } : {}),
      ...(mountFrom ? { mountFrom } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.events ? { events: opts.events } : {}),
    });
  } finally {
    await reader.close();
  }
  if (!opts.includeAttached) return { source, destination: dest, ...r };
  const registry = opts.image?.registry ? { registry: opts.image.registry } : {};
  // the destination by digest in a registry: its tag may already name another image
  const dref = dst.kind === 'registry' ? parseReference(dst.ref ?? dst.input) : undefined;
  const destAt = dref ? `${dref.registry}/${dref.repository}@${r.digest}` : dst;
  const attached = await copyAttached(src, destAt, { source: registry, dest: registry });
  return { source, destination: dest, ...r, attached };
}
