import { describe, expect, it } from 'vitest';
import { compileGlob, globMatches, type PathGlob } from './glob.js';

function g(text: string): PathGlob {
  const c = compileGlob(text);
  if ('error' in c) throw new Error(c.error);
  return c;
}

describe('path globs', () => {
  it.each([
    ['/usr/lib/*.so', '/usr/lib/libz.so', true],
    ['/usr/lib/*.so', '/usr/lib/x/libz.so', false],
    ['usr/lib/**/*.so', '/usr/lib/libz.so', true],
    ['usr/lib/**/*.so', '/usr/lib/a/b/libz.so', true],
    ['usr/lib/**', '/usr/lib/a/b', true],
    ['usr/lib/**', '/usr/libexec/a', false],
    ['**/package.json', '/app/node_modules/lodash/package.json', true],
    ['/usr/local/bin/legacy-?', '/usr/local/bin/legacy-a', true],
    ['/usr/local/bin/legacy-?', '/usr/local/bin/legacy-ab', false],
    ['/opt/{app,tools}/lib/*.jar', '/opt/tools/lib/log4j-core-2.14.1.jar', true],
    ['/opt/{app,tools}/lib/*.jar', '/opt/other/lib/x.jar', false],
    ['/lib/libssl.so.[0-9]', '/lib/libssl.so.3', true],
    ['/lib/libssl.so.[!0-9]', '/lib/libssl.so.3', false],
    // a glob naming a directory covers what is below it
    ['/usr/lib/node_modules/lodash', '/usr/lib/node_modules/lodash/package.json', true],
    ['/usr/lib/node_modules/lodash/', '/usr/lib/node_modules/lodash/package.json', true],
    ['/usr/lib/node_modules/lodash', '/usr/lib/node_modules/lodash-es/package.json', false],
    // dots and other regex characters are literal
    ['/a.b', '/axb', false],
    ['/a+(b)', '/a+(b)', true],
  ])('%s vs %s → %s', (glob, path, want) => {
    expect(globMatches(g(glob), path)).toBe(want);
  });

  it('reports malformed globs', () => {
    expect(compileGlob('/usr/[abc')).toHaveProperty('error');
    expect(compileGlob('/{a,{b,c}}')).toHaveProperty('error');
    expect(compileGlob('/{a,b')).toHaveProperty('error');
    expect(compileGlob('/')).toHaveProperty('error');
  });
});
