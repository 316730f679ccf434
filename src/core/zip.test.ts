import { describe, expect, it } from 'vitest';
import { zipSync, strToU8 } from 'fflate';
import { bufferSource, readZipDirectory, readZipEntry, ZipFormatError } from './zip.js';

const zip = (files: Record<string, string>, level: 0 | 6 = 6) => Buffer.from(zipSync(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, strToU8(v)])), { level }));

describe('core/zip', () => {
  it('reads stored and deflated entries, and a zip behind a prefix (launcher script)', () => {
    for (const level of [0, 6] as const) {
      const z = zip({ 'a.txt': 'alpha'.repeat(50), 'dir/b.json': '{"b":1}' }, level);
      for (const b of [z, Buffer.concat([Buffer.from('#!/bin/sh\nexec java -jar "$0"\n'), z])]) {
        const src = bufferSource(b);
        const entries = readZipDirectory(src);
        expect(entries.map((e) => e.name)).toEqual(['a.txt', 'dir/b.json']);
        expect(readZipEntry(src, entries[0]!, 1 << 20).toString()).toBe('alpha'.repeat(50));
        expect(readZipEntry(src, entries[1]!, 1 << 20).toString()).toBe('{"b":1}');
      }
    }
  });

  it('refuses truncated archives, oversized entries, too many entries and corrupted data', () => {
    const z = zip({ 'a.txt': 'alpha'.repeat(50), 'b.txt': 'beta' }, 0);
    expect(() => readZipDirectory(bufferSource(z.subarray(0, z.length - 10)))).toThrow(ZipFormatError);
    expect(() => readZipDirectory(bufferSource(z), { maxEntries: 1 })).toThrow(/more than 1 entries/);
    const src = bufferSource(z);
    const [a] = readZipDirectory(src);
    expect(() => readZipEntry(src, a!, 10)).toThrow(/over the limit/);
    const bad = Buffer.from(z);
    const at = bad.indexOf('alpha') + 3;
    bad[at] = bad[at]! ^ 0xff; // a stored byte changed: the crc no longer holds
    const badSrc = bufferSource(bad);
    expect(() => readZipEntry(badSrc, readZipDirectory(badSrc)[0]!, 1 << 20)).toThrow(/crc-32/);
  });
});
