import { lazyPackage } from '../core/lazy.js';

/** The parse tree spdx-expression-parse returns. */
export type SpdxNode =
  | { license: string; plus?: boolean; exception?: string }
  | { left: SpdxNode; conjunction: 'and' | 'or'; right: SpdxNode };

const parser = lazyPackage<(s: string) => SpdxNode>('spdx-expression-parse');

/** The parse tree of an SPDX license expression, or undefined when `s` is not one. */
export function parseSpdxExpression(s: string): SpdxNode | undefined {
  try {
    return parser()(s);
  } catch {
    return undefined;
  }
}

/** True when `s` is a valid SPDX license expression. */
export function isSpdxExpression(s: string): boolean {
  return parseSpdxExpression(s) !== undefined;
}
