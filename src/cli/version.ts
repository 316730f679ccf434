import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * Drydock's version from its package.json, found by walking up from this module: the compiled
 * modules sit two levels below it (dist/cli/), the bundled CLI one level (dist/cli.js, dist/cli-chunks/).
 */
export function drydockVersion(): string {
  if (cached !== undefined) return cached;
  let dir = new URL('.', import.meta.url);
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'drydock' && typeof pkg.version === 'string') return (cached = pkg.version);
    } catch {
      // no package.json here (or not ours): look one level up
    }
    dir = new URL('..', dir);
  }
  return (cached = '0.0.0');
}
