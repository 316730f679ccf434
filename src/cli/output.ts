/**
 * Writes command output to stdout or to --output FILE. Output comes as one string or as an
 * iterable of chunks (large listings), written with backpressure. A file is written to a
 * temporary name beside it and renamed at the end, so a failed run never leaves half a file.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { DrydockError } from '../core/errors.js';

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
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const ws = createWriteStream(tmp);
  try {
    const failed = new Promise<never>((_, reject) => ws.once('error', reject));
    await Promise.race([writeChunks(ws, chunks), failed]);
    ws.end();
    await Promise.race([once(ws, 'finish'), failed]);
    await rename(tmp, file);
  } catch (e) {
    ws.destroy();
    // the stream may still be opening the file: wait until it is closed, then remove it
    if (!ws.closed) await new Promise<void>((resolve) => ws.once('close', () => resolve()));
    await rm(tmp, { force: true });
    // an error of the content itself (a generator that failed) keeps its own code
    if (e instanceof DrydockError) throw e;
    throw new DrydockError('IO_ERROR', `cannot write output file ${file}`, { cause: e });
  }
}
