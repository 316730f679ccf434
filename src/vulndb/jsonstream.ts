/**
 * Streams the elements of one top-level array property of a large JSON document (NVD's
 * "vulnerabilities", KEV's "vulnerabilities") without holding the document: a small scanner tracks
 * strings and nesting and cuts out each object element, which the caller then JSON.parses.
 * A document that ends early (truncated download) is FEED_INVALID naming the file.
 */
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { DrydockError } from '../core/errors.js';

/** Opens a feed file, gunzipping it when it starts with the gzip magic (RFC 1952). */
export function openFeedStream(file: string, gzip: boolean): Readable {
  const s = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!gzip) return s;
  const g = createGunzip();
  s.on('error', (e) => g.destroy(e));
  return s.pipe(g);
}

export interface ArrayScanResult {
  /** top-level string and number properties seen (e.g. NVD "timestamp", KEV "catalogVersion") */
  scalars: Record<string, string | number>;
  found: boolean;
}

/**
 * Calls `onItem` with the raw JSON text of every object element of `document[property]`.
 * Elements that are not objects or arrays are ignored.
 */
export async function scanArrayProperty(
  input: Readable,
  file: string,
  property: string,
  onItem: (json: string) => void,
): Promise<ArrayScanResult> {
  const decoder = new StringDecoder('utf8');
  let depth = 0;
  let inString = false;
  let escaped = false;
  let inTarget = false;
  let found = false;
  let itemParts: string[] | null = null;
  let itemStart = -1;
  let topString = '';
  let collectTop = false;
  let pendingKey: string | null = null;
  let lastTopString: string | null = null;
  let scalarStart = -1;
  let scalarText = '';
  let closedTop = false;
  const scalars: Record<string, string | number> = {};

  const consume = (chunk: string): void => {
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92) escaped = true; // backslash
        else if (c === 34) {
          inString = false;
          if (collectTop) {
            topString += chunk.slice(scalarStart, i);
            collectTop = false;
            lastTopString = topString;
            if (pendingKey !== null && depth === 1) {
              scalars[pendingKey] = topString;
              pendingKey = null;
              lastTopString = null;
            }
          }
        }
        continue;
      }
      if (c === 34) {
        inString = true;
        if (depth === 1) {
          collectTop = true;
          topString = '';
          scalarStart = i + 1;
        }
      } else if (c === 123 || c === 91) { // { [
        if (depth === 1 && c === 91 && pendingKey === property) {
          inTarget = true;
          found = true;
        } else if (depth === 2 && inTarget) {
          itemParts = [];
          itemStart = i;
        }
        if (depth === 1) pendingKey = null;
        depth++;
      } else if (c === 125 || c === 93) { // } ]
        depth--;
        if (depth < 0) throw new DrydockError('FEED_INVALID', `json ${file}: unbalanced brackets`);
        if (depth === 2 && inTarget && itemParts) {
          itemParts.push(chunk.slice(itemStart, i + 1));
          onItem(itemParts.join(''));
          itemParts = null;
          itemStart = -1;
        } else if (depth === 1 && inTarget) inTarget = false;
        else if (depth === 0) closedTop = true;
      } else if (depth === 1) {
        if (c === 58) { // :
          pendingKey = lastTopString;
          lastTopString = null;
          scalarText = '';
        } else if (c === 44) { // ,
          if (pendingKey !== null && scalarText.trim() !== '') {
            const v = Number(scalarText.trim());
            if (Number.isFinite(v)) scalars[pendingKey] = v;
          }
          pendingKey = null;
        } else if (pendingKey !== null) scalarText += chunk[i];
      }
    }
    if (collectTop && inString) {
      topString += chunk.slice(scalarStart);
      scalarStart = 0;
    }
    if (itemParts) {
      itemParts.push(chunk.slice(itemStart));
      itemStart = 0;
    }
  };

  try {
    for await (const buf of input) {
      if (closedTop && String(buf).trim() !== '') throw new DrydockError('FEED_INVALID', `json ${file}: data after the end of the document`);
      consume(decoder.write(buf as Buffer));
    }
    consume(decoder.end());
  } catch (cause) {
    if (cause instanceof DrydockError) throw cause;
    throw new DrydockError('FEED_INVALID', `json ${file}: cannot be read (truncated or corrupt)`, { cause });
  }
  if (!closedTop || depth !== 0 || inString) {
    throw new DrydockError('FEED_INVALID', `json ${file}: the document ends early (truncated)`);
  }
  return { scalars, found };
}
