/**
 * The generated parts of docs/cli.md: per command, its arguments and an option table (flag,
 * environment variable, config key, default, help), and the format matrix. They come from the
 * commander program and OPTIONS, so the doc cannot drift from the code:
 * `node scripts/gen-cli-docs.mjs` rewrites them, src/cli/docs.test.ts fails when they are stale.
 */
import type { Command, Option } from 'commander';
import { ATTEST_FORMATS, VERIFY_ATTESTATION_FORMATS } from './commands/attest.js';
import { ATTEST_BLOB_FORMATS, VERIFY_BLOB_ATTESTATION_FORMATS } from './commands/attest-blob.js';
import { SIGN_BLOB_FORMATS, VERIFY_BLOB_FORMATS } from './commands/blob.js';
import { CATALOGERS_FORMATS } from './commands/catalogers.js';
import { CONVERT_FORMATS } from './commands/convert.js';
import { COPY_FORMATS } from './commands/copy.js';
import { DB_FORMATS } from './commands/db.js';
import { INSPECT_FORMATS } from './commands/inspect.js';
import { KEYS_FORMATS } from './commands/keys.js';
import { DRIFT_FORMATS, PS_FORMATS } from './commands/runtime.js';
import { SBOM_FORMATS } from './commands/sbom.js';
import { SCAN_FORMATS } from './commands/scan.js';
import { SERVER_FORMATS } from './commands/server.js';
import { AGENT_FORMATS } from './commands/agent.js';
import { CLEAN_FORMATS, SIGN_FORMATS, TREE_FORMATS, VERIFY_FORMATS } from './commands/sign.js';
import { FORMAT_NAMES, FORMAT_VERSIONS, type FormatName } from './format.js';
import { buildProgram } from './main.js';
import { OPTIONS, type OptionDecl } from './options.js';
import { byString } from '../core/compare.js';

/** Every command's --format values; a command missing here fails the docs test. */
const FORMATS_BY_COMMAND: Record<string, readonly FormatName[]> = {
  catalogers: CATALOGERS_FORMATS,
  convert: CONVERT_FORMATS,
  'sbom convert': CONVERT_FORMATS,
  copy: COPY_FORMATS,
  inspect: INSPECT_FORMATS,
  sbom: SBOM_FORMATS,
  scan: SCAN_FORMATS,
  'db update': DB_FORMATS,
  'db import': DB_FORMATS,
  'db status': DB_FORMATS,
  'db export': [],
  'db diff': DB_FORMATS,
  'generate-key-pair': KEYS_FORMATS,
  'import-key-pair': KEYS_FORMATS,
  'public-key': KEYS_FORMATS,
  sign: SIGN_FORMATS,
  verify: VERIFY_FORMATS,
  tree: TREE_FORMATS,
  clean: CLEAN_FORMATS,
  'sign-blob': SIGN_BLOB_FORMATS,
  'verify-blob': VERIFY_BLOB_FORMATS,
  attest: ATTEST_FORMATS,
  'verify-attestation': VERIFY_ATTESTATION_FORMATS,
  'download attestation': [],
  'attest-blob': ATTEST_BLOB_FORMATS,
  'verify-blob-attestation': VERIFY_BLOB_ATTESTATION_FORMATS,
  server: SERVER_FORMATS,
  'server token create': SERVER_FORMATS,
  worker: SERVER_FORMATS,
  agent: AGENT_FORMATS,
  ps: PS_FORMATS,
  drift: DRIFT_FORMATS,
};

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\s+/g, ' ').trim();

function declFor(o: Option): OptionDecl | undefined {
  return (Object.values(OPTIONS) as OptionDecl[]).find((d) => d.flags.split(/[ ,]+/).includes(o.long ?? ''));
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function defaultOf(d: OptionDecl): string {
  const v = d.default;
  if (v === undefined) return '-';
  if (Array.isArray(v)) return v.length ? `\`${v.join(',')}\`` : 'none';
  return `\`${String(v)}\``;
}

function optionRow(o: Option): string {
  const flag = `\`${o.flags}\``;
  if (o.long === '--config') return `| ${flag} | \`DRYDOCK_CONFIG\` | - | see [Configuration](#configuration) | ${cell(o.description.replace(/\s*\[env:[^\]]*\]/, ''))} |`;
  if (o.long === '--help') return `| ${flag} | - | - | - | ${cell(o.description)} |`;
  const d = declFor(o);
  if (!d) throw new Error(`option ${o.flags} is not declared in OPTIONS`);
  const key = kebab(d.key);
  return `| ${flag} | ${d.env ? `\`${d.env}\`` : '-'} | \`${key}\` | ${defaultOf(d)} | ${cell(d.help)} |`;
}

/** "server token create" for a subcommand, "scan" for a command (the program's own name left out) */
function fullName(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command a user runs: a group of subcommands (db, server token) is documented through them. */
function runnable(cmd: Command): Command[] {
  const subs = cmd.commands.filter((c) => c.name() !== 'help');
  const own = subs.length === 0 || cmd.options.some((o) => o.long !== '--help' && o.long !== '--config');
  return [...(own ? [cmd] : []), ...subs.flatMap(runnable)];
}

function commandSection(cmd: Command): string {
  const name = fullName(cmd);
  if (!FORMATS_BY_COMMAND[name]) throw new Error(`command ${name}: add its formats to FORMATS_BY_COMMAND in src/cli/docs.ts`);
  const args = cmd.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`)).join(' ');
  const out = [
    `### \`drydock ${name} [options]${args ? ` ${args}` : ''}\``,
    '',
    `${cell(cmd.summary()).replace(/^./, (c) => c.toUpperCase())}.`,
    '',
    cmd.description(),
    '',
    ...(cmd.registeredArguments.length
      ? [
          '| argument | meaning |',
          '|---|---|',
          ...cmd.registeredArguments.map((a) => `| \`${a.name()}\` | ${cell(a.description)}${['target', 'source', 'dest'].includes(a.name()) ? '; a [target](#targets)' : ''} |`),
          '',
        ]
      : []),
    ...((FORMATS_BY_COMMAND[name] ?? []).length ? [`Formats: ${(FORMATS_BY_COMMAND[name] ?? []).map((f) => `\`${f}\``).join(', ')}.`, ''] : []),
    '| option | environment | config key | default | meaning |',
    '|---|---|---|---|---|',
    ...cmd.options.map(optionRow),
    `| \`-h, --help\` | - | - | - | show this help and exit |`,
  ];
  return out.join('\n');
}

function formatMatrix(commands: Command[]): string {
  const names = commands.map((c) => fullName(c));
  const out = [
    `| format | spec versions | ${names.join(' | ')} |`,
    `|---|---|${names.map(() => '---').join('|')}|`,
  ];
  for (const f of FORMAT_NAMES) {
    const versions = FORMAT_VERSIONS[f];
    const v = versions ? versions.map((x, i) => (i === 0 ? `${x} (default)` : x)).join(', ') : '-';
    out.push(`| \`${f}\` | ${v} | ${names.map((n) => ((FORMATS_BY_COMMAND[n] ?? []).includes(f) ? 'yes' : '-')).join(' | ')} |`);
  }
  return out.join('\n');
}

/** The generated blocks of docs/cli.md, by marker name. */
export async function generatedCliDocs(): Promise<Record<string, string>> {
  const program = await buildProgram();
  const commands = [...program.commands]
    .filter((c) => c.name() !== 'help')
    .flatMap(runnable)
    .sort((a, b) => byString(fullName(a), fullName(b)));
  const blocks: Record<string, string> = { formats: formatMatrix(commands.filter((c) => (FORMATS_BY_COMMAND[fullName(c)] ?? []).length)) };
  for (const c of commands) blocks[`command:${fullName(c)}`] = commandSection(c);
  return blocks;
}

/** Replaces every `<!-- BEGIN GENERATED name -->...<!-- END GENERATED name -->` block of `doc`. */
export function renderCliDoc(doc: string, blocks: Record<string, string>): string {
  let out = doc;
  for (const [name, body] of Object.entries(blocks)) {
    const begin = `<!-- BEGIN GENERATED ${name} (scripts/gen-cli-docs.mjs) -->`;
    const end = `<!-- END GENERATED ${name} -->`;
    const i = out.indexOf(begin);
    const j = out.indexOf(end);
    if (i < 0 || j < i) throw new Error(`docs/cli.md lacks the markers of the generated block ${name}`);
    out = `${out.slice(0, i + begin.length)}\n${body}\n${out.slice(j)}`;
  }
  return out;
}
