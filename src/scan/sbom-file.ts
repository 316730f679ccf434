/**
 * `sbom:PATH` targets: a stored SBOM read back into an Inventory, so that commands needing only
 * an inventory (sbom, convert, and later scan) work without the image. The file is read here;
 * decoding is pure (sbom/decode).
 */
import { readFile, stat } from 'node:fs/promises';
import { DrydockError } from '../core/errors.js';
import type { IssueLog } from '../core/issues.js';
import type { Inventory } from '../model/package.js';
import { decodeSbom } from '../sbom/decode/index.js';

/** SBOMs larger than this are refused (a JSON document is held in memory whole). */
export const MAX_SBOM_BYTES = 512 * 1024 * 1024;

/** Reads and decodes an SBOM file; the decoder's own warnings (missing versions...) also go to `opts.issues`. */
export async function inventoryFromSbomFile(path: string, opts: { issues?: IssueLog } = {}): Promise<Inventory> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new DrydockError('IO_ERROR', `cannot read sbom ${path}: not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof DrydockError) throw e;
    throw new DrydockError('IO_ERROR', `cannot read sbom ${path}`, { cause: e });
  }
  if (size > MAX_SBOM_BYTES) throw new DrydockError('LIMIT_EXCEEDED', `sbom ${path} is ${size} bytes, more than the ${MAX_SBOM_BYTES} bytes Drydock reads`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot read sbom ${path}`, { cause: e });
  }
  const inv = decodeSbom(bytes, { path });
  for (const i of inv.issues) if (i.code === 'SBOM_INVALID' && i.path === path) opts.issues?.record(i);
  return inv;
}
