/**
 * What /proc says about a process: its mounts (proc(5), /proc/PID/mountinfo) and its root
 * directory as the host sees it (/proc/PID/root). Reads only; never follows a path of the process.
 */
import { readFile, stat } from 'node:fs/promises';
import { DrydockError } from '../core/errors.js';

export interface MountInfo {
  mountId: number;
  parentId: number;
  /** major:minor of the mounted filesystem */
  device: string;
  /** the directory of the filesystem that forms the root of this mount */
  root: string;
  /** the mount point, relative to the process's root */
  mountPoint: string;
  fstype: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal (proc(5)). */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses /proc/PID/mountinfo; malformed lines are skipped. */
export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    // 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 6 || right.length < 2) continue;
    const mountId = Number(left[0]);
    const parentId = Number(left[1]);
    if (!Number.isInteger(mountId) || !Number.isInteger(parentId)) continue;
    out.push({
      mountId,
      parentId,
      device: left[2]!,
      root: unescapeOctal(left[3]!),
      mountPoint: unescapeOctal(left[4]!),
      fstype: right[0]!,
      source: unescapeOctal(right[1]!),
    });
  }
  return out;
}

/** Parses a pid: a positive decimal integer, nothing else. */
export function parsePid(s: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(s)) throw new DrydockError('TARGET_INVALID', `invalid process id ${JSON.stringify(s)} (proc://PID takes a positive decimal number)`);
  return Number(s);
}

export function procRoot(pid: number): string {
  return `/proc/${pid}/root`;
}

/** The mounts of a process, sorted by mount point. RUNTIME_UNAVAILABLE when the process is gone. */
export async function readMounts(pid: number): Promise<MountInfo[]> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/mountinfo`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw new DrydockError('RUNTIME_UNAVAILABLE', `process ${pid} does not exist (no /proc/${pid}/mountinfo)`, { cause: e });
    throw new DrydockError('IO_ERROR', `cannot read /proc/${pid}/mountinfo: ${(e as Error).message}`, { cause: e });
  }
  return parseMountinfo(text).sort((a, b) => (a.mountPoint < b.mountPoint ? -1 : a.mountPoint > b.mountPoint ? 1 : a.mountId - b.mountId));
}

/** The device number (st_dev) of a process's root directory, resolved by the kernel (the magic link). */
export async function rootDevice(pid: number): Promise<{ dev: number; ino: number }> {
  try {
    const st = await stat(`${procRoot(pid)}/`);
    return { dev: st.dev, ino: st.ino };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw new DrydockError('RUNTIME_UNAVAILABLE', `process ${pid} does not exist (no /proc/${pid}/root)`, { cause: e });
    throw new DrydockError('IO_ERROR', `cannot read the root of process ${pid}: ${(e as Error).message}`, { cause: e });
  }
}
