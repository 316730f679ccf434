/** `copy`: opens the source reader and the destination writer and copies at the raw level. */
import { copyImage, type CopyResult } from '../image/copy.js';
import { openReader, openWriter } from '../image/open.js';
import { parsePlatform } from '../image/platform.js';
import { parseReference } from '../image/reference.js';
import { parseTarget } from '../image/target.js';
import type { ScanCommonOptions } from './inspect.js';

export interface CopyTargetsResult extends CopyResult {
  source: string;
  destination: string;
}

export async function copyImageTargets(
  source: string,
  dest: string,
  opts: ScanCommonOptions & { all?: boolean },
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
  try {
    const writer = await openWriter(dst, imageOpts);
    const r = await copyImage(reader, writer, {
      ...(opts.all ? { all: true } : {}),
      ...(opts.image?.platform ? { platform: opts.image.platform } : {}),
      ...(tag ? { tag } : {}),
      ...(mountFrom ? { mountFrom } : {}),
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.events ? { events: opts.events } : {}),
    });
    return { source, destination: dest, ...r };
  } finally {
    await reader.close();
  }
}
