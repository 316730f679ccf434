/**
 * Renders library events on stderr: a one-line progress display when stderr is a terminal,
 * retries and warnings always (unless --quiet).
 */
import type { DrydockEvent, EventSink } from '../core/events.js';
import type { Issue } from '../core/issues.js';

export interface Renderer {
  sink: EventSink;
  issue(i: Issue): void;
  done(): void;
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function createRenderer(opts: { quiet: boolean; stream?: NodeJS.WriteStream }): Renderer {
  const out = opts.stream ?? process.stderr;
  const tty = Boolean(out.isTTY) && !opts.quiet;
  const blobs = new Map<string, { bytes: number; size?: number }>();
  let lastDraw = 0;
  let drawn = false;

  const clear = () => {
    if (drawn) out.write('\r\x1b[2K');
    drawn = false;
  };
  const draw = (force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    let bytes = 0;
    let size = 0;
    for (const b of blobs.values()) {
      bytes += b.bytes;
      size += b.size ?? b.bytes;
    }
    clear();
    out.write(`reading ${blobs.size} blob(s): ${mib(bytes)} / ${mib(size)}`);
    drawn = true;
  };
  const line = (s: string) => {
    clear();
    out.write(`${s}\n`);
  };

  const sink = (e: DrydockEvent) => {
    switch (e.type) {
      case 'blob-start':
        blobs.set(e.digest, { bytes: 0, ...(e.size !== undefined ? { size: e.size } : {}) });
        draw();
        break;
      case 'blob-progress': {
        const b = blobs.get(e.digest);
        if (b) b.bytes = e.bytes;
        draw();
        break;
      }
      case 'blob-done':
        blobs.delete(e.digest);
        draw();
        break;
      case 'retry':
        if (!opts.quiet) line(`retrying ${e.url}${e.status ? ` (status ${e.status})` : ''} in ${Math.round(e.delayMs)} ms, attempt ${e.attempt}`);
        break;
      case 'log':
        if (!opts.quiet && e.level !== 'debug') line(`${e.level === 'warn' ? 'warning' : e.level}: ${e.message}`);
        break;
      default:
        break;
    }
  };
  return {
    sink,
    issue(i) {
      if (!opts.quiet) line(`${i.severity}: [${i.code}] ${i.message}${i.path ? ` (${i.path})` : ''}`);
    },
    done() {
      clear();
    },
  };
}
