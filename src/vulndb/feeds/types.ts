/** What feed loaders hand to the database writer. Loaders parse; the writer stores. */
import type { CvssScore, EpssScore, KevEntry, OsvRecord } from '../../model/vuln.js';

/** drydock-db: a database written by exportDb, imported whole (air-gapped transfer). */
export type FeedKind = 'osv-zip' | 'osv-dir' | 'osv-json' | 'alpine-secdb' | 'nvd' | 'epss' | 'kev' | 'drydock-db';
export const FEED_KINDS: readonly FeedKind[] = ['osv-zip', 'osv-dir', 'osv-json', 'alpine-secdb', 'nvd', 'epss', 'kev', 'drydock-db'];

export interface FeedSink {
  /** Starts a source. Its earlier advisory records are replaced by what follows. */
  beginSource(name: string, kind: FeedKind): void;
  /** One OSV record (or one part of it); `part` names where it came from inside the source (zip entry, file). */
  advisory(part: string, rec: OsvRecord): void;
  /** NVD's CVSS scores of one CVE (replaces earlier ones for that CVE). */
  nvd(cve: string, scores: CvssScore[]): void;
  /** A full EPSS or KEV catalogue replaces the previous one: called once before the rows. */
  resetTable(table: 'epss' | 'kev'): void;
  epss(cve: string, e: EpssScore): void;
  kev(cve: string, k: KevEntry): void;
  /** A record of an invalid shape: recorded as a FEED_INVALID issue and skipped. */
  invalid(where: string, message: string): void;
}

export interface LoadContext {
  sink: FeedSink;
  /** source name given by the caller (configured update source, --name) */
  name?: string;
}
