/**
 * The server's view of the vulnerability database: one read-only handle, reopened when `db update`
 * swaps the file (the identity is info().digest), and the evaluation of an inventory against it.
 * Every finding stored by the server carries the identity of the data it was matched against.
 */
import { statSync } from 'node:fs';
import { DrydockError } from '../../core/errors.js';
import { IssueLog } from '../../core/issues.js';
import type { Inventory } from '../../model/package.js';
import type { Finding, VulnDbInfo } from '../../model/vuln.js';
import { evaluateInventory } from '../../scan/scan.js';
import { VulnDb } from '../../vulndb/index.js';

export interface Evaluation {
  findings: Finding[];
  /** info().digest of the database the findings came from */
  dbIdentity: string;
}

/** Holds the database open between requests; a changed file (inode, size or mtime) is reopened. */
export class VulnDbHandle {
  readonly path: string;
  #db: VulnDb | undefined;
  #stamp = '';
  #info: VulnDbInfo | undefined;
  /** the identity of the last database opened, kept across close() */
  #lastDigest: string | undefined;

  /** called when a reopened file carries another identity than the one open before (a db update or import) */
  onIdentityChange: ((from: string, to: string) => void) | undefined;

  constructor(path: string) {
    this.path = path;
  }

  #fileStamp(): string | undefined {
    try {
      const s = statSync(this.path);
      return `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch {
      return undefined;
    }
  }

  /** The open database; VULNDB_MISSING, VULNDB_CORRUPT or VULNDB_SCHEMA when it cannot be used. */
  get(): { db: VulnDb; info: VulnDbInfo } {
    const stamp = this.#fileStamp();
    if (stamp === undefined) {
      this.close();
      throw new DrydockError('VULNDB_MISSING', `no vulnerability database at ${this.path}; run drydock db update or drydock db import`);
    }
    if (!this.#db || stamp !== this.#stamp) {
      const db = VulnDb.open(this.path);
      const before = this.#info?.digest ?? this.#lastDigest;
      this.close();
      this.#db = db;
      this.#info = db.info();
      this.#stamp = stamp;
      this.#lastDigest = this.#info.digest;
      if (before !== undefined && before !== this.#info.digest) this.onIdentityChange?.(before, this.#info.digest);
    }
    return { db: this.#db, info: this.#info! };
  }

  /** true when the database can be opened (readiness) */
  ready(): boolean {
    try {
      this.get();
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
    this.#info = undefined;
    this.#stamp = '';
  }
}

/** Evaluates an inventory against the current database (precise detection, no suppressions: triage is the server's). */
export function evaluate(handle: VulnDbHandle, inv: Inventory, now: Date, issues = new IssueLog()): Evaluation {
  const { db, info } = handle.get();
  const findings = evaluateInventory(inv, db, { issues, now });
  return { findings, dbIdentity: info.digest };
}

