/**
 * Java dependencies declared in dir: targets: pom.xml (`project/dependencies/dependency` with
 * literal versions or `${property}` references resolved from `properties`, `project.version`/
 * `project.groupId`/`project.parent.version`, and versions from `dependencyManagement`, each
 * inherited from the parent poms found in the same tree (Maven's `relativePath`, default
 * `../pom.xml`); anything else is left out with an issue) and Gradle's dependency lock files
 * (`group:artifact:version=configurations`).
 */
import { posix } from 'node:path';
import type { Package, PackageMetadataJava } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, catalogDeclaredFiles, LIMIT, makePackage } from './common.js';
import { packageUrl } from '../../model/purl.js';

const MAX_FILE = 8 * 1024 * 1024;
const MAX_DEPTH = 64;
const MAX_NODES = 500_000;

export interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e] ?? m;
  });
}

/** A small non-validating XML reader: elements (namespace prefixes dropped) and their text; throws on broken nesting. */
export function parseXml(src: string): XmlNode {
  const root: XmlNode = { name: '#document', children: [], text: '' };
  const stack: XmlNode[] = [root];
  let i = 0;
  let nodes = 0;
  while (i < src.length) {
    const lt = src.indexOf('<', i);
    const textEnd = lt < 0 ? src.length : lt;
    if (textEnd > i) stack[stack.length - 1]!.text += decodeEntities(src.slice(i, textEnd));
    if (lt < 0) break;
    if (src.startsWith('<!--', lt)) {
      const e = src.indexOf('-->', lt + 4);
      if (e < 0) throw new Error('unterminated comment');
      i = e + 3;
    } else if (src.startsWith('<![CDATA[', lt)) {
      const e = src.indexOf(']]>', lt + 9);
      if (e < 0) throw new Error('unterminated CDATA');
      stack[stack.length - 1]!.text += src.slice(lt + 9, e);
      i = e + 3;
    } else if (src.startsWith('<?', lt)) {
      const e = src.indexOf('?>', lt + 2);
      if (e < 0) throw new Error('unterminated processing instruction');
      i = e + 2;
    } else if (src.startsWith('<!', lt)) {
      const e = src.indexOf('>', lt + 2);
      if (e < 0) throw new Error('unterminated declaration');
      i = e + 1;
    } else {
      // find the tag end outside quoted attribute values
      let j = lt + 1;
      let q = '';
      for (; j < src.length; j++) {
        const c = src[j]!;
        if (q) {
          if (c === q) q = '';
        } else if (c === '"' || c === "'") q = c;
        else if (c === '>') break;
      }
      if (j >= src.length) throw new Error('unterminated tag');
      const body = src.slice(lt + 1, j);
      i = j + 1;
      if (body.startsWith('/')) {
        const name = body.slice(1).trim().replace(/^.*:/, '');
        const top = stack.pop();
        if (!top || top === root || top.name !== name) throw new Error(`mismatched closing tag </${name}>`);
        continue;
      }
      const selfClose = body.endsWith('/');
      const name = (/^[^\s/>]+/.exec(body)?.[0] ?? '').replace(/^.*:/, '');
      if (!name) throw new Error('empty tag name');
      if (++nodes > MAX_NODES) throw new Error('too many elements');
      const node: XmlNode = { name, children: [], text: '' };
      stack[stack.length - 1]!.children.push(node);
      if (!selfClose) {
        if (stack.length > MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH} levels`);
        stack.push(node);
      }
    }
  }
  if (stack.length !== 1) throw new Error(`unclosed element <${stack[stack.length - 1]!.name}>`);
  return root;
}

const child = (n: XmlNode | undefined, name: string) => n?.children.find((c) => c.name === name);
const kids = (n: XmlNode | undefined, name: string) => n?.children.filter((c) => c.name === name) ?? [];
const text = (n: XmlNode | undefined, name: string) => {
  const c = child(n, name);
  return c ? c.text.trim() : undefined;
};

export function mavenPurl(group: string, artifact: string, version: string, qualifiers?: Record<string, string>): string | undefined {
  return packageUrl('maven', group, artifact, version, qualifiers);
}

/** Resolves ${...} references (nested up to a few rounds); undefined when one is left unresolved. */
function resolveProps(s: string | undefined, props: Map<string, string>): string | undefined {
  if (s === undefined) return undefined;
  let v = s;
  for (let round = 0; round < 8 && v.includes('${'); round++) {
    v = v.replace(/\$\{([^}]+)\}/g, (m, k: string) => props.get(k) ?? m);
  }
  return v.includes('${') || v === '' ? undefined : v;
}

/** Parsed <project> elements of the tree by path, for parent lookups; undefined when the file is not a pom. */
export type PomTree = Map<string, XmlNode | undefined>;

const MAX_PARENTS = 16;

function projectOf(src: string): XmlNode | undefined {
  try {
    return child(parseXml(src), 'project');
  } catch {
    return undefined;
  }
}

/**
 * The local parent chain of a pom, nearest first: the pom at <parent><relativePath> (default ../pom.xml,
 * a directory means its pom.xml) whose coordinates match the <parent> element, as Maven checks them.
 */
function parentChain(path: string, project: XmlNode, tree: PomTree): XmlNode[] {
  const chain: XmlNode[] = [];
  const seen = new Set([path]);
  let cur = project;
  let curPath = path;
  while (chain.length < MAX_PARENTS) {
    const parent = child(cur, 'parent');
    if (!parent) break;
    const rel = child(parent, 'relativePath');
    if (rel && rel.text.trim() === '') break; // an empty relativePath turns the local lookup off
    let target = posix.normalize(posix.join(posix.dirname(curPath), rel ? rel.text.trim() : '../pom.xml'));
    if (!target.endsWith('.xml')) target = posix.join(target, 'pom.xml');
    const next = tree.get(target);
    if (!next || seen.has(target)) break;
    const coords = (n: XmlNode) => [text(n, 'groupId') ?? text(child(n, 'parent'), 'groupId'), text(n, 'artifactId')];
    const [pg, pa] = coords(next);
    if (pg !== text(parent, 'groupId') || pa !== text(parent, 'artifactId')) break;
    chain.push(next);
    seen.add(target);
    cur = next;
    curPath = target;
  }
  return chain;
}

export function parsePom(ctx: CatalogContext, path: string, src: string, foundBy: string, tree: PomTree = new Map()): CatalogerResult {
  let doc: XmlNode;
  try {
    doc = parseXml(src);
  } catch (e) {
    bad(ctx, path, `invalid xml: ${(e as Error).message}`);
    return { packages: [] };
  }
  const project = child(doc, 'project');
  if (!project) {
    bad(ctx, path, 'no <project> element');
    return { packages: [] };
  }
  // the effective model, as far as the tree holds it: ancestors first, each pom overriding its parent
  const lineage = [...parentChain(path, project, tree)].reverse();
  const props = new Map<string, string>();
  for (const pom of [...lineage, project]) for (const p of child(pom, 'properties')?.children ?? []) props.set(p.name, p.text.trim());
  const parent = child(project, 'parent');
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined && v !== '') props.set(k, v);
  };
  set('project.parent.version', text(parent, 'version'));
  set('project.parent.groupId', text(parent, 'groupId'));
  set('project.version', text(project, 'version') ?? text(parent, 'version'));
  set('project.groupId', text(project, 'groupId') ?? text(parent, 'groupId'));
  set('project.artifactId', text(project, 'artifactId'));
  for (const k of ['version', 'groupId', 'artifactId']) if (props.has(`project.${k}`)) set(`pom.${k}`, props.get(`project.${k}`));
  const managed = new Map<string, string>();
  for (const pom of [...lineage, project]) {
    for (const d of kids(child(child(pom, 'dependencyManagement'), 'dependencies'), 'dependency')) {
      const g = resolveProps(text(d, 'groupId'), props);
      const a = resolveProps(text(d, 'artifactId'), props);
      const v = resolveProps(text(d, 'version'), props);
      if (g && a && v) managed.set(`${g}:${a}`, v);
    }
  }
  const packages: Package[] = [];
  const seen = new Set<string>();
  for (const d of kids(child(project, 'dependencies'), 'dependency')) {
    const g = resolveProps(text(d, 'groupId'), props);
    const a = resolveProps(text(d, 'artifactId'), props);
    if (!g || !a) {
      bad(ctx, path, `dependency with unresolved groupId or artifactId (${text(d, 'groupId') ?? ''}:${text(d, 'artifactId') ?? ''})`);
      continue;
    }
    const rawVersion = text(d, 'version');
    const version = rawVersion !== undefined ? resolveProps(rawVersion, props) : managed.get(`${g}:${a}`);
    if (!version) {
      bad(ctx, path, `${g}:${a}: version ${rawVersion === undefined ? 'not declared in this pom or its local parents' : `${JSON.stringify(rawVersion)} not resolvable from this pom or its local parents`}, left out`);
      continue;
    }
    const key = `${g}:${a}:${version}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const meta: PackageMetadataJava = { kind: 'java', groupId: g, artifactId: a };
    const scope = text(d, 'scope');
    const pkg = makePackage({ type: 'maven', namespace: g, name: a, version, purl: mavenPurl(g, a, version), locations: [ctx.locate(path, 'manifest')], foundBy, metadata: meta });
    if (scope || text(d, 'optional') === 'true') {
      pkg.metadata = { ...meta, manifest: { ...(scope ? { scope } : {}), ...(text(d, 'optional') === 'true' ? { optional: 'true' } : {}) } };
    }
    packages.push(pkg);
  }
  return { packages };
}

/** gradle.lockfile: "group:artifact:version=conf1,conf2" lines; "empty=..." and comments skipped. */
export function parseGradleLock(ctx: CatalogContext, path: string, src: string, foundBy: string): CatalogerResult {
  const packages: Package[] = [];
  const seen = new Set<string>();
  const lines = src.split(/\r?\n/);
  if (lines.length > 500_000) {
    bad(ctx, path, 'too many lines', LIMIT);
    return { packages };
  }
  for (const line of lines) {
    const l = line.trim();
    if (!l || l.startsWith('#') || l.startsWith('empty=')) continue;
    const m = /^([^:=\s]+):([^:=\s]+):([^:=\s]+)(?:=(.*))?$/.exec(l);
    if (!m) {
      bad(ctx, path, `unrecognised line ${JSON.stringify(l.slice(0, 100))}`);
      continue;
    }
    const [, g, a, v, confs] = m as unknown as [string, string, string, string, string | undefined];
    if (seen.has(`${g}:${a}:${v}`)) continue;
    seen.add(`${g}:${a}:${v}`);
    const meta: PackageMetadataJava = { kind: 'java', groupId: g, artifactId: a };
    if (confs) meta.manifest = { configurations: confs };
    packages.push(makePackage({ type: 'maven', namespace: g, name: a, version: v, purl: mavenPurl(g, a, v), locations: [ctx.locate(path, 'lockfile')], foundBy, metadata: meta }));
  }
  return { packages };
}

async function catalog(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  if (ctx.targetKind !== 'dir') return { packages: [] };
  // every pom of the tree, parsed once, so that modules find their parents
  const tree: PomTree = new Map();
  for (const f of ctx.files()) {
    if (posix.basename(f.path) !== 'pom.xml' || f.size > MAX_FILE) continue;
    const buf = await ctx.read(f.path);
    if (buf) tree.set(f.path, projectOf(buf.toString('utf8')));
  }
  const { packages } = await catalogDeclaredFiles(ctx, MAX_FILE, (path, src) => (path.endsWith('.lockfile') ? parseGradleLock(ctx, path, src, foundBy) : parsePom(ctx, path, src, foundBy, tree)));
  return { packages };
}

export const javaDeclaredCataloger: Cataloger = {
  name: 'java-declared',
  version: '2',
  tags: ['language', 'declared', 'directory'],
  selector: { basenames: ['pom.xml', 'gradle.lockfile'], globs: ['**/gradle/dependency-locks/*.lockfile'], maxSize: MAX_FILE },
  catalog: (ctx) => catalog(ctx, 'java-declared'),
};
