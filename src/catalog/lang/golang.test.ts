import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openImage } from '../../image/open.js';
import type { Package, PackageMetadataGo } from '../../model/package.js';
import { runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import type { RangeSource } from './binary-formats.js';
import { goBinaryCataloger, parseModInfo, readGoBuildInfo, readGoBuildInfoFrom } from './golang.js';

const SENT_START = Buffer.from('3077af0c9274080241e1c107e6d618e6', 'hex');
const SENT_END = Buffer.from('f932433186182072008242104116d8f2', 'hex');

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) out.push((n & 0x7f) | 0x80), (n >>>= 7);
  out.push(n);
  return Buffer.from(out);
}

/** A positional source over `b` that counts the bytes it handed out. */
function counting(b: Buffer): RangeSource & { bytes: number } {
  const s = {
    size: b.length,
    bytes: 0,
    read: async (offset: number, length: number) => {
      const out = Buffer.from(b.subarray(offset, Math.min(b.length, offset + length)));
      s.bytes += out.length;
      return out;
    },
  };
  return s;
}

const MODINFO = Buffer.concat([
  SENT_START,
  Buffer.from('path\texample.com/app/cmd/app\nmod\texample.com/app\t(devel)\t\ndep\tgolang.org/x/sys\tv0.1.0\th1:abc=\ndep\tgithub.com/old/lib\tv1.0.0\th1:old=\n=>\tgithub.com/new/lib\tv1.2.0\th1:new=\nbuild\t-compiler=gc\nbuild\tvcs.revision=deadbeef\n'),
  SENT_END,
]);

/** A minimal 64-bit little-endian ELF with one PT_LOAD segment holding `data` at vaddr 0x400000. */
function elfWith(data: Buffer): Buffer {
  const h = Buffer.alloc(64 + 56);
  h.writeUInt32BE(0x7f454c46, 0);
  h[4] = 2;
  h[5] = 1;
  h[6] = 1;
  h.writeUInt16LE(2, 16);
  h.writeBigUInt64LE(64n, 0x20); // phoff
  h.writeUInt16LE(56, 0x36);
  h.writeUInt16LE(1, 0x38);
  h.writeUInt32LE(1, 64); // PT_LOAD
  h.writeBigUInt64LE(0n, 64 + 8); // offset
  h.writeBigUInt64LE(0x400000n, 64 + 16); // vaddr
  h.writeBigUInt64LE(BigInt(120 + data.length), 64 + 32); // filesz
  return Buffer.concat([h, Buffer.alloc(8), data]); // header 120 bytes + pad to 128
}

/** New (inline strings) format at a 16-aligned offset. */
function inlineInfo(version: string): Buffer {
  const hdr = Buffer.alloc(32);
  Buffer.from('\xff Go buildinf:', 'latin1').copy(hdr);
  hdr[14] = 8;
  hdr[15] = 0x2;
  return Buffer.concat([hdr, varint(version.length), Buffer.from(version), varint(MODINFO.length), MODINFO]);
}

/** Old (pointer) format: header at file offset 128 (vaddr 0x400080), string headers and data after it. */
function pointerInfo(version: string, bigEndian = false): Buffer {
  const base = 0x400000n + 128n;
  const hdr = Buffer.alloc(32);
  Buffer.from('\xff Go buildinf:', 'latin1').copy(hdr);
  hdr[14] = 8;
  hdr[15] = bigEndian ? 1 : 0;
  const w = (b: Buffer, v: bigint, o: number) => (bigEndian ? b.writeBigUInt64BE(v, o) : b.writeBigUInt64LE(v, o));
  // layout after header: [vers hdr 16][mod hdr 16][vers bytes][mod bytes]
  const vh = base + 32n;
  const mh = base + 48n;
  w(hdr, vh, 16);
  w(hdr, mh, 24);
  const heads = Buffer.alloc(32);
  w(heads, base + 64n, 0);
  w(heads, BigInt(version.length), 8);
  w(heads, base + 64n + BigInt(version.length), 16);
  w(heads, BigInt(MODINFO.length), 24);
  return Buffer.concat([hdr, heads, Buffer.from(version), MODINFO]);
}

describe('go build info', () => {
  it('parses module info with replacements and settings', () => {
    const mi = parseModInfo(MODINFO.toString('latin1'));
    expect(mi.path).toBe('example.com/app/cmd/app');
    expect(mi.main).toEqual({ path: 'example.com/app', version: '(devel)' });
    expect(mi.deps[1]).toEqual({ path: 'github.com/old/lib', version: 'v1.0.0', sum: 'h1:old=', replace: { path: 'github.com/new/lib', version: 'v1.2.0', sum: 'h1:new=' } });
    expect(mi.settings).toEqual({ '-compiler': 'gc', 'vcs.revision': 'deadbeef' });
  });

  it('decodes the inline (≥1.18) and pointer (<1.18, both endiannesses) formats', () => {
    expect(readGoBuildInfo(elfWith(inlineInfo('go1.20.3')))?.goVersion).toBe('go1.20.3');
    const old = readGoBuildInfo(elfWith(pointerInfo('go1.16.5')));
    expect(old?.goVersion).toBe('go1.16.5');
    expect(parseModInfo(old!.modInfo).deps).toHaveLength(2);
    expect(readGoBuildInfo(elfWith(pointerInfo('go1.15', true)))?.goVersion).toBe('go1.15');
    expect(readGoBuildInfo(Buffer.from('\x7fELF not really'))).toBeUndefined();
  });

  it('decodes the same by position, following the pointers through the segment map', async () => {
    for (const b of [elfWith(inlineInfo('go1.20.3')), elfWith(pointerInfo('go1.16.5')), elfWith(pointerInfo('go1.15', true))]) {
      const want = readGoBuildInfo(b);
      expect(want?.modInfo.length).toBeGreaterThan(100);
      expect(await readGoBuildInfoFrom(counting(b))).toEqual(want);
    }
    // a pointer leading outside every segment: no build info
    const broken = elfWith(pointerInfo('go1.16.5'));
    broken.writeBigUInt64LE(0x900000n, 128 + 16);
    expect(readGoBuildInfo(broken)).toBeUndefined();
    expect(await readGoBuildInfoFrom(counting(broken))).toBeUndefined();
  });

  it('searches files without a usable section chunk by chunk, a magic across two chunks included', async () => {
    // no executable header at all: only the search finds it; unaligned, straddling the 1 MiB chunk end
    const at = 1024 * 1024 - 6;
    const b = Buffer.alloc(at + 4096, 0x11);
    inlineInfo('go1.21.0').copy(b, at);
    const src = counting(b);
    expect((await readGoBuildInfoFrom(src))?.goVersion).toBe('go1.21.0');
    expect(readGoBuildInfo(b)?.goVersion).toBe('go1.21.0');
    // a false magic that does not decode is passed over for a later one
    const two = Buffer.alloc(3 * 1024 * 1024, 0);
    Buffer.from('\xff Go buildinf:', 'latin1').copy(two, 4096);
    two[4096 + 15] = 0x2;
    two[4096 + 32] = 0x7f; // a version of 127 NUL bytes: not "go…"
    inlineInfo('go1.22.1').copy(two, 2 * 1024 * 1024 + 32);
    expect((await readGoBuildInfoFrom(counting(two)))?.goVersion).toBe('go1.22.1');
    expect(readGoBuildInfo(two)?.goVersion).toBe('go1.22.1');
  });

  it('catalogs stdlib, main module and deps from an image', async () => {
    const img = await buildImage({
      layers: [
        [
          { path: '/usr/bin/app', content: elfWith(inlineInfo('go1.19.13')), mode: 0o755 },
          { path: '/usr/bin/script', content: '#!/bin/sh\necho hi\n'.repeat(10), mode: 0o755 },
          { path: '/usr/share/not-exec', content: elfWith(inlineInfo('go1.19.13')), mode: 0o644 },
        ],
      ],
    });
    const r = await runCatalogerOnImage(goBinaryCataloger, img);
    const by = new Map(r.packages.map((p) => [p.name, p]));
    expect(r.packages.map((p) => `${p.name}@${p.version}`).sort()).toEqual(['example.com/app@(devel)', 'github.com/new/lib@v1.2.0', 'golang.org/x/sys@v0.1.0', 'stdlib@1.19.13']);
    expect(by.get('stdlib')!.purl).toBe('pkg:golang/stdlib@1.19.13');
    expect(by.get('golang.org/x/sys')).toMatchObject({ purl: 'pkg:golang/golang.org/x/sys@v0.1.0', metadata: { h1Digest: 'h1:abc=', mainModule: 'example.com/app' } });
    expect((by.get('github.com/new/lib')!.metadata as PackageMetadataGo).replacedBy).toEqual({ path: 'github.com/new/lib', version: 'v1.2.0' });
    expect((by.get('example.com/app')!.metadata as PackageMetadataGo).settings?.['vcs.revision']).toBe('deadbeef');
    expect(r.relationships).toHaveLength(3);
    expect(r.issues).toEqual([]);
  });
});

function goVersionM(file: string): Set<string> {
  return truthSet(execFileSync('go', ['version', '-m', file], { encoding: 'utf8' }));
}

/** `go version -m` text → "stdlib@x", "mod path@v", "dep path@v" (replacements applied). */
function truthSet(text: string): Set<string> {
  const out = new Set<string>();
  let last: string | undefined;
  for (const line of text.split('\n')) {
    const top = /^\S.*: (go\S+)$/.exec(line);
    if (top) out.add(`stdlib@${top[1]!.slice(2)}`);
    const f = line.trim().split('\t');
    if (f[0] === 'mod' || f[0] === 'dep') {
      last = `${f[1]}@${f[2]}`;
      out.add(last);
    } else if (f[0] === '=>' && last) {
      out.delete(last);
      out.add(`${f[1]}@${f[2] || '(devel)'}`);
    }
  }
  return out;
}

const found = (ps: Package[]) => new Set(ps.map((p) => `${p.name}@${p.version}`));

const haveGo = (() => {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!haveGo)('go differential: a binary built here vs go version -m', () => {
  it.each([
    ['linux', 'amd64'],
    ['linux', 'arm'],
    ['darwin', 'arm64'],
    ['windows', 'amd64'],
  ])('%s/%s', async (goos, goarch) => {
    const dir = mkdtempSync(join(tmpdir(), 'drydock-go-'));
    try {
      writeFileSync(join(dir, 'go.mod'), 'module example.com/tiny\n\ngo 1.18\n');
      writeFileSync(join(dir, 'main.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hi") }\n');
      const env = { ...process.env, GOOS: goos, GOARCH: goarch, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOPROXY: 'off', GOCACHE: join(tmpdir(), 'drydock-go-cache'), GOPATH: join(dir, 'gopath') };
      execFileSync('go', ['build', '-o', 'tiny', '.'], { cwd: dir, env, stdio: 'pipe' });
      const truth = goVersionM(join(dir, 'tiny'));
      const b = readFileSync(join(dir, 'tiny'));
      const src = counting(b);
      expect(await readGoBuildInfoFrom(src)).toEqual(readGoBuildInfo(b));
      // ELF and Mach-O: headers and the section; PE keeps the build info in .data: searched
      if (goos !== 'windows') expect(src.bytes).toBeLessThan(64 * 1024);
      const img = await openImage(`dir:${dir}`);
      const r = await runCatalogerOnImage(goBinaryCataloger, img).finally(() => img.close());
      expect(found(r.packages)).toEqual(truth);
      expect(truth.has('example.com/tiny@(devel)')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// the binaries `go version -m` read when the corpus was built (the same files as /usr/local/bin of the app image)
const CORPUS_ROOT = ['/var/tmp/drydock-corpus', '/var/tmp/drydock-corpus-ci'].find((d) => existsSync(`${d}/work/gobin`)) ?? '/var/tmp/drydock-corpus';
const CORPUS = `${CORPUS_ROOT}/work/gobin`;
const TRUTH = `${CORPUS_ROOT}/truth/app.go.txt`;

describe.skipIf(!existsSync(CORPUS) || !existsSync(TRUTH))('go differential: corpus app vs go version -m', () => {
  it('matches every module of every binary', async () => {
    const text = readFileSync(TRUTH, 'utf8');
    const perBinary = new Map<string, Set<string>>();
    for (const block of text.split(/\n(?=\S)/)) {
      const name = /^(\S+):/.exec(block)?.[1]?.split('/').pop();
      if (name) perBinary.set(name, truthSet(block));
    }
    const img = await openImage(`dir:${CORPUS}`);
    try {
      const r = await runCatalogerOnImage(goBinaryCataloger, img);
      const byBin = new Map<string, Package[]>();
      for (const p of r.packages) {
        const b = p.locations[0]!.path.split('/').pop()!;
        byBin.set(b, [...(byBin.get(b) ?? []), p]);
      }
      for (const [bin, truth] of perBinary) {
        const f = found(byBin.get(bin) ?? []);
        const missing = [...truth].filter((x) => !f.has(x));
        const extra = [...f].filter((x) => !truth.has(x));
        console.log(`go differential ${bin}: truth ${truth.size}, found ${f.size}, missing ${missing.length}, extra ${extra.length}`);
        expect(missing).toEqual([]);
        expect(extra).toEqual([]);
      }
      expect(r.issues.filter((i) => i.code !== 'LIMIT_EXCEEDED')).toEqual([]);
    } finally {
      await img.close();
    }
  });

  it('reads only the headers and the build info section of each binary', async () => {
    for (const bin of ['esbuild', 'kubectl']) {
      const b = readFileSync(join(CORPUS, bin));
      const src = counting(b);
      const info = await readGoBuildInfoFrom(src);
      expect(info).toEqual(readGoBuildInfo(b));
      expect(info?.goVersion).toMatch(/^go1\./);
      console.log(`go build info of ${bin}: ${b.length} bytes, read ${src.bytes}`);
      expect(src.bytes).toBeLessThan(128 * 1024);
    }
  });
});
