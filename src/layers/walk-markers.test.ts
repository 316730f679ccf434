/**
 * Executables wanted only for their content markers (FileSelector.contentMarkers): kept and listed
 * when a marker shows anywhere in the stream (also across chunk boundaries and after HOLD_MAX),
 * dropped otherwise; a file another pattern selects is kept whatever its content.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildImage, tempDir, writeOciLayout } from '../../test/testkit/index.js';
import { openImage } from '../image/open.js';
import { buildImageFilesystem } from './filesystem.js';
import { MarkerScanner } from './markers.js';
import { HOLD_MAX } from './walk.js';

const MARK = Buffer.from('\xff Go buildinf:', 'latin1');

function withMarker(size: number, at: number): Buffer {
  const b = randomBytes(size);
  // no accidental marker bytes
  for (let i = 0; i < b.length; i++) if (b[i] === 0xff) b[i] = 0;
  MARK.copy(b, at);
  return b;
}

describe('MarkerScanner', () => {
  it('finds markers inside chunks and across chunk boundaries', () => {
    const m = [Buffer.from('abcdef'), Buffer.from('xyz')];
    const s = new MarkerScanner(m);
    s.write(Buffer.from('---abc'));
    expect(s.anyFound).toBe(false);
    s.write(Buffer.from('d'));
    s.write(Buffer.from('ef--'));
    expect(s.found(0)).toBe(true);
    expect(s.found(1)).toBe(false);
    s.write(Buffer.from('..xyz'));
    expect(s.done).toBe(true);
  });

  it('agrees with indexOf over the whole stream, for long markers found by a probe and for short ones', () => {
    // a long marker searched by its probe "Go buil", decoys holding the probe or most of the marker,
    // and a short marker searched as it is; random chunkings, from a fixed seed
    const markers = [MARK, Buffer.from('.dep-v0', 'latin1'), Buffer.from('\x00\x00\xffZZZZZZZZ', 'latin1')];
    const pieces = [MARK, MARK.subarray(1), MARK.subarray(0, 12), Buffer.from('Go buil'), Buffer.from('.dep-v'), Buffer.from('ZZZZZZZZ'), Buffer.from('\x00\xffZZZZZZZZ', 'latin1')];
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const parts: Buffer[] = [];
      for (let k = rand(6); k > 0; k--) {
        parts.push(Buffer.from(Array.from({ length: rand(40) }, () => rand(256))));
        if (rand(3) > 0) parts.push(pieces[rand(pieces.length)]!);
      }
      if (rand(4) === 0) parts.push(markers[rand(markers.length)]!);
      const whole = Buffer.concat(parts);
      const s = new MarkerScanner(markers);
      for (let at = 0; at < whole.length; ) {
        const n = 1 + rand(24);
        s.write(whole.subarray(at, at + n));
        at += n;
      }
      markers.forEach((m, i) => expect(s.found(i), `round ${round}, marker ${i}`).toBe(whole.indexOf(m) >= 0));
    }
  });
});

describe('layer walk with content markers', () => {
  it('keeps executables holding a marker and drops the others', async () => {
    const small = withMarker(200_000, 100_000);
    const late = withMarker(HOLD_MAX + 3_000_000, HOLD_MAX + 2_000_000);
    const early = withMarker(3_000_000, 1000);
    const none = withMarker(3_000_000, 0).fill(1, 0, MARK.length);
    const noneBig = withMarker(HOLD_MAX + 1_000_000, 0).fill(1, 0, MARK.length);
    const img = await buildImage({
      layers: [
        {
          entries: [
            { path: '/bin/small', content: small, mode: 0o755 },
            { path: '/bin/late', content: late, mode: 0o755 },
            { path: '/bin/early', content: early, mode: 0o755 },
            { path: '/bin/none', content: none, mode: 0o755 },
            { path: '/bin/none-big', content: noneBig, mode: 0o755 },
            { path: '/bin/script', content: '#!/bin/sh\n', mode: 0o755 },
            { path: '/bin/named', content: 'no marker here', mode: 0o755 },
            { path: '/etc/after', content: 'still read\n' },
          ],
        },
      ],
    });
    const t = tempDir();
    try {
      writeOciLayout(t.dir, img);
      const image = await openImage(`oci-dir:${t.dir}:latest`);
      const fs = await buildImageFilesystem(image, {
        cache: null,
        selectors: [
          { id: 'go', version: '1', executables: true, contentMarkers: [MARK.toString('latin1')] },
          { id: 'named', version: '1', paths: ['/bin/named'] },
          { id: 'etc', version: '1', paths: ['/etc/after'] },
        ],
      });
      expect(fs.selected('go').map((f) => f.path)).toEqual(['/bin/early', '/bin/late', '/bin/small']);
      expect((await fs.readFile('/bin/small'))?.equals(small)).toBe(true);
      expect((await fs.readFile('/bin/late'))?.equals(late)).toBe(true);
      expect((await fs.readFile('/bin/early'))?.equals(early)).toBe(true);
      expect(await fs.readFile('/bin/none')).toBeUndefined();
      expect(await fs.readFile('/bin/none-big')).toBeUndefined();
      expect(await fs.readFile('/bin/script')).toBeUndefined();
      expect((await fs.readFile('/bin/named'))?.toString()).toBe('no marker here');
      expect((await fs.readFile('/etc/after'))?.toString()).toBe('still read\n');
      await fs.close();
      await image.close();
    } finally {
      t.cleanup();
    }
  }, 60_000);
});
