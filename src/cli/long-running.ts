/** Commands that run until stopped: they keep V8's defaults (incremental marking: short GC pauses). */
export const LONG_RUNNING = new Set(['server', 'worker', 'agent']);

/** The command a command line names: the first argument that is not an option (program options take no value). */
export function commandName(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((a) => !a.startsWith('-'));
}
