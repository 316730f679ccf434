/**
 * The one output vocabulary of every command: --format NAME[@VERSION] and --output FILE.
 */
import { DrydockError } from '../core/errors.js';

export const FORMAT_NAMES = ['table', 'json', 'cyclonedx-json', 'spdx-json', 'sarif', 'openvex', 'junit'] as const;
export type FormatName = (typeof FORMAT_NAMES)[number];

const ALIASES: Record<string, FormatName> = { cyclonedx: 'cyclonedx-json', spdx: 'spdx-json', spdxjson: 'spdx-json' };

/** Spec versions each versioned format accepts; the first is the default. */
export const FORMAT_VERSIONS: Partial<Record<FormatName, readonly string[]>> = {
  'cyclonedx-json': ['1.6', '1.5', '1.4'],
  'spdx-json': ['2.3'],
  sarif: ['2.1.0'],
  openvex: ['0.2.0'],
};

export interface OutputFormat {
  name: FormatName;
  version?: string;
}

/** Parses `--format` against the formats a command supports. */
export function parseFormat(value: string, supported: readonly FormatName[]): OutputFormat {
  const [rawName = '', version, ...rest] = value.trim().toLowerCase().split('@');
  const name = (ALIASES[rawName] ?? rawName) as FormatName;
  if (rest.length > 0 || !(FORMAT_NAMES as readonly string[]).includes(name)) {
    throw new DrydockError('USAGE', `unknown format ${JSON.stringify(value)}; use one of ${supported.join(', ')}`);
  }
  if (!supported.includes(name)) {
    throw new DrydockError('FORMAT_UNSUPPORTED', `format ${name} is not available for this command; use one of ${supported.join(', ')}`);
  }
  const versions = FORMAT_VERSIONS[name];
  if (version !== undefined) {
    if (!versions) throw new DrydockError('USAGE', `format ${name} takes no spec version`);
    if (!versions.includes(version)) {
      throw new DrydockError('USAGE', `format ${name} has no spec version ${version}; use one of ${versions.join(', ')}`);
    }
    return { name, version };
  }
  return versions ? { name, version: versions[0] } : { name };
}
