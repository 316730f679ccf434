import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildImage } from '../../../../test/testkit/index.js';
import type { Package, PackageMetadataRpm } from '../../../model/package.js';
import { runCatalogerOnImage } from '../../testing.js';
import { rpmCataloger } from './cataloger.js';
import { DbFormatError, readBerkeleyHash, readNdb, readSqlite } from './databases.js';
import { HeaderError, rpmInfo } from './header.js';

const TD = fileURLToPath(new URL('./testdata/', import.meta.url));
const SQLITE = readFileSync(join(TD, 'rpmdb.sqlite'));
const BDB = readFileSync(join(TD, 'Packages'));
const RHEL = { path: '/etc/os-release', content: 'ID="rhel"\nVERSION_ID="9.4"\nID_LIKE="fedora"\n' };

/** the rows `rpm -qa --qf '%{NAME}\t%{EPOCHNUM}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\t%{LICENSE}\t%{VENDOR}\n'` prints */
function rows(blobs: Buffer[]): string[] {
  return blobs
    .map((b) => rpmInfo(b))
    .filter((i) => i.name !== 'gpg-pubkey')
    .map((i) => [i.name, i.epoch ?? 0, i.version, i.release, i.arch, i.sourceRpm, i.license, i.vendor ?? '(none)'].join('\t'))
    .sort();
}
function fileRows(blobs: Buffer[]): string[] {
  return blobs
    .map((b) => rpmInfo(b))
    .flatMap((i) => i.files.map((f) => `${i.name}\t${f.path}\t${f.digest?.replace(/^\w+:/, '') ?? ''}`))
    .sort();
}
const lines = (s: string) => s.split('\n').filter(Boolean).sort();

/** A big-endian copy of a little-endian Berkeley DB hash file (the fields the reader uses). */
function flipBdb(le: Buffer): Buffer {
  const b = Buffer.from(le);
  const ps = le.readUInt32LE(20);
  const f32 = (o: number) => b.writeUInt32BE(le.readUInt32LE(o), o);
  const f16 = (o: number) => b.writeUInt16BE(le.readUInt16LE(o), o);
  for (const o of [8, 12, 16, 20, 28, 32, 36, 40, 44, 48]) f32(o);
  for (let pg = 1; pg < le.length / ps; pg++) {
    const p = pg * ps;
    for (const o of [8, 12, 16]) f32(p + o);
    f16(p + 20);
    f16(p + 22);
    const type = le[p + 25];
    if (type !== 13 && type !== 2) continue;
    const n = le.readUInt16LE(p + 20);
    for (let i = 0; i < n; i++) {
      const off = le.readUInt16LE(p + 26 + i * 2);
      f16(p + 26 + i * 2);
      if (i % 2 === 1 && le[p + off] === 3) {
        f32(p + off + 4);
        f32(p + off + 8);
      } else if (i % 2 === 0) {
        // keys are host-order package numbers
        if (le[p + off] === 1) b.writeUInt32BE(le.readUInt32LE(p + off + 1), p + off + 1);
      }
    }
  }
  return b;
}

/** An ndb Packages.db holding `blobs`, written from the format description. */
function makeNdb(blobs: Buffer[]): Buffer {
  const slotPages = 1;
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4096 * slotPages);
  head.write('RpmP', 0, 'latin1');
  head.writeUInt32LE(0, 4);
  head.writeUInt32LE(1, 8);
  head.writeUInt32LE(slotPages, 12);
  head.writeUInt32LE(blobs.length + 1, 16);
  let blk = (4096 * slotPages) / 16;
  blobs.forEach((blob, i) => {
    const len = 16 + blob.length + 12;
    const cnt = Math.ceil(len / 16);
    const so = 32 + i * 16;
    head.write('Slot', so, 'latin1');
    head.writeUInt32LE(i + 1, so + 4);
    head.writeUInt32LE(blk, so + 8);
    head.writeUInt32LE(cnt, so + 12);
    const b = Buffer.alloc(cnt * 16);
    b.write('BlbS', 0, 'latin1');
    b.writeUInt32LE(i + 1, 4);
    b.writeUInt32LE(1, 8);
    b.writeUInt32LE(blob.length, 12);
    blob.copy(b, 16);
    b.writeUInt32LE(0, 16 + blob.length);
    b.writeUInt32LE(blob.length, 20 + blob.length);
    b.write('BlbE', 24 + blob.length, 'latin1');
    parts.push(b);
    blk += cnt;
  });
  // free slots after the used ones
  for (let o = 32 + blobs.length * 16; o + 16 <= head.length; o += 16) head.write('Slot', o, 'latin1');
  return Buffer.concat([head, ...parts]);
}

describe('rpm databases (fixtures built by rpmbuild/rpm and db5.3_load)', () => {
  const expected = lines(readFileSync(join(TD, 'expected.tsv'), 'utf8'));
  const expectedFiles = lines(readFileSync(join(TD, 'files.tsv'), 'utf8'));

  it('SQLite: same packages and files as rpm -qa', () => {
    const r = readSqlite(SQLITE);
    expect(r.problems).toEqual([]);
    expect(rows(r.blobs)).toEqual(expected);
    expect(fileRows(r.blobs)).toEqual(expectedFiles);
  });

  it('Berkeley DB hash (little-endian, with overflow pages): same packages as rpm -qa', () => {
    const r = readBerkeleyHash(BDB);
    expect(r.problems).toEqual([]);
    expect(rows(r.blobs)).toEqual(expected);
    expect(fileRows(r.blobs)).toEqual(expectedFiles);
  });

  it('Berkeley DB hash, big-endian', () => {
    const r = readBerkeleyHash(flipBdb(BDB));
    expect(r.problems).toEqual([]);
    expect(rows(r.blobs)).toEqual(expected);
  });

  it('ndb', () => {
    const r = readNdb(makeNdb(readSqlite(SQLITE).blobs));
    expect(r.problems).toEqual([]);
    expect(rows(r.blobs)).toEqual(expected);
  });

  it('rejects garbage and survives truncation', () => {
    const junk = Buffer.alloc(8192, 0x5a);
    expect(() => readSqlite(junk)).toThrow(DbFormatError);
    expect(() => readBerkeleyHash(junk)).toThrow(DbFormatError);
    expect(() => readNdb(junk)).toThrow(DbFormatError);
    expect(() => readSqlite(SQLITE.subarray(0, 5000))).toThrow(DbFormatError);
    const cut = readBerkeleyHash(BDB.subarray(0, Math.floor(BDB.length / 2) + 100));
    expect(cut.problems.length).toBeGreaterThan(0);
    const blob = readSqlite(SQLITE).blobs[0]!;
    expect(() => rpmInfo(blob.subarray(0, 40))).toThrow(HeaderError);
    const bad = Buffer.from(blob);
    bad.writeUInt32BE(0x7fffffff, 8 + 16 * 3 + 8); // an offset far outside the data store
    expect(() => rpmInfo(bad)).toThrow(HeaderError);
    expect(() => rpmInfo(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]))).toThrow(HeaderError);
  });
});

describe('rpm cataloger', () => {
  const byName = (ps: Package[]) => Object.fromEntries(ps.map((p) => [p.name, p]));

  it('reads the SQLite rpmdb of an image', async () => {
    const img = await buildImage({ layers: [[RHEL], [{ path: '/var/lib/rpm/rpmdb.sqlite', content: SQLITE }]] });
    const r = await runCatalogerOnImage(rpmCataloger, img);
    expect(r.issues).toEqual([]);
    const p = byName(r.packages);
    expect(Object.keys(p).sort()).toEqual(['alpha', 'beta', 'delta', 'epsilon', 'gamma']);
    expect(p.beta!.version).toBe('2:3.4.5-7.el9');
    expect(p.beta!.purl).toBe('pkg:rpm/rhel/beta@3.4.5-7.el9?arch=noarch&distro=rhel-9.4&epoch=2');
    expect(p.alpha!.purl).toBe('pkg:rpm/rhel/alpha@1.0-1?arch=noarch&distro=rhel-9.4');
    expect(p.beta!.licenses).toEqual(['GPL-2.0-or-later AND BSD-3-Clause']);
    expect(p.gamma!.licenses).toEqual(['ASL 2.0']);
    const m = p.beta!.metadata as PackageMetadataRpm;
    expect(m).toMatchObject({ kind: 'rpm', epoch: 2, release: '7.el9', architecture: 'noarch', sourceRpm: 'beta-3.4.5-7.el9.src.rpm', vendor: 'Drydock Tests' });
    expect(m.files?.map((f) => f.path)).toEqual(['/etc/beta.conf', '/usr/share/beta/data.txt']);
    expect(m.files?.[0]?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(p.alpha!.locations[0]).toMatchObject({ path: '/var/lib/rpm/rpmdb.sqlite', layer: 1, role: 'database' });
    expect(p.alpha!.introducedBy?.index).toBe(1);
  });

  it('reads Berkeley DB and ndb under /usr/lib/sysimage/rpm, falls back past a corrupt database', async () => {
    const img = await buildImage({
      layers: [[RHEL, { path: '/usr/lib/sysimage/rpm/rpmdb.sqlite', content: 'garbage' }, { path: '/var/lib/rpm/Packages', content: BDB }]],
    });
    const r = await runCatalogerOnImage(rpmCataloger, img);
    expect(r.packages).toHaveLength(5);
    expect(r.packages[0]!.locations[0]!.path).toBe('/var/lib/rpm/Packages');
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]).toMatchObject({ code: 'ARCHIVE_CORRUPT', path: '/usr/lib/sysimage/rpm/rpmdb.sqlite' });

    const ndb = makeNdb(readSqlite(SQLITE).blobs);
    const img2 = await buildImage({ layers: [[{ path: '/etc/os-release', content: 'ID="sles"\nVERSION_ID="15.5"\n' }, { path: '/usr/lib/sysimage/rpm/Packages.db', content: ndb }]] });
    const r2 = await runCatalogerOnImage(rpmCataloger, img2);
    expect(r2.issues).toEqual([]);
    expect(r2.packages.map((x) => x.purl).sort()[0]).toBe('pkg:rpm/sles/alpha@1.0-1?arch=noarch&distro=sles-15.5');
  });
});

const haveRpm = (() => {
  try {
    execFileSync('rpmbuild', ['--version'], { stdio: 'ignore' });
    execFileSync('db5.3_load', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!haveRpm)('rpm: differential against freshly built databases', () => {
  it('SQLite and Berkeley DB parse = rpm -qa', () => {
    const out = mkdtempSync(join(tmpdir(), 'drydock-rpm-'));
    try {
      execFileSync('sh', [join(TD, 'make-fixtures.sh'), out], { stdio: 'ignore' });
      const want = lines(readFileSync(join(out, 'expected.tsv'), 'utf8'));
      expect(want.length).toBe(5);
      expect(rows(readSqlite(readFileSync(join(out, 'sqlite', 'rpmdb.sqlite'))).blobs)).toEqual(want);
      expect(existsSync(join(out, 'bdb', 'Packages'))).toBe(true);
      expect(lines(readFileSync(join(out, 'expected-bdb.tsv'), 'utf8'))).toEqual(want);
      expect(rows(readBerkeleyHash(readFileSync(join(out, 'bdb', 'Packages'))).blobs)).toEqual(want);
      expect(fileRows(readSqlite(readFileSync(join(out, 'sqlite', 'rpmdb.sqlite'))).blobs)).toEqual(lines(readFileSync(join(out, 'files.tsv'), 'utf8')));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
