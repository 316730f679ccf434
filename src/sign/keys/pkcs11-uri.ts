/**
 * PKCS#11 URIs (RFC 7512): `pkcs11:` path attributes separated by `;`, query attributes by `&`,
 * values percent-encoded. The PIN (pin-value) is never printed: `redactPkcs11Uri` drops it.
 */
import { DrydockError } from '../../core/errors.js';

export interface Pkcs11Uri {
  token?: string;
  manufacturer?: string;
  serial?: string;
  model?: string;
  object?: string;
  /** CKA_ID bytes */
  id?: Buffer;
  /** private, public, cert, secret-key, data */
  type?: string;
  slotId?: bigint;
  slotDescription?: string;
  slotManufacturer?: string;
  libraryManufacturer?: string;
  libraryDescription?: string;
  modulePath?: string;
  moduleName?: string;
  pinValue?: string;
  pinSource?: string;
}

const PATH_ATTRS: Record<string, keyof Pkcs11Uri> = {
  token: 'token',
  manufacturer: 'manufacturer',
  serial: 'serial',
  model: 'model',
  object: 'object',
  id: 'id',
  type: 'type',
  'slot-id': 'slotId',
  'slot-description': 'slotDescription',
  'slot-manufacturer': 'slotManufacturer',
  'library-manufacturer': 'libraryManufacturer',
  'library-description': 'libraryDescription',
};
const QUERY_ATTRS: Record<string, keyof Pkcs11Uri> = {
  'module-path': 'modulePath',
  'module-name': 'moduleName',
  'pin-value': 'pinValue',
  'pin-source': 'pinSource',
};

/** The URI without its PIN, for messages. */
export function redactPkcs11Uri(uri: string): string {
  return uri.replace(/([?&])pin-value=[^&]*/gi, '$1pin-value=REDACTED');
}

function decodeBytes(v: string, uri: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '%') {
      const hex = v.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw bad(uri, `bad percent-encoding in ${JSON.stringify(v)}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(v[i] as string, 'utf8'));
    }
  }
  return Buffer.from(out);
}

function bad(uri: string, why: string): DrydockError {
  return new DrydockError('PKCS11_ERROR', `invalid pkcs11 uri ${redactPkcs11Uri(uri)}: ${why}`);
}

export function isPkcs11Uri(ref: string): boolean {
  return /^pkcs11:/i.test(ref);
}

export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!isPkcs11Uri(uri)) throw bad(uri, 'it does not start with pkcs11:');
  const rest = uri.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const out: Pkcs11Uri = {};
  const seen = new Set<string>();
  const take = (part: string, table: Record<string, keyof Pkcs11Uri>, where: string): void => {
    if (part === '') return;
    const eq = part.indexOf('=');
    if (eq <= 0) throw bad(uri, `${where} attribute ${JSON.stringify(part.replace(/^pin-value.*/i, 'pin-value'))} has no value`);
    const name = part.slice(0, eq).toLowerCase();
    const raw = part.slice(eq + 1);
    // library-version is accepted and not matched on
    if (name === 'library-version') return;
    const key = table[name];
    // RFC 7512 lets vendors add x- attributes; others are refused so that typos do not pick another key
    if (!key) {
      if (name.startsWith('x-')) return;
      throw bad(uri, `unknown ${where} attribute ${JSON.stringify(name)}`);
    }
    if (where === 'path' && seen.has(name)) throw bad(uri, `path attribute ${name} appears twice`);
    seen.add(name);
    const bytes = decodeBytes(raw, uri);
    if (key === 'id') out.id = bytes;
    else if (key === 'slotId') {
      if (!/^\d+$/.test(raw)) throw bad(uri, `slot-id ${JSON.stringify(raw)} is not a decimal number`);
      out.slotId = BigInt(raw);
    } else (out as Record<string, unknown>)[key] = bytes.toString('utf8');
  };
  for (const part of path.split(';')) take(part, PATH_ATTRS, 'path');
  for (const part of query.split('&')) take(part, QUERY_ATTRS, 'query');
  if (out.pinValue !== undefined && out.pinSource !== undefined) throw bad(uri, 'both pin-value and pin-source are given');
  return out;
}
