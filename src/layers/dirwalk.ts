/**
 * `dir:` images: walk a directory tree (lstat, never following symlinks) into one pseudo-layer.
 * Selected contents are read from disk when asked for.
 */
import { lstat, opendir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { DrydockError } from '../core/errors.js';
import type { IssueLog } from '../core/issues.js';
import { joinPath } from './paths.js';
import type { CompiledSelectors } from './selectors.js';
import { LayerTable, TYPE_DIR, TYPE_FILE, TYPE_SYMLINK } from './table.js';
import type { LimitCounter } from './walk.js';

export async function walkDirectory(
  rootDir: string,
  opts: { selectors?: CompiledSelectors; counter: LimitCounter; issues?: IssueLog },
): Promise<LayerTable> {
  const table = new LayerTable(1024);
  const sel = opts.selectors && !opts.selectors.empty ? opts.selectors : undefined;
  const { counter } = opts;
  const stack: string[] = ['/'];
  while (stack.length) {
    const rel = stack.pop()!;
    const abs = join(rootDir, rel);
    let dir;
    try {
      dir = await opendir(abs);
    } catch (e) {
      if (rel === '/') throw new DrydockError('IO_ERROR', `cannot read directory ${rootDir}`, { cause: e });
      opts.issues?.record({ code: 'IO_ERROR', message: `cannot read directory ${abs}: ${(e as Error).message}`, path: rel });
      continue;
    }
    const dirId = table.internDir(rel);
    for await (const d of dir) {
      const path = joinPath(rel, d.name);
      const full = join(abs, d.name);
      let st;
      try {
        st = await lstat(full);
      } catch (e) {
        opts.issues?.record({ code: 'IO_ERROR', message: `cannot stat ${full}: ${(e as Error).message}`, path });
        continue;
      }
      let type: number;
      let size = 0;
      let link: string | undefined;
      if (st.isFile()) {
        type = TYPE_FILE;
        size = st.size;
      } else if (st.isDirectory()) type = TYPE_DIR;
      else if (st.isSymbolicLink()) {
        type = TYPE_SYMLINK;
        link = await readlink(full).catch(() => '');
      } else if (st.isCharacterDevice()) type = 4;
      else if (st.isBlockDevice()) type = 5;
      else if (st.isFIFO()) type = 6;
      else continue; // sockets
      if (++counter.entries > counter.limits.maxEntries) {
        throw new DrydockError('LIMIT_EXCEEDED', `directory ${rootDir}: more than ${counter.limits.maxEntries} entries`);
      }
      counter.bytes += size;
      if (counter.bytes > counter.limits.maxUncompressedBytes) {
        throw new DrydockError('LIMIT_EXCEEDED', `directory ${rootDir}: more than ${counter.limits.maxUncompressedBytes} bytes`);
      }
      const idx = table.add(dirId, d.name, type, st.mode, st.uid, st.gid, size, Math.floor(st.mtimeMs / 1000));
      if (link !== undefined) table.links.set(idx, link);
      if (type === TYPE_DIR) stack.push(path);
      const m = sel?.match(path, d.name, type === TYPE_FILE ? st.mode : undefined);
      if (m) {
        table.selectedBy.set(idx, m);
        if (type === TYPE_FILE) {
          const max = sel!.maxSize(m);
          if (size > max) {
            opts.issues?.record({ code: 'LIMIT_EXCEEDED', message: `${path} is ${size} bytes, over the selector limit of ${max}; content not kept`, path });
          } else table.contents.set(idx, { kind: 'disk', path: full, size });
        }
      }
    }
  }
  table.seal();
  return table;
}
