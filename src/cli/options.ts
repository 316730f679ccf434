/**
 * Every option is declared once here: flag, config-file key, environment variable, default and
 * help (ARCHITECTURE habit 10). Precedence: flag > environment > config file > default.
 * Commands pick the declarations they use; `resolveOptions` maps them into typed values that the
 * commands then map explicitly into the library's option objects.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { DrydockError } from '../core/errors.js';
import { lazyPackage } from '../core/lazy.js';

import { d, type OptionDecl } from './option-decl.js';
import { RUNTIME_OPTIONS } from './options-runtime.js';
import { SERVER_OPTIONS } from './options-server.js';
import { SIGN_OPTIONS } from './options-sign.js';

/** loaded on use: most runs have no config file, and yaml costs about 20 ms of start-up */
const yaml = lazyPackage<typeof import('yaml')>('yaml');

export type { OptionDecl } from './option-decl.js';

export const OPTIONS = {
  format: d({ key: 'format', flags: '-f, --format <format>', kind: 'string', default: 'table', help: 'output format: table, json, cyclonedx-json[@1.6|1.5|1.4], spdx-json, sarif, openvex, junit (each command accepts a subset)' }),
  output: d({ key: 'output', flags: '-o, --output <file>', kind: 'string', help: 'write the result to FILE instead of stdout' }),
  quiet: d({ key: 'quiet', flags: '-q, --quiet', env: 'DRYDOCK_QUIET', kind: 'bool', default: false, help: 'no progress or warnings on stderr' }),
  platform: d({ key: 'platform', flags: '--platform <os/arch[/variant]>', env: 'DRYDOCK_PLATFORM', kind: 'string', help: 'platform to pick from a multi-platform image (default: this host)' }),
  scope: d({ key: 'scope', flags: '--scope <scope>', kind: 'string', default: 'squashed', choices: ['squashed', 'all-layers'], help: 'squashed: the final filesystem; all-layers: also what later layers deleted or replaced' }),
  insecureRegistry: d({ key: 'insecureRegistry', flags: '--insecure-registry <host[:port]>', env: 'DRYDOCK_INSECURE_REGISTRY', kind: 'list', default: [], help: 'reach this registry over plain HTTP or TLS without verification (repeatable; env: comma-separated)' }),
  caFile: d({ key: 'caFile', flags: '--ca-file <file>', env: 'DRYDOCK_CA_FILE', kind: 'string', help: 'PEM bundle of extra certificate authorities for registries' }),
  username: d({ key: 'username', flags: '--username <name>', env: 'DRYDOCK_REGISTRY_USERNAME', kind: 'string', help: 'registry user name (else docker config credentials)' }),
  password: d({ key: 'password', flags: '--password <secret>', env: 'DRYDOCK_REGISTRY_PASSWORD', kind: 'string', help: 'registry password or token; prefer the environment variable or --password-stdin' }),
  passwordStdin: d({ key: 'passwordStdin', flags: '--password-stdin', kind: 'bool', default: false, help: 'read the registry password from standard input' }),
  timeout: d({ key: 'timeout', flags: '--timeout <seconds>', env: 'DRYDOCK_TIMEOUT', kind: 'int', default: 30, min: 1, help: 'network timeout for one request, in seconds' }),
  retries: d({ key: 'retries', flags: '--retries <n>', env: 'DRYDOCK_RETRIES', kind: 'int', default: 4, help: 'retries on 429, 5xx and connection resets' }),
  concurrency: d({ key: 'concurrency', flags: '--concurrency <n>', env: 'DRYDOCK_CONCURRENCY', kind: 'int', default: 4, min: 1, help: 'blobs transferred in parallel' }),
  cacheDir: d({ key: 'cacheDir', flags: '--cache-dir <dir>', env: 'DRYDOCK_CACHE_DIR', kind: 'string', help: 'cache directory (default: $XDG_CACHE_HOME/drydock or ~/.cache/drydock); one that cannot be written is skipped with a warning' }),
  noCache: d({ key: 'noCache', flags: '--no-cache', env: 'DRYDOCK_NO_CACHE', kind: 'bool', default: false, help: 'neither read nor write the layer cache' }),
  tmpDir: d({ key: 'tmpDir', flags: '--tmp-dir <dir>', env: 'DRYDOCK_TMPDIR', kind: 'string', help: 'directory for temporary files (default: the system temp dir)' }),
  maxUncompressed: d({ key: 'maxUncompressed', flags: '--max-uncompressed <bytes>', env: 'DRYDOCK_MAX_UNCOMPRESSED', kind: 'bytes', default: '32GiB', help: 'refuse images whose layers decompress to more than this (e.g. 8GiB)' }),
  maxEntries: d({ key: 'maxEntries', flags: '--max-entries <n>', env: 'DRYDOCK_MAX_ENTRIES', kind: 'int', default: 5_000_000, help: 'refuse images with more tar entries than this' }),
  verify: d({ key: 'verify', flags: '--verify', kind: 'bool', default: false, help: 'read every layer and check its diffID, even when a verification record exists' }),
  files: d({ key: 'files', flags: '--files', kind: 'bool', default: false, help: 'list every path of the image with the layer that wrote it' }),
  all: d({ key: 'all', flags: '--all', kind: 'bool', default: false, help: 'copy every platform of a multi-platform image' }),
  includeAttached: d({ key: 'includeAttached', flags: '--include-attached', kind: 'bool', default: false, help: 'also copy the signatures, attestations and SBOMs attached to the image (cosign tags and OCI referrers)' }),
  catalogers: d({ key: 'catalogers', flags: '--catalogers <list>', env: 'DRYDOCK_CATALOGERS', kind: 'list', help: 'catalogers to run: names or tags; +x adds to and -x removes from the default set, a bare list replaces it (repeatable; see drydock catalogers)' }),
  // scanning and the vulnerability database
  db: d({ key: 'db', flags: '--db <file>', env: 'DRYDOCK_DB', kind: 'string', help: 'vulnerability database file (default: $XDG_CACHE_HOME/drydock/db/drydock.db)' }),
  dbMaxAge: d({ key: 'dbMaxAge', flags: '--db-max-age <duration>', env: 'DRYDOCK_DB_MAX_AGE', kind: 'string', default: '5d', help: 'oldest database a scan accepts, e.g. 12h, 5d, 2w' }),
  skipDbUpdate: d({ key: 'skipDbUpdate', flags: '--skip-db-update', env: 'DRYDOCK_SKIP_DB_UPDATE', kind: 'bool', default: false, help: 'never download advisories before scanning (a stale database then fails unless --accept-stale-db)' }),
  acceptStaleDb: d({ key: 'acceptStaleDb', flags: '--accept-stale-db', env: 'DRYDOCK_ACCEPT_STALE_DB', kind: 'bool', default: false, help: 'with --skip-db-update: scan with a database older than --db-max-age' }),
  dbSource: d({ key: 'dbSource', flags: '--db-source <name=url>', env: 'DRYDOCK_DB_SOURCES', kind: 'list', help: 'feed to download instead of the defaults: osv:ECOSYSTEM=URL, alpine-secdb=URL, nvd=URL, epss=URL, kev=URL, or a bare URL (repeatable; env: comma-separated)' }),
  severity: d({ key: 'severity', flags: '-s, --severity <list>', env: 'DRYDOCK_SEVERITY', kind: 'list', help: 'show only these severities: critical, high, medium, low, negligible, unknown (comma-separated)' }),
  failOn: d({ key: 'failOn', flags: '--fail-on <severity>', env: 'DRYDOCK_FAIL_ON', kind: 'string', choices: ['critical', 'high', 'medium', 'low', 'negligible', 'unknown', 'info'], help: 'exit 1 when an unsuppressed finding has this severity or higher (info: drift only)' }),
  ignoreUnfixed: d({ key: 'ignoreUnfixed', flags: '--ignore-unfixed', env: 'DRYDOCK_IGNORE_UNFIXED', kind: 'bool', default: false, help: 'hide vulnerabilities that have no fixed version yet' }),
  onlyFixed: d({ key: 'onlyFixed', flags: '--only-fixed', env: 'DRYDOCK_ONLY_FIXED', kind: 'bool', default: false, help: 'show only vulnerabilities with a fixed version (same as --ignore-unfixed, Grype spelling)' }),
  ignoreFile: d({ key: 'ignoreFile', flags: '--ignore-file <file>', env: 'DRYDOCK_IGNORE_FILE', kind: 'list', help: 'ignore rules: drydock-ignore.yaml, .trivyignore or .trivyignore.yaml (repeatable; default: those files in the current directory)' }),
  vex: d({ key: 'vex', flags: '--vex <file>', env: 'DRYDOCK_VEX', kind: 'list', help: 'VEX document (OpenVEX, CycloneDX VEX, CSAF VEX) whose not_affected and fixed statements suppress findings (repeatable)' }),
  showSuppressed: d({ key: 'showSuppressed', flags: '--show-suppressed', kind: 'bool', default: false, help: 'also show suppressed findings, each with the rule or VEX statement that suppressed it' }),
  ...SIGN_OPTIONS,
  ...RUNTIME_OPTIONS,
  ...SERVER_OPTIONS,
  detectionPriority: d({ key: 'detectionPriority', flags: '--detection-priority <mode>', env: 'DRYDOCK_DETECTION_PRIORITY', kind: 'string', default: 'precise', choices: ['precise', 'comprehensive'], help: 'precise: language packages owned by OS packages match only distro advisories; comprehensive: also upstream advisories, flagged' }),
} as const satisfies Record<string, OptionDecl>;

export type OptionKey = keyof typeof OPTIONS;

/** Options shared by every command that reads an image. */
export const IMAGE_OPTIONS: OptionKey[] = [
  'platform', 'insecureRegistry', 'caFile', 'username', 'password', 'passwordStdin', 'timeout', 'retries',
  'concurrency', 'cacheDir', 'noCache', 'tmpDir', 'maxUncompressed', 'maxEntries', 'quiet',
];

/** Durations as people write them: 90s, 30m, 12h, 5d, 2w (a bare number is hours). */
export function parseDuration(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$/i.exec(s);
  if (!m) throw new DrydockError('USAGE', `invalid duration ${JSON.stringify(s)}; use e.g. 12h, 5d or 2w`);
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[(m[2] ?? 'h').toLowerCase() as 's']!;
  return Math.round(Number(m[1]) * unit * 1000);
}

export function parseBytes(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(s);
  if (!m) throw new DrydockError('USAGE', `invalid size ${JSON.stringify(s)}; use e.g. 512MiB or 8GiB`);
  const unit = (m[2] ?? '').toLowerCase().replace(/i?b$/, '').replace('i', '');
  const pow = { '': 0, k: 1, m: 2, g: 3, t: 4 }[unit];
  if (pow === undefined) throw new DrydockError('USAGE', `invalid size unit in ${JSON.stringify(s)}`);
  return Math.floor(Number(m[1]) * 1024 ** pow);
}

function convert(decl: OptionDecl, raw: unknown, origin: string): unknown {
  if (raw === undefined) return undefined;
  const bad = () => new DrydockError('USAGE', `invalid value ${JSON.stringify(raw)} for ${origin}`);
  switch (decl.kind) {
    case 'string':
      if (typeof raw !== 'string' && typeof raw !== 'number') throw bad();
      if (decl.choices && !decl.choices.includes(String(raw))) {
        throw new DrydockError('USAGE', `invalid value ${JSON.stringify(raw)} for ${origin}; use one of ${decl.choices.join(', ')}`);
      }
      return String(raw);
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(1|true|yes|on)$/i.test(raw)) return true;
      if (typeof raw === 'string' && /^(0|false|no|off|)$/i.test(raw)) return false;
      throw bad();
    case 'int': {
      const n = typeof raw === 'number' ? raw : Number(String(raw).trim());
      if (!Number.isInteger(n) || n < (decl.min ?? 0)) throw bad();
      return n;
    }
    case 'bytes':
      return typeof raw === 'number' ? raw : parseBytes(String(raw));
    case 'list': {
      const split = (x: unknown) => (decl.noSplit ? [String(x)] : String(x).split(','));
      if (Array.isArray(raw)) return raw.flatMap(split).map((x) => x.trim()).filter(Boolean);
      return split(raw).map((x) => x.trim()).filter(Boolean);
    }
  }
}

/** Adds the declared options to a commander command. */
export function addOptions(cmd: Command, keys: readonly OptionKey[]): Command {
  for (const key of keys) {
    const decl: OptionDecl = OPTIONS[key];
    const opt = new Option(decl.flags, decl.help + (decl.env ? ` [env: ${decl.env}]` : ''));
    if (decl.kind === 'list') opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
    if (decl.choices) opt.choices(decl.choices as string[]);
    if (decl.hidden) opt.hideHelp();
    // defaults and env are applied by resolveOptions so that the config file can sit between them
    if (decl.default !== undefined && decl.kind !== 'bool' && decl.kind !== 'list') {
      opt.description += ` (default: ${String(decl.default)})`;
    }
    cmd.addOption(opt);
  }
  cmd.addOption(new Option('--config <file>', 'configuration file (YAML or JSON) [env: DRYDOCK_CONFIG]'));
  return cmd;
}

export function configFilePath(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag) return flag;
  if (env.DRYDOCK_CONFIG) return env.DRYDOCK_CONFIG;
  const xdg = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  const p = join(xdg, 'drydock', 'config.yaml');
  return existsSync(p) ? p : undefined;
}

export function loadConfigFile(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DrydockError('CONFIG_INVALID', `cannot read config file ${path}`, { cause: e });
  }
  let doc: unknown;
  try {
    const { parse } = yaml();
    doc = parse(text);
  } catch (e) {
    throw new DrydockError('CONFIG_INVALID', `config file ${path} is not valid YAML or JSON`, { cause: e });
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new DrydockError('CONFIG_INVALID', `config file ${path} must hold a mapping of option names to values`);
  const out: Record<string, unknown> = {};
  const known = new Map<string, string>();
  for (const decl of Object.values(OPTIONS) as OptionDecl[]) {
    known.set(decl.key, decl.key);
    known.set(decl.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), decl.key);
  }
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const key = known.get(k);
    if (!key) throw new DrydockError('CONFIG_INVALID', `config file ${path}: unknown option ${JSON.stringify(k)}`);
    out[key] = v;
  }
  return out;
}

export type ResolvedValues = { [K in OptionKey]?: unknown };

/** A bad value from the environment or the config file is CONFIG_INVALID, not a usage error. */
function convertSetting(decl: OptionDecl, raw: unknown, origin: string): unknown {
  try {
    return convert(decl, raw, origin);
  } catch (e) {
    if (e instanceof DrydockError && e.code === 'USAGE') throw new DrydockError('CONFIG_INVALID', e.message.includes(origin) ? e.message : `${origin}: ${e.message}`);
    throw e;
  }
}

/** flag > environment > config file > default, each converted and checked. */
export function resolveOptions(
  cmd: Command,
  keys: readonly OptionKey[],
  env: NodeJS.ProcessEnv = process.env,
): ResolvedValues {
  const flags = cmd.opts() as Record<string, unknown>;
  const configPath = configFilePath(flags.config as string | undefined, env);
  const config = loadConfigFile(configPath);
  const out: ResolvedValues = {};
  for (const key of keys) {
    const decl: OptionDecl = OPTIONS[key];
    const src = cmd.getOptionValueSource(key);
    const flagName = decl.flags.split(/[ ,]+/).find((f) => f.startsWith('--')) ?? key;
    let value: unknown;
    if (src === 'cli' && flags[key] !== undefined) {
      // commander turns --no-cache into cache=false; our key is noCache
      value = convert(decl, flags[key], flagName);
    } else if (key === 'noCache' && flags.cache === false) {
      value = true;
    } else if (decl.env && env[decl.env] !== undefined && env[decl.env] !== '') {
      value = convertSetting(decl, env[decl.env], `$${decl.env}`);
    } else if (config[key] !== undefined) {
      value = convertSetting(decl, config[key], `config key ${key} of ${configPath}`);
    } else {
      value = convert(decl, decl.default, flagName);
    }
    out[key] = value;
  }
  return out;
}
