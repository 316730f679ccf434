/**
 * PEM blocks (RFC 7468): the label between BEGIN and END and the base64 body. Parsing is strict
 * enough to refuse garbage (KEY_INVALID) and lenient about surrounding text, CRLF and headers.
 */
import { DrydockError } from '../../core/errors.js';

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;

/** Every PEM block of `text`, in order. `what` names the source in error messages (a path, env://VAR). */
export function parsePemBlocks(text: string, what: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const [, begin = '', rawBody = '', end = ''] = m;
    if (begin !== end) throw new DrydockError('KEY_INVALID', `${what}: PEM block BEGIN ${begin} ends with END ${end}`);
    // RFC 1421 style headers (Proc-Type: ...) sit before an empty line; drop them
    const body = rawBody.includes(':') ? rawBody.replace(/^[\s\S]*?\r?\n\r?\n/, '') : rawBody;
    const b64 = body.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0 || b64.length === 0) {
      throw new DrydockError('KEY_INVALID', `${what}: PEM block ${begin} has a malformed base64 body`);
    }
    out.push({ label: begin, der: Buffer.from(b64, 'base64') });
  }
  return out;
}

/** The one PEM block of `text` (the first, when several); KEY_INVALID when there is none. */
export function parsePem(text: string, what: string): PemBlock {
  const blocks = parsePemBlocks(text, what);
  const first = blocks[0];
  if (!first) throw new DrydockError('KEY_INVALID', `${what} holds no PEM block`);
  return first;
}

/** Encodes DER (or any bytes) as a PEM block with 64-character lines. */
export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
