/**
 * Path globs for ignore rules. Paths inside an image are compared without their leading "/",
 * so "usr/lib/**" and "/usr/lib/**" mean the same (Trivy writes them relative, Drydock absolute).
 *
 *   *        any run of characters within one path segment
 *   **       any number of whole segments, none included ("a/ ** /b" matches "a/b")
 *   ?        one character other than "/"
 *   [abc]    one of the listed characters; [!abc] or [^abc] one that is not listed; ranges a-z work
 *   {a,b}    either alternative (alternatives may contain the other wildcards, not another {...})
 *
 * A glob also matches every path below the one it names: "usr/lib/node_modules/lodash" covers
 * "usr/lib/node_modules/lodash/package.json".
 */

export interface PathGlob {
  /** the glob as written */
  readonly text: string;
  readonly re: RegExp;
}

const SPECIAL = /[.+^${}()|[\]\\/]/g;

function escapeChar(c: string): string {
  return c.replace(SPECIAL, '\\$&');
}

/** Compiles a glob; returns the reason when it is malformed. */
export function compileGlob(text: string): PathGlob | { error: string } {
  const src = text.replace(/^\/+/, '');
  if (src === '') return { error: 'empty path glob' };
  let out = '';
  let inBraces = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '*') {
      if (src[i + 1] === '*') {
        const atStart = i === 0 || src[i - 1] === '/';
        let j = i + 2;
        while (src[j] === '*') j++;
        const atEnd = j === src.length || src[j] === '/';
        if (atStart && atEnd) {
          if (j === src.length) out += '.*';
          else {
            // "**/" : zero or more whole segments
            out += '(?:[^/]*/)*';
            j++;
          }
          i = j - 1;
          continue;
        }
        // "a**b" is just two single stars
        out += '[^/]*';
        i = j - 1;
        continue;
      }
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = src.indexOf(']', i + 2);
      if (end < 0) return { error: `unclosed "[" in path glob ${JSON.stringify(text)}` };
      let body = src.slice(i + 1, end);
      let neg = false;
      if (body.startsWith('!') || body.startsWith('^')) {
        neg = true;
        body = body.slice(1);
      }
      if (body === '') return { error: `empty "[]" in path glob ${JSON.stringify(text)}` };
      out += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else if (c === '{') {
      if (inBraces) return { error: `nested "{" in path glob ${JSON.stringify(text)}` };
      inBraces = true;
      out += '(?:';
    } else if (c === '}' && inBraces) {
      inBraces = false;
      out += ')';
    } else if (c === ',' && inBraces) {
      out += '|';
    } else if (c === '\\' && i + 1 < src.length) {
      out += escapeChar(src[++i]!);
    } else {
      out += escapeChar(c);
    }
  }
  if (inBraces) return { error: `unclosed "{" in path glob ${JSON.stringify(text)}` };
  // a trailing "/" names a directory; the "below it" rule covers its contents
  out = out.replace(/\\\/$/, '');
  return { text, re: new RegExp(`^${out}(?:/.*)?$`) };
}

export function globMatches(glob: PathGlob, path: string): boolean {
  return glob.re.test(path.replace(/^\/+/, ''));
}
