/**
 * Licenses from Debian copyright files. Machine-readable ones (DEP-5, copyright-format 1.0):
 * the `License:` short names of Files paragraphs (and of the header), mapped to SPDX ids; older
 * free-form files: the /usr/share/common-licenses/<name> references they make.
 */
import { isSpdxExpression } from '../../model/spdx.js';

const TABLE: Record<string, string> = {
  expat: 'MIT',
  mit: 'MIT',
  'mit/x11': 'MIT',
  x11: 'X11',
  isc: 'ISC',
  zlib: 'Zlib',
  'zlib/libpng': 'Zlib',
  libpng: 'Libpng',
  'libpng-2.0': 'libpng-2.0',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  'bsd-4-clause': 'BSD-4-Clause',
  'bsd-3-clause-cmu': 'BSD-3-Clause',
  '0bsd': '0BSD',
  bsd: 'BSD-3-Clause',
  artistic: 'Artistic-1.0-Perl',
  'artistic-1.0': 'Artistic-1.0',
  'artistic-2.0': 'Artistic-2.0',
  'apache-2.0': 'Apache-2.0',
  apache2: 'Apache-2.0',
  'apache-2': 'Apache-2.0',
  'apache-1.1': 'Apache-1.1',
  'mpl-1.1': 'MPL-1.1',
  'mpl-2.0': 'MPL-2.0',
  'cc0-1.0': 'CC0-1.0',
  cc0: 'CC0-1.0',
  'cc-by-3.0': 'CC-BY-3.0',
  'cc-by-4.0': 'CC-BY-4.0',
  'cc-by-sa-3.0': 'CC-BY-SA-3.0',
  'cc-by-sa-4.0': 'CC-BY-SA-4.0',
  'psf-2': 'PSF-2.0',
  'psf-2.0': 'PSF-2.0',
  python: 'Python-2.0',
  'python-2.0': 'Python-2.0',
  openssl: 'OpenSSL',
  ssleay: 'SSLeay',
  curl: 'curl',
  unlicense: 'Unlicense',
  'bsl-1.0': 'BSL-1.0',
  'boost-1.0': 'BSL-1.0',
  'zpl-2.1': 'ZPL-2.1',
  'ofl-1.1': 'OFL-1.1',
  'sil-ofl-1.1': 'OFL-1.1',
  'epl-1.0': 'EPL-1.0',
  'epl-2.0': 'EPL-2.0',
  'cddl-1.0': 'CDDL-1.0',
  wtfpl: 'WTFPL',
  ftl: 'FTL',
  'ijg': 'IJG',
  'openldap-2.8': 'OLDAP-2.8',
  'gpl': 'GPL-1.0-or-later',
  'lgpl': 'LGPL-2.0-or-later',
  'beerware': 'Beerware',
  'tcl': 'TCL',
  'ruby': 'Ruby',
  'vim': 'Vim',
  'unicode-dfs-2016': 'Unicode-DFS-2016',
  'bzip2-1.0.6': 'bzip2-1.0.6',
  'info-zip': 'Info-ZIP',
  'x11-distribute-modifications-variant': 'X11-distribute-modifications-variant',
  'sleepycat': 'Sleepycat',
  'gpl-2.0-with-openssl-exception': 'GPL-2.0-only WITH openvpn-openssl-exception',
};

const FAMILY: Record<string, string> = { gpl: 'GPL', lgpl: 'LGPL', agpl: 'AGPL', gfdl: 'GFDL' };

/** converted names: an image's copyright files repeat a few dozen licence names hundreds of times */
const converted = new Map<string, string | undefined>();

/** One Debian short license name → an SPDX expression, or undefined. */
export function debianLicenseToSpdx(name: string): string | undefined {
  if (converted.has(name)) return converted.get(name);
  const id = convert(name);
  if (converted.size < 10_000) converted.set(name, id);
  return id;
}

function convert(name: string): string | undefined {
  let n = name.trim().replace(/\s+/g, ' ');
  if (!n) return undefined;
  // "GPL-2+ with OpenSSL exception" and similar: keep the licence, drop the exception text
  n = n.replace(/\s+with\s+.*$/i, '');
  const lower = n.toLowerCase();
  const fam = /^(a?gpl|lgpl|gfdl)[-_ ]?v?(\d+(?:\.\d+)?)(\+|-or-later|-only)?$/.exec(lower);
  if (fam) {
    let ver = fam[2]!;
    if (!ver.includes('.')) ver += '.0';
    const suffix = fam[3] === '+' || fam[3] === '-or-later' ? 'or-later' : 'only';
    const id = `${FAMILY[fam[1]!]}-${ver}-${suffix}`;
    return isSpdxExpression(id) ? id : undefined;
  }
  const mapped = TABLE[lower] ?? TABLE[lower.replace(/\+$/, '')];
  if (mapped && isSpdxExpression(mapped)) return mapped;
  if (isSpdxExpression(n)) return n;
  return undefined;
}

/** SPDX ids named by a copyright file, sorted and unique. */
export function licensesFromCopyright(text: string): string[] {
  const names = new Set<string>();
  const isDep5 = /^Format:\s*\S*(copyright-format|dep5)/im.test(text.slice(0, 2000));
  if (isDep5) {
    // paragraphs: header (has Format:), Files paragraphs, stand-alone License paragraphs
    for (const para of text.split(/\n[ \t]*\n/)) {
      const isFiles = /^Files:/m.test(para);
      const isHeader = /^Format:/m.test(para);
      if (!isFiles && !isHeader) continue;
      const m = /^License:[ \t]*(.*)$/m.exec(para);
      if (!m || !m[1]) continue;
      for (const part of m[1].split(/\s+or\s+|\s+and\s+|\s*,\s*|\s*\|\s*/i)) {
        const id = debianLicenseToSpdx(part.replace(/[()]/g, ''));
        if (id) names.add(id);
      }
    }
  } else {
    const re = /\/usr\/share\/common-licenses\/([A-Za-z0-9.+-]+)/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      const base = m[1]!.replace(/\.$/, '');
      const id = debianLicenseToSpdx(base);
      if (id) names.add(id);
    }
  }
  return [...names].sort();
}
