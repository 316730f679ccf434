/**
 * One streaming pass over one layer blob: decompress, hash the uncompressed bytes (diffID),
 * parse the tar, normalise paths, apply limits, record whiteouts and keep the content of
 * selected files (small ones in memory, large ones spilled to the content-addressed store).
 *
 * No per-entry promises: tar-stream's entry callback is driven by plain stream events.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { DrydockError } from '../core/errors.js';
import { parseDigest } from '../core/digest.js';
import type { IssueLog } from '../core/issues.js';
import type { Compression } from '../image/types.js';
import { decompressStream } from './decompress.js';
import { joinPath, normaliseEntryPath, splitPath } from './paths.js';
import type { CompiledSelectors } from './selectors.js';
import type { SpillStore, SpillWriter } from './spill.js';
import { LayerTable, TYPE_DIR, TYPE_FILE, TYPE_HARDLINK, TYPE_SYMLINK } from './table.js';
import { DEFAULT_LIMITS, type Limits } from './types.js';

/** Totals shared by every layer of one image, so limits apply to the whole image. */
export interface LimitCounter {
  limits: Limits;
  bytes: number;
  entries: number;
}

export function createLimitCounter(limits?: Partial<Limits>): LimitCounter {
  return { limits: { ...DEFAULT_LIMITS, ...limits }, bytes: 0, entries: 0 };
}

/** Selected files up to this size stay in memory; larger ones are spilled. */
export const INLINE_MAX = 1024 * 1024;

export interface WalkOptions {
  /** the compressed layer digest: names the layer in messages and issues */
  layerDigest: string;
  compression: Compression;
  /** the config's diffID; when set, a mismatch is DIFFID_MISMATCH and nothing is returned */
  expectedDiffId?: string;
  selectors?: CompiledSelectors;
  /** required when selected files may exceed `inlineMax` */
  spill?: SpillStore;
  issues?: IssueLog;
  /** shared across layers; default: a fresh counter with DEFAULT_LIMITS */
  counter?: LimitCounter;
  inlineMax?: number;
  signal?: AbortSignal;
}

export interface WalkResult {
  table: LayerTable;
  /** sha256 (or the expected algorithm) of the uncompressed tar */
  diffId: string;
  uncompressedSize: number;
  /** tar entries read, including whiteout markers and skipped entries */
  tarEntries: number;
}

const TYPE_OF: Record<string, number> = {
  file: TYPE_FILE,
  'contiguous-file': TYPE_FILE,
  directory: TYPE_DIR,
  symlink: TYPE_SYMLINK,
  link: TYPE_HARDLINK,
  'character-device': 4,
  'block-device': 5,
  fifo: 6,
};

/** The part of a tar-stream entry (a streamx Readable) this module uses. */
interface EntryStream {
  on(event: 'data', fn: (chunk: Buffer) => void): unknown;
  on(event: 'end', fn: () => void): unknown;
  on(event: 'error', fn: (e: unknown) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

const ignore = (): void => {};

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function walkLayer(stream: Readable, opts: WalkOptions): Promise<WalkResult> {
  return new Promise<WalkResult>((resolve, reject) => {
    const what = `layer ${opts.layerDigest}`;
    const counter = opts.counter ?? createLimitCounter();
    const { maxUncompressedBytes, maxEntries } = counter.limits;
    const selectors = opts.selectors && !opts.selectors.empty ? opts.selectors : undefined;
    const inlineMax = opts.inlineMax ?? INLINE_MAX;
    const issues = opts.issues;
    const layer = opts.layerDigest;
    const table = new LayerTable(1024);
    let algorithm: 'sha256' | 'sha512' = 'sha256';
    if (opts.expectedDiffId) {
      try {
        algorithm = parseDigest(opts.expectedDiffId).algorithm;
      } catch (e) {
        reject(e);
        return;
      }
    }
    const hash = createHash(algorithm);
    let bytes = 0;
    let tarEntries = 0;
    let failed = false;
    let spilling: SpillWriter | null = null;

    const decomp = decompressStream(opts.compression);
    const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);

    const fail = (e: DrydockError): void => {
      if (failed) return;
      failed = true;
      opts.signal?.removeEventListener('abort', onAbort);
      spilling?.abort();
      stream.unpipe(decomp);
      stream.destroy();
      decomp.destroy();
      extract.destroy();
      reject(e);
    };
    const onAbort = (): void =>
      fail(new DrydockError('IO_ERROR', `${what}: reading was aborted`, { cause: opts.signal?.reason }));
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    stream.on('error', (e) =>
      fail(e instanceof DrydockError ? e : new DrydockError('IO_ERROR', `${what}: cannot read the blob: ${message(e)}`, { cause: e })),
    );
    decomp.on('error', (e) =>
      fail(
        e instanceof DrydockError
          ? e
          : new DrydockError('DECOMPRESS_FAILED', `${what}: ${opts.compression} stream is corrupt or truncated: ${message(e)}`, { cause: e }),
      ),
    );
    extract.on('error', (e: unknown) =>
      fail(
        e instanceof DrydockError
          ? e
          : new DrydockError('ARCHIVE_CORRUPT', `${what}: tar stream is malformed or truncated: ${message(e)}`, { cause: e }),
      ),
    );

    decomp.on('data', (chunk: Buffer) => {
      if (failed) return;
      bytes += chunk.length;
      counter.bytes += chunk.length;
      if (counter.bytes > maxUncompressedBytes) {
        fail(
          new DrydockError('LIMIT_EXCEEDED', `${what}: image exceeds the limit of ${maxUncompressedBytes} uncompressed bytes`, {
            details: { limit: 'maxUncompressedBytes', value: maxUncompressedBytes },
          }),
        );
        return;
      }
      hash.update(chunk);
      if (!extract.write(chunk)) decomp.pause();
    });
    extract.on('drain', () => {
      if (!failed) decomp.resume();
    });
    decomp.on('end', () => {
      if (!failed) (extract as unknown as { end(): void }).end();
    });
    extract.on('finish', () => {
      if (failed) return;
      opts.signal?.removeEventListener('abort', onAbort);
      const diffId = `${algorithm}:${hash.digest('hex')}`;
      if (opts.expectedDiffId && diffId !== opts.expectedDiffId) {
        failed = true;
        reject(
          new DrydockError('DIFFID_MISMATCH', `${what}: uncompressed content hashes to ${diffId}, the image config says ${opts.expectedDiffId}`, {
            details: { layer: opts.layerDigest, expected: opts.expectedDiffId, actual: diffId },
          }),
        );
        return;
      }
      table.seal();
      resolve({ table, diffId, uncompressedSize: bytes, tarEntries });
    });

    const drain = (entry: EntryStream, next: () => void): void => {
      entry.on('end', next);
      entry.resume();
    };

    extract.on('entry', (header, source, next) => {
      const entry = source as unknown as EntryStream;
      // the extractor destroys the current entry with its own error, which `fail` reports
      entry.on('error', ignore);
      if (failed) return;
      tarEntries++;
      if (++counter.entries > maxEntries) {
        fail(
          new DrydockError('LIMIT_EXCEEDED', `${what}: image exceeds the limit of ${maxEntries} archive entries`, {
            details: { limit: 'maxEntries', value: maxEntries },
          }),
        );
        return;
      }
      let name = header.name;
      let size = header.size ?? 0;
      let unsupported: string | undefined;
      const pax = header.pax as Record<string, string> | null | undefined;
      if (pax && (pax['GNU.sparse.name'] !== undefined || pax['GNU.sparse.major'] !== undefined || pax['GNU.sparse.size'] !== undefined)) {
        if (pax['GNU.sparse.name']) name = pax['GNU.sparse.name'];
        const real = Number(pax['GNU.sparse.realsize'] ?? pax['GNU.sparse.size']);
        if (Number.isFinite(real)) size = real;
        unsupported = 'sparse file';
      }
      let type = header.type ? TYPE_OF[header.type as string] : undefined;
      if (type === undefined) {
        // GNU sparse ('S') and other typeflags tar-stream does not name: keep as a file without content
        type = TYPE_FILE;
        unsupported ??= 'entry of an unsupported tar type';
      }

      const path = normaliseEntryPath(name);
      if (path === null) {
        issues?.record({ code: 'PATH_UNSAFE', message: `${what}: entry ${JSON.stringify(name)} escapes the root; skipped`, path: name, layer });
        drain(entry, next);
        return;
      }
      if (path === '/') {
        drain(entry, next);
        return;
      }
      const slash = path.lastIndexOf('/');
      const dir = slash === 0 ? '/' : path.slice(0, slash);
      const base = path.slice(slash + 1);
      if (base.charCodeAt(0) === 46 && base.startsWith('.wh.')) {
        if (base === '.wh..wh..opq') table.opaques.push(dir);
        else if (!base.startsWith('.wh..wh.')) table.whiteouts.push(joinPath(dir, base.slice(4)));
        drain(entry, next);
        return;
      }
      let link: string | undefined;
      if (type === TYPE_HARDLINK) {
        const target = normaliseEntryPath(header.linkname ?? '');
        if (target === null || target === '/') {
          issues?.record({
            code: 'PATH_UNSAFE',
            message: `${what}: hard link ${path} points outside the root (${JSON.stringify(header.linkname)}); skipped`,
            path,
            layer,
          });
          drain(entry, next);
          return;
        }
        link = target;
        size = 0;
      } else if (type === TYPE_SYMLINK) {
        link = header.linkname ?? '';
        size = 0;
      } else if (type !== TYPE_FILE) size = 0;

      const mtime = header.mtime ? header.mtime.getTime() / 1000 : NaN;
      const idx = table.add(table.internDir(dir), base, type, header.mode ?? 0, header.uid ?? 0, header.gid ?? 0, size, mtime);
      if (link !== undefined) table.links.set(idx, link);

      const matched = selectors?.match(path, base, type === TYPE_FILE ? (header.mode ?? 0) : undefined);
      if (!matched) {
        drain(entry, next);
        return;
      }
      table.selectedBy.set(idx, matched);
      if (type !== TYPE_FILE) {
        drain(entry, next);
        return;
      }
      if (unsupported) {
        issues?.record({ code: 'ARCHIVE_CORRUPT', message: `${what}: ${path} is a ${unsupported}; its content is not kept`, path, layer });
        drain(entry, next);
        return;
      }
      const max = selectors!.maxSize(matched);
      if (size > max) {
        issues?.record({ code: 'LIMIT_EXCEEDED', message: `${what}: ${path} is ${size} bytes, over the selector limit of ${max}; content not kept`, path, layer });
        drain(entry, next);
        return;
      }
      if (size <= inlineMax || !opts.spill) {
        if (size > inlineMax) {
          issues?.record({ code: 'LIMIT_EXCEEDED', message: `${what}: ${path} is too large to keep without a spill store`, path, layer });
          drain(entry, next);
          return;
        }
        const chunks: Buffer[] = [];
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => {
          table.contents.set(idx, { kind: 'mem', data: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
          next();
        });
        return;
      }
      const w = opts.spill.writer();
      spilling = w;
      entry.on('data', (c: Buffer) => {
        if (!w.write(c)) {
          entry.pause();
          w.onDrain(() => entry.resume());
        }
      });
      entry.on('end', () => {
        w.finish((err, hex) => {
          spilling = null;
          if (failed) return;
          if (err || !hex) {
            fail(err instanceof DrydockError ? err : new DrydockError('IO_ERROR', `${what}: cannot spill ${path}`, { cause: err }));
            return;
          }
          table.contents.set(idx, { kind: 'file', path: opts.spill!.pathOf(hex), sha256: hex, size: w.bytes });
          next();
        });
      });
    });

    stream.pipe(decomp);
  });
}
