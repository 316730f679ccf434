/**
 * The SQLite schema of the vulnerability database. SCHEMA_VERSION is stored in PRAGMA user_version
 * and in meta; a file with another version is VULNDB_SCHEMA, a file without our meta table or with a
 * damaged header is VULNDB_CORRUPT.
 *
 * records holds each source's raw OSV records (one row per source, id and part: a zip entry or a
 * file); advisories, affected and aliases are derived from them, merging parts that share an id
 * (the same advisory id in several ecosystems or feeds).
 */
import { closeSync, existsSync, fstatSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DrydockError } from '../core/errors.js';
import { openRegularFileSync } from '../core/files.js';

export const SCHEMA_VERSION = 1;

export const DDL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE records (
  source TEXT NOT NULL, id TEXT NOT NULL, part TEXT NOT NULL, withdrawn INTEGER NOT NULL, record TEXT NOT NULL,
  PRIMARY KEY (source, id, part)) WITHOUT ROWID;
CREATE INDEX records_id ON records (id);
CREATE TABLE advisories (
  id TEXT PRIMARY KEY, source TEXT NOT NULL, modified TEXT NOT NULL, published TEXT, withdrawn TEXT,
  aliases TEXT NOT NULL, summary TEXT, hash TEXT NOT NULL, meta TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE affected (
  ecosystem TEXT NOT NULL, name TEXT NOT NULL, advisory_id TEXT NOT NULL, source TEXT NOT NULL,
  withdrawn INTEGER NOT NULL, affected TEXT NOT NULL);
CREATE INDEX affected_key ON affected (ecosystem, name);
CREATE INDEX affected_advisory ON affected (advisory_id);
CREATE TABLE aliases (alias TEXT NOT NULL, advisory_id TEXT NOT NULL, PRIMARY KEY (alias, advisory_id)) WITHOUT ROWID;
CREATE INDEX aliases_advisory ON aliases (advisory_id);
CREATE TABLE nvd_cvss (
  cve TEXT NOT NULL, version TEXT NOT NULL, vector TEXT NOT NULL, score REAL NOT NULL, source TEXT NOT NULL,
  PRIMARY KEY (cve, source, vector)) WITHOUT ROWID;
CREATE TABLE epss (cve TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL, date TEXT) WITHOUT ROWID;
CREATE TABLE kev (cve TEXT PRIMARY KEY, fields TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sources (
  name TEXT PRIMARY KEY, kind TEXT NOT NULL, origin TEXT NOT NULL, records INTEGER NOT NULL, modified TEXT,
  etag TEXT, last_modified TEXT, fetched_at TEXT);
CREATE TABLE identities (seq INTEGER PRIMARY KEY AUTOINCREMENT, digest TEXT NOT NULL UNIQUE, prev TEXT, updated_at TEXT NOT NULL);
CREATE TABLE changes (
  identity TEXT NOT NULL, advisory_id TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('added', 'modified', 'withdrawn', 'removed')),
  PRIMARY KEY (identity, advisory_id)) WITHOUT ROWID;
`;

const MAGIC = 'SQLite format 3\0';

/**
 * Cheap checks of a database file before SQLite sees it: it exists, has the SQLite header, and
 * its length matches the page count in the header (a half-written or truncated file does not).
 */
export function checkDbFile(path: string): void {
  if (!existsSync(path)) {
    throw new DrydockError('VULNDB_MISSING', `no vulnerability database at ${path}; run drydock db update or drydock db import`);
  }
  let fd: number;
  try {
    fd = openRegularFileSync(path); // a FIFO in its place is refused, not waited on
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTREG') throw new DrydockError('VULNDB_CORRUPT', `vulnerability database ${path} is not a regular file`);
    throw new DrydockError('VULNDB_CORRUPT', `vulnerability database ${path} cannot be opened (${code ?? (e as Error).message})`, { cause: e });
  }
  try {
    const h = Buffer.alloc(100);
    const n = readSync(fd, h, 0, 100, 0);
    const size = fstatSync(fd).size;
    if (n < 100 || h.toString('latin1', 0, 16) !== MAGIC) {
      throw new DrydockError('VULNDB_CORRUPT', `vulnerability database ${path} is not an sqlite database (half-written or overwritten)`);
    }
    const raw = h.readUInt16BE(16);
    const pageSize = raw === 1 ? 65536 : raw;
    const pages = h.readUInt32BE(28);
    const valid = h.readUInt32BE(24) === h.readUInt32BE(92) && pages > 0;
    if (size % pageSize !== 0 || (valid && size !== pages * pageSize)) {
      throw new DrydockError('VULNDB_CORRUPT', `vulnerability database ${path} is truncated or half-written (${size} bytes, header says ${valid ? pages * pageSize : '?'} )`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Checks the schema of an open database; VULNDB_CORRUPT when it is not ours, VULNDB_SCHEMA on another version. */
export function checkSchema(db: Database.Database, path: string): void {
  let version: number;
  let hasMeta: boolean;
  try {
    version = db.pragma('user_version', { simple: true }) as number;
    hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").get() !== undefined;
  } catch (cause) {
    throw new DrydockError('VULNDB_CORRUPT', `vulnerability database ${path} cannot be read`, { cause });
  }
  if (!hasMeta) throw new DrydockError('VULNDB_CORRUPT', `${path} is an sqlite database but not a drydock vulnerability database`);
  if (version !== SCHEMA_VERSION) {
    throw new DrydockError('VULNDB_SCHEMA', `vulnerability database ${path} has schema version ${version}; this drydock reads version ${SCHEMA_VERSION}`, {
      details: { found: version, supported: SCHEMA_VERSION },
    });
  }
}

export function createSchema(db: Database.Database): void {
  db.exec(DDL);
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
}
