import { describe, expect, it } from 'vitest';
import { FORMAT_NAMES, parseFormat } from './format.js';

describe('parseFormat', () => {
  const all = FORMAT_NAMES;

  it('accepts names, aliases and spec versions, defaulting to the newest version', () => {
    expect(parseFormat('table', all)).toEqual({ name: 'table' });
    expect(parseFormat('JSON', all)).toEqual({ name: 'json' });
    expect(parseFormat('cyclonedx', all)).toEqual({ name: 'cyclonedx-json', version: '1.6' });
    expect(parseFormat('cyclonedx-json@1.4', all)).toEqual({ name: 'cyclonedx-json', version: '1.4' });
    expect(parseFormat('cyclonedx@1.5', all)).toEqual({ name: 'cyclonedx-json', version: '1.5' });
    expect(parseFormat('spdx-json', all)).toEqual({ name: 'spdx-json', version: '2.3' });
    expect(parseFormat('sarif', all)).toEqual({ name: 'sarif', version: '2.1.0' });
    expect(parseFormat('openvex', all)).toEqual({ name: 'openvex', version: '0.2.0' });
    expect(parseFormat('junit', all)).toEqual({ name: 'junit' });
  });

  it('an unknown name or version is USAGE; a known format a command lacks is FORMAT_UNSUPPORTED', () => {
    expect(() => parseFormat('xml', ['table', 'json'])).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseFormat('cyclonedx-json@1.7', all)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseFormat('json@1', all)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    expect(() => parseFormat('a@b@c', all)).toThrow(expect.objectContaining({ code: 'USAGE' }));
    for (const f of ['sarif', 'cyclonedx', 'spdx-json', 'openvex', 'junit']) {
      expect(() => parseFormat(f, ['table', 'json'])).toThrow(expect.objectContaining({ code: 'FORMAT_UNSUPPORTED', exitCode: 2 }));
    }
  });
});
