/**
 * Libraries emit events; only the CLI and the server render them (ARCHITECTURE habit 11).
 */
export type DrydockEvent =
  | { type: 'blob-start'; digest: string; size?: number; what: 'manifest' | 'config' | 'layer' | 'blob' }
  | { type: 'blob-progress'; digest: string; bytes: number; size?: number }
  | { type: 'blob-done'; digest: string; bytes: number; cached?: boolean }
  | { type: 'layer-start'; index: number; digest: string; size?: number }
  | { type: 'layer-done'; index: number; digest: string; entries: number; cached: boolean }
  | { type: 'retry'; url: string; status?: number; attempt: number; delayMs: number }
  | { type: 'log'; level: 'debug' | 'info' | 'warn'; message: string };

export type EventSink = (event: DrydockEvent) => void;

export const noopSink: EventSink = () => {};
