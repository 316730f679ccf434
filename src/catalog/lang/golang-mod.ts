/**
 * Go modules declared by go.mod files of dir: targets: `require` (single lines and blocks,
 * `// indirect` marks), `replace` (module or module@version → path [version]; replacements by
 * a local directory have no version and are kept with the original version) and `exclude`
 * (the excluded module version is not reported). The main module itself is not a package.
 */
import type { Package } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, catalogDeclaredFiles, LIMIT, makePackage } from './common.js';
import { goPurl } from './golang.js';

const MAX_MOD = 8 * 1024 * 1024;
const MAX_LINES = 200_000;

export interface GoModFile {
  module?: string;
  go?: string;
  require: { path: string; version: string; indirect: boolean }[];
  replace: { from: string; fromVersion?: string; to: string; toVersion?: string }[];
  exclude: { path: string; version: string }[];
}

/** Splits a go.mod line into tokens (quoted strings unquoted) and reports whether its comment says indirect. */
function tokens(line: string): { toks: string[]; indirect: boolean } {
  const toks: string[] = [];
  let i = 0;
  let indirect = false;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
    } else if (line.startsWith('//', i)) {
      indirect = /^\/\/\s*indirect\b/.test(line.slice(i));
      break;
    } else if (c === '"' || c === '`') {
      const end = line.indexOf(c, i + 1);
      const e = end < 0 ? line.length : end;
      toks.push(line.slice(i + 1, e).replace(/\\(.)/g, '$1'));
      i = e + 1;
    } else {
      let j = i;
      while (j < line.length && line[j] !== ' ' && line[j] !== '\t' && !line.startsWith('//', j)) j++;
      toks.push(line.slice(i, j));
      i = j;
    }
  }
  return { toks, indirect };
}

/** Parses go.mod; throws on a malformed directive. */
export function parseGoMod(text: string): GoModFile {
  const out: GoModFile = { require: [], replace: [], exclude: [] };
  const lines = text.split(/\r?\n/);
  if (lines.length > MAX_LINES) throw new Error('too many lines');
  let block: string | undefined;
  lines.forEach((raw, n) => {
    const { toks, indirect } = tokens(raw);
    if (toks.length === 0) return;
    let verb: string;
    let args: string[];
    if (block) {
      if (toks[0] === ')') {
        block = undefined;
        return;
      }
      verb = block;
      args = toks;
    } else {
      verb = toks[0]!;
      args = toks.slice(1);
      if (args[0] === '(') {
        block = verb;
        return;
      }
    }
    const fail = () => {
      throw new Error(`line ${n + 1}: malformed ${verb}`);
    };
    switch (verb) {
      case 'module':
        out.module = args[0];
        break;
      case 'go':
        out.go = args[0];
        break;
      case 'require':
        if (args.length !== 2) fail();
        out.require.push({ path: args[0]!, version: args[1]!, indirect });
        break;
      case 'exclude':
        if (args.length !== 2) fail();
        out.exclude.push({ path: args[0]!, version: args[1]! });
        break;
      case 'replace': {
        const arrow = args.indexOf('=>');
        if (arrow < 1 || arrow > 2 || args.length - arrow - 1 < 1 || args.length - arrow - 1 > 2) fail();
        const r: GoModFile['replace'][number] = { from: args[0]!, to: args[arrow + 1]! };
        if (arrow === 2) r.fromVersion = args[1];
        if (args[arrow + 2]) r.toVersion = args[arrow + 2];
        out.replace.push(r);
        break;
      }
      default:
        break; // toolchain, retract, godebug, tool, ignore
    }
  });
  return out;
}

async function catalogGoMod(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const { packages } = await catalogDeclaredFiles(ctx, MAX_MOD, (path, text) => goModPackages(ctx, path, text, foundBy), (path) => path.includes('/vendor/'));
  return { packages };
}

/** The modules one go.mod requires, after its replace and exclude directives. */
function goModPackages(ctx: CatalogContext, file: string, text: string, foundBy: string): CatalogerResult | undefined {
  const packages: Package[] = [];
  let mod: GoModFile;
  try {
    mod = parseGoMod(text);
  } catch (e) {
    const m = (e as Error).message;
    bad(ctx, file, `invalid go.mod: ${m}`, m === 'too many lines' ? LIMIT : undefined);
    return undefined;
  }
  const excluded = new Set(mod.exclude.map((x) => `${x.path}@${x.version}`));
  const seen = new Set<string>();
  for (const r of mod.require) {
    if (excluded.has(`${r.path}@${r.version}`)) continue;
    const rep = mod.replace.find((x) => x.from === r.path && (x.fromVersion === undefined || x.fromVersion === r.version));
    // a replacement by a local directory (no version) keeps the required module's identity
    const local = rep && rep.toVersion === undefined;
    const path = rep && !local ? rep.to : r.path;
    const version = rep && !local ? rep.toVersion! : r.version;
    if (seen.has(`${path}@${version}`)) continue;
    seen.add(`${path}@${version}`);
    const meta: Record<string, unknown> = { ecosystem: 'golang', indirect: r.indirect };
    if (mod.module) meta.mainModule = mod.module;
    if (mod.go) meta.goVersion = mod.go;
    if (rep) meta.replaces = { path: r.path, version: r.version, ...(local ? { localPath: rep.to } : {}) };
    packages.push(makePackage({ type: 'golang', name: path, version, purl: goPurl(path, version), locations: [ctx.locate(file, 'manifest')], foundBy, metadata: { kind: 'generic', ...meta } }));
  }
  return { packages };
}

export const goModCataloger: Cataloger = {
  name: 'go-mod',
  version: '1',
  tags: ['language', 'declared', 'directory'],
  selector: { basenames: ['go.mod'], maxSize: MAX_MOD },
  catalog: (ctx) => catalogGoMod(ctx, 'go-mod'),
};
