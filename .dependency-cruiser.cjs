// Import rules of ARCHITECTURE.md: a folder may import only from levels below it (and itself).
// src/index.ts (public API) and src/cli.ts (binary entry) sit above everything.
const levels = {
  core: 0, model: 0, version: 0,
  image: 1,
  layers: 2,
  catalog: 3, sbom: 3, vulndb: 3, sign: 3, store: 3,
  match: 4, attest: 4,
  report: 5, policy: 5,
  scan: 6,
  runtime: 7,
  // the CLI starts the server (`drydock server`), so cli/ sits one level above server/
  server: 8,
  cli: 9,
};
const names = Object.keys(levels);
const forbidden = [];
for (const from of names) {
  // model/ and version/ import only core/
  const allowed = new Set([from]);
  for (const to of names) {
    if (levels[to] < levels[from]) allowed.add(to);
  }
  if (from === 'model' || from === 'version') { allowed.clear(); allowed.add(from); allowed.add('core'); }
  if (from === 'core') { allowed.clear(); allowed.add('core'); }
  const notAllowed = names.filter((n) => !allowed.has(n));
  if (notAllowed.length === 0) continue;
  forbidden.push({
    name: `no-upward-from-${from}`,
    comment: `${from}/ (level ${levels[from]}) may not import ${notAllowed.join(', ')}`,
    severity: 'error',
    from: { path: `^src/${from}/` },
    to: { path: `^src/(${notAllowed.join('|')})/` },
  });
}
forbidden.push({
  name: 'no-entry-imports',
  comment: 'nothing imports the package entry points',
  severity: 'error',
  from: { path: '^src/' },
  to: { path: '^src/(index|cli)\\.ts$' },
});
forbidden.push({
  name: 'no-circular',
  severity: 'error',
  from: {},
  to: { circular: true },
});
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.test\\.ts$|/testdata/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
