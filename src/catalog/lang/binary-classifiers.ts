/**
 * Runtime classifiers: runtimes installed without a package manager (copied tarballs, official
 * images' /usr/local builds), recognised by version strings inside well-known files. Each
 * classifier names the paths it looks at and a bounded scan: find a literal anchor with
 * Buffer.indexOf (at most MAX_HITS times), then match a regular expression on a small window.
 *
 * A classifier cannot see other catalogers' results, so it reports every hit with
 * `metadata: {kind: 'generic', classifier, path}`; the orchestrator drops classifier findings
 * whose path an OS package owns (a distro's python3 is reported by dpkg/rpm/apk, not here).
 */
import { globToRegExpSource } from '../../layers/selectors.js';
import type { Package } from '../../model/package.js';
import type { CatalogContext, Cataloger, CatalogerResult } from '../types.js';
import { bad, makePackage, posixBasename, posixDirname } from './common.js';
import { parseModInfo, readGoBuildInfo } from './golang.js';
import { packageUrl } from '../../model/purl.js';

const MAX_FILE = 256 * 1024 * 1024;
const MAX_HITS = 2000;
const WINDOW = 160;

export interface Classification {
  /** package name (purl pkg:generic/<name>) */
  name: string;
  version: string;
  /** the matched text, for the evidence */
  match: string;
  cpe?: string;
  extra?: Record<string, unknown>;
}

export interface BinaryClassifier {
  /** classifier id, stored in metadata.classifier */
  id: string;
  globs: string[];
  classify(path: string, b: Buffer, exists: (p: string) => boolean): Classification | undefined;
}

/** First match of `re` (anchored at the hit, sticky) in a window around each occurrence of `anchor`. */
export function scan(b: Buffer, anchor: string | Buffer, re: RegExp, opts: { before?: number; accept?: (m: RegExpExecArray) => boolean } = {}): RegExpExecArray | undefined {
  const a = typeof anchor === 'string' ? Buffer.from(anchor, 'latin1') : anchor;
  const before = opts.before ?? 0;
  const sticky = new RegExp(re.source, re.flags.includes('y') ? re.flags : `${re.flags}y`);
  let hits = 0;
  for (let i = b.indexOf(a); i >= 0 && hits < MAX_HITS; i = b.indexOf(a, i + 1), hits++) {
    const start = Math.max(0, i - before);
    const win = b.toString('latin1', start, Math.min(b.length, i + a.length + WINDOW));
    sticky.lastIndex = i - start;
    const m = sticky.exec(win);
    if (m && (!opts.accept || opts.accept(m))) return m;
  }
  return undefined;
}

const cpe = (vendor: string, product: string, version: string) => `cpe:2.3:a:${vendor}:${product}:${version}:*:*:*:*:*:*:*`;
const printable = (s: string) => s.replace(/[^\x20-\x7e]/g, '.');

export const CLASSIFIERS: BinaryClassifier[] = [
  {
    id: 'node-binary',
    globs: ['**/bin/node', '**/bin/nodejs'],
    classify(_path, b) {
      const m = scan(b, 'node.js/v', /node\.js\/v(\d+\.\d+\.\d+)/) ?? scan(b, '/release/v', /\/release\/v(\d+\.\d+\.\d+)\/node-v\1/);
      return m ? { name: 'node', version: m[1]!, match: m[0], cpe: cpe('nodejs', 'node.js', m[1]!) } : undefined;
    },
  },
  {
    id: 'python-binary',
    globs: ['**/bin/python3*', '**/bin/python2*', '**/libpython3*.so*', '**/libpython2*.so*'],
    classify(path, b) {
      const base = posixBasename(path);
      if (/-config$|\.py$/.test(base)) return undefined;
      // python3.11 / libpython3.11.so.1.0 name the minor version: only accept that one
      const mm = /python(\d\.\d+)/.exec(base)?.[1];
      const anchor = Buffer.from(`\0${mm ? `${mm}.` : base.includes('python2') ? '2.' : '3.'}`, 'latin1');
      const m = scan(b, anchor, /\x00([23]\.\d+\.\d+(?:(?:a|b|rc)\d+)?\+?)\x00/);
      return m ? { name: 'python', version: m[1]!, match: printable(m[1]!), cpe: cpe('python', 'python', m[1]!) } : undefined;
    },
  },
  {
    id: 'jdk-release',
    globs: ['**/release'],
    classify(_path, b) {
      if (b.length > 64 * 1024) return undefined;
      const t = b.toString('utf8');
      const m = /^JAVA_VERSION="([0-9][0-9._+a-z-]*)"/m.exec(t);
      if (!m) return undefined;
      const extra: Record<string, unknown> = {};
      const impl = /^IMPLEMENTOR="([^"\n]{1,200})"/m.exec(t)?.[1];
      if (impl) extra.implementor = impl;
      const rt = /^JAVA_RUNTIME_VERSION="([^"\n]{1,100})"/m.exec(t)?.[1];
      if (rt) extra.runtimeVersion = rt;
      const image = /^IMAGE_TYPE="([^"\n]{1,20})"/m.exec(t)?.[1];
      if (image) extra.imageType = image;
      const out: Classification = { name: 'openjdk', version: m[1]!, match: m[0], cpe: cpe('oracle', impl === 'Oracle Corporation' && !/OpenJDK/.test(t) ? 'jdk' : 'openjdk', m[1]!) };
      if (Object.keys(extra).length) out.extra = extra;
      return out;
    },
  },
  {
    id: 'go-distribution',
    globs: ['**/go/VERSION', '**/bin/go'],
    classify(path, b, exists) {
      if (path.endsWith('/VERSION')) {
        if (b.length > 4096) return undefined;
        const m = /^go(\d+\.\d+(?:\.\d+)?(?:rc\d+|beta\d+)?)\s*(?:\n|$)/.exec(b.toString('latin1'));
        return m ? { name: 'go', version: m[1]!, match: m[0].trim(), cpe: cpe('golang', 'go', m[1]!) } : undefined;
      }
      // <goroot>/bin/go next to <goroot>/VERSION: the VERSION file already reports it
      if (exists(`${posixDirname(posixDirname(path))}/VERSION`)) return undefined;
      const info = readGoBuildInfo(b);
      const m = info && /^go(\d+\.\d+(?:\.\d+)?(?:rc\d+|beta\d+)?)$/.exec(info.goVersion.split(/\s/)[0]!);
      if (!info || !m || parseModInfo(info.modInfo).path !== 'cmd/go') return undefined;
      return { name: 'go', version: m[1]!, match: `${info.goVersion} cmd/go`, cpe: cpe('golang', 'go', m[1]!) };
    },
  },
  {
    id: 'openssl-binary',
    globs: ['**/libssl.so*', '**/libcrypto.so*', '**/bin/openssl'],
    classify(_path, b) {
      const m = scan(b, 'OpenSSL ', /OpenSSL (\d+\.\d+\.\d+[a-z]{0,2})(?:-[\w.+~-]{1,40})? +\d{1,2} [A-Z][a-z]{2} \d{4}/);
      return m ? { name: 'openssl', version: m[1]!, match: m[0], cpe: cpe('openssl', 'openssl', m[1]!) } : undefined;
    },
  },
  {
    id: 'busybox-binary',
    globs: ['**/bin/busybox'],
    classify(_path, b) {
      const m = scan(b, 'BusyBox v', /BusyBox v(\d+\.\d+\.\d+)/);
      return m ? { name: 'busybox', version: m[1]!, match: m[0], cpe: cpe('busybox', 'busybox', m[1]!) } : undefined;
    },
  },
];

const COMPILED = CLASSIFIERS.map((c) => ({ c, res: c.globs.map((g) => new RegExp(`^${globToRegExpSource(g)}$`, 's')) }));

/** The classifiers whose globs match `path`. */
export function classifiersFor(path: string): BinaryClassifier[] {
  return COMPILED.filter(({ res }) => res.some((r) => r.test(path))).map(({ c }) => c);
}

async function catalogBinaries(ctx: CatalogContext, foundBy: string): Promise<CatalogerResult> {
  const packages: Package[] = [];
  const exists = (p: string) => ctx.fs.stat(p) !== undefined;
  const candidates = ctx.files().flatMap((f) => {
    const cs = f.type === 'file' ? classifiersFor(f.path) : [];
    return cs.length ? [{ f, cs }] : [];
  });
  // a finding in a file an OS package installed is that package, which the OS cataloger reported
  // with better data (the orchestrator drops such findings): those files are not read at all
  const owned = ctx.ownedByOsPackages?.(candidates.map(({ f }) => f.path)) ?? new Set<string>();
  for (const { f, cs } of candidates) {
    if (owned.has(f.path)) continue;
    const b = await ctx.read(f.path);
    if (!b) continue;
    for (const c of cs) {
      let r: Classification | undefined;
      try {
        r = c.classify(f.path, b, exists);
      } catch (e) {
        bad(ctx, f.path, `${c.id}: ${(e as Error).message}`);
        continue;
      }
      if (!r) continue;
      const pkg = makePackage({
        type: 'binary',
        name: r.name,
        version: r.version,
        purl: packageUrl('generic', undefined, r.name, r.version),
        locations: [ctx.locate(f.path, c.id === 'jdk-release' || f.path.endsWith('/VERSION') ? 'evidence' : 'binary')],
        foundBy,
        metadata: { kind: 'generic', classifier: c.id, path: f.path, ...(r.extra ?? {}) },
      });
      if (r.cpe) pkg.cpes = [r.cpe];
      pkg.evidence = [`${f.path}: ${r.match}`];
      packages.push(pkg);
      break;
    }
  }
  return { packages };
}

export const binaryClassifierCataloger: Cataloger = {
  name: 'binary-classifier',
  version: '1',
  tags: ['binary', 'installed', 'image', 'directory'],
  selector: { globs: CLASSIFIERS.flatMap((c) => c.globs), maxSize: MAX_FILE },
  catalog: (ctx) => catalogBinaries(ctx, 'binary-classifier'),
};
