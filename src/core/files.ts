import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Opens a file an image is read from (an archive, a layout's index or blob). O_NONBLOCK keeps a
 * FIFO or device in its place from blocking the open forever (reading one then fails instead of
 * waiting), and anything but a regular file is refused with an error whose code is ENOTREG.
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!(await fh.stat()).isFile()) throw Object.assign(new Error(`${path}: not a regular file`), { code: 'ENOTREG' });
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

/** The whole content of a regular file (see openRegularFile). */
export async function readRegularFile(path: string): Promise<Buffer> {
  const fh = await openRegularFile(path);
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/**
 * `flags` for fs.createReadStream of a file checked with openRegularFile and opened again by path:
 * never block on a FIFO put there since (its positional read then fails). fs.open takes numeric
 * flags, which @types/node does not declare for streams.
 */
export const READ_NONBLOCK = (constants.O_RDONLY | constants.O_NONBLOCK) as unknown as string;
