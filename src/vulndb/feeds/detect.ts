/** Tells a feed's kind from its content (and, for YAML, its file name). */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { gunzipSync, constants as zc } from 'node:zlib';
import { DrydockError } from '../../core/errors.js';
import type { FeedKind } from './types.js';

export interface Detected {
  kind: FeedKind;
  gzip: boolean;
}

const SNIFF = 64 * 1024;

function head(file: string): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(SNIFF);
    const n = readSync(fd, buf, 0, SNIFF, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

export function sniffText(text: string, file: string): FeedKind | undefined {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  if (t.startsWith('#model_version') || /^cve,epss/i.test(t)) return 'epss';
  if (/\.ya?ml$/i.test(file)) return 'osv-json';
  if (!t.startsWith('{')) return undefined;
  if (t.includes('"cveID"') || t.includes('"catalogVersion"')) return 'kev';
  if (t.includes('"NVD_CVE"') || (t.includes('"vulnerabilities"') && /"cve"\s*:/.test(t))) return 'nvd';
  if (t.includes('"distroversion"') || t.includes('"secfixes"')) return 'alpine-secdb';
  if (/"id"\s*:/.test(t) && /"modified"\s*:/.test(t)) return 'osv-json';
  return undefined;
}

export function detectFeed(file: string): Detected {
  let st;
  try {
    st = statSync(file);
  } catch (cause) {
    throw new DrydockError('IO_ERROR', `feed ${file} cannot be read`, { cause });
  }
  if (st.isDirectory()) return { kind: 'osv-dir', gzip: false };
  const h = head(file);
  if (h.length >= 4 && h[0] === 0x50 && h[1] === 0x4b && (h[2] === 3 || h[2] === 5) && (h[3] === 4 || h[3] === 6)) {
    return { kind: 'osv-zip', gzip: false };
  }
  if (h.toString('latin1', 0, 16) === 'SQLite format 3\0') return { kind: 'drydock-db', gzip: false };
  if (h.length >= 2 && h[0] === 0x1f && h[1] === 0x8b) {
    let inner: Buffer;
    try {
      // a prefix of a gzip stream: ask zlib for what it can give without requiring the end
      inner = gunzipSync(h, { finishFlush: zc.Z_SYNC_FLUSH });
    } catch (cause) {
      throw new DrydockError('FEED_INVALID', `feed ${file} is not a valid gzip stream`, { cause });
    }
    const kind = sniffText(inner.toString('utf8'), file.replace(/\.gz$/i, ''));
    if (!kind || kind === 'osv-json' || kind === 'alpine-secdb') {
      throw new DrydockError('FEED_INVALID', `feed ${file} is gzip of an unknown feed kind`);
    }
    return { kind, gzip: true };
  }
  const kind = sniffText(h.toString('utf8'), file);
  if (!kind) throw new DrydockError('FEED_INVALID', `feed ${file} is of an unknown kind (not an osv zip or record, secdb, nvd, epss or kev file)`);
  return { kind, gzip: false };
}
