/** Progress events for a blob stream: one general wrapper, used wherever blobs are read. */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { EventSink } from '../core/events.js';
import type { Descriptor } from './types.js';

const STEP = 4 * 1024 * 1024;

export function withProgress(
  stream: Readable,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  what: 'manifest' | 'config' | 'layer' | 'blob',
  events: EventSink | undefined,
): Readable {
  if (!events) return stream;
  let bytes = 0;
  let next = STEP;
  events({ type: 'blob-start', digest: desc.digest, size: desc.size, what });
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      bytes += chunk.length;
      if (bytes >= next) {
        next = bytes + STEP;
        events({ type: 'blob-progress', digest: desc.digest, bytes, size: desc.size });
      }
      cb(null, chunk);
    },
    flush(cb: TransformCallback) {
      events({ type: 'blob-done', digest: desc.digest, bytes });
      cb();
    },
  });
  stream.on('error', (e) => t.destroy(e));
  t.on('close', () => {
    if (!stream.destroyed && !stream.readableEnded) stream.destroy();
  });
  return stream.pipe(t);
}
