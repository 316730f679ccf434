/**
 * Problems that need not stop a run are recorded here, not thrown (ARCHITECTURE habit 6).
 * Each issue has a stable code (same vocabulary as DrydockError), a lower-case message,
 * and where known the path and layer it concerns.
 */
import type { ErrorCode } from './errors.js';
import { byString } from './compare.js';

export type IssueSeverity = 'warning' | 'error';

export interface Issue {
  code: ErrorCode;
  message: string;
  severity: IssueSeverity;
  path?: string;
  /** layer digest (compressed) the issue concerns */
  layer?: string;
}

/** The order issues are reported in: by layer, path, code, then message (code units, reproducible). */
export function compareIssues(a: Pick<Issue, 'layer' | 'path' | 'code' | 'message'>, b: Pick<Issue, 'layer' | 'path' | 'code' | 'message'>): number {
  return byString(a.layer ?? '', b.layer ?? '') || byString(a.path ?? '', b.path ?? '') || byString(a.code, b.code) || byString(a.message, b.message);
}

export class IssueLog {
  readonly #issues: Issue[] = [];
  #onIssue: ((i: Issue) => void) | undefined;

  constructor(onIssue?: (i: Issue) => void) {
    this.#onIssue = onIssue;
  }

  record(issue: Omit<Issue, 'severity'> & { severity?: IssueSeverity }): void {
    const full: Issue = { severity: 'warning', ...issue };
    this.#issues.push(full);
    this.#onIssue?.(full);
  }

  get issues(): readonly Issue[] {
    return this.#issues;
  }

  /** Sorted copy, for reproducible output. */
  sorted(): Issue[] {
    return [...this.#issues].sort(compareIssues);
  }
}
