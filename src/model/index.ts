export * from './package.js';
export * from './ids.js';
export * from './vuln.js';
