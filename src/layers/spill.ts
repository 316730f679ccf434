/**
 * A private, temporary, content-addressed store for large selected file contents.
 * Files are named by the sha256 of their content inside a private temp directory
 * (mode 0700) that close() removes.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultTempDir } from '../core/paths.js';
import { DrydockError } from '../core/errors.js';
import { tempDirectory, type TempDirectory } from '../core/temp.js';

export class SpillStore {
  readonly dir: string;
  readonly #tmp: TempDirectory;
  #seq = 0;

  private constructor(tmp: TempDirectory) {
    this.#tmp = tmp;
    this.dir = tmp.path;
  }

  static async create(tempDir: string = defaultTempDir()): Promise<SpillStore> {
    return new SpillStore(await tempDirectory(tempDir, 'drydock-spill-'));
  }

  pathOf(sha256hex: string): string {
    return join(this.dir, sha256hex);
  }

  /** Stores bytes; returns their sha256 (hex). */
  async put(data: Uint8Array): Promise<string> {
    const hex = createHash('sha256').update(data).digest('hex');
    const tmp = join(this.dir, `.tmp-${this.#seq++}`);
    await writeFile(tmp, data);
    await rename(tmp, this.pathOf(hex));
    return hex;
  }

  /** A streaming writer: write chunks, then finish() to get the sha256 (hex). */
  writer(): SpillWriter {
    return new SpillWriter(this, join(this.dir, `.tmp-${this.#seq++}`));
  }

  async read(sha256hex: string): Promise<Buffer> {
    return readFile(this.pathOf(sha256hex));
  }

  async close(): Promise<void> {
    await this.#tmp.remove();
  }
}

export class SpillWriter {
  readonly #hash: Hash = createHash('sha256');
  readonly #ws: WriteStream;
  readonly #tmp: string;
  readonly #store: SpillStore;
  bytes = 0;

  constructor(store: SpillStore, tmp: string) {
    this.#store = store;
    this.#tmp = tmp;
    this.#ws = createWriteStream(tmp);
    this.#ws.on('error', () => {}); // surfaced by finish()
  }

  /** false: wait for onDrain before writing more. `written`: the chunk is no longer needed (written, or dropped on abort) */
  write(chunk: Buffer, written?: () => void): boolean {
    this.bytes += chunk.length;
    this.#hash.update(chunk);
    return this.#ws.write(chunk, written);
  }

  onDrain(fn: () => void): void {
    this.#ws.once('drain', fn);
  }

  finish(cb: (err: Error | null, sha256hex?: string) => void): void {
    const ws = this.#ws;
    let done = false;
    const fail = (e: Error) => {
      if (done) return;
      done = true;
      unlink(this.#tmp).catch(() => {});
      cb(new DrydockError('IO_ERROR', `cannot write spill file ${this.#tmp}`, { cause: e }));
    };
    ws.once('error', fail);
    ws.end(() => {
      if (done) return;
      const hex = this.#hash.digest('hex');
      rename(this.#tmp, this.#store.pathOf(hex)).then(
        () => {
          done = true;
          cb(null, hex);
        },
        (e: Error) => fail(e),
      );
    });
  }

  abort(): void {
    this.#ws.destroy();
    unlink(this.#tmp).catch(() => {});
  }
}
