import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Package } from '../../model/package.js';
import { runCatalogerOnDir, runCatalogerOnImage } from '../testing.js';
import { buildImage } from '../../../test/testkit/index.js';
import { binarySections, decodeAuditData, findAuditSection, findAuditSectionFrom, rustAuditBinaryCataloger, rustLockCataloger } from './rust.js';

const nv = (p: Package) => `${p.name}@${p.version}`;

/** A minimal 64-bit little-endian ELF with section headers: null, .shstrtab and the given sections. */
export function elfWithSections(sections: { name: string; data: Buffer }[]): Buffer {
  const names = ['', '.shstrtab', ...sections.map((s) => s.name)];
  const nameOff: number[] = [];
  let strtab = '';
  for (const n of names) {
    nameOff.push(strtab.length);
    strtab += n + '\0';
  }
  const strBuf = Buffer.from(strtab, 'latin1');
  const datas = [strBuf, ...sections.map((s) => s.data)];
  let off = 64;
  const offsets: number[] = [];
  for (const d of datas) {
    offsets.push(off);
    off += d.length;
  }
  const shoff = (off + 7) & ~7;
  const body = Buffer.concat(datas);
  const head = Buffer.alloc(64);
  head.writeUInt32BE(0x7f454c46, 0);
  head[4] = 2;
  head[5] = 1;
  head[6] = 1;
  head.writeUInt16LE(2, 16);
  head.writeUInt16LE(62, 18);
  head.writeBigUInt64LE(BigInt(shoff), 0x28);
  head.writeUInt16LE(64, 0x34);
  head.writeUInt16LE(64, 0x3a);
  head.writeUInt16LE(names.length, 0x3c);
  head.writeUInt16LE(1, 0x3e);
  const sh = Buffer.alloc(64 * names.length);
  for (let i = 1; i < names.length; i++) {
    const o = i * 64;
    sh.writeUInt32LE(nameOff[i]!, o);
    sh.writeUInt32LE(i === 1 ? 3 : 1, o + 4); // STRTAB / PROGBITS
    sh.writeBigUInt64LE(BigInt(offsets[i - 1]!), o + 24);
    sh.writeBigUInt64LE(BigInt(datas[i - 1]!.length), o + 32);
  }
  return Buffer.concat([head, body, Buffer.alloc(shoff - off), sh]);
}

const AUDIT = {
  packages: [
    { name: 'app', version: '0.1.0', source: 'local', dependencies: [1, 2], root: true },
    { name: 'serde', version: '1.0.197', source: 'crates.io', dependencies: [3] },
    { name: 'cc', version: '1.0.90', source: 'crates.io', kind: 'build' },
    { name: 'serde_derive', version: '1.0.197', source: 'crates.io' },
  ],
};

describe('cargo-auditable binaries', () => {
  it('finds the .dep-v0 section of an ELF and decodes it', () => {
    const elf = elfWithSections([{ name: '.text', data: Buffer.alloc(32, 0x90) }, { name: '.dep-v0', data: deflateSync(JSON.stringify(AUDIT)) }]);
    expect(binarySections(elf).map((s) => s.name)).toEqual(['.shstrtab', '.text', '.dep-v0']);
    const list = decodeAuditData(findAuditSection(elf)!);
    expect(list.map((p) => p.name)).toEqual(['app', 'serde', 'cc', 'serde_derive']);
    expect(list[0]).toMatchObject({ root: true, dependencies: [1, 2] });
    expect(() => decodeAuditData(Buffer.from('not zlib'))).toThrow(/inflate/);
    expect(() => decodeAuditData(deflateSync('{"x":1}'))).toThrow(/packages/);
  });

  it('reports packages, purls and edges; corrupt data becomes an issue', async () => {
    const good = elfWithSections([{ name: '.dep-v0', data: deflateSync(JSON.stringify(AUDIT)) }]);
    const broken = elfWithSections([{ name: '.dep-v0', data: Buffer.from('garbage!') }]);
    const img = await buildImage({
      layers: [
        [
          { path: '/usr/local/bin/app', content: good, mode: 0o755 },
          { path: '/usr/local/bin/broken', content: broken, mode: 0o755 },
          { path: '/usr/local/bin/plain', content: elfWithSections([{ name: '.text', data: Buffer.alloc(16) }]), mode: 0o755 },
          { path: '/data/notexec', content: good, mode: 0o644 },
        ],
      ],
    });
    const r = await runCatalogerOnImage(rustAuditBinaryCataloger, img);
    expect(r.packages.map(nv).sort()).toEqual(['app@0.1.0', 'cc@1.0.90', 'serde@1.0.197', 'serde_derive@1.0.197']);
    const serde = r.packages.find((p) => p.name === 'serde')!;
    expect(serde).toMatchObject({ type: 'cargo', purl: 'pkg:cargo/serde@1.0.197', foundBy: 'rust-audit-binary' });
    expect(serde.locations[0]).toMatchObject({ path: '/usr/local/bin/app', role: 'binary', layer: 0 });
    expect(r.packages.find((p) => p.name === 'cc')!.metadata).toMatchObject({ dependencyKind: 'build' });
    const name = (id: string) => r.packages.find((p) => p.id === id)!.name;
    expect(r.relationships.map((e) => `${name(e.from)}>${name(e.to)}`).sort()).toEqual(['app>cc', 'app>serde', 'serde>serde_derive']);
    expect(r.issues.map((i) => [i.code, i.path])).toEqual([['ARCHIVE_CORRUPT', '/usr/local/bin/broken']]);
  });

  it('refuses an oversized section without reading it', async () => {
    const huge = elfWithSections([{ name: '.dep-v0', data: Buffer.alloc(9 * 1024 * 1024, 0x78) }]);
    let bytes = 0;
    const src = { size: huge.length, read: async (o: number, l: number) => ((bytes += Math.min(l, huge.length - o)), Buffer.from(huge.subarray(o, o + l))) };
    await expect(findAuditSectionFrom(src)).rejects.toThrow(/larger than/);
    expect(bytes).toBeLessThan(64 * 1024);
    const img = await buildImage({ layers: [[{ path: '/usr/local/bin/huge', content: huge, mode: 0o755 }]] });
    const r = await runCatalogerOnImage(rustAuditBinaryCataloger, img);
    expect(r.packages).toEqual([]);
    expect(r.issues.map((i) => [i.code, i.path, i.message])).toEqual([['ARCHIVE_CORRUPT', '/usr/local/bin/huge', expect.stringContaining('larger than')]]);
  });

  it('reads a section added to a real ELF by objcopy', async (t) => {
    let ok = true;
    try {
      execFileSync('objcopy', ['--version'], { stdio: 'ignore' });
    } catch {
      ok = false;
    }
    if (!ok) return t.skip();
    const dir = mkdtempSync(join(tmpdir(), 'drydock-objcopy-'));
    try {
      copyFileSync('/bin/true', join(dir, 'bin'));
      writeFileSync(join(dir, 'dep'), deflateSync(JSON.stringify(AUDIT)));
      execFileSync('objcopy', ['--add-section', `.dep-v0=${join(dir, 'dep')}`, join(dir, 'bin'), join(dir, 'out')]);
      const b = readFileSync(join(dir, 'out'));
      const list = decodeAuditData(findAuditSection(b)!);
      expect(list).toHaveLength(4);
      // by position: the same bytes, reading the headers, the section table and the section only
      let bytes = 0;
      const sec = await findAuditSectionFrom({
        size: b.length,
        read: async (o, l) => {
          const out = Buffer.from(b.subarray(o, o + l));
          bytes += out.length;
          return out;
        },
      });
      expect(sec?.equals(findAuditSection(b)!)).toBe(true);
      expect(bytes).toBeLessThan(3 * 16 * 1024 + sec!.length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Cargo.lock (dir: targets)', () => {
  it('reads v3/v4 with ambiguous names resolved by version', async () => {
    const lock = `# generated
version = 3

[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "rand 0.8.5",
 "serde",
]

[[package]]
name = "rand"
version = "0.7.3"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aaa"

[[package]]
name = "rand"
version = "0.8.5"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "bbb"
dependencies = ["rand 0.7.3"]

[[package]]
name = "serde"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
`;
    const r = await runCatalogerOnDir(rustLockCataloger, { 'Cargo.lock': lock });
    expect(r.packages.map(nv).sort()).toEqual(['app@0.1.0', 'rand@0.7.3', 'rand@0.8.5', 'serde@1.0.0']);
    expect(r.packages.find((p) => p.version === '0.8.5')).toMatchObject({ purl: 'pkg:cargo/rand@0.8.5', metadata: { checksum: 'bbb' } });
    const v = (id: string) => nv(r.packages.find((p) => p.id === id)!);
    expect(r.relationships.map((e) => `${v(e.from)}>${v(e.to)}`).sort()).toEqual(['app@0.1.0>rand@0.8.5', 'app@0.1.0>serde@1.0.0', 'rand@0.8.5>rand@0.7.3']);
  });

  it('reads v1 with "name version (source)" references and [metadata] checksums', async () => {
    const src = 'registry+https://github.com/rust-lang/crates.io-index';
    const lock = `[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "libc 0.2.1 (${src})",
]

[[package]]
name = "libc"
version = "0.2.1"
source = "${src}"

[metadata]
"checksum libc 0.2.1 (${src})" = "ccc"
`;
    const r = await runCatalogerOnDir(rustLockCataloger, { 'Cargo.lock': lock, 'sub/Cargo.lock': 'not = [toml' });
    expect(r.packages.map(nv).sort()).toEqual(['app@0.1.0', 'libc@0.2.1']);
    expect(r.packages.find((p) => p.name === 'libc')!.metadata).toMatchObject({ checksum: 'ccc', source: src });
    expect(r.relationships).toHaveLength(1);
    expect(r.issues.map((i) => i.path)).toEqual(['sub/Cargo.lock'].map((p) => expect.stringContaining(p)));
  });

  it('reads a lock written by cargo (v4, workspace path deps)', async (t) => {
    let ok = true;
    try {
      execFileSync('cargo', ['--version'], { stdio: 'ignore' });
    } catch {
      ok = false;
    }
    if (!ok) return t.skip();
    const dir = mkdtempSync(join(tmpdir(), 'drydock-cargo-'));
    try {
      const w = (p: string, c: string) => {
        mkdirSync(dirname(join(dir, p)), { recursive: true });
        writeFileSync(join(dir, p), c);
      };
      w('Cargo.toml', '[workspace]\nmembers = ["a", "b"]\nresolver = "2"\n');
      w('a/Cargo.toml', '[package]\nname = "a"\nversion = "0.1.0"\nedition = "2021"\n');
      w('b/Cargo.toml', '[package]\nname = "b"\nversion = "0.2.0"\nedition = "2021"\n[dependencies]\na = { path = "../a" }\n');
      w('a/src/lib.rs', '');
      w('b/src/lib.rs', '');
      execFileSync('cargo', ['generate-lockfile', '--offline'], { cwd: dir, stdio: 'ignore', env: { ...process.env, CARGO_TERM_COLOR: 'never' } });
      const r = await runCatalogerOnDir(rustLockCataloger, { 'Cargo.lock': readFileSync(join(dir, 'Cargo.lock'), 'utf8') });
      expect(r.packages.map(nv).sort()).toEqual(['a@0.1.0', 'b@0.2.0']);
      expect(r.relationships).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ignores Cargo.lock in images', async () => {
    const img = await buildImage({ layers: [[{ path: '/src/Cargo.lock', content: '[[package]]\nname = "x"\nversion = "1.0.0"\n' }]] });
    const r = await runCatalogerOnImage(rustLockCataloger, img);
    expect(r.packages).toEqual([]);
  });
});
