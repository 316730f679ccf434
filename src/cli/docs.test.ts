import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../core/errors.js';
import { generatedCliDocs, renderCliDoc } from './docs.js';
import { buildProgram } from './main.js';
import { OPTIONS } from './options.js';

describe('docs/cli.md', () => {
  const doc = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');

  it('has current generated option tables and format matrix (else: npm run build && node scripts/gen-cli-docs.mjs)', async () => {
    expect(renderCliDoc(doc, await generatedCliDocs())).toBe(doc);
  });

  it('documents every command, every option with its environment variable, and every exit code', async () => {
    const blocks = await generatedCliDocs();
    for (const c of (await buildProgram()).commands.filter((c) => c.name() !== 'help')) {
      // a group of subcommands (db, server token) is documented per subcommand; a leaf command by itself
      const leaves = (x: typeof c, prefix: string): string[] => {
        const subs = x.commands.filter((s) => s.name() !== 'help');
        return subs.length ? subs.flatMap((s) => leaves(s, `${prefix} ${s.name()}`)) : [prefix];
      };
      for (const n of leaves(c, c.name())) expect(blocks[`command:${n}`], n).toBeDefined();
    }
    expect(Object.keys(blocks)).toContain('formats');
    for (const d of Object.values(OPTIONS)) {
      expect(doc).toContain(`\`${d.flags}\``);
      if (d.env) expect(doc).toContain(`\`${d.env}\``);
    }
    for (const exit of new Set(Object.values(ERROR_CODES).map((c) => c.exit))) {
      expect(doc).toMatch(new RegExp(`^\\| ${exit} \\|`, 'm'));
    }
    for (const t of ['registry:REF', 'oci-dir:PATH[:TAG]', 'oci-archive:PATH[:TAG]', 'docker-archive:PATH[:REF]', 'dir:PATH', 'podman:REF', 'docker:REF']) {
      expect(doc).toContain(t);
    }
  });
});
