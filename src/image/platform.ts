/**
 * Platforms (os/arch[/variant]) and picking a manifest of an index for one.
 * Normalisation follows containerd's rules: aliases (x86_64, aarch64, ...), arm64 defaults to
 * variant v8, arm to v7, amd64's v1 is no variant.
 */
import { DrydockError } from '../core/errors.js';
import type { Descriptor, ImageIndex, Platform } from './types.js';
import { byString } from '../core/compare.js';

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  x64: { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  ia32: { architecture: '386' },
  x32: { architecture: '386' },
  ppc64el: { architecture: 'ppc64le' },
  mipsel: { architecture: 'mipsle' },
  mips64el: { architecture: 'mips64le' },
};

const COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;

/** Parses os/arch[/variant]; "linux/arm64/v8", "linux/amd64". */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '' || !COMPONENT_RE.test(p))) {
    throw new DrydockError('PLATFORM_INVALID', `invalid platform ${JSON.stringify(s.slice(0, 100))}: expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  const p: Platform = { os: os.toLowerCase(), architecture: architecture.toLowerCase() };
  if (variant !== undefined) p.variant = variant.toLowerCase();
  return p;
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/** The platform of this machine as an image platform (always linux: images are linux images). */
export function hostPlatform(): Platform {
  switch (process.arch) {
    case 'x64':
      return { os: 'linux', architecture: 'amd64' };
    case 'arm64':
      return { os: 'linux', architecture: 'arm64', variant: 'v8' };
    case 'arm': {
      const v = (process.config.variables as unknown as Record<string, unknown>).arm_version;
      return { os: 'linux', architecture: 'arm', variant: typeof v === 'string' && /^[5-8]$/.test(v) ? `v${v}` : 'v7' };
    }
    case 'ia32':
      return { os: 'linux', architecture: '386' };
    case 'ppc64':
      return { os: 'linux', architecture: os_endianness() === 'LE' ? 'ppc64le' : 'ppc64' };
    case 'mipsel':
      return { os: 'linux', architecture: 'mipsle' };
    default:
      return { os: 'linux', architecture: process.arch };
  }
}

function os_endianness(): 'LE' | 'BE' {
  const b = new Uint8Array(new Uint16Array([1]).buffer);
  return b[0] === 1 ? 'LE' : 'BE';
}

/** Canonical form: aliases resolved, default variants filled in (arm64→v8, arm→v7), amd64/v1 → amd64. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() || undefined;
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    variant ??= alias.variant;
  }
  if (architecture === 'arm64') {
    if (variant === undefined || variant === '8' || variant === 'v8') variant = 'v8';
  } else if (architecture === 'arm') {
    if (variant === undefined) variant = 'v7';
    else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
  } else if (architecture === 'amd64') {
    if (variant === 'v1') variant = undefined;
  }
  const out: Platform = { os, architecture };
  if (variant !== undefined) out.variant = variant;
  return out;
}

/**
 * True when an image of platform `have` serves a request for `want`. A `want` without a
 * variant accepts an amd64 image of any variant; otherwise variants compare normalised.
 */
export function platformMatches(want: Platform, have: Platform): boolean {
  const w = normalizePlatform(want);
  const h = normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  if (w.variant === h.variant) return true;
  return want.variant === undefined && w.architecture === 'amd64';
}

const ATTESTATION_REF_TYPE = 'vnd.docker.reference.type';

/** An attestation manifest of a buildx index (unknown/unknown, reference type annotation). */
export function isAttestationDescriptor(d: Descriptor): boolean {
  if (d.annotations?.[ATTESTATION_REF_TYPE] === 'attestation-manifest') return true;
  return d.platform?.os === 'unknown' && d.platform.architecture === 'unknown';
}

/**
 * Picks the manifest of `index` for platform `want`. Throws PLATFORM_NOT_FOUND listing the
 * platforms the index offers. `name` names the image in the message.
 */
export function selectFromIndex(index: ImageIndex, want: Platform, name: string): Descriptor {
  const candidates = index.manifests.filter((d) => !isAttestationDescriptor(d));
  const withPlatform = candidates.filter((d) => d.platform !== undefined);
  const exact = withPlatform.filter((d) => {
    const w = normalizePlatform(want);
    const h = normalizePlatform(d.platform as Platform);
    return w.os === h.os && w.architecture === h.architecture && w.variant === h.variant;
  });
  if (exact[0]) return exact[0];
  const loose = withPlatform.filter((d) => platformMatches(want, d.platform as Platform));
  if (loose.length > 0) {
    // prefer the lowest variant (most compatible): amd64 before amd64/v3
    loose.sort((a, b) => byString(a.platform?.variant ?? '', b.platform?.variant ?? ''));
    return loose[0] as Descriptor;
  }
  // an index with a single entry that declares no platform: the config will tell
  if (withPlatform.length === 0 && candidates.length === 1) return candidates[0] as Descriptor;
  const available = [...new Set(withPlatform.map((d) => formatPlatform(d.platform as Platform)))].sort();
  throw new DrydockError(
    'PLATFORM_NOT_FOUND',
    `${name}: no manifest for platform ${formatPlatform(want)}; available: ${available.length ? available.join(', ') : 'none'}`,
    { details: { wanted: formatPlatform(want), available } },
  );
}
