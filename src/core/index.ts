export * from './errors.js';
export * from './issues.js';
export * from './events.js';
export * from './digest.js';
export * from './paths.js';
export * from './clock.js';
