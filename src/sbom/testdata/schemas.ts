/**
 * Test helper: validators for the official schemas. CycloneDX 1.4/1.5/1.6 come from
 * @cyclonedx/cyclonedx-library's res/schema (draft-07; 1.5+ reference spdx and jsf by relative
 * path, registered here under the URLs those references resolve to); SPDX 2.3 is the spdx-spec
 * schema committed beside this file (draft 2019-09).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a default export: under NodeNext the callable is on .default
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv | Ajv2019) => void;

const require = createRequire(import.meta.url);
const CDX_DIR = join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res', 'schema');

function load(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

export interface Validation {
  valid: boolean;
  errors: string;
}

type ValidateFn = ((doc: unknown) => boolean) & { errors?: unknown[] | null };

function wrap(fn: ValidateFn): (doc: unknown) => Validation {
  return (doc) => {
    const valid = fn(doc);
    return { valid, errors: valid ? '' : JSON.stringify(fn.errors?.slice(0, 10), null, 2) };
  };
}

const cache = new Map<string, (doc: unknown) => Validation>();

export function cyclonedxValidator(version: '1.4' | '1.5' | '1.6'): (doc: unknown) => Validation {
  const key = `cdx-${version}`;
  let v = cache.get(key);
  if (!v) {
    const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
    addFormats(ajv);
    const spdx = load(join(CDX_DIR, 'spdx.SNAPSHOT.schema.json'));
    const jsf = load(join(CDX_DIR, 'jsf-0.82.SNAPSHOT.schema.json'));
    ajv.addSchema({ ...spdx, $id: 'http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json' });
    ajv.addSchema({ ...jsf, $id: 'http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json' });
    v = wrap(ajv.compile(load(join(CDX_DIR, `bom-${version}.SNAPSHOT.schema.json`))) as ValidateFn);
    cache.set(key, v);
  }
  return v;
}

export function spdxValidator(): (doc: unknown) => Validation {
  let v = cache.get('spdx');
  if (!v) {
    const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
    addFormats(ajv);
    v = wrap(ajv.compile(load(join(import.meta.dirname, 'spdx-schema.json'))) as ValidateFn);
    cache.set('spdx', v);
  }
  return v;
}
