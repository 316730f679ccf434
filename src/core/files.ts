import { closeSync, constants, fstatSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function notRegular(path: string): Error {
  return Object.assign(new Error(`${path}: not a regular file`), { code: 'ENOTREG' });
}

/**
 * Opens a file Drydock reads whole or by position (an archive, a layout's index or blob, the
 * vulnerability database). O_NONBLOCK keeps a FIFO or device in its place from blocking the open
 * forever, and anything but a regular file is refused with an error whose code is ENOTREG.
 */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const fh = await open(path, READ_FLAGS);
  try {
    if (!(await fh.stat()).isFile()) throw notRegular(path);
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

/** openRegularFile for synchronous callers: the file descriptor. */
export function openRegularFileSync(path: string): number {
  const fd = openSync(path, READ_FLAGS);
  try {
    if (!fstatSync(fd).isFile()) throw notRegular(path);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
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

/** Up to `length` bytes at `offset` of an open file of `size` bytes (fewer at its end, none past it). */
export async function readRangeOf(fh: FileHandle, offset: number, length: number, size: number): Promise<Buffer> {
  const end = Math.min(offset + length, size);
  if (end <= offset) return Buffer.alloc(0);
  const out = Buffer.allocUnsafe(end - offset);
  let got = 0;
  while (got < out.length) {
    const { bytesRead } = await fh.read(out, got, out.length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === out.length ? out : out.subarray(0, got);
}
