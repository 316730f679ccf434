/**
 * Writes command output to stdout or to --output FILE. Output comes as one string or as an
 * iterable of chunks (large listings), written with backpressure. A file is replaced whole
 * (core/replace-file.ts), so a failed run never leaves half a file.
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { DrydockError } from '../core/errors.js';
import { replaceFile } from '../core/replace-file.js';

async function writeChunks(stream: Writable, chunks: Iterable<string>): Promise<void> {
  let last = '';
  for (const chunk of chunks) {
    if (!chunk) continue;
    last = chunk;
    if (!stream.write(chunk)) await once(stream, 'drain');
  }
  if (last && !last.endsWith('\n')) stream.write('\n');
}

export async function writeOutput(content: string | Iterable<string>, file: string | undefined): Promise<void> {
  const chunks = typeof content === 'string' ? [content] : content;
  if (!file || file === '-') {
    await writeChunks(process.stdout, chunks);
    return;
  }
  try {
    await replaceFile(file, async (path) => {
      const ws = createWriteStream(path);
      try {
        const failed = new Promise<never>((_, reject) => ws.once('error', reject));
        await Promise.race([writeChunks(ws, chunks), failed]);
        ws.end();
        await Promise.race([once(ws, 'finish'), failed]);
      } catch (e) {
        ws.destroy();
        // the stream may still be opening the file: wait until it is closed before it is removed
        if (!ws.closed) await new Promise<void>((resolve) => ws.once('close', () => resolve()));
        throw e;
      }
    });
  } catch (e) {
    // an error of the content itself (a generator that failed) keeps its own code
    if (e instanceof DrydockError) throw e;
    throw new DrydockError('IO_ERROR', `cannot write output file ${file}`, { cause: e });
  }
}
