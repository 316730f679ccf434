/**
 * Looks for byte strings in a stream of chunks (a file's content as the tar parser hands it over),
 * including occurrences that straddle two chunks. Used to keep an executable's content only when
 * it holds what a cataloger looks for (see FileSelector.contentMarkers).
 */
/**
 * Node's Buffer#indexOf finds a needle of up to 7 bytes with memchr on its first byte and a longer
 * one with Boyer–Moore–Horspool, which on executables runs about 4 times slower (100 MB of node:
 * 29 ms for "\xff Go buildinf:" against 8 ms for "Go buil"; docs/benchmarks.md). A longer marker is
 * therefore looked for by a 7-byte probe inside it, and each probe hit checked for the whole marker.
 */
const PROBE_MAX = 7;

interface Marker {
  bytes: Buffer;
  probe: Buffer;
  /** where the probe starts in the marker */
  at: number;
}

/**
 * The probe of a marker: its first 7-byte window that starts with a printable byte other than a
 * space (bytes such as 0xff, 0x00 and spaces are everywhere in binaries, and memchr would stop at
 * each); the marker itself when it is short.
 */
function markerOf(bytes: Buffer): Marker {
  if (bytes.length <= PROBE_MAX) return { bytes, probe: bytes, at: 0 };
  let at = 0;
  for (let i = 0; i + PROBE_MAX <= bytes.length; i++) {
    const c = bytes[i]!;
    if (c > 0x20 && c < 0x7f) {
      at = i;
      break;
    }
  }
  return { bytes, probe: bytes.subarray(at, at + PROBE_MAX), at };
}

/** Whether `m` occurs entirely inside `b`. */
function occursIn(b: Buffer, m: Marker): boolean {
  if (m.probe === m.bytes) return b.indexOf(m.bytes) >= 0;
  const len = m.bytes.length;
  for (let from = 0; ; ) {
    const hit = b.indexOf(m.probe, from);
    if (hit < 0) return false;
    const start = hit - m.at;
    if (start >= 0 && start + len <= b.length && b.compare(m.bytes, 0, len, start, start + len) === 0) return true;
    from = hit + 1;
  }
}

export class MarkerScanner {
  readonly #markers: readonly Marker[];
  readonly #overlap: number;
  readonly #found: boolean[];
  #left: number;
  #tail: Buffer = Buffer.alloc(0);

  constructor(markers: readonly Buffer[]) {
    this.#markers = markers.map(markerOf);
    this.#overlap = Math.max(0, ...markers.map((m) => m.length - 1));
    this.#found = markers.map(() => false);
    this.#left = markers.length;
  }

  /** true once every marker was seen */
  get done(): boolean {
    return this.#left === 0;
  }

  /** whether marker `i` was seen */
  found(i: number): boolean {
    return this.#found[i]!;
  }

  get anyFound(): boolean {
    return this.#left < this.#markers.length;
  }

  write(chunk: Buffer): void {
    if (this.#left === 0 || chunk.length === 0) return;
    const ov = this.#overlap;
    if (ov > 0 && this.#tail.length > 0) {
      const seam = Buffer.concat([this.#tail, chunk.subarray(0, ov)]);
      this.#search(seam);
    }
    this.#search(chunk);
    if (ov > 0) {
      this.#tail =
        chunk.length >= ov ? Buffer.from(chunk.subarray(chunk.length - ov)) : Buffer.concat([this.#tail, chunk]).subarray(-ov);
    }
  }

  #search(b: Buffer): void {
    for (let i = 0; i < this.#markers.length; i++) {
      if (this.#found[i]) continue;
      if (occursIn(b, this.#markers[i]!)) {
        this.#found[i] = true;
        this.#left--;
      }
    }
  }
}
