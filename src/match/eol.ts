/**
 * End of life of distribution releases: after that date the vendor publishes no security fixes, so
 * "no findings" means little. Dates are the end of the vendor's free security support as the vendors
 * announce them (Debian: the end of Debian LTS, since LTS advisories are part of Debian's feed;
 * Ubuntu: end of standard support, not Ubuntu Pro/ESM; RHEL: end of maintenance support).
 * A date given as YYYY-MM was announced with month precision and counts until the month's last day.
 */
import type { Distro } from '../model/package.js';
import { distroEcosystems } from './ecosystems.js';

interface Release {
  eol: string;
  note?: string;
}

const DEBIAN: Record<string, Release> = {
  // https://wiki.debian.org/LTS
  '9': { eol: '2022-06-30', note: 'regular security support ended 2020-07-06' },
  '10': { eol: '2024-06-30', note: 'regular security support ended 2022-09-10' },
  '11': { eol: '2026-08-31', note: 'regular security support ended 2024-08-14' },
  '12': { eol: '2028-06-30', note: 'regular security support ends 2026-06-10' },
};

const UBUNTU: Record<string, Release> = {
  // https://wiki.ubuntu.com/Releases (standard support; Ubuntu Pro extends LTS releases)
  '14.04': { eol: '2019-04-30' },
  '16.04': { eol: '2021-04-30' },
  '18.04': { eol: '2023-05-31' },
  '20.04': { eol: '2025-05-31' },
  '20.10': { eol: '2021-07-22' },
  '21.04': { eol: '2022-01-20' },
  '21.10': { eol: '2022-07-14' },
  '22.04': { eol: '2027-04' },
  '22.10': { eol: '2023-07-20' },
  '23.04': { eol: '2024-01-25' },
  '23.10': { eol: '2024-07-11' },
  '24.04': { eol: '2029-04' },
  '24.10': { eol: '2025-07-10' },
  '25.04': { eol: '2026-01' },
};

const ALPINE: Record<string, Release> = {
  // https://alpinelinux.org/releases/
  '3.10': { eol: '2021-05-01' },
  '3.11': { eol: '2021-11-01' },
  '3.12': { eol: '2022-05-01' },
  '3.13': { eol: '2022-11-01' },
  '3.14': { eol: '2023-05-01' },
  '3.15': { eol: '2023-11-01' },
  '3.16': { eol: '2024-05-23' },
  '3.17': { eol: '2024-11-22' },
  '3.18': { eol: '2025-05-09' },
  '3.19': { eol: '2025-11-01' },
  '3.20': { eol: '2026-04-01' },
  '3.21': { eol: '2026-11-01' },
};

const RHEL: Record<string, Release> = {
  // https://access.redhat.com/support/policy/updates/errata (end of maintenance support)
  '7': { eol: '2024-06-30', note: 'extended life cycle support is sold separately' },
  '8': { eol: '2029-05-31' },
  '9': { eol: '2032-05-31' },
};
const ALMA: Record<string, Release> = {
  // https://wiki.almalinux.org/release-notes/ (security support)
  '8': { eol: '2029-03-01' },
  '9': { eol: '2032-05-31' },
};
const ROCKY: Record<string, Release> = {
  // https://wiki.rockylinux.org/rocky/version/
  '8': { eol: '2029-05-31' },
  '9': { eol: '2032-05-31' },
};
const CENTOS: Record<string, Release> = {
  '6': { eol: '2020-11-30' },
  '7': { eol: '2024-06-30' },
  '8': { eol: '2021-12-31' },
};
const CENTOS_STREAM: Record<string, Release> = {
  '8': { eol: '2024-05-31' },
  '9': { eol: '2027-05-31' },
};

export interface DistroStatus {
  /** the distribution's advisory ecosystem ("Debian:12"), or "<id>:<version>" when it has none */
  ecosystem: string;
  supported: boolean;
  /** YYYY-MM-DD, the last day of support */
  eolDate?: string;
  message?: string;
}

/** "2027-04" → "2027-04-30"; full dates unchanged. */
function lastDay(d: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(d)) return d;
  const [y, m] = d.split('-').map(Number) as [number, number];
  const day = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return `${d}-${String(day).padStart(2, '0')}`;
}

function releaseOf(distro: Distro): { table: Record<string, Release>; key: string; label: string } | undefined {
  const v = distro.versionId ?? '';
  const maj = /^(\d+)/.exec(v)?.[1] ?? '';
  const mm = /^(\d+\.\d+)/.exec(v)?.[1] ?? '';
  switch (distro.id) {
    case 'debian':
      return { table: DEBIAN, key: maj, label: `Debian ${maj}` };
    case 'ubuntu':
      return { table: UBUNTU, key: mm, label: `Ubuntu ${mm}` };
    case 'alpine':
      return { table: ALPINE, key: mm, label: `Alpine ${mm}` };
    case 'rhel':
      return { table: RHEL, key: maj, label: `Red Hat Enterprise Linux ${maj}` };
    case 'almalinux':
      return { table: ALMA, key: maj, label: `AlmaLinux ${maj}` };
    case 'rocky':
      return { table: ROCKY, key: maj, label: `Rocky Linux ${maj}` };
    case 'centos': {
      const stream = /stream/i.test(`${distro.name ?? ''} ${distro.prettyName ?? ''}`);
      return stream
        ? { table: CENTOS_STREAM, key: maj, label: `CentOS Stream ${maj}` }
        : { table: CENTOS, key: maj, label: `CentOS Linux ${maj}` };
    }
    default:
      return undefined;
  }
}

/** Whether a distribution release still gets security fixes at `now`. Unknown releases count as supported, with a message. */
export function distroStatus(distro: Distro, now: Date): DistroStatus {
  const ecosystem = distroEcosystems(distro, [])?.primary ?? `${distro.id}:${distro.versionId ?? ''}`;
  const rel = releaseOf(distro);
  const known = rel && rel.key ? rel.table[rel.key] : undefined;
  if (!rel || !known) {
    return { ecosystem, supported: true, message: `no end-of-life date known for ${distro.id} ${distro.versionId ?? '(no version)'}` };
  }
  const eolDate = lastDay(known.eol);
  const supported = now.toISOString().slice(0, 10) <= eolDate;
  const note = known.note ? ` (${known.note})` : '';
  const message = supported
    ? `${rel.label} is supported until ${eolDate}${note}`
    : `${rel.label} reached end of life on ${eolDate}${note}; it receives no security fixes and findings may be missing`;
  return { ecosystem, supported, eolDate, message };
}
