import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DrydockError, ERROR_CODES, EXIT } from './errors.js';

describe('error codes', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

  it('docs/errors.md documents every code with its exit status', () => {
    const missing: string[] = [];
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      const row = new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*${info.exit}\\s*\\|`, 'm');
      if (!row.test(doc)) missing.push(`${code} (exit ${info.exit})`);
    }
    expect(missing).toEqual([]);
  });

  it('docs/errors.md lists no code that does not exist', () => {
    const listed = [...doc.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1]!);
    expect(listed.filter((c) => !(c in ERROR_CODES))).toEqual([]);
  });

  it('maps codes to the exit-code contract', () => {
    expect(new DrydockError('USAGE', 'x').exitCode).toBe(EXIT.usage);
    expect(new DrydockError('CHECK_FAILED', 'x').exitCode).toBe(1);
    for (const info of Object.values(ERROR_CODES)) {
      expect(info.exit === 1 || info.exit === 2 || info.exit >= 3).toBe(true);
    }
  });

  it('keeps the cause and serialises without it', () => {
    const cause = new Error('boom');
    const e = new DrydockError('IO_ERROR', 'cannot read /x', { cause, details: { path: '/x' } });
    expect(e.cause).toBe(cause);
    expect(e.toJSON()).toEqual({ code: 'IO_ERROR', message: 'cannot read /x', details: { path: '/x' } });
  });
});
