/**
 * Looks for byte strings in a stream of chunks (a file's content as the tar parser hands it over),
 * including occurrences that straddle two chunks. Used to keep an executable's content only when
 * it holds what a cataloger looks for (see FileSelector.contentMarkers).
 */
export class MarkerScanner {
  readonly #markers: readonly Buffer[];
  readonly #overlap: number;
  readonly #found: boolean[];
  #left: number;
  #tail: Buffer = Buffer.alloc(0);

  constructor(markers: readonly Buffer[]) {
    this.#markers = markers;
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
      if (b.indexOf(this.#markers[i]!) >= 0) {
        this.#found[i] = true;
        this.#left--;
      }
    }
  }
}
