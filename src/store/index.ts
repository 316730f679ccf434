export * from './types.js';
export { openStore, parseStoreUrl, redactUrl, DEFAULT_SQLITE_FILE, type OpenStoreOptions, type StoreTarget } from './open.js';
export { MIGRATIONS, LATEST_SCHEMA, type Migration } from './migrations.js';
export { findingMaterial, findingEventId, ownersFromLabels, defaultLookupKeys } from './sql-store.js';
