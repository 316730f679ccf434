import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * An npm package loaded on first use, for packages that only some runs need (YAML lock files,
 * SQLite rpm databases, zstd layers): the other runs skip its load time.
 */
export function lazyPackage<T>(name: string): () => T {
  let mod: T | undefined;
  return () => (mod ??= require(name) as T);
}

/** node:zlib on first use: loading it costs every start a few milliseconds that only archives and layers need */
export const zlib = lazyPackage<typeof import('node:zlib')>('node:zlib');
