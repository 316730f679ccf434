/**
 * The layer cache, under `defaultCacheDir()/layers`. Safe for several processes: every file is
 * written to a temporary name and renamed into place; readers treat missing, partial or corrupt
 * files as misses. Nothing in here is fatal: a cache that cannot be written is just not written.
 *
 *   verify/<sha256(binding \0 layer digest)>.json   verification records
 *   analysis/<sha256(diffId \0 selectorsKey)>.bin   layer analysis (entry metadata, selected content refs,
 *                                                   small selected contents inline with their sha256):
 *                                                   ANALYSIS_MAGIC, u32le header length, header JSON, then
 *                                                   the table's columns and the inline contents as raw bytes
 *   blobs/<sha256>                                  larger selected contents, content-addressed
 *   results/<key>.json                              a consumer's result over whole verified images (sbom:
 *                                                   the inventory), keyed by everything it depends on
 *
 * Security rule: a layer may be skipped (served from an analysis record) only when a
 * verification record exists for the exact binding the source gives for it and that record's
 * diffID equals the config's diffID. See isVerified().
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { defaultCacheDir } from '../core/paths.js';
import { LAYERS_FORMAT_VERSION } from './selectors.js';
import { LayerTable, type TableRecord } from './table.js';

/**
 * A cache file's JSON. Read as bytes and decoded once: readFile with an encoding decodes chunk by
 * chunk into a string JSON.parse must flatten first (a warm sbom of the corpus app image reads
 * 1.4 MB this way: 47-49 ms against 34-35 ms).
 */
async function readJson(path: string): Promise<unknown> {
  return JSON.parse((await readFile(path)).toString('utf8'));
}

/**
 * JSON with every character past ASCII written as a \u escape. A few such characters (a maintainer's
 * name, a licence text) would otherwise make V8 decode the whole file into a two-byte string and
 * parse it with its slower two-byte parser: a warm sbom reads 1.4 MB of cached inventory this way.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface VerificationRecord {
  binding: string;
  /** compressed layer digest */
  digest: string;
  diffId: string;
  /** ISO time */
  verifiedAt: string;
}

export interface CachedAnalysis {
  table: LayerTable;
  uncompressedSize: number;
  tarEntries: number;
}

/** The JSON header of an analysis file; the byte lengths it gives say how the payload after it divides. */
interface AnalysisHeader {
  format: string;
  /** os.endianness() of the writer: the columns are in its byte order */
  endianness: string;
  diffId: string;
  selectorsKey: string;
  uncompressedSize: number;
  tarEntries: number;
  table: Omit<TableRecord, 'columns'>;
  /** byte length of each column */
  columns: number[];
  /** small contents kept in the file itself: [entry index, sha256 hex, byte length]; checked when the file is read */
  inline: [number, string, number][];
}

/** the first bytes of an analysis file */
const ANALYSIS_MAGIC = Buffer.from('DDLAYER\n', 'latin1');

/**
 * Selected contents up to this size go into the analysis record rather than one blob file each: a
 * warm run then reads one file per layer instead of opening, stat-ing and hashing hundreds.
 */
export const CACHE_INLINE_MAX = 64 * 1024;

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');
const HEX64 = /^[a-f0-9]{64}$/;

export class LayerCache {
  readonly dir: string;
  readonly #onWriteError: ((message: string) => void) | undefined;
  #warned = false;

  private constructor(dir: string, onWriteError?: (message: string) => void) {
    this.dir = dir;
    this.#onWriteError = onWriteError;
  }

  /**
   * Opens (lazily creates) a cache rooted at `dir`. The cache is best effort: a write that fails
   * leaves the run going, and `onWriteError` hears about the first one (say, a --cache-dir that is
   * not a writable directory), so that the user knows why the next run is not faster.
   */
  static open(dir: string, opts: { onWriteError?: (message: string) => void } = {}): LayerCache {
    return new LayerCache(dir, opts.onWriteError);
  }

  #writeFailed(e: unknown): void {
    if (this.#warned) return;
    this.#warned = true;
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    this.#onWriteError?.(`[CACHE_ERROR] the layer cache in ${this.dir} cannot be written (${why}); the next run reads the image again`);
  }

  /** The user's layer cache: defaultCacheDir()/layers. */
  static openDefault(env: NodeJS.ProcessEnv = process.env): LayerCache {
    return new LayerCache(join(defaultCacheDir(env), 'layers'));
  }

  blobPath(sha256hex: string): string {
    return join(this.dir, 'blobs', sha256hex);
  }

  #verifyPath(binding: string, digest: string): string {
    return join(this.dir, 'verify', `${sha256(`${binding}\0${digest}`)}.json`);
  }

  #analysisPath(diffId: string, selectorsKey: string): string {
    return join(this.dir, 'analysis', `${sha256(`${diffId}\0${selectorsKey}`)}.bin`);
  }

  async #atomicWrite(path: string, data: string | Uint8Array): Promise<boolean> {
    const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    try {
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(tmp, data);
      await rename(tmp, path);
      return true;
    } catch (e) {
      this.#writeFailed(e);
      await unlink(tmp).catch(() => {});
      return false;
    }
  }

  async getVerification(binding: string, digest: string): Promise<VerificationRecord | undefined> {
    try {
      const r = await readJson(this.#verifyPath(binding, digest)) as Partial<VerificationRecord>;
      if (r.binding !== binding || r.digest !== digest || typeof r.diffId !== 'string' || typeof r.verifiedAt !== 'string') return undefined;
      return r as VerificationRecord;
    } catch {
      return undefined;
    }
  }

  /**
   * True only when a verification record exists for exactly this binding and layer digest and
   * records the same diffID the image config gives. An undefined binding is never verified.
   */
  async isVerified(binding: string | undefined, digest: string, diffId: string): Promise<boolean> {
    if (binding === undefined || binding === '' || !diffId) return false;
    const r = await this.getVerification(binding, digest);
    return r !== undefined && r.diffId === diffId;
  }

  async putVerification(binding: string, digest: string, diffId: string, verifiedAt: Date = new Date()): Promise<boolean> {
    const rec: VerificationRecord = { binding, digest, diffId, verifiedAt: verifiedAt.toISOString() };
    return this.#atomicWrite(this.#verifyPath(binding, digest), JSON.stringify(rec));
  }

  async getAnalysis(diffId: string, selectorsKey: string): Promise<CachedAnalysis | undefined> {
    try {
      const file = await readFile(this.#analysisPath(diffId, selectorsKey));
      const m = ANALYSIS_MAGIC.length;
      if (file.length < m + 4 || !file.subarray(0, m).equals(ANALYSIS_MAGIC)) return undefined;
      const headerEnd = m + 4 + file.readUInt32LE(m);
      if (headerEnd > file.length) return undefined;
      const f = JSON.parse(file.toString('utf8', m + 4, headerEnd)) as AnalysisHeader;
      if (f.format !== LAYERS_FORMAT_VERSION || f.endianness !== endianness() || f.diffId !== diffId || f.selectorsKey !== selectorsKey) return undefined;
      if (typeof f.uncompressedSize !== 'number' || typeof f.tarEntries !== 'number' || !Array.isArray(f.columns) || !Array.isArray(f.inline)) return undefined;
      let at = headerEnd;
      const take = (n: unknown): Buffer => {
        if (!Number.isSafeInteger(n) || (n as number) < 0 || at + (n as number) > file.length) throw new Error('bad length');
        const b = file.subarray(at, at + (n as number));
        at += n as number;
        return b;
      };
      const columns = f.columns.map(take);
      for (const [, h] of f.table.contents) if (!HEX64.test(h)) return undefined;
      const table = LayerTable.fromRecord({ ...f.table, columns }, (h) => this.blobPath(h));
      // every referenced blob must be there with the right size (contents are hashed again when read)
      await Promise.all(
        [...table.contents.values()].map(async (ref) => {
          if (ref.kind !== 'file') throw new Error('bad ref');
          const st = await stat(ref.path);
          if (st.size !== ref.size) throw new Error('bad size');
        }),
      );
      // inline contents: checked against their digest and size once, here
      for (const [i, h, n] of f.inline) {
        if (!Number.isInteger(i) || i < 0 || i >= table.count || table.contents.has(i) || typeof h !== 'string' || !HEX64.test(h)) return undefined;
        const data = take(n);
        if (data.length !== table.sizes[i] || createHash('sha256').update(data).digest('hex') !== h) return undefined;
        table.contents.set(i, { kind: 'mem', data, sha256: h });
      }
      if (at !== file.length) return undefined;
      return { table, uncompressedSize: f.uncompressedSize, tarEntries: f.tarEntries };
    } catch {
      return undefined;
    }
  }

  /**
   * A consumer's result stored under `key` (a sha256 hex the caller derives from everything the
   * result depends on), or undefined. The caller must have checked that every layer of the image is
   * verified for its source (isVerified) before trusting it.
   */
  async getResult<T>(key: string): Promise<T | undefined> {
    if (!HEX64.test(key)) return undefined;
    try {
      const f = await readJson(join(this.dir, 'results', `${key}.json`)) as { format?: string; key?: string; value?: T };
      if (f.format !== LAYERS_FORMAT_VERSION || f.key !== key || f.value === undefined) return undefined;
      return f.value;
    } catch {
      return undefined;
    }
  }

  async putResult(key: string, value: unknown): Promise<boolean> {
    if (!HEX64.test(key)) return false;
    return this.#atomicWrite(join(this.dir, 'results', `${key}.json`), asciiJson({ format: LAYERS_FORMAT_VERSION, key, value }));
  }

  async putAnalysis(diffId: string, selectorsKey: string, a: { table: LayerTable; uncompressedSize: number; tarEntries: number }): Promise<boolean> {
    try {
      const hashes = new Map<number, string>();
      const inline: [number, string, number][] = [];
      const inlineData: Uint8Array[] = [];
      for (const [i, ref] of a.table.contents) {
        let hex: string;
        if (ref.kind === 'mem' && ref.data.length <= CACHE_INLINE_MAX) {
          inline.push([i, ref.sha256 ?? createHash('sha256').update(ref.data).digest('hex'), ref.data.length]);
          inlineData.push(ref.data);
          continue;
        }
        if (ref.kind === 'mem') {
          hex = ref.sha256 ?? createHash('sha256').update(ref.data).digest('hex');
          if (!(await exists(this.blobPath(hex)))) {
            if (!(await this.#atomicWrite(this.blobPath(hex), ref.data))) return false;
          }
        } else if (ref.kind === 'file') {
          hex = ref.sha256;
          if (!(await exists(this.blobPath(hex)))) {
            const dest = this.blobPath(hex);
            const tmp = `${dest}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
            try {
              await mkdir(join(dest, '..'), { recursive: true });
              // a spilled file is private and never written again: a second name for it is enough
              // (no copy of executables that can be tens of megabytes); other file systems copy
              if (ref.spilled) await link(ref.path, tmp).catch(() => copyFile(ref.path, tmp));
              else await copyFile(ref.path, tmp);
              await rename(tmp, dest);
            } catch (e) {
              this.#writeFailed(e);
              await unlink(tmp).catch(() => {});
              return false;
            }
          }
        } else return false; // on-disk (dir:) contents are never cached
        hashes.set(i, hex);
      }
      const { columns, ...table } = a.table.toRecord(hashes);
      const header: AnalysisHeader = {
        format: LAYERS_FORMAT_VERSION,
        endianness: endianness(),
        diffId,
        selectorsKey,
        uncompressedSize: a.uncompressedSize,
        tarEntries: a.tarEntries,
        table,
        columns: columns.map((c) => c.length),
        inline,
      };
      const json = Buffer.from(asciiJson(header), 'latin1');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(json.length);
      return await this.#atomicWrite(this.#analysisPath(diffId, selectorsKey), Buffer.concat([ANALYSIS_MAGIC, length, json, ...columns, ...inlineData]));
    } catch (e) {
      this.#writeFailed(e);
      return false;
    }
  }
}


async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
