/**
 * The Drydock library API. Everything exported here is documented in docs/api.md and
 * follows semver.
 */
export * from './core/index.js';
export * from './image/types.js';
export type { ImageReader, ImageWriter } from './image/transport.js';
export * from './layers/types.js';
