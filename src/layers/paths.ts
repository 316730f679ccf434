/**
 * Path normalisation for archive entries. Every path inside the layer views is absolute
 * ("/usr/bin/curl"), has no "." or ".." segments, no doubled or trailing slashes.
 */

const NEEDS_SLOW = /(^|\/)\.{1,2}(\/|$)|\/\//;

/**
 * Normalises an archive entry name. Returns `null` when the name escapes the root through
 * ".." segments (the caller records PATH_UNSAFE). Leading "/" and "./" are stripped: archive
 * names are relative to the root of the archive. The root itself normalises to "/".
 */
export function normaliseEntryPath(name: string): string | null {
  if (!NEEDS_SLOW.test(name)) {
    // fast path: "usr/bin/x", "/usr/bin/x", "usr/lib/"
    let s = 0;
    let e = name.length;
    while (s < e && name.charCodeAt(s) === 47) s++;
    while (e > s && name.charCodeAt(e - 1) === 47) e--;
    if (s === e) return '/';
    return s === 1 && e === name.length ? name : '/' + name.slice(s, e);
  }
  const out: string[] = [];
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return '/' + out.join('/');
}

/**
 * Normalises a path a caller asks for (stat/readFile). Never fails: ".." above the root stays
 * at the root, like the kernel does for "/..".
 */
export function normaliseQueryPath(p: string): string {
  // most paths asked for are already normal: absolute, no empty, "." or ".." segment, no trailing "/"
  if (p.charCodeAt(0) === 47 && !p.includes('//') && !p.includes('/.') && (p.length === 1 || p.charCodeAt(p.length - 1) !== 47)) return p;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      out.pop();
      continue;
    }
    out.push(seg);
  }
  return '/' + out.join('/');
}

/** "/a/b/c" → ["/a/b", "c"]; "/a" → ["/", "a"]. */
export function splitPath(p: string): [dir: string, base: string] {
  const i = p.lastIndexOf('/');
  return [i <= 0 ? '/' : p.slice(0, i), p.slice(i + 1)];
}

export function joinPath(dir: string, base: string): string {
  return dir === '/' ? '/' + base : dir + '/' + base;
}

/** Path components of an absolute normalised path ("/" → []). */
export function components(p: string): string[] {
  return p === '/' ? [] : p.slice(1).split('/');
}
