/**
 * OCI archives: a tar of an OCI image layout, read WITHOUT extracting it. One pass over the
 * tar headers (pread of 512-byte blocks, content skipped) indexes member offsets; blobs are then
 * served as file-range streams through DigestStream. The writer builds a temporary layout and
 * tars it to the destination atomically on commit().
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DrydockError } from '../core/errors.js';
import { verifyBytes } from '../core/digest.js';
import { openRegularFile, readRangeOf } from '../core/files.js';
import { rangeStream, verifiedRangeStream } from '../core/range-reader.js';
import { lazyPackage } from '../core/lazy.js';
import { replaceFile } from '../core/replace-file.js';
import { tempDirectory, type TempDirectory } from '../core/temp.js';
import { defaultTempDir } from '../core/paths.js';
import type { ImageReader, ImageWriter } from './transport.js';
import type { Descriptor, RawManifest } from './types.js';
import { DEFAULT_MAX_MANIFEST_BYTES, parseJsonObject } from './manifest.js';
import { OciLayoutWriter, READ_CHUNK, blobRelPath, mediaTypeOfJson, selectLayoutRoot } from './oci-layout.js';

export interface TarMember {
  /** normalised name: no leading "./" or "/", no trailing "/" */
  name: string;
  type: 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';
  /** offset of the content in the archive file */
  offset: number;
  size: number;
  linkname?: string;
}

export interface TarIndex {
  file: string;
  size: number;
  mtimeMs: number;
  ino: number;
  members: Map<string, TarMember>;
}

function corrupt(file: string, why: string): DrydockError {
  return new DrydockError('ARCHIVE_CORRUPT', `${file}: ${why}`);
}

export function normalizeMemberName(n: string): string {
  let s = n.replace(/\\/g, '/');
  s = posix.normalize(`/${s}`).slice(1);
  return s.replace(/\/+$/, '');
}

function cstr(b: Buffer, start: number, len: number): string {
  const slice = b.subarray(start, start + len);
  const z = slice.indexOf(0);
  return (z < 0 ? slice : slice.subarray(0, z)).toString('utf8');
}

function parseNumeric(b: Buffer, start: number, len: number, file: string): number {
  const f = b.subarray(start, start + len);
  if (f[0] !== undefined && (f[0] & 0x80) !== 0) {
    // base-256 (GNU): big-endian, first byte's top bit is the marker
    if ((f[0] & 0x40) !== 0) throw corrupt(file, 'negative number in a tar header');
    let v = f[0] & 0x3f;
    for (let i = 1; i < f.length; i++) {
      v = v * 256 + (f[i] as number);
      if (!Number.isSafeInteger(v)) throw corrupt(file, 'number too large in a tar header');
    }
    return v;
  }
  const s = f.toString('latin1').replace(/\0.*$/s, '').trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw corrupt(file, `invalid octal number ${JSON.stringify(s)} in a tar header`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer, file: string): boolean {
  const stored = parseNumeric(h, 148, 8, file);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
  return sum === stored;
}

function parsePax(buf: Buffer, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < buf.length) {
    const sp = buf.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(buf.subarray(i, sp).toString('latin1'), 10);
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > buf.length) throw corrupt(file, 'malformed pax header');
    const rec = buf.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

const MAX_META = 1024 * 1024;
const HEADER_WINDOW = 64 * 1024;

/** Indexes the members of a tar file by reading its headers only. */
export async function indexTar(file: string): Promise<TarIndex> {
  let fh: FileHandle;
  try {
    fh = await openRegularFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTREG') throw new DrydockError('IMAGE_NOT_FOUND', `${file}: not a regular file`);
    throw new DrydockError('IMAGE_NOT_FOUND', `${file}: cannot open the archive (${code ?? (e as Error).message})`, { cause: e });
  }
  try {
    const st = await fh.stat();
    const members = new Map<string, TarMember>();
    const header = Buffer.alloc(512);
    // headers are read through a window: the small members of a layout (oci-layout, index.json,
    // manifests, config) sit side by side, and one read covers all their headers
    const win = Buffer.allocUnsafe(HEADER_WINDOW);
    let winStart = 0;
    let winLen = 0;
    const readHeader = async (at: number): Promise<number> => {
      if (at < winStart || at + 512 > winStart + winLen) {
        winStart = at;
        winLen = (await fh.read(win, 0, HEADER_WINDOW, at)).bytesRead;
      }
      return win.copy(header, 0, at - winStart, Math.min(at - winStart + 512, winLen));
    };
    let pos = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let pax: Record<string, string> = {};
    let sawAny = false;
    for (;;) {
      if (pos + 512 > st.size) {
        if (pos === st.size && sawAny) break; // no end-of-archive blocks: tolerated
        throw corrupt(file, sawAny ? 'truncated tar archive' : 'not a tar archive');
      }
      if ((await readHeader(pos)) !== 512) throw corrupt(file, 'truncated tar archive');
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header, file)) throw corrupt(file, sawAny ? `bad tar header checksum at offset ${pos}` : 'not a tar archive');
      sawAny = true;
      const size = parseNumeric(header, 124, 12, file);
      const flag = String.fromCharCode(header[156] as number);
      const dataStart = pos + 512;
      const next = dataStart + Math.ceil(size / 512) * 512;
      if (dataStart + size > st.size) throw corrupt(file, 'truncated tar archive');
      const readMeta = async (): Promise<Buffer> => {
        if (size > MAX_META) throw corrupt(file, 'oversized tar metadata record');
        const b = Buffer.alloc(size);
        await fh.read(b, 0, size, dataStart);
        return b;
      };
      if (flag === 'x') {
        pax = { ...pax, ...parsePax(await readMeta(), file) };
      } else if (flag === 'g') {
        // global pax header: ignored (only affects defaults we do not use)
      } else if (flag === 'L') {
        longName = cstr(await readMeta(), 0, size);
      } else if (flag === 'K') {
        longLink = cstr(await readMeta(), 0, size);
      } else {
        const magic = header.subarray(257, 263).toString('latin1');
        const prefix = magic.startsWith('ustar') ? cstr(header, 345, 155) : '';
        let name = cstr(header, 0, 100);
        if (prefix) name = `${prefix}/${name}`;
        if (longName !== undefined) name = longName;
        if (pax.path !== undefined) name = pax.path;
        let linkname: string | undefined = cstr(header, 157, 100);
        if (longLink !== undefined) linkname = longLink;
        if (pax.linkpath !== undefined) linkname = pax.linkpath;
        let realSize = size;
        if (pax.size !== undefined && /^\d+$/.test(pax.size)) realSize = Number(pax.size);
        const type: TarMember['type'] =
          flag === '0' || flag === '\0' || flag === '7'
            ? 'file'
            : flag === '5'
              ? 'dir'
              : flag === '2'
                ? 'symlink'
                : flag === '1'
                  ? 'hardlink'
                  : 'other';
        const norm = normalizeMemberName(name);
        if (norm !== '') {
          const m: TarMember = { name: norm, type, offset: dataStart, size: type === 'file' ? realSize : 0 };
          if (type === 'symlink' || type === 'hardlink') m.linkname = linkname;
          members.set(norm, m);
        }
        if (realSize !== size) {
          const n2 = dataStart + Math.ceil(realSize / 512) * 512;
          if (dataStart + realSize > st.size) throw corrupt(file, 'truncated tar archive');
          pos = n2;
          longName = longLink = undefined;
          pax = {};
          continue;
        }
        longName = longLink = undefined;
        pax = {};
      }
      pos = next;
    }
    return { file, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, members };
  } finally {
    await fh.close();
  }
}

/** Follows symlinks and hard links between members (bounded) to the member holding content. */
export function resolveMember(index: TarIndex, name: string): TarMember | undefined {
  let cur = index.members.get(normalizeMemberName(name));
  for (let i = 0; i < 16 && cur; i++) {
    if (cur.type === 'file') return cur;
    if (cur.type === 'hardlink' && cur.linkname !== undefined) {
      cur = index.members.get(normalizeMemberName(cur.linkname));
    } else if (cur.type === 'symlink' && cur.linkname !== undefined) {
      const target = cur.linkname.startsWith('/') ? cur.linkname : posix.join(posix.dirname(cur.name), cur.linkname);
      if (posix.normalize(`/${target}`).startsWith('/..')) return undefined;
      cur = index.members.get(normalizeMemberName(target));
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** A stream of a member's bytes, checked against `expected` digest and size as it streams. */
export function memberStream(index: TarIndex, m: TarMember, check?: { digest: string; size: number; what: string }): Readable {
  if (m.size === 0 && !check) return Readable.from([]);
  const open = (): Promise<FileHandle> => openRegularFile(index.file);
  if (!check) return rangeStream(open, m.offset, m.size, READ_CHUNK);
  return verifiedRangeStream(open, m.offset, m.size, READ_CHUNK, { ...check, file: index.file });
}

/**
 * A small member's bytes (oci-layout, index.json, a manifest or config) in one positional read: no
 * stream machinery for a few hundred bytes. More than `max` bytes is MANIFEST_INVALID naming `what`.
 */
export async function readMemberBytes(index: TarIndex, m: TarMember, max: number, what: string): Promise<Buffer> {
  if (m.size > max) throw new DrydockError('MANIFEST_INVALID', `${what}: ${m.size} bytes, larger than the limit of ${max}`);
  if (m.size === 0) return Buffer.alloc(0);
  let fh: FileHandle;
  try {
    fh = await openRegularFile(index.file);
  } catch (e) {
    throw new DrydockError('IO_ERROR', `${index.file}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const bytes = await readRangeOf(fh, m.offset, m.size, Infinity);
    if (bytes.length !== m.size) throw corrupt(index.file, `member ${m.name} ends early (the archive changed while it was read?)`);
    return bytes;
  } finally {
    await fh.close();
  }
}

/** A member's bytes checked against a descriptor's size and digest (DIGEST_MISMATCH / SIZE_MISMATCH). */
async function readVerifiedMember(index: TarIndex, m: TarMember, desc: Descriptor, max: number, what: string): Promise<Buffer> {
  if (m.size !== desc.size) throw new DrydockError('SIZE_MISMATCH', `${what}: ${m.size} bytes, its descriptor declares ${desc.size}`);
  const bytes = await readMemberBytes(index, m, max, what);
  verifyBytes(bytes, desc.digest, what);
  return bytes;
}

export async function readMember(index: TarIndex, name: string, max: number, what: string): Promise<Buffer | undefined> {
  const m = resolveMember(index, name);
  return m ? readMemberBytes(index, m, max, what) : undefined;
}

export function archiveBinding(index: TarIndex, member: string): string {
  return `file:${index.file}:${index.size}:${index.mtimeMs}:${index.ino}#${member}`;
}

export interface ArchiveOptions {
  maxManifestBytes?: number;
  tempDir?: string;
}

export class OciArchiveReader implements ImageReader {
  readonly derived = false;
  readonly name: string;
  readonly #file: string;
  readonly #ref: string | undefined;
  readonly #max: number;
  #index: TarIndex | undefined;
  #root: RawManifest | undefined;
  readonly #manifests = new Map<string, RawManifest>();
  /** called on close (engines use it to delete their temporary archive) */
  onClose: (() => Promise<void>) | undefined;

  constructor(file: string, ref: string | undefined, opts: ArchiveOptions = {}, displayName?: string) {
    this.#file = file;
    this.#ref = ref;
    this.#max = opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.name = displayName ?? (ref === undefined ? file : `${file}:${ref}`);
  }

  get #idx(): TarIndex {
    if (!this.#index) throw new DrydockError('INTERNAL', 'oci archive reader used before init()');
    return this.#index;
  }

  async init(): Promise<void> {
    this.#index = await indexTar(this.#file);
    const layout = await readMember(this.#index, 'oci-layout', 64 * 1024, `${this.#file}: oci-layout`);
    if (layout === undefined) throw new DrydockError('IMAGE_NOT_FOUND', `${this.#file}: not an oci archive (no oci-layout member)`);
    const o = parseJsonObject(layout, `${this.#file}: oci-layout`);
    if (typeof o.imageLayoutVersion !== 'string') throw new DrydockError('MANIFEST_INVALID', `${this.#file}: oci-layout without imageLayoutVersion`);
  }

  async root(): Promise<RawManifest> {
    if (this.#root) return this.#root;
    const indexBytes = await readMember(this.#idx, 'index.json', this.#max, `${this.#file}: index.json`);
    if (indexBytes === undefined) throw new DrydockError('IMAGE_NOT_FOUND', `${this.#file}: no index.json member`);
    const sel = selectLayoutRoot(indexBytes, this.#ref, this.name);
    if ('synthetic' in sel) {
      this.#root = sel.synthetic;
    } else {
      const d = sel.descriptor;
      if (d.size > this.#max) throw new DrydockError('MANIFEST_INVALID', `manifest ${d.digest}: ${d.size} bytes, larger than the limit of ${this.#max}`);
      const m = resolveMember(this.#idx, blobRelPath(d.digest));
      if (!m) throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: blob ${d.digest} (${d.mediaType}) is missing`);
      const bytes = await readVerifiedMember(this.#idx, m, d, this.#max, `manifest ${d.digest}`);
      this.#root = { bytes, mediaType: d.mediaType, digest: d.digest };
      this.#manifests.set(d.digest, this.#root);
    }
    return this.#root;
  }

  async manifest(digest: string): Promise<RawManifest> {
    const cached = this.#manifests.get(digest);
    if (cached) return cached;
    const bytes = await readMember(this.#idx, blobRelPath(digest), this.#max, `manifest ${digest}`);
    if (bytes === undefined) throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: manifest ${digest} is missing`);
    verifyBytes(bytes, digest, `manifest ${digest}`);
    const raw: RawManifest = { bytes, mediaType: mediaTypeOfJson(bytes), digest };
    this.#manifests.set(digest, raw);
    return raw;
  }

  async blob(desc: Descriptor): Promise<Readable> {
    const m = resolveMember(this.#idx, blobRelPath(desc.digest));
    if (!m) throw new DrydockError('BLOB_NOT_FOUND', `${this.name}: blob ${desc.digest} (${desc.mediaType}) is missing`);
    return memberStream(this.#idx, m, { digest: desc.digest, size: desc.size, what: `blob ${desc.digest}` });
  }

  async blobBinding(desc: Descriptor): Promise<string | undefined> {
    const m = resolveMember(this.#idx, blobRelPath(desc.digest));
    return m ? archiveBinding(this.#idx, m.name) : undefined;
  }

  async close(): Promise<void> {
    const f = this.onClose;
    this.onClose = undefined;
    if (f) await f();
  }
}

export async function openOciArchiveReader(file: string, ref: string | undefined, opts: ArchiveOptions = {}): Promise<OciArchiveReader> {
  const r = new OciArchiveReader(file, ref, opts);
  await r.init();
  return r;
}

/** Tars a directory tree (files and dirs only) to `out`, entries sorted, fixed mtime. */
export async function tarDirectory(dir: string, out: string): Promise<void> {
  // tar-stream is loaded only when an archive is written (reading uses our own tar parser)
  const tarStream = lazyPackage<typeof import('tar-stream')>('tar-stream')();
  const pack = tarStream.pack();
  const entries: { rel: string; abs: string; isDir: boolean; size: number }[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel))).sort();
    for (const n of names) {
      const r = rel ? `${rel}/${n}` : n;
      const st = await stat(join(dir, r));
      if (st.isDirectory()) {
        entries.push({ rel: r, abs: join(dir, r), isDir: true, size: 0 });
        await walk(r);
      } else if (st.isFile()) {
        entries.push({ rel: r, abs: join(dir, r), isDir: false, size: st.size });
      }
    }
  };
  await walk('');
  const mtime = new Date(0);
  const writing = pipeline(pack, createWriteStream(out));
  writing.catch(() => {}); // awaited below; a failed output (EISDIR, ENOSPC) also ends the loop through the race
  for (const e of entries) {
    if (e.isDir) {
      pack.entry({ name: `${e.rel}/`, type: 'directory', mode: 0o755, mtime });
      continue;
    }
    const entry = new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ name: e.rel, type: 'file', size: e.size, mode: 0o644, mtime }, (err) => (err ? reject(err) : resolve()));
      sink.on('error', reject);
      createReadStream(e.abs).on('error', reject).pipe(sink);
    });
    entry.catch(() => {}); // when the output failed first, the race below reports that error
    await Promise.race([entry, writing.then(() => entry)]);
  }
  pack.finalize();
  await writing;
}

/** Writes an OCI archive: a temporary layout next to the destination, tarred on commit(). */
export class OciArchiveWriter implements ImageWriter {
  readonly file: string;
  readonly #opts: ArchiveOptions;
  #tmpDir: TempDirectory | undefined;
  #layout: OciLayoutWriter | undefined;

  constructor(file: string, opts: ArchiveOptions = {}) {
    this.file = file;
    this.#opts = opts;
  }

  async init(): Promise<void> {
    try {
      this.#tmpDir = await tempDirectory(dirname(this.file), '.drydock-oci-');
    } catch {
      this.#tmpDir = await tempDirectory(this.#opts.tempDir ?? defaultTempDir(), 'drydock-oci-');
    }
    this.#layout = new OciLayoutWriter(join(this.#tmpDir.path, 'layout'));
    await this.#layout.init();
  }

  get #w(): OciLayoutWriter {
    if (!this.#layout) throw new DrydockError('INTERNAL', 'oci archive writer used before init()');
    return this.#layout;
  }

  hasBlob(desc: Descriptor): Promise<boolean> {
    return this.#w.hasBlob(desc);
  }

  putBlob(desc: Descriptor, data: Readable): Promise<void> {
    return this.#w.putBlob(desc, data);
  }

  putManifest(manifest: RawManifest, tag?: string): Promise<void> {
    return this.#w.putManifest(manifest, tag);
  }

  async commit(): Promise<void> {
    await this.#w.commit();
    try {
      await replaceFile(this.file, (path) => tarDirectory(this.#w.dir, path));
    } catch (e) {
      throw new DrydockError('IO_ERROR', `${this.file}: cannot write the oci archive (${(e as Error).message})`, { cause: e });
    } finally {
      await this.#cleanup();
    }
  }

  async #cleanup(): Promise<void> {
    await this.#tmpDir?.remove();
    this.#tmpDir = undefined;
  }

  async abort(): Promise<void> {
    await this.#cleanup();
  }
}

export async function openOciArchiveWriter(file: string, opts: ArchiveOptions = {}): Promise<OciArchiveWriter> {
  const w = new OciArchiveWriter(file, opts);
  await w.init();
  return w;
}
