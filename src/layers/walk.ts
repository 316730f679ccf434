/**
 * One streaming pass over one layer blob: decompress, hash the uncompressed bytes (diffID),
 * parse the tar, normalise paths, apply limits, record whiteouts and keep the content of
 * selected files (small ones in memory, large ones spilled to the content-addressed store).
 *
 * No per-entry promises or streams: a synchronous tar parser (tar.ts) runs over each decompressed
 * chunk and hands over content only for selected files.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { DrydockError } from '../core/errors.js';
import { parseDigest } from '../core/digest.js';
import { releaseChunk } from '../core/lend.js';
import type { IssueLog } from '../core/issues.js';
import type { Compression } from '../image/types.js';
import { decompressStream } from './decompress.js';
import { joinPath, normaliseEntryPath, splitPath } from './paths.js';
import { MarkerScanner } from './markers.js';
import type { CompiledSelectors } from './selectors.js';
import type { SpillStore, SpillWriter } from './spill.js';
import { LayerTable, TYPE_DIR, TYPE_FILE, TYPE_HARDLINK, TYPE_SYMLINK } from './table.js';
import { TarParser, type TarHeader } from './tar.js';
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

/**
 * An executable wanted only for its content markers is held in memory up to this many bytes while
 * it is scanned; without a marker by then it is spilled (and the spill dropped at its end if no
 * marker came).
 */
export const HOLD_MAX = 8 * 1024 * 1024;

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
  /**
   * The stream is the verified blob of an uncompressed layer whose digest is `expectedDiffId`
   * (ResolvedImage.openLayer fails before its end unless the bytes hash to the layer digest): the
   * blob's hash is then the diffID, and the walk does not hash the same bytes a second time.
   */
  sourceVerifiesDiffId?: boolean;
}

export interface WalkResult {
  table: LayerTable;
  /** sha256 (or the expected algorithm) of the uncompressed tar */
  diffId: string;
  uncompressedSize: number;
  /** tar entries read, including whiteout markers and skipped entries */
  tarEntries: number;
}

/** tar typeflag → LayerTable type; other typeflags are kept as files without content */
const TYPE_OF: Record<string, number> = {
  '0': TYPE_FILE,
  '7': TYPE_FILE,
  '5': TYPE_DIR,
  '2': TYPE_SYMLINK,
  '1': TYPE_HARDLINK,
  '3': 4,
  '4': 5,
  '6': 6,
};

/** thrown from the tar handler to stop parsing the rest of a chunk after a failure */
const STOP = Symbol('stop');

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
    const skipHash = opts.sourceVerifiesDiffId === true && opts.compression === 'none' && !!opts.expectedDiffId;
    let bytes = 0;
    let tarEntries = 0;
    let failed = false;
    let ended = false;
    /** spill files still being written (their content refs are set when they finish) */
    let pendingSpills = 0;
    const spilling = new Set<SpillWriter>();

    const decomp = decompressStream(opts.compression);
    let unpipe = (): void => {
      stream.unpipe(decomp);
    };

    const fail = (e: DrydockError): void => {
      if (failed) return;
      failed = true;
      opts.signal?.removeEventListener('abort', onAbort);
      for (const w of spilling) w.abort();
      spilling.clear();
      unpipe();
      stream.destroy();
      decomp.destroy();
      reject(e);
    };
    const onAbort = (): void =>
      fail(new DrydockError('IO_ERROR', `${what}: reading was aborted`, { cause: opts.signal?.reason }));
    if (opts.signal?.aborted) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const corrupt = (e: unknown): DrydockError =>
      e instanceof DrydockError ? e : new DrydockError('ARCHIVE_CORRUPT', `${what}: tar stream is malformed or truncated: ${message(e)}`, { cause: e });

    const finish = (): void => {
      if (failed || !ended || pendingSpills > 0) return;
      opts.signal?.removeEventListener('abort', onAbort);
      const diffId = skipHash ? opts.expectedDiffId! : `${algorithm}:${hash.digest('hex')}`;
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
    };

    // ---- the current entry's content sink ----
    const SINK_MEM = 1;
    const SINK_SPILL = 2;
    /** held in memory until a content marker shows (or HOLD_MAX is reached), then spilled */
    const SINK_HOLD = 3;
    let sink = 0;
    let sinkIdx = -1;
    let sinkPath = '';
    let chunks: Buffer[] = [];
    /** the decompressed chunk each of `chunks` is a slice of */
    let owners: Buffer[] = [];
    let memBytes = 0;
    let held = 0;
    let writer: SpillWriter | null = null;
    /**
     * The decompressed chunk being parsed, and how many holders (the parser while it parses, the
     * sinks that keep slices of it) each chunk has: a chunk goes back to its producer for reuse
     * (core/lend.ts) when its last holder lets go, so contents kept for a while cost no new memory.
     */
    let current: Buffer | null = null;
    const holders = new Map<Buffer, number>();
    const hold = (): Buffer => {
      const c = current!;
      holders.set(c, (holders.get(c) ?? 0) + 1);
      return c;
    };
    const letGo = (c: Buffer): void => {
      const n = holders.get(c)! - 1;
      if (n > 0) holders.set(c, n);
      else {
        holders.delete(c);
        releaseChunk(c);
      }
    };
    const letGoAll = (list: Buffer[]): void => {
      for (const c of list) letGo(c);
    };
    /** reused by selectors.match: the selectors that want the entry only when a marker shows */
    const conditional: number[] = [];
    /** for the current entry: the selectors that want it whatever its content, the conditional ones, the scanner */
    let keepAlways: number[] = [];
    let condSel: number[] = [];
    let condOwner: number[] = [];
    let scanner: MarkerScanner | null = null;

    /** the current entry's final selectors once its content was scanned; null: nobody wants it */
    const finalSelectors = (): number[] | null => {
      const sc = scanner!;
      const out = [...keepAlways];
      for (let k = 0; k < condOwner.length; k++) if (sc.found(k) && !out.includes(condOwner[k]!)) out.push(condOwner[k]!);
      if (!out.length) return null;
      out.sort((x, y) => x - y);
      return out;
    };

    const startSpill = (): void => {
      writer = opts.spill!.writer();
      spilling.add(writer);
      sink = SINK_SPILL;
    };
    /** the current writer's buffer is full: decomp is paused until it drains (one listener per writer at a time) */
    let draining: SpillWriter | null = null;
    const spillWrite = (c: Buffer, owner: Buffer): void => {
      const w = writer!;
      if (!w.write(c, () => letGo(owner)) && draining !== w) {
        // the rest of the current chunk is still written (bounded by one decompressed chunk)
        decomp.pause();
        draining = w;
        w.onDrain(() => {
          if (draining === w) draining = null;
          if (!failed) decomp.resume();
        });
      }
    };

    const onEntry = (header: TarHeader): boolean => {
      if (failed) throw STOP;
      tarEntries++;
      if (++counter.entries > maxEntries) {
        fail(
          new DrydockError('LIMIT_EXCEEDED', `${what}: image exceeds the limit of ${maxEntries} archive entries`, {
            details: { limit: 'maxEntries', value: maxEntries },
          }),
        );
        throw STOP;
      }
      let name = header.name;
      let size = header.size;
      let unsupported: string | undefined;
      const pax = header.pax;
      if (pax && (pax['GNU.sparse.name'] !== undefined || pax['GNU.sparse.major'] !== undefined || pax['GNU.sparse.size'] !== undefined)) {
        if (pax['GNU.sparse.name']) name = pax['GNU.sparse.name'];
        const real = Number(pax['GNU.sparse.realsize'] ?? pax['GNU.sparse.size']);
        if (Number.isFinite(real)) size = real;
        unsupported = 'sparse file';
      }
      let type = TYPE_OF[header.typeflag];
      if (type === undefined) {
        // GNU sparse ('S') and other typeflags: keep as a file without content
        type = TYPE_FILE;
        unsupported ??= 'entry of an unsupported tar type';
      }

      const path = normaliseEntryPath(name);
      if (path === null) {
        issues?.record({ code: 'PATH_UNSAFE', message: `${what}: entry ${JSON.stringify(name)} escapes the root; skipped`, path: name, layer });
        return false;
      }
      if (path === '/') return false;
      const slash = path.lastIndexOf('/');
      const dir = slash === 0 ? '/' : path.slice(0, slash);
      const base = path.slice(slash + 1);
      if (base.charCodeAt(0) === 46 && base.startsWith('.wh.')) {
        if (base === '.wh..wh..opq') table.opaques.push(dir);
        else if (!base.startsWith('.wh..wh.')) table.whiteouts.push(joinPath(dir, base.slice(4)));
        return false;
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
          return false;
        }
        link = target;
        size = 0;
      } else if (type === TYPE_SYMLINK) {
        link = header.linkname ?? '';
        size = 0;
      } else if (type !== TYPE_FILE) size = 0;

      const idx = table.add(table.internDir(dir), base, type, header.mode, header.uid, header.gid, size, header.mtime);
      if (link !== undefined) table.links.set(idx, link);

      const matched = selectors?.match(path, base, type === TYPE_FILE ? header.mode : undefined, conditional);
      if (!matched) return false;
      table.selectedBy.set(idx, matched);
      scanner = null;
      if (type !== TYPE_FILE) return false;
      if (unsupported) {
        issues?.record({ code: 'ARCHIVE_CORRUPT', message: `${what}: ${path} is a ${unsupported}; its content is not kept`, path, layer });
        return false;
      }
      const max = selectors!.maxSize(matched);
      if (size > max) {
        issues?.record({ code: 'LIMIT_EXCEEDED', message: `${what}: ${path} is ${size} bytes, over the selector limit of ${max}; content not kept`, path, layer });
        return false;
      }
      if (conditional.length) {
        keepAlways = matched.filter((i) => !conditional.includes(i));
        condSel = [...conditional];
        condOwner = [];
        const markers: Buffer[] = [];
        for (const i of condSel) for (const m of selectors!.markers(i)) {
          markers.push(m);
          condOwner.push(i);
        }
        scanner = new MarkerScanner(markers);
      }
      if (size <= inlineMax || !opts.spill) {
        if (size > inlineMax) {
          issues?.record({ code: 'LIMIT_EXCEEDED', message: `${what}: ${path} is too large to keep without a spill store`, path, layer });
          return false;
        }
        sink = SINK_MEM;
        sinkIdx = idx;
        chunks = [];
        owners = [];
        memBytes = 0;
        return true;
      }
      sinkIdx = idx;
      sinkPath = path;
      if (scanner && keepAlways.length === 0) {
        sink = SINK_HOLD;
        chunks = [];
        owners = [];
        held = 0;
        return true;
      }
      startSpill();
      return true;
    };

    const onData = (c: Buffer): void => {
      if (failed) throw STOP;
      if (sink === SINK_MEM) {
        chunks.push(c);
        owners.push(hold());
        memBytes += c.length;
        return;
      }
      if (scanner && !scanner.done) scanner.write(c);
      if (sink === SINK_HOLD) {
        chunks.push(c);
        owners.push(hold());
        held += c.length;
        if (scanner!.anyFound || held > HOLD_MAX) {
          const list = chunks;
          const from = owners;
          chunks = [];
          owners = [];
          startSpill();
          for (let k = 0; k < list.length; k++) spillWrite(list[k]!, from[k]!);
        }
        return;
      }
      spillWrite(c, hold());
    };

    const onEnd = (): void => {
      if (failed) throw STOP;
      const idx = sinkIdx;
      let sel: number[] | null | undefined;
      if (sink === SINK_MEM) {
        const list = chunks;
        const from = owners;
        chunks = [];
        owners = [];
        if (scanner) {
          for (const c of list) scanner.write(c);
          sel = finalSelectors();
        }
        if (sel === null) table.selectedBy.delete(idx);
        else {
          if (sel) table.selectedBy.set(idx, sel);
          // a copy: the slices point into larger decompression buffers (made only for kept contents)
          const data = list.length === 1 ? Buffer.from(list[0]!) : Buffer.concat(list, memBytes);
          table.contents.set(idx, { kind: 'mem', data });
        }
        letGoAll(from);
      } else if (sink === SINK_HOLD) {
        // no marker showed in a file of at most HOLD_MAX bytes: nobody wants it
        chunks = [];
        letGoAll(owners);
        owners = [];
        held = 0;
        table.selectedBy.delete(idx);
      } else if (scanner && (sel = finalSelectors()) === null) {
        const w = writer!;
        writer = null;
        spilling.delete(w);
        w.abort();
        table.selectedBy.delete(idx);
        if (decomp.isPaused()) decomp.resume();
      } else {
        if (sel) table.selectedBy.set(idx, sel);
        const w = writer!;
        const path = sinkPath;
        writer = null;
        pendingSpills++;
        w.finish((err, hex) => {
          spilling.delete(w);
          pendingSpills--;
          if (failed) return;
          if (err || !hex) {
            fail(err instanceof DrydockError ? err : new DrydockError('IO_ERROR', `${what}: cannot spill ${path}`, { cause: err }));
            return;
          }
          table.contents.set(idx, { kind: 'file', path: opts.spill!.pathOf(hex), sha256: hex, size: w.bytes, spilled: true });
          finish();
        });
        // a writer that is ending emits 'finish', not 'drain': if its last write paused the
        // stream, resume now (what it buffered is bounded by one decompressed chunk)
        if (decomp.isPaused()) decomp.resume();
      }
      sink = 0;
      scanner = null;
    };

    const parser = new TarParser({ entry: onEntry, data: onData, end: onEnd });

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

    // Each chunk is processed in a microtask: zlib's callback pushes a chunk and only then starts
    // inflating the next one on the thread pool, so handling the chunk synchronously would keep
    // inflate and hashing/parsing from overlapping. Microtasks keep the order ('end' is queued
    // behind the last chunk the same way), and the next chunk cannot arrive before this one ran.
    decomp.on('data', (chunk: Buffer) => queueMicrotask(() => onChunk(chunk)));
    const onChunk = (chunk: Buffer): void => {
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
      if (!skipHash) hash.update(chunk);
      // the parser copies what it carries over (partial headers, long names); the sinks above
      // hold the slices they keep
      current = chunk;
      holders.set(chunk, 1);
      try {
        parser.write(chunk);
      } catch (e) {
        if (e !== STOP) fail(corrupt(e));
        return;
      } finally {
        current = null;
      }
      letGo(chunk);
    };
    decomp.on('end', () => queueMicrotask(onDecompEnd));
    const onDecompEnd = (): void => {
      if (failed) return;
      try {
        parser.end();
      } catch (e) {
        fail(corrupt(e));
        return;
      }
      ended = true;
      finish();
    };

    if (opts.compression === 'gzip') {
      // zlib calls a write's callback once it has consumed that input chunk (a pass-through stage
      // would call it on buffering, before the parser saw the bytes): the compressed chunk can
      // then be read into again. Otherwise this is stream.pipe(decomp).
      const onInput = (c: Buffer): void => {
        if (!decomp.write(c, () => releaseChunk(c))) stream.pause();
      };
      decomp.on('drain', () => stream.resume());
      stream.on('data', onInput);
      stream.once('end', () => decomp.end());
      unpipe = () => stream.off('data', onInput);
    } else stream.pipe(decomp);
  });
}
