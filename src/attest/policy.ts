/**
 * Attestation policies in CEL (https://cel.dev, through @bufbuild/cel). A policy file holds either one
 * CEL expression, or a YAML/JSON list of named conditions `[{name, expr}]`; every condition must
 * evaluate to true. Bound variables: `predicate`, `predicateType`, `subject` (the statement's subject
 * list), `statement` (the whole statement) and `now` (a timestamp from the injected clock).
 * cosign's --policy takes CUE or Rego; such files get a clear USAGE error, since only CEL is supported.
 * Compilation throws for a bad policy; evaluation returns data (a failing or erroring condition fails).
 */
import { readFile } from 'node:fs/promises';
import { celEnv, isCelError, parse, plan, type CelInput } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { parse as parseYaml } from 'yaml';
import { clockFromEnv, type Clock } from '../core/clock.js';
import { DrydockError } from '../core/errors.js';
import type { Statement } from './statement.js';

export interface PolicyCondition {
  name: string;
  expr: string;
}

export interface Policy {
  /** where the policy came from, for messages */
  source: string;
  conditions: PolicyCondition[];
  /** compiled evaluators, one per condition */
  readonly programs: ((bindings: Record<string, CelInput>) => unknown)[];
}

export interface ConditionResult {
  name: string;
  expr: string;
  passed: boolean;
  /** why it did not pass: a CEL evaluation error, or a non-boolean result */
  error?: string;
}

export interface PolicyResult {
  passed: boolean;
  source: string;
  results: ConditionResult[];
}

/** Why the text is CUE or Rego rather than CEL, or undefined. */
function otherPolicyLanguage(text: string, what: string): string | undefined {
  if (/\.cue$/i.test(what)) return 'CUE';
  if (/\.rego$/i.test(what)) return 'Rego';
  if (/^\s*import\s+(rego\.v1|future\.keywords|data\.|input\.)/m.test(text) || /^\s*default\s+\w+\s*:?=/m.test(text) || /^\s*(deny|allow|violation)(\s*contains|\s*\[|\s*\{|\s+if\b)/m.test(text)) return 'Rego';
  if (/^\s*package\s+[A-Za-z_][\w.]*\s*$/m.test(text)) return 'CUE or Rego';
  // CUE: `import "time"`, or top-level `field: value` lines that CEL never has
  if (/^\s*import\s+"/m.test(text) || /^[A-Za-z_$][\w$]*\s*:\s*(\{|"|<|>|=~|!=|\[|[A-Za-z_])/m.test(text)) return 'CUE';
  return undefined;
}

function asConditions(doc: unknown): PolicyCondition[] | undefined {
  // also accepted: {conditions: [...]} and a single {name, expr}
  if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const o = doc as Record<string, unknown>;
    if (Array.isArray(o.conditions)) return asConditions(o.conditions);
    if (typeof o.expr === 'string') return asConditions([o]);
  }
  if (!Array.isArray(doc) || doc.length === 0) return undefined;
  const ok = doc.every((c) => c !== null && typeof c === 'object' && typeof (c as Record<string, unknown>).expr === 'string');
  if (!ok) return undefined;
  return doc.map((c: Record<string, unknown>, i) => ({ name: typeof c.name === 'string' && c.name ? c.name : `condition ${i + 1}`, expr: c.expr as string }));
}

/** Compiles policy text; `what` names it in errors (a path, or "--policy expression"). USAGE when it is not CEL. */
export function compilePolicy(text: string, what = 'policy'): Policy {
  if (text.trim() === '') throw new DrydockError('USAGE', `${what} is empty; write one CEL expression or a list of {name, expr} conditions`);
  let conditions: PolicyCondition[] | undefined;
  try {
    conditions = asConditions(parseYaml(text, { logLevel: 'silent' }));
  } catch {
    conditions = undefined;
  }
  if (!conditions) {
    const lang = otherPolicyLanguage(text, what);
    if (lang) {
      throw new DrydockError('USAGE', `${what} looks like ${lang}; Drydock policies are written in CEL only (one expression, or a YAML list of {name, expr} conditions); see docs/attestations.md`);
    }
    conditions = [{ name: 'policy', expr: text.trim() }];
  }
  const env = celEnv({ funcs: strings });
  const programs = conditions.map((c) => {
    try {
      return plan(env, parse(c.expr)) as (b: Record<string, CelInput>) => unknown;
    } catch (e) {
      throw new DrydockError('USAGE', `${what}: condition ${JSON.stringify(c.name)} is not valid CEL: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
  });
  return { source: what, conditions, programs };
}

/** Reads and compiles a policy file. */
export async function loadPolicyFile(path: string): Promise<Policy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot read policy file ${path}`, { cause: e });
  }
  return compilePolicy(text, path);
}

/** Evaluates every condition of a compiled policy against a statement. */
export function runPolicy(policy: Policy, statement: Statement, opts: { clock?: Clock } = {}): PolicyResult {
  const bindings = {
    predicate: (statement.predicate ?? {}) as CelInput,
    predicateType: statement.predicateType,
    subject: statement.subject as unknown as CelInput,
    statement: statement as unknown as CelInput,
    now: timestampFromDate((opts.clock ?? clockFromEnv()).now()) as unknown as CelInput,
  };
  const results = policy.conditions.map((c, i): ConditionResult => {
    let out: unknown;
    try {
      out = policy.programs[i]!(bindings);
    } catch (e) {
      return { name: c.name, expr: c.expr, passed: false, error: e instanceof Error ? e.message : String(e) };
    }
    if (isCelError(out)) return { name: c.name, expr: c.expr, passed: false, error: out.message };
    if (typeof out !== 'boolean') return { name: c.name, expr: c.expr, passed: false, error: `the condition evaluated to ${typeof out}, not a boolean` };
    return { name: c.name, expr: c.expr, passed: out };
  });
  return { passed: results.every((r) => r.passed), source: policy.source, results };
}

/**
 * Evaluates a policy (compiled, a file `{file}`, or an expression `{expr}` / plain string) against a
 * statement.
 */
export async function evaluatePolicy(
  policy: Policy | { file: string } | { expr: string } | string,
  statement: Statement,
  opts: { clock?: Clock } = {},
): Promise<PolicyResult> {
  const compiled =
    typeof policy === 'string'
      ? compilePolicy(policy, 'policy expression')
      : 'file' in policy
        ? await loadPolicyFile(policy.file)
        : 'expr' in policy
          ? compilePolicy(policy.expr, 'policy expression')
          : policy;
  return runPolicy(compiled, statement, opts);
}

/** One line per failed condition, for messages. */
export function policyFailures(r: PolicyResult): string[] {
  return r.results.filter((c) => !c.passed).map((c) => `${c.name}: ${c.error ?? 'evaluated to false'}`);
}
