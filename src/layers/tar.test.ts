import { describe, expect, it } from 'vitest';
import { makeTar } from './testdata/fixtures.js';
import { parseNumber, parsePax, TarFormatError, TarParser, type TarHeader } from './tar.js';

interface Field {
  name?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  /** a raw 12-byte size field (e.g. base-256) instead of `size` */
  sizeField?: Buffer;
  mtime?: number;
  type?: string;
  linkname?: string;
  prefix?: string;
  format?: 'ustar' | 'gnu' | 'v7';
  /** byte 482 (old GNU sparse `isextended`) */
  extended?: boolean;
}

const oct = (n: number, width: number) => n.toString(8).padStart(width - 1, '0') + '\0';

/** One header block written by hand, so the tests do not depend on a tar writer. */
function header(f: Field): Buffer {
  const b = Buffer.alloc(512);
  b.write(f.name ?? '', 0, 100, 'utf8');
  b.write(oct(f.mode ?? 0o644, 8), 100, 'ascii');
  b.write(oct(f.uid ?? 0, 8), 108, 'ascii');
  b.write(oct(f.gid ?? 0, 8), 116, 'ascii');
  if (f.sizeField) f.sizeField.copy(b, 124);
  else b.write(oct(f.size ?? 0, 12), 124, 'ascii');
  b.write(oct(f.mtime ?? 1_700_000_000, 12), 136, 'ascii');
  b.write(f.type ?? '0', 156, 'ascii');
  if (f.linkname) b.write(f.linkname, 157, 100, 'utf8');
  const format = f.format ?? 'ustar';
  if (format === 'ustar') b.write('ustar\u000000', 257, 'latin1');
  else if (format === 'gnu') b.write('ustar  \0', 257, 'latin1');
  if (f.prefix) b.write(f.prefix, 345, 155, 'utf8');
  if (f.extended) b[482] = 1;
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(oct(sum, 7) + ' ', 148, 'ascii');
  return b;
}

function pad(data: Buffer): Buffer {
  const rem = data.length % 512;
  return rem ? Buffer.concat([data, Buffer.alloc(512 - rem)]) : data;
}

function paxRecords(kv: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(kv)) {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len++;
    out += `${len}${body}`;
  }
  return Buffer.from(out);
}

function entry(f: Field, content?: Buffer | string): Buffer {
  const data = content === undefined ? Buffer.alloc(0) : Buffer.from(content);
  return Buffer.concat([header({ ...f, size: f.size ?? data.length }), pad(data)]);
}

const END = Buffer.alloc(1024);

interface Seen {
  h: TarHeader;
  content?: string;
}

/** Parses `tar` fed in chunks of `chunk` bytes; content is kept for every entry. */
function parse(tar: Buffer, chunk = tar.length, want = true): Seen[] {
  const out: Seen[] = [];
  let parts: Buffer[] = [];
  const p = new TarParser({
    entry: (h) => {
      out.push({ h });
      parts = [];
      return want;
    },
    data: (c) => parts.push(Buffer.from(c)),
    end: () => {
      out[out.length - 1]!.content = Buffer.concat(parts).toString('utf8');
    },
  });
  for (let o = 0; o < tar.length; o += chunk) p.write(tar.subarray(o, o + chunk));
  p.end();
  return out;
}

describe('TarParser', () => {
  it('reads ustar headers, the prefix field and contents, in any chunking', () => {
    const tar = Buffer.concat([
      entry({ name: 'etc/', type: '5', mode: 0o755 }),
      entry({ name: 'etc/os-release', uid: 1000, gid: 1001, mtime: 1234 }, 'ID=debian\n'),
      entry({ name: 'file', prefix: 'very/long/prefix' }, 'x'.repeat(700)),
      entry({ name: 'bin/sh', type: '2', linkname: 'busybox' }),
      entry({ name: 'bin/ln', type: '1', linkname: 'etc/os-release' }),
      entry({ name: 'dev/null', type: '3' }),
      END,
    ]);
    for (const chunk of [1, 7, 511, 512, 513, 4096, tar.length]) {
      const seen = parse(tar, chunk);
      expect(seen.map((s) => s.h.name)).toEqual(['etc/', 'etc/os-release', 'very/long/prefix/file', 'bin/sh', 'bin/ln', 'dev/null']);
      expect(seen.map((s) => s.h.typeflag)).toEqual(['5', '0', '0', '2', '1', '3']);
      expect(seen[1]!.h).toMatchObject({ uid: 1000, gid: 1001, mtime: 1234, mode: 0o644, size: 10, linkname: null, pax: null });
      expect(seen[1]!.content).toBe('ID=debian\n');
      expect(seen[2]!.content).toBe('x'.repeat(700));
      expect(seen[3]!.h.linkname).toBe('busybox');
      expect(seen[0]!.h.mode).toBe(0o755);
    }
  });

  it('skips contents it was not asked for', () => {
    const tar = Buffer.concat([entry({ name: 'a' }, 'x'.repeat(5000)), entry({ name: 'b' }, 'y'), END]);
    const seen = parse(tar, 100, false);
    expect(seen.map((s) => [s.h.name, s.h.size, s.content])).toEqual([
      ['a', 5000, undefined],
      ['b', 1, undefined],
    ]);
  });

  it('applies pax headers (path, linkpath, size, uid, gid, mtime) and global headers', () => {
    const long = 'd/'.repeat(80) + 'ü-file';
    const tar = Buffer.concat([
      entry({ name: 'pax_global_header', type: 'g' }, paxRecords({ comment: 'git', uid: '7' })),
      entry({ name: 'PaxHeaders/x', type: 'x' }, paxRecords({ path: long, uid: '3000000000', gid: '42', mtime: '1700000000.5' })),
      entry({ name: 'truncated-name' }, 'content'),
      entry({ name: 'PaxHeaders/y', type: 'x' }, paxRecords({ linkpath: 'l'.repeat(150) })),
      entry({ name: 'sym', type: '2', linkname: 'short' }),
      entry({ name: 'plain' }, 'p'),
      END,
    ]);
    for (const chunk of [3, 512, tar.length]) {
      const seen = parse(tar, chunk);
      expect(seen.map((s) => s.h.name)).toEqual([long, 'sym', 'plain']);
      expect(seen[0]!.h).toMatchObject({ uid: 3000000000, gid: 42, mtime: 1700000000, size: 7 });
      expect(seen[0]!.h.pax).toMatchObject({ comment: 'git', path: long });
      expect(seen[0]!.content).toBe('content');
      expect(seen[1]!.h.linkname).toBe('l'.repeat(150));
      // the global header applies to every later entry
      expect(seen[2]!.h.uid).toBe(7);
      expect(seen[2]!.h.pax).toEqual({ comment: 'git', uid: '7' });
    }
  });

  it('takes the size from a pax header over the ustar field', () => {
    const data = 'z'.repeat(1300);
    const tar = Buffer.concat([
      entry({ name: 'PaxHeaders/big', type: 'x' }, paxRecords({ size: String(data.length) })),
      header({ name: 'big', size: 0 }),
      pad(Buffer.from(data)),
      entry({ name: 'after' }, 'ok'),
      END,
    ]);
    const seen = parse(tar, 100);
    expect(seen.map((s) => [s.h.name, s.h.size])).toEqual([
      ['big', 1300],
      ['after', 2],
    ]);
    expect(seen[0]!.content).toBe(data);
  });

  it('applies GNU long names (L, N) and long link names (K)', () => {
    const longName = 'n'.repeat(300) + '/file';
    const longLink = 't'.repeat(250);
    const tar = Buffer.concat([
      entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, longName + '\0'),
      entry({ name: longName.slice(0, 99), format: 'gnu' }, 'body'),
      entry({ name: '././@LongLink', type: 'K', format: 'gnu' }, longLink + '\0'),
      entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, 'link/' + 'k'.repeat(200) + '\0'),
      entry({ name: 'ignored', type: '2', linkname: 'ignored', format: 'gnu' }),
      entry({ name: '././@LongLink', type: 'N', format: 'gnu' }, 'old-gnu-name'),
      entry({ name: 'short', format: 'gnu' }),
      // GNU format: bytes at 345 are not a prefix
      entry({ name: 'gnu-file', format: 'gnu', prefix: 'not-a-prefix' }),
      END,
    ]);
    for (const chunk of [1, 511, tar.length]) {
      const seen = parse(tar, chunk);
      expect(seen.map((s) => s.h.name)).toEqual([longName, 'link/' + 'k'.repeat(200), 'old-gnu-name', 'gnu-file']);
      expect(seen[0]!.content).toBe('body');
      expect(seen[1]!.h.linkname).toBe(longLink);
    }
  });

  it('reads base-256 numbers (sizes over 8 GiB, negative mtimes)', () => {
    const size = 8 * 1024 ** 3 + 5; // over the 11-digit octal maximum
    const f = Buffer.alloc(12);
    f[0] = 0x80;
    let v = size;
    for (let i = 11; i > 0; i--) {
      f[i] = v % 256;
      v = Math.floor(v / 256);
    }
    expect(parseNumber(f, 0, 12)).toBe(size);
    const neg = Buffer.alloc(12, 0xff);
    neg[11] = 0xfe; // -2
    expect(parseNumber(neg, 0, 12)).toBe(-2);
    expect(() => parseNumber(Buffer.from([0x81, 0, 0, 0, 0, 0, 0, 0]), 0, 8)).toThrow(TarFormatError);

    // a header with a base-256 size: the parser expects that many content bytes
    const seen: TarHeader[] = [];
    const p = new TarParser({ entry: (h) => (seen.push(h), false), data: () => {}, end: () => {} });
    const small = Buffer.alloc(12);
    small[0] = 0x80;
    small[11] = 3;
    p.write(Buffer.concat([header({ name: 'b256', sizeField: small }), pad(Buffer.from('abc')), END]));
    p.end();
    expect(seen.map((h) => [h.name, h.size])).toEqual([['b256', 3]]);
    const hugeHeader = header({ name: 'huge', sizeField: f });
    const q = new TarParser({ entry: (h) => (seen.push(h), false), data: () => {}, end: () => {} });
    q.write(hugeHeader);
    expect(seen[1]!.size).toBe(size);
    expect(() => q.end()).toThrow(/unexpected end/);
  });

  it('parses octal numbers with leading spaces and NULs', () => {
    expect(parseNumber(Buffer.from('  0755 \0'), 0, 8)).toBe(0o755);
    expect(parseNumber(Buffer.from('\0\0\0\0\0\0\0\0'), 0, 8)).toBe(0);
    expect(parseNumber(Buffer.from('00000000017\0'), 0, 12)).toBe(15);
    expect(() => parseNumber(Buffer.from('0009\0'), 0, 5)).toThrow(TarFormatError);
  });

  it('parses pax records and stops at malformed ones', () => {
    expect(parsePax(paxRecords({ path: 'a=b', 'SCHILY.xattr.x': 'y' }))).toEqual({ path: 'a=b', 'SCHILY.xattr.x': 'y' });
    expect(parsePax(Buffer.from('12 path=abc\nxx garbage'))).toEqual({ path: 'abc' });
    expect(parsePax(Buffer.from('99 path=abc\n'))).toEqual({});
  });

  it('treats old-style files ending in / as directories, without content', () => {
    const seen = parse(Buffer.concat([header({ name: 'olddir/', type: '0', format: 'v7' }), entry({ name: 'f', format: 'v7' }, 'x'), END]));
    expect(seen.map((s) => [s.h.name, s.h.typeflag])).toEqual([
      ['olddir/', '5'],
      ['f', '0'],
    ]);
  });

  it('skips the sparse map extension blocks of old GNU sparse files', () => {
    const ext = Buffer.alloc(512);
    ext[504] = 1; // another extension block follows
    const tar = Buffer.concat([header({ name: 'sparse', type: 'S', size: 3, format: 'gnu', extended: true }), ext, Buffer.alloc(512), pad(Buffer.from('abc')), entry({ name: 'next' }, 'n'), END]);
    const seen = parse(tar, 100);
    expect(seen.map((s) => [s.h.name, s.h.typeflag, s.content])).toEqual([
      ['sparse', 'S', 'abc'],
      ['next', '0', 'n'],
    ]);
  });

  it('rejects bad checksums, truncation and oversized extended headers', () => {
    const bad = entry({ name: 'a' }, 'x');
    bad[0] = 0x62;
    expect(() => parse(bad)).toThrow(/checksum/);
    const good = Buffer.concat([entry({ name: 'a' }, 'x'.repeat(1000)), END]);
    expect(() => parse(good.subarray(0, 700))).toThrow(/unexpected end/);
    expect(() => parse(good.subarray(0, 300))).toThrow(/unexpected end/);
    expect(() => parse(header({ name: 'p', type: 'x', size: 5 * 1024 * 1024 }))).toThrow(/maximum size/);
    // an empty input and trailing zero blocks are fine
    expect(parse(Buffer.alloc(0))).toEqual([]);
    expect(parse(END)).toEqual([]);
  });

  it('reads what tar-stream writes (pax names, long links)', async () => {
    const long = 'x/' + 'a'.repeat(120) + '/' + 'b'.repeat(150) + '/file';
    const tar = await makeTar([
      { name: long, content: 'long' },
      { name: 'y/' + 'c'.repeat(90), content: 'long2' },
      { name: 'ln', type: 'symlink', linkname: 'l'.repeat(130) },
      { name: 'émoji-✓', content: 'u' },
    ]);
    const seen = parse(tar, 333);
    expect(seen.map((s) => s.h.name)).toEqual([long, 'y/' + 'c'.repeat(90), 'ln', 'émoji-✓']);
    expect(seen.map((s) => s.content)).toEqual(['long', 'long2', '', 'u']);
    expect(seen[2]!.h.linkname).toBe('l'.repeat(130));
  });
});
