import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DigestStream, digestOf } from './digest.js';
import { releaseChunk } from './lend.js';
import { rangeStream, verifiedRangeStream } from './range-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'drydock-range-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = randomBytes(300_000);
const file = join(dir, 'data.bin');
writeFileSync(file, data);

async function collect(s: NodeJS.ReadableStream, release: boolean): Promise<{ chunks: Buffer[]; buffers: Set<ArrayBufferLike> }> {
  const chunks: Buffer[] = [];
  const buffers = new Set<ArrayBufferLike>();
  for await (const c of s) {
    buffers.add((c as Buffer).buffer);
    if (release) {
      chunks.push(Buffer.from(c as Buffer)); // a copy, then the chunk goes back
      releaseChunk(c as Buffer);
    } else chunks.push(c as Buffer);
  }
  return { chunks, buffers };
}

describe('rangeStream', () => {
  it('reads exactly the range, whatever its alignment to the chunk size', async () => {
    for (const [start, length, chunk] of [
      [0, data.length, 4096],
      [1, 4095, 4096],
      [4095, 4097, 4096],
      [1000, 65536, 8192],
      [data.length - 10, 10, 4096],
      [123, 1, 1024],
    ] as const) {
      const { chunks } = await collect(rangeStream(() => open(file), start, length, chunk), false);
      expect(Buffer.concat(chunks).equals(data.subarray(start, start + length))).toBe(true);
      expect(chunks.every((c) => c.length <= chunk)).toBe(true);
    }
  });

  it('reads to the end of the file with an infinite length, and ends early when the file is shorter than the range', async () => {
    expect(Buffer.concat((await collect(rangeStream(() => open(file), 5, Infinity, 65536), false)).chunks).equals(data.subarray(5))).toBe(true);
    const short = await collect(rangeStream(() => open(file), data.length - 100, 1000, 4096), false);
    expect(Buffer.concat(short.chunks).equals(data.subarray(data.length - 100))).toBe(true);
  });

  it('reads into released chunks again and never into chunks that were kept', async () => {
    const released = await collect(rangeStream(() => open(file), 0, data.length, 4096), true);
    expect(Buffer.concat(released.chunks).equals(data)).toBe(true);
    // 74 chunks through a handful of buffers
    expect(released.buffers.size).toBeLessThan(5);
    const kept = await collect(rangeStream(() => open(file), 0, data.length, 4096), false);
    expect(kept.buffers.size).toBe(kept.chunks.length);
    expect(Buffer.concat(kept.chunks).equals(data)).toBe(true);
  });

  it('ignores what is not one of its chunks, a piece of a chunk, and a chunk released twice', async () => {
    releaseChunk(Buffer.alloc(10));
    const pieces = await collect(rangeStream(() => open(file), 0, data.length, 4096).map((c: Buffer) => {
      releaseChunk(c.subarray(0, 100));
      releaseChunk(c.subarray(100));
      return c;
    }), false);
    expect(pieces.buffers.size).toBe(pieces.chunks.length);
    expect(Buffer.concat(pieces.chunks).equals(data)).toBe(true);
    const s = rangeStream(() => open(file), 0, data.length, 4096);
    const copies: Buffer[] = [];
    const seen = new Set<ArrayBufferLike>();
    for await (const c of s) {
      copies.push(Buffer.from(c as Buffer));
      releaseChunk(c as Buffer);
      releaseChunk(c as Buffer);
      seen.add((c as Buffer).buffer);
    }
    expect(Buffer.concat(copies).equals(data)).toBe(true);
    // the chunk being consumed and the one read ahead
    expect(seen.size).toBe(2);
  });

  it('reports a file it cannot open, and closes the file when destroyed mid-way', async () => {
    const missing = rangeStream(() => open(join(dir, 'missing')), 0, 10, 4096);
    await expect(collect(missing, false)).rejects.toMatchObject({ code: 'ENOENT' });
    let handle: Awaited<ReturnType<typeof open>> | undefined;
    const s = rangeStream(async () => (handle = await open(file)), 0, data.length, 4096);
    await new Promise<void>((resolve) => s.once('data', () => resolve()));
    s.destroy();
    await new Promise((resolve) => s.once('close', resolve));
    // a closed FileHandle has fd -1
    expect(handle!.fd).toBe(-1);
  });

  it('can be released in the call that delivers it, behind a stage that hashes it in a later microtask', async () => {
    // DigestStream hashes each chunk in a microtask queued before it passes the chunk on, and the
    // stream issues its next read in a nextTick: a buffer given back at once would be read into
    // before it was hashed
    for (let round = 0; round < 3; round++) {
      const check = new DigestStream({ expected: digestOf(data), expectedSize: data.length, what: 'range' });
      const s = rangeStream(() => open(file), 0, data.length, 4096).pipe(check);
      let n = 0;
      await new Promise<void>((resolve, reject) => {
        s.on('data', (c: Buffer) => {
          n += c.length;
          releaseChunk(c);
        });
        s.on('end', () => resolve());
        s.on('error', reject);
      });
      expect(n).toBe(data.length);
    }
  });
});

describe('verifiedRangeStream', () => {
  const check = (start: number, length: number, over: Partial<{ digest: string; size: number; file: string }> = {}) => ({
    digest: digestOf(data.subarray(start, start + length)),
    size: length,
    what: 'blob under test',
    file,
    ...over,
  });
  const outcome = async (s: NodeJS.ReadableStream): Promise<{ bytes: Buffer; code?: string; message?: string }> => {
    const parts: Buffer[] = [];
    try {
      for await (const c of s) parts.push(c as Buffer);
    } catch (e) {
      return { bytes: Buffer.concat(parts), code: (e as { code?: string }).code, message: (e as Error).message };
    }
    return { bytes: Buffer.concat(parts) };
  };

  it('ends after exactly the range when digest and size match', async () => {
    const r = await outcome(verifiedRangeStream(() => open(file), 4095, 70_000, 4096, check(4095, 70_000)));
    expect(r.code).toBeUndefined();
    expect(r.bytes.equals(data.subarray(4095, 4095 + 70_000))).toBe(true);
  });

  it('fails instead of ending on other bytes, a shorter file or a longer one', async () => {
    const wrong = await outcome(verifiedRangeStream(() => open(file), 0, 5000, 4096, check(0, 5000, { digest: digestOf(Buffer.from('x')) })));
    expect(wrong.code).toBe('DIGEST_MISMATCH');
    expect(wrong.message).toMatch(/^blob under test: content hashes to sha256:/);
    const short = await outcome(verifiedRangeStream(() => open(file), data.length - 100, 1000, 4096, check(0, 1000)));
    expect(short.code).toBe('SIZE_MISMATCH');
    // to the end of the file, which is longer than declared: refused after one byte too many
    const long = await outcome(verifiedRangeStream(() => open(file), 0, Infinity, 4096, check(0, 1000)));
    expect(long.code).toBe('SIZE_MISMATCH');
    expect(long.bytes.length).toBeLessThanOrEqual(4096);
  });

  it('a file it cannot read is IO_ERROR naming it', async () => {
    const r = await outcome(verifiedRangeStream(() => open(dir), 0, 1000, 4096, check(0, 1000, { file: dir })));
    expect(r.code).toBe('IO_ERROR');
    expect(r.message).toContain(dir);
  });
});
