/**
 * Distribution detection: os-release (freedesktop.org format: KEY=value lines, shell-style
 * quoting and backslash escapes, comments) with fallbacks to the older release files.
 */
import type { FileSelector } from '../layers/types.js';
import type { Distro } from '../model/package.js';

const OS_RELEASE = ['/etc/os-release', '/usr/lib/os-release'];
const FALLBACKS = [
  '/etc/alpine-release',
  '/etc/debian_version',
  '/etc/redhat-release',
  '/etc/centos-release',
  '/etc/fedora-release',
  '/etc/system-release',
  '/etc/SuSE-release',
  '/etc/lsb-release',
];

export const DISTRO_SELECTOR: FileSelector = {
  id: 'distro',
  version: '1',
  paths: [...OS_RELEASE, ...FALLBACKS],
  maxSize: 64 * 1024,
};

/** Parses os-release content into a key/value map (unknown keys kept). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) continue;
    out[key] = unquote(line.slice(eq + 1));
  }
  return out;
}

/** Shell-like value: "double" (\\ \" \$ \` escapes), 'single', or bare with backslash escapes. */
function unquote(v: string): string {
  let out = '';
  let i = 0;
  while (i < v.length) {
    const c = v[i]!;
    if (c === '"') {
      i++;
      while (i < v.length && v[i] !== '"') {
        if (v[i] === '\\' && i + 1 < v.length && '\\"$`'.includes(v[i + 1]!)) {
          out += v[i + 1];
          i += 2;
        } else out += v[i++];
      }
      i++;
    } else if (c === "'") {
      i++;
      while (i < v.length && v[i] !== "'") out += v[i++];
      i++;
    } else if (c === '\\' && i + 1 < v.length) {
      out += v[i + 1];
      i += 2;
    } else if (c === '#' && /\s$/.test(out)) {
      break; // trailing comment after whitespace
    } else out += v[i++];
  }
  return out.trim();
}

function fromOsRelease(kv: Record<string, string>, source: string): Distro | undefined {
  const id = kv.ID?.toLowerCase();
  if (!id) return undefined;
  const d: Distro = { id, idLike: (kv.ID_LIKE ?? '').split(/\s+/).filter(Boolean).map((s) => s.toLowerCase()), source };
  if (kv.VERSION_ID) d.versionId = kv.VERSION_ID;
  const codename = kv.VERSION_CODENAME ?? kv.UBUNTU_CODENAME;
  if (codename) d.versionCodename = codename;
  if (kv.PRETTY_NAME) d.prettyName = kv.PRETTY_NAME;
  if (kv.NAME) d.name = kv.NAME;
  if (kv.CPE_NAME) d.cpeName = kv.CPE_NAME;
  // Debian testing/sid have no VERSION_ID; "VERSION=..." sometimes carries it
  if (!d.versionId && kv.VERSION) {
    const m = /^(\d+(?:\.\d+)*)/.exec(kv.VERSION);
    if (m) d.versionId = m[1];
  }
  return d;
}

const RELEASE_LINE: [RegExp, string][] = [
  [/^Red Hat Enterprise Linux.*?release\s+(\d+(?:\.\d+)*)/i, 'rhel'],
  [/^CentOS Stream.*?release\s+(\d+(?:\.\d+)*)/i, 'centos'],
  [/^CentOS.*?release\s+(\d+(?:\.\d+)*)/i, 'centos'],
  [/^Fedora.*?release\s+(\d+)/i, 'fedora'],
  [/^Rocky Linux.*?release\s+(\d+(?:\.\d+)*)/i, 'rocky'],
  [/^AlmaLinux.*?release\s+(\d+(?:\.\d+)*)/i, 'almalinux'],
  [/^Oracle Linux.*?release\s+(\d+(?:\.\d+)*)/i, 'ol'],
  [/^Amazon Linux.*?release\s+(\d+(?:\.\d+)*)/i, 'amzn'],
];

/**
 * Detects the distribution. `read` returns a file's content from the squashed view
 * (undefined when absent). os-release wins; release files are fallbacks.
 */
export async function detectDistro(read: (path: string) => Promise<Buffer | undefined>): Promise<Distro | undefined> {
  for (const p of OS_RELEASE) {
    const b = await read(p);
    if (!b) continue;
    const d = fromOsRelease(parseOsRelease(b.toString('utf8')), p);
    if (d) return d;
  }
  const text = async (p: string): Promise<string | undefined> => (await read(p))?.toString('utf8').trim();

  const alpine = await text('/etc/alpine-release');
  if (alpine) return { id: 'alpine', versionId: alpine.split(/\s+/)[0], idLike: [], prettyName: `Alpine Linux v${alpine}`, source: '/etc/alpine-release' };

  for (const p of ['/etc/redhat-release', '/etc/centos-release', '/etc/fedora-release', '/etc/system-release']) {
    const t = await text(p);
    if (!t) continue;
    const first = t.split('\n')[0]!.trim();
    for (const [re, id] of RELEASE_LINE) {
      const m = re.exec(first);
      if (m) return { id, versionId: m[1], idLike: id === 'fedora' ? [] : ['rhel', 'fedora'], prettyName: first, source: p };
    }
  }

  const suse = await text('/etc/SuSE-release');
  if (suse) {
    const version = /VERSION\s*=\s*([\d.]+)/.exec(suse)?.[1];
    const patch = /PATCHLEVEL\s*=\s*(\d+)/.exec(suse)?.[1];
    const first = suse.split('\n')[0]!.trim();
    const id = /opensuse/i.test(first) ? 'opensuse' : 'sles';
    const d: Distro = { id, idLike: ['suse'], prettyName: first, source: '/etc/SuSE-release' };
    if (version) d.versionId = patch && !version.includes('.') ? `${version}.${patch}` : version;
    return d;
  }

  const lsb = await text('/etc/lsb-release');
  if (lsb) {
    const kv = parseOsRelease(lsb);
    if (kv.DISTRIB_ID) {
      const d: Distro = { id: kv.DISTRIB_ID.toLowerCase(), idLike: [], source: '/etc/lsb-release' };
      if (kv.DISTRIB_RELEASE) d.versionId = kv.DISTRIB_RELEASE;
      if (kv.DISTRIB_CODENAME) d.versionCodename = kv.DISTRIB_CODENAME;
      if (kv.DISTRIB_DESCRIPTION) d.prettyName = kv.DISTRIB_DESCRIPTION;
      return d;
    }
  }

  const deb = await text('/etc/debian_version');
  if (deb) {
    const v = deb.split('\n')[0]!.trim();
    const d: Distro = { id: 'debian', idLike: [], prettyName: `Debian GNU/Linux ${v}`, source: '/etc/debian_version' };
    const m = /^(\d+)/.exec(v);
    if (m) d.versionId = m[1];
    else if (v.includes('/')) d.versionCodename = v.split('/')[0];
    return d;
  }
  return undefined;
}
