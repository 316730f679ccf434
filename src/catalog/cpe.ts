/**
 * CPE 2.3 names derived from what a package says about itself, for tools that match by CPE
 * (Dependency-Track's NVD analyzer, for one). Formatted-string binding of NISTIR 7695 §6.2:
 * `cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other`,
 * with every character other than letters, digits, `_`, `-` and `.` quoted by a backslash.
 *
 * Derived names are guesses of the vendor and product NVD would use: one name per package, from
 * the ecosystem's own coordinates (the source package of OS packages, the Maven group, the Go
 * module path, the Composer vendor, the npm scope), with the upstream version (no epoch, no
 * distribution revision). A cataloger that knows better (a file classifier) sets its own CPEs,
 * which are kept.
 */
import type { Package } from '../model/package.js';
import { parseDeb } from '../version/deb.js';
import { parseRpm } from '../version/rpm.js';

/**
 * One attribute value in the formatted-string binding; empty → ANY (`*`). Undefined for values
 * the binding cannot carry (spaces, control and non-ASCII characters).
 */
export function cpeValue(s: string): string | undefined {
  if (s === '' || s === '*') return '*';
  if (s === '-') return '-';
  if (/[^\x21-\x7e]/.test(s)) return undefined;
  return s.replace(/[^A-Za-z0-9_.-]/g, (c) => `\\${c}`);
}

/** `cpe:2.3:a:vendor:product:version:*:*:*:*:target_sw:*:*`, undefined when a value cannot be bound */
export function formatCpe(vendor: string, product: string, version: string, targetSw = ''): string | undefined {
  const parts = [vendor.toLowerCase(), product.toLowerCase(), version, '', '', '', '', targetSw.toLowerCase(), '', ''].map(cpeValue);
  return parts.every((x) => x !== undefined) ? `cpe:2.3:a:${parts.join(':')}` : undefined;
}

/**
 * "1:2.36-9+deb12u4" → "2.36"; "3.0.15-1~deb12u1" → "3.0.15"; "1.2.3+dfsg-1" → "1.2.3" (a repacked
 * upstream tarball is the same release); a native package keeps its version.
 */
export function debianUpstreamVersion(v: string): string {
  const upstream = parseOr(parseDeb, v)?.upstream ?? v;
  return upstream.replace(/[+~](?:dfsg|ds|repack)\d*(?:[.+~].*)?$/i, '') || upstream;
}

/** `parse(v)`, or undefined for a version its scheme does not accept */
function parseOr<T>(parse: (v: string) => T, v: string): T | undefined {
  try {
    return parse(v);
  } catch {
    return undefined;
  }
}

/** "1.36.1-r5" → "1.36.1" */
function apkUpstreamVersion(v: string): string {
  return v.replace(/-r\d+$/, '');
}

/** "openssl-3.0.7-24.el9.src.rpm" → "openssl" (name-version-release.src.rpm) */
export function rpmSourceName(srpm: string): string | undefined {
  const m = /^(.+)-[^-]+-[^-]+\.(?:no)?src\.rpm$/.exec(srpm);
  return m?.[1];
}

/** Maven group → the vendor NVD tends to use: org.apache.logging.log4j → apache, io.netty → netty */
function mavenVendor(group: string): string {
  const parts = group.split('.').filter(Boolean);
  if (parts.length >= 2 && /^(org|com|io|net|dev|edu|de|fr|uk|ch|nl|me|co)$/.test(parts[0]!)) return parts[1]!;
  return parts[0] ?? group;
}

/** Go module path → vendor and product: github.com/gin-gonic/gin → gin-gonic, gin; golang.org/x/net → golang, net */
function goVendorProduct(path: string): [string, string] | undefined {
  if (path === 'stdlib') return ['golang', 'go'];
  const parts = path.split('/');
  const host = parts[0] ?? '';
  if (host === 'golang.org' && parts[1] === 'x' && parts[2]) return ['golang', parts[2]];
  if (parts.length >= 3 && /^(github\.com|gitlab\.com|bitbucket\.org)$/.test(host)) {
    const repo = parts[2]!;
    return [parts[1]!, /^v\d+$/.test(repo) ? parts[1]! : repo];
  }
  if (parts.length >= 2) {
    // other hosts (k8s.io/client-go, go.uber.org/zap): the host's first label, the last path element
    const last = parts.filter((p) => !/^v\d+$/.test(p)).at(-1)!;
    return [host.split('.')[0]!, last];
  }
  return undefined;
}

/** The CPE names to report for a package that has none: at most one, empty when nothing fits. */
export function deriveCpes(p: Package): string[] {
  const m = p.metadata;
  const name = p.name;
  let vendor: string | undefined;
  let product: string | undefined;
  let version = p.version;
  let target = '';
  switch (p.type) {
    case 'deb': {
      const src = m?.kind === 'dpkg' && m.source ? m.source : name;
      const srcVersion = m?.kind === 'dpkg' && m.sourceVersion ? m.sourceVersion : p.version;
      vendor = product = src;
      version = debianUpstreamVersion(srcVersion);
      break;
    }
    case 'apk': {
      vendor = product = m?.kind === 'apk' && m.origin ? m.origin : name;
      version = apkUpstreamVersion(p.version);
      break;
    }
    case 'rpm': {
      const src = m?.kind === 'rpm' && m.sourceRpm ? rpmSourceName(m.sourceRpm) : undefined;
      vendor = product = src ?? name;
      // epoch:version-release → version
      version = parseOr(parseRpm, p.version)?.version ?? p.version;
      break;
    }
    case 'npm':
      vendor = p.namespace ?? name;
      product = name;
      target = 'node.js';
      break;
    case 'pypi':
      vendor = product = name.toLowerCase().replace(/[-_.]+/g, '_');
      target = 'python';
      break;
    case 'gem':
      vendor = product = name;
      target = 'ruby';
      break;
    case 'cargo':
      vendor = product = name;
      target = 'rust';
      break;
    case 'nuget':
      vendor = product = name;
      break;
    case 'composer':
      vendor = p.namespace ?? name;
      product = name;
      break;
    case 'maven': {
      const group = p.namespace ?? (m?.kind === 'java' ? m.groupId : undefined);
      vendor = group ? mavenVendor(group) : name;
      product = name;
      break;
    }
    case 'golang': {
      const vp = goVendorProduct(name);
      if (vp) [vendor, product] = vp;
      version = version.replace(/^v/, '').replace(/^go/, '');
      break;
    }
    default:
      return [];
  }
  if (!vendor || !product || !version || version === '(devel)' || /^v?0\.0\.0-\d{14}-[0-9a-f]{12}$/.test(p.version)) return [];
  const cpe = formatCpe(vendor, product, version, target);
  return cpe ? [cpe] : [];
}

/** Fills in derived CPEs where a package has none. */
export function addDerivedCpes(packages: Package[]): void {
  for (const p of packages) {
    if (p.cpes?.length) continue;
    const c = deriveCpes(p);
    if (c.length) p.cpes = c;
  }
}
