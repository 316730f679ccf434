export * from './package.js';
export * from './ids.js';
