/** What the route handlers share: the store, the database handle, and the server's settings. */
import type { SbomOptions } from '../../scan/sbom.js';
import type { Store } from '../../store/index.js';
import type { VulnDbHandle } from './evaluate.js';

export interface ServerDeps {
  store: Store;
  db: VulnDbHandle;
  scanRoots: string[];
  sbomOptions: SbomOptions;
  now: () => Date;
  /** drops cached token verifications (after a revocation) */
  forgetTokens: () => void;
}
