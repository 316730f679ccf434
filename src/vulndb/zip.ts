/**
 * Feed archives (osv.dev bulk exports) through the project's bounded zip reader (core/zip.ts): the
 * central directory first, then one entry at a time, so memory follows the largest entry, not the
 * archive. Anything malformed is FEED_INVALID naming the file (and the entry).
 */
import { DrydockError } from '../core/errors.js';
import { fileSource, readZipDirectory, readZipEntry, ZipFormatError, type ZipEntry, type ZipSource } from '../core/zip.js';

export type { ZipEntry } from '../core/zip.js';

/** Largest single entry accepted (uncompressed); OSV records are a few kB, the biggest a few MB. */
const MAX_ENTRY_BYTES = 256 * 1024 * 1024;

function feedError(file: string, e: unknown): unknown {
  return e instanceof ZipFormatError ? new DrydockError('FEED_INVALID', `zip ${file}: ${e.message}`, { cause: e }) : e;
}

export class ZipReader {
  readonly #src: ZipSource & { close(): void };
  readonly #file: string;
  readonly entries: ZipEntry[];

  constructor(file: string) {
    this.#file = file;
    this.#src = fileSource(file);
    try {
      this.entries = readZipDirectory(this.#src);
    } catch (e) {
      this.#src.close();
      throw feedError(file, e);
    }
  }

  close(): void {
    this.#src.close();
  }

  /** The uncompressed bytes of one entry, checked against its size and CRC-32. */
  read(entry: ZipEntry): Buffer {
    try {
      return readZipEntry(this.#src, entry, MAX_ENTRY_BYTES);
    } catch (e) {
      throw feedError(`${this.#file}!${entry.name}`, e);
    }
  }
}
