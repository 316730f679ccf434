/** The drydock command line: commands, the exit-code contract, and error rendering. */
import { Command, CommanderError } from 'commander';
import { DrydockError, EXIT } from '../core/errors.js';
import { setTempGuard } from '../core/temp.js';
import { reportError } from './context.js';
import { TARGET_HELP } from './help.js';
import { commandName, LONG_RUNNING } from './long-running.js';
import { drydockVersion } from './version.js';

/**
 * One-shot commands exit on SIGINT/SIGTERM with 130/143, the shell's codes, through process.exit, so
 * that exit hooks run and temporary files (spilled executables, exported images, half-written
 * outputs) are removed instead of left behind by Node's default of dying on the signal. The handlers
 * are installed only while such files exist (core/temp.ts): outside that window the default stays,
 * so a command blocked in a synchronous read (a key file that is a FIFO) can still be stopped.
 */
function exitOnSignals(): void {
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((signal) => {
    const code = signal === 'SIGINT' ? 130 : 143;
    return [signal, () => {
      process.stderr.write(`drydock: interrupted (${signal})\n`);
      process.exit(code);
    }] as const;
  });
  setTempGuard({
    arm: () => handlers.forEach(([signal, h]) => process.on(signal, h)),
    disarm: () => handlers.forEach(([signal, h]) => process.off(signal, h)),
  });
}

/**
 * Whether `action` belongs to a long-running command (they keep V8's defaults and stop on signals
 * themselves; boot.ts sets the one-shot commands' V8 flags before anything loads).
 */
export function isLongRunning(program: Command, action: Command): boolean {
  let top = action;
  while (top.parent && top.parent !== program) top = top.parent;
  return LONG_RUNNING.has(top.name());
}

/**
 * The top-level commands, by the names each module defines, loaded on use: a run loads only the
 * module of the command it names (its chunk, and what that chunk imports), not those of the others.
 */
const COMMAND_MODULES: readonly { names: readonly string[]; load: () => Promise<Command[]> }[] = [
  { names: ['inspect'], load: async () => [(await import('./commands/inspect.js')).inspectCommand()] },
  { names: ['copy'], load: async () => [(await import('./commands/copy.js')).copyCommand()] },
  { names: ['sbom'], load: async () => [(await import('./commands/sbom.js')).sbomCommand()] },
  { names: ['catalogers'], load: async () => [(await import('./commands/catalogers.js')).catalogersCommand()] },
  { names: ['convert'], load: async () => [(await import('./commands/convert.js')).convertCommand()] },
  { names: ['scan'], load: async () => [(await import('./commands/scan.js')).scanCommand()] },
  { names: ['db'], load: async () => [(await import('./commands/db.js')).dbCommand()] },
  { names: ['generate-key-pair', 'import-key-pair', 'public-key'], load: async () => (await import('./commands/keys.js')).keysCommands() },
  {
    names: ['sign', 'verify', 'tree', 'clean'],
    load: async () => {
      const m = await import('./commands/sign.js');
      return [m.signCommand(), m.verifyCommand(), m.treeCommand(), m.cleanCommand()];
    },
  },
  {
    names: ['sign-blob', 'verify-blob'],
    load: async () => {
      const m = await import('./commands/blob.js');
      return [m.signBlobCommand(), m.verifyBlobCommand()];
    },
  },
  { names: ['attest', 'verify-attestation', 'download'], load: async () => (await import('./commands/attest.js')).attestCommands() },
  { names: ['attest-blob', 'verify-blob-attestation'], load: async () => (await import('./commands/attest-blob.js')).attestBlobCommands() },
  { names: ['ps', 'drift'], load: async () => (await import('./commands/runtime.js')).runtimeCommands() },
  {
    names: ['server', 'worker'],
    load: async () => {
      const m = await import('./commands/server.js');
      return [m.serverCommand(), m.workerCommand()];
    },
  },
  { names: ['agent'], load: async () => [(await import('./commands/agent.js')).agentCommand()] },
];

/** Every top-level command name, as COMMAND_MODULES lists them. */
export const COMMAND_NAMES: readonly string[] = COMMAND_MODULES.flatMap((m) => m.names);

/**
 * The program. With `only` (a command line's command name, long-running.ts commandName), just the
 * module defining that command is loaded; without it, or for a name no module defines (help, a typo
 * commander should answer with "did you mean"), every command.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('drydock')
    .description('Container security: image inventory, SBOMs, vulnerability scanning, signing and attestation.')
    .version(drydockVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: true })
    // a command's options belong to it: `sbom convert IN --format F` gives --format to convert, not to sbom
    .enablePositionalOptions()
    .addHelpText('after', TARGET_HELP)
    .hook('preAction', (_p, action) => {
      if (isLongRunning(program, action)) return; // they stop on signals themselves (waitForSignal)
      exitOnSignals();
    });
  const named = COMMAND_MODULES.find((m) => only !== undefined && m.names.includes(only));
  for (const m of named ? [named] : COMMAND_MODULES) for (const c of await m.load()) program.addCommand(c);
  // every (sub)command: usage errors become exceptions so the exit code contract holds
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

/**
 * The command a run can load alone: the first argument when it names one. A program option before
 * it (`drydock --help sbom` lists every command) or none at all needs the whole program.
 */
export function commandToLoad(argv: readonly string[]): string | undefined {
  const first = argv[2];
  return first !== undefined && first === commandName(argv) ? first : undefined;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(commandToLoad(argv));
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with exitCode 0
      if (e.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof DrydockError && e.code === 'USAGE') {
      process.stderr.write(`drydock: ${e.message}\n`);
      return EXIT.usage;
    }
    return reportError(e);
  }
}
