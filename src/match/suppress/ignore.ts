/**
 * Ignore files: Drydock's own drydock-ignore.yaml, Trivy's plain .trivyignore and Trivy's
 * .trivyignore.yaml. Each becomes an IgnoreRuleSet of rules that name a vulnerability (id or alias),
 * a package (purl, name), paths (globs) and an expiry. docs/ignore-and-vex.md describes the formats.
 *
 * Loading is strict: an unknown key or a bad value throws IGNORE_FILE_INVALID naming the file and
 * the line, because a misspelt key ("path:" for "paths:") would silently widen a suppression.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node, type Pair } from 'yaml';
import { DrydockError } from '../../core/errors.js';
import type { Finding, Suppression } from '../../model/vuln.js';
import { compileGlob, globMatches, type PathGlob } from './glob.js';
import { packagePurl, parsePurl, purlMatches, type Purl } from './purl.js';

/** drydock: drydock-ignore.yaml; trivyignore: Trivy's line format; trivyignore-yaml: Trivy's YAML format */
export type IgnoreFileFormat = 'drydock' | 'trivyignore' | 'trivyignore-yaml';

export interface IgnoreRule {
  /** 1-based line of the rule in its file */
  line: number;
  /** vulnerability id or alias (upper-cased for comparison) */
  id?: string;
  /** any of these purls must match the package (Drydock files hold one, Trivy's YAML a list) */
  purls?: Purl[];
  /** any of these globs must match one of the package's location paths */
  paths?: PathGlob[];
  /** package name, compared exactly */
  package?: string;
  /** the rule stops suppressing at this instant */
  expires?: Date;
  /** the expiry as written */
  expiresText?: string;
  reason?: string;
}

export interface IgnoreRuleSet {
  /** the file the rules came from, as given */
  file: string;
  format: IgnoreFileFormat;
  rules: IgnoreRule[];
}

export interface LoadIgnoreOptions {
  /** skip detection by file name and content */
  format?: IgnoreFileFormat;
}

/** Reads and parses an ignore file; throws IO_ERROR or IGNORE_FILE_INVALID. */
export function loadIgnoreFile(path: string, opts: LoadIgnoreOptions = {}): IgnoreRuleSet {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DrydockError('IO_ERROR', `cannot read ignore file ${path}`, { cause: e });
  }
  return parseIgnoreFile(text, path, opts);
}

/** Parses the text of an ignore file; `file` names it in errors and suppressions. */
export function parseIgnoreFile(text: string, file: string, opts: LoadIgnoreOptions = {}): IgnoreRuleSet {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const format = opts.format ?? detectFormat(text, file);
  const rules = format === 'trivyignore' ? parseTrivyLines(text, file) : parseYamlRules(text, file, format);
  return { file, format, rules };
}

export function detectFormat(text: string, file: string): IgnoreFileFormat {
  const name = basename(file).toLowerCase();
  if (/\.?trivyignore\.ya?ml$/.test(name)) return 'trivyignore-yaml';
  if (name.endsWith('trivyignore')) return 'trivyignore';
  if (/drydock-ignore\.ya?ml$/.test(name)) return 'drydock';
  // otherwise the first line that is neither blank nor a comment tells
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line === '---') continue;
    if (/^(rules|version)\s*:/.test(line)) return 'drydock';
    if (/^(vulnerabilities|misconfigurations|secrets|licenses)\s*:/.test(line)) return 'trivyignore-yaml';
    break;
  }
  return 'trivyignore';
}

function invalid(file: string, line: number | undefined, why: string): DrydockError {
  return new DrydockError('IGNORE_FILE_INVALID', `invalid ignore file ${file}${line ? ` line ${line}` : ''}: ${why}`, {
    details: { path: file, ...(line ? { line } : {}) },
  });
}

// ---------------------------------------------------------------- dates

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * A date means midnight UTC at the start of that day, as Trivy reads "exp:": a rule with
 * expires 2026-12-31 suppresses until 2026-12-30T23:59:59Z. An RFC 3339 time is taken as written.
 */
export function parseExpiry(s: string): Date | undefined {
  const d = DATE_ONLY.exec(s) ?? RFC3339.exec(s);
  if (!d) return undefined;
  const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
  // reject 2026-02-30 and friends, which Date would roll over
  const probe = new Date(Date.UTC(y, m - 1, day));
  if (probe.getUTCFullYear() !== y || probe.getUTCMonth() !== m - 1 || probe.getUTCDate() !== day) return undefined;
  if (d.length === 4 || d[4] === undefined) return probe;
  if (Number(d[4]) > 23 || Number(d[5]) > 59 || Number(d[6]) > 60) return undefined;
  const t = new Date(s.replace(' ', 'T'));
  return Number.isNaN(t.getTime()) ? undefined : t;
}

export function isExpired(rule: IgnoreRule, now: Date): boolean {
  return rule.expires !== undefined && now.getTime() >= rule.expires.getTime();
}

// ---------------------------------------------------------------- .trivyignore (one id a line)

function parseTrivyLines(text: string, file: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const tokens = line.split(/\s+/);
    const rule: IgnoreRule = { line: i + 1, id: tokens[0]!.toUpperCase() };
    const words: string[] = [];
    for (const t of tokens.slice(1)) {
      if (words.length === 0 && t.startsWith('exp:')) {
        const when = t.slice(4);
        const d = DATE_ONLY.test(when) ? parseExpiry(when) : undefined;
        if (!d) throw invalid(file, i + 1, `bad expiry ${JSON.stringify(t)} (expected exp:YYYY-MM-DD)`);
        rule.expires = d;
        rule.expiresText = when;
      } else {
        // Trivy ignores the rest of the line; people write their reason there, with or without "#"
        words.push(t);
      }
    }
    const reason = words.join(' ').replace(/^#+\s*/, '');
    if (reason) rule.reason = reason;
    rules.push(rule);
  }
  return rules;
}

// ---------------------------------------------------------------- YAML formats

class YamlReader {
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
  ) {}

  line(node: Node | Pair | null | undefined): number | undefined {
    const n = node && 'range' in node ? node : node && 'key' in node ? (node.key as Node | null) : undefined;
    const off = n?.range?.[0];
    return off === undefined ? undefined : this.lc.linePos(off).line;
  }

  fail(node: Node | Pair | null | undefined, why: string): never {
    throw invalid(this.file, this.line(node), why);
  }

  /** A scalar string; dates written without quotes arrive as strings in YAML 1.2. */
  str(node: unknown, key: string): string {
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number') || node.value === '') {
      this.fail(node as Node, `${key} must be a non-empty string`);
    }
    return String(node.value);
  }

  strList(node: unknown, key: string): { value: string; node: Node }[] {
    if (isScalar(node)) return [{ value: this.str(node, key), node }];
    if (!isSeq(node) || node.items.length === 0) this.fail(node as Node, `${key} must be a string or a non-empty list of strings`);
    return node.items.map((it) => ({ value: this.str(it, `each entry of ${key}`), node: it as Node }));
  }

  entries(node: unknown, what: string, allowed: readonly string[]): Map<string, Pair> {
    if (!isMap(node)) this.fail(node as Node, `${what} must be a mapping`);
    const out = new Map<string, Pair>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined || !allowed.includes(key)) {
        this.fail(pair, `unknown key ${JSON.stringify(key ?? '?')} in ${what} (allowed: ${allowed.join(', ')})`);
      }
      out.set(key, pair);
    }
    return out;
  }
}

const DRYDOCK_TOP = ['version', 'rules'] as const;
const DRYDOCK_RULE = ['id', 'purl', 'paths', 'package', 'expires', 'reason'] as const;
const TRIVY_TOP = ['vulnerabilities', 'misconfigurations', 'secrets', 'licenses'] as const;
const TRIVY_RULE = ['id', 'paths', 'purls', 'expired_at', 'statement'] as const;

function parseYamlRules(text: string, file: string, format: 'drydock' | 'trivyignore-yaml'): IgnoreRule[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const r: YamlReader = new YamlReader(file, lc);
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw invalid(file, lc.linePos(e.pos[0]).line, `not valid YAML: ${e.message.split('\n')[0]}`);
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return [];
  const top = r.entries(doc.contents, 'the document', format === 'drydock' ? DRYDOCK_TOP : TRIVY_TOP);
  if (format === 'drydock') {
    const v = top.get('version');
    if (v && !(isScalar(v.value) && v.value.value === 1)) r.fail(v.value as Node, 'version must be 1');
  }
  // Trivy's other sections (misconfigurations, secrets, licenses) do not concern vulnerabilities
  const list = top.get(format === 'drydock' ? 'rules' : 'vulnerabilities')?.value;
  if (list === undefined || list === null || (isScalar(list) && list.value === null)) return [];
  if (!isSeq(list)) r.fail(list as Node, `${format === 'drydock' ? 'rules' : 'vulnerabilities'} must be a list`);
  return list.items.map((item) => (format === 'drydock' ? drydockRule(r, item) : trivyRule(r, item)));
}

function addPurls(r: YamlReader, rule: IgnoreRule, node: unknown, key: string): void {
  rule.purls = r.strList(node, key).map(({ value, node: n }) => {
    const p = parsePurl(value);
    if (!p) r.fail(n, `${key} ${JSON.stringify(value)} is not a package URL`);
    return p;
  });
}

function addPaths(r: YamlReader, rule: IgnoreRule, node: unknown, key: string): void {
  rule.paths = r.strList(node, key).map(({ value, node: n }) => {
    const g = compileGlob(value);
    if ('error' in g) r.fail(n, g.error);
    return g;
  });
}

function addExpiry(r: YamlReader, rule: IgnoreRule, node: unknown, key: string): void {
  // a YAML 1.1 timestamp would arrive as a Date; the default 1.2 schema keeps the text
  if (isScalar(node) && node.value instanceof Date) {
    rule.expires = node.value;
    rule.expiresText = node.value.toISOString();
    return;
  }
  const s = r.str(node, key);
  const d = parseExpiry(s);
  if (!d) r.fail(node as Node, `${key} ${JSON.stringify(s)} is not a date (YYYY-MM-DD) or an RFC 3339 time`);
  rule.expires = d;
  rule.expiresText = s;
}

function drydockRule(r: YamlReader, item: unknown): IgnoreRule {
  const m = r.entries(item, 'a rule', DRYDOCK_RULE);
  const rule: IgnoreRule = { line: r.line(item as Node) ?? 0 };
  const id = m.get('id');
  if (id) rule.id = r.str(id.value, 'id').toUpperCase();
  const purl = m.get('purl');
  if (purl) {
    const s = r.str(purl.value, 'purl');
    const p = parsePurl(s);
    if (!p) r.fail(purl.value as Node, `purl ${JSON.stringify(s)} is not a package URL`);
    rule.purls = [p];
  }
  const paths = m.get('paths');
  if (paths) addPaths(r, rule, paths.value, 'paths');
  const pkg = m.get('package');
  if (pkg) rule.package = r.str(pkg.value, 'package');
  const expires = m.get('expires');
  if (expires) addExpiry(r, rule, expires.value, 'expires');
  const reason = m.get('reason');
  if (!reason) r.fail(item as Node, 'a rule needs a reason');
  rule.reason = r.str(reason.value, 'reason');
  if (!rule.id && !rule.purls && !rule.paths && !rule.package) {
    r.fail(item as Node, 'a rule must name at least one of id, purl, paths, package');
  }
  return rule;
}

function trivyRule(r: YamlReader, item: unknown): IgnoreRule {
  const m = r.entries(item, 'a vulnerability entry', TRIVY_RULE);
  const rule: IgnoreRule = { line: r.line(item as Node) ?? 0 };
  const id = m.get('id');
  if (!id) r.fail(item as Node, 'a vulnerability entry needs an id');
  rule.id = r.str(id.value, 'id').toUpperCase();
  const paths = m.get('paths');
  if (paths) addPaths(r, rule, paths.value, 'paths');
  const purls = m.get('purls');
  if (purls) addPurls(r, rule, purls.value, 'purls');
  const exp = m.get('expired_at');
  if (exp) addExpiry(r, rule, exp.value, 'expired_at');
  const st = m.get('statement');
  if (st) rule.reason = r.str(st.value, 'statement');
  return rule;
}

// ---------------------------------------------------------------- matching

/** True when every field the rule names matches the finding (expiry is not looked at here). */
export function ruleMatches(rule: IgnoreRule, finding: Finding): boolean {
  if (rule.id !== undefined && !findingHasId(finding, rule.id)) return false;
  if (rule.package !== undefined && rule.package !== finding.package.name) return false;
  if (rule.purls) {
    const p = packagePurl(finding.package);
    if (!p || !rule.purls.some((pat) => purlMatches(pat, p))) return false;
  }
  if (rule.paths) {
    const paths = rule.paths;
    if (!finding.package.locations.some((l) => paths.some((g) => globMatches(g, l.path)))) return false;
  }
  return true;
}

/** Upper-cased id and aliases of a finding. */
export function findingIds(finding: Finding): string[] {
  return [finding.id, ...finding.aliases].map((s) => s.toUpperCase());
}

function findingHasId(finding: Finding, id: string): boolean {
  return findingIds(finding).includes(id);
}

/** The rule in words: "id CVE-2023-1234, purl pkg:npm/lodash until 2026-12-31 (line 4)". */
export function describeRule(rule: IgnoreRule): string {
  const parts: string[] = [];
  if (rule.id) parts.push(`id ${rule.id}`);
  if (rule.purls) parts.push(`purl ${rule.purls.map((p) => p.text).join(' or ')}`);
  if (rule.package) parts.push(`package ${rule.package}`);
  if (rule.paths) parts.push(`paths ${rule.paths.map((g) => g.text).join(' or ')}`);
  let s = parts.join(', ');
  if (rule.expiresText) s += ` until ${rule.expiresText}`;
  return `${s} (line ${rule.line})`;
}

export function suppressionFor(set: IgnoreRuleSet, rule: IgnoreRule): Suppression {
  const s: Suppression = { kind: set.format === 'drydock' ? 'ignore-file' : 'trivyignore', file: set.file, rule: describeRule(rule) };
  if (rule.reason) s.reason = rule.reason;
  return s;
}
