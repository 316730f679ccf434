/**
 * Compiled file selectors: one cheap test per entry (a Map lookup for exact paths and
 * basenames, one combined regular expression for all globs), then per-selector tests only on a hit.
 */
import { createHash } from 'node:crypto';
import type { FileSelector } from './types.js';
import { normaliseQueryPath } from './paths.js';
import { byString } from '../core/compare.js';

/** Bump when the layer analysis record format or the walker's semantics change. */
export const LAYERS_FORMAT_VERSION = '2';

/** Glob → RegExp source. "**" spans segments, "*" and "?" stay within one, "{a,b}" alternates. */
export function globToRegExpSource(glob: string): string {
  let g = glob.startsWith('/') ? glob : '/' + glob;
  g = g.replace(/\/{2,}/g, '/');
  let re = '';
  let inBrace = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === '*') {
      if (g[i + 1] === '*') {
        const before = g[i - 1];
        const after = g[i + 2];
        i++;
        if (before === '/' && after === '/') {
          // "/**/" → one slash or "/anything/"
          re = re.slice(0, -1) + '(?:/|/.*/)';
          i++;
        } else if (before === '/' && after === undefined) {
          re = re.slice(0, -1) + '(?:/.*)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      inBrace++;
      re += '(?:';
    } else if (c === '}' && inBrace > 0) {
      inBrace--;
      re += ')';
    } else if (c === ',' && inBrace > 0) re += '|';
    else re += c.replace(/[.+^$()|[\]\\{}]/g, '\\$&');
  }
  while (inBrace-- > 0) re += ')';
  return re;
}

export interface CompiledSelectors {
  /** selectors sorted by id; indices below refer to this list */
  readonly list: readonly FileSelector[];
  readonly key: string;
  readonly empty: boolean;
  /**
   * indices of the selectors matching an absolute normalised path (and, for `executables`, a regular file's mode), or null.
   * `conditional`, when given, is cleared and receives the indices that matched only as executables and
   * have `contentMarkers`: they want the file only when its content holds one of their markers.
   */
  match(path: string, basename: string, execFileMode?: number, conditional?: number[]): number[] | null;
  /** the content markers of selector `index` (latin1 bytes), empty when it has none */
  markers(index: number): readonly Buffer[];
  /** largest maxSize among `indices` (Infinity when one has none) */
  maxSize(indices: readonly number[]): number;
  indexOf(id: string): number;
}

/** sha256 of the sorted selector ids, versions and patterns, plus LAYERS_FORMAT_VERSION. */
export function selectorsKey(selectors: readonly FileSelector[]): string {
  const norm = [...selectors]
    .map((s) => ({
      id: s.id,
      version: s.version,
      paths: [...(s.paths ?? [])].sort(),
      basenames: [...(s.basenames ?? [])].sort(),
      globs: [...(s.globs ?? [])].sort(),
      executables: s.executables === true,
      ...(s.executables && s.contentMarkers?.length ? { contentMarkers: [...s.contentMarkers].sort() } : {}),
      maxSize: s.maxSize ?? null,
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.version < b.version ? -1 : 1));
  return createHash('sha256').update(JSON.stringify({ format: LAYERS_FORMAT_VERSION, selectors: norm })).digest('hex');
}

export function compileSelectors(selectors: readonly FileSelector[] = []): CompiledSelectors {
  const list = [...selectors].sort((a, b) => byString(a.id, b.id));
  const byPath = new Map<string, number[]>();
  const byBase = new Map<string, number[]>();
  const globRes: { index: number; re: RegExp }[] = [];
  const globSources: string[] = [];
  const push = (m: Map<string, number[]>, k: string, i: number) => {
    const a = m.get(k);
    if (!a) m.set(k, [i]);
    else if (!a.includes(i)) a.push(i);
  };
  list.forEach((s, i) => {
    for (const p of s.paths ?? []) push(byPath, normaliseQueryPath(p), i);
    for (const b of s.basenames ?? []) push(byBase, b, i);
    for (const g of s.globs ?? []) {
      const src = globToRegExpSource(g);
      globSources.push(src);
      globRes.push({ index: i, re: new RegExp(`^${src}$`, 's') });
    }
  });
  // the prefilter: globs starting with "**/" share one leading "(?:/|/.*/)", so the regular expression
  // backtracks over the path's slashes once rather than once per glob
  const ANY_DIR = '(?:/|/.*/)';
  const tails = globSources.filter((g) => g.startsWith(ANY_DIR)).map((g) => g.slice(ANY_DIR.length));
  const rest = globSources.filter((g) => !g.startsWith(ANY_DIR));
  const alts = [...(tails.length ? [`${ANY_DIR}(?:${tails.join('|')})`] : []), ...rest];
  const anyGlob = alts.length ? new RegExp(`^(?:${alts.join('|')})$`, 's') : null;
  // cheaper necessary conditions: a "**/..." glob needs the basename to match its last segment (one
  // with "**" or braces, which may hold slashes, lets every basename through); any other glob needs
  // the path to start with its literal prefix
  const allGlobs = list.flatMap((s) => s.globs ?? []).map((g) => (g.startsWith('/') ? g : '/' + g));
  const anyDirGlobs = allGlobs.filter((g) => g.startsWith('/**/'));
  const prefixes = [...new Set(allGlobs.filter((g) => !g.startsWith('/**/')).map((g) => g.slice(0, g.search(/[*?{[]|$/))))];
  const lastSeg = (g: string) => g.slice(g.lastIndexOf('/') + 1);
  const openEnded = anyDirGlobs.some((g) => g.includes('{') || g.includes('[') || lastSeg(g).includes('**') || lastSeg(g) === '');
  const lastSegs = [...new Set(anyDirGlobs.map((g) => globToRegExpSource(lastSeg(g)).slice(1)))];
  // segments starting with "*" share one leading "[^/]*" (one backtracking pass over the basename)
  const STAR = '[^/]*';
  const starTails = lastSegs.filter((x) => x.startsWith(STAR)).map((x) => x.slice(STAR.length));
  const segAlts = [...lastSegs.filter((x) => !x.startsWith(STAR)), ...(starTails.length ? [`${STAR}(?:${starTails.join('|')})`] : [])];
  const baseFilter = segAlts.length ? new RegExp(`^(?:${segAlts.join('|')})$`, 's') : null;
  const mayMatchGlob = (path: string, basename: string): boolean => {
    if (openEnded || prefixes.includes('/')) return true;
    if (baseFilter && baseFilter.test(basename)) return true;
    for (const p of prefixes) if (path.startsWith(p)) return true;
    return false;
  };
  const execSelectors = list.flatMap((s, i) => (s.executables ? [i] : []));
  const markerBufs = list.map((s) => (s.executables && s.contentMarkers?.length ? s.contentMarkers.map((m) => Buffer.from(m, 'latin1')) : []));
  const anyMarkers = markerBufs.some((m) => m.length > 0);
  const empty = byPath.size === 0 && byBase.size === 0 && !anyGlob && execSelectors.length === 0;
  return {
    list,
    key: selectorsKey(list),
    empty,
    match(path, basename, execFileMode, conditional) {
      if (conditional) conditional.length = 0;
      if (empty) return null;
      let out: number[] | null = null;
      if (execSelectors.length && execFileMode !== undefined && (execFileMode & 0o111) !== 0) {
        out = [...execSelectors];
        if (conditional && anyMarkers) for (const i of execSelectors) if (markerBufs[i]!.length) conditional.push(i);
      }
      const a = byPath.get(path);
      if (a) {
        out ??= [];
        for (const i of a) if (!out.includes(i)) out.push(i);
      }
      const b = byBase.get(basename);
      if (b) {
        out ??= [];
        for (const i of b) if (!out.includes(i)) out.push(i);
      }
      let globHits: number[] | undefined;
      if (anyGlob && mayMatchGlob(path, basename) && anyGlob.test(path)) {
        out ??= [];
        globHits = globRes.filter((g) => g.re.test(path)).map((g) => g.index);
        for (const i of globHits) if (!out.includes(i)) out.push(i);
      }
      if (out && out.length > 1) out.sort((x, y) => x - y);
      if (conditional && conditional.length && (a || b || globHits)) {
        // matched by a path, basename or glob as well: wanted whatever the content
        const byPattern = new Set<number>([...(a ?? []), ...(b ?? []), ...(globHits ?? [])]);
        for (let k = conditional.length - 1; k >= 0; k--) if (byPattern.has(conditional[k]!)) conditional.splice(k, 1);
      }
      return out;
    },
    markers(index) {
      return markerBufs[index] ?? [];
    },
    maxSize(indices) {
      let m = 0;
      for (const i of indices) {
        const s = list[i]?.maxSize;
        if (s === undefined) return Infinity;
        if (s > m) m = s;
      }
      return m;
    },
    indexOf(id) {
      return list.findIndex((s) => s.id === id);
    },
  };
}
