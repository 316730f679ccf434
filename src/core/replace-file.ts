import { randomBytes } from 'node:crypto';
import { realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { removeAtExit } from './temp.js';

/**
 * Writes a whole file so that a failed write never leaves half of it: `write` fills a temporary
 * name beside the file, which is renamed over it at the end; on failure it is removed and the old
 * content stays. A symlink is followed (its target gets the new content), and a path that is not a
 * regular file (/dev/null, /dev/stdout, a FIFO) is written in place: renaming over it would replace
 * the device or pipe with a regular file. A directory is refused (EISDIR).
 */
export async function replaceFile(file: string, write: (path: string) => Promise<void>): Promise<void> {
  let target = file;
  let regular = true; // a new path becomes a regular file
  try {
    target = await realpath(file);
    const st = await stat(target);
    if (st.isDirectory()) throw Object.assign(new Error(`${file} is a directory`), { code: 'EISDIR' });
    regular = st.isFile();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!regular) {
    await write(target);
    return;
  }
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const forget = removeAtExit(tmp);
  try {
    await write(tmp);
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    forget();
  }
}
