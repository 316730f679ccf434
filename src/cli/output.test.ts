import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DrydockError } from '../core/errors.js';
import { writeOutput } from './output.js';

describe('writeOutput to a file', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'drydock-output-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a string and chunks, ending with a newline, and leaves no temporary file', async () => {
    await writeOutput('{"a":1}', join(dir, 'a.json'));
    expect(readFileSync(join(dir, 'a.json'), 'utf8')).toBe('{"a":1}\n');
    function* chunks() {
      for (let i = 0; i < 5000; i++) yield `line ${i}\n`;
    }
    await writeOutput(chunks(), join(dir, 'b.txt'));
    expect(readFileSync(join(dir, 'b.txt'), 'utf8').split('\n')).toHaveLength(5001);
    expect(readdirSync(dir).sort()).toEqual(['a.json', 'b.txt']);
  });

  it.each([
    ['at once', 0],
    ['half-way', 3000],
  ])('a content generator failing %s leaves no partial file, keeps the old one, and keeps its error code', async (_n, after) => {
    const file = join(dir, 'out.json');
    writeFileSync(file, 'old\n');
    function* failing() {
      for (let i = 0; i < after; i++) yield `${'x'.repeat(100)}\n`;
      throw new DrydockError('LIMIT_EXCEEDED', 'layer sha256:abc: too big');
    }
    await expect(writeOutput(failing(), file)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    expect(readdirSync(dir)).toEqual(['out.json']);
    expect(readFileSync(file, 'utf8')).toBe('old\n');
  });

  it('a file that cannot be written is IO_ERROR naming it', async () => {
    const file = join(dir, 'missing', 'x.json');
    await expect(writeOutput('x', file)).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining(file) });
    expect(existsSync(join(dir, 'missing'))).toBe(false);
    // a directory in the way
    await expect(writeOutput('x', dir)).rejects.toMatchObject({ code: 'IO_ERROR' });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('writes into a FIFO (or a device such as /dev/null) in place instead of renaming a file over it', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    // the reading end, opened without waiting for a writer
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      await writeOutput('{"through":"the pipe"}', fifo);
      expect(statSync(fifo).isFIFO()).toBe(true);
      const buf = Buffer.alloc(256);
      let n = 0;
      try {
        n = readSync(fd, buf);
      } catch {
        // EAGAIN: nothing came through the pipe
      }
      expect(buf.subarray(0, n).toString()).toBe('{"through":"the pipe"}\n');
      expect(readdirSync(dir)).toEqual(['pipe']);
    } finally {
      closeSync(fd);
    }
  });

  it('a device that fails the write (/dev/full) is IO_ERROR and stays a device', async () => {
    await expect(writeOutput('x'.repeat(100_000), '/dev/full')).rejects.toMatchObject({ code: 'IO_ERROR', message: expect.stringContaining('/dev/full') });
    expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
  });

  it('follows a symlink: the target gets the content, the link stays a link', async () => {
    writeFileSync(join(dir, 'real.json'), 'old\n');
    symlinkSync('real.json', join(dir, 'link.json'));
    await writeOutput('new', join(dir, 'link.json'));
    expect(lstatSync(join(dir, 'link.json')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, 'real.json'), 'utf8')).toBe('new\n');
    expect(readdirSync(dir).sort()).toEqual(['link.json', 'real.json']);
  });
});
