/** The drydock command line: commands, the exit-code contract, and error rendering. */
import { Command, CommanderError } from 'commander';
import { DrydockError, EXIT } from '../core/errors.js';
import { setTempGuard } from '../core/temp.js';
import { attestCommands } from './commands/attest.js';
import { attestBlobCommands } from './commands/attest-blob.js';
import { signBlobCommand, verifyBlobCommand } from './commands/blob.js';
import { catalogersCommand } from './commands/catalogers.js';
import { convertCommand } from './commands/convert.js';
import { copyCommand } from './commands/copy.js';
import { dbCommand } from './commands/db.js';
import { inspectCommand } from './commands/inspect.js';
import { keysCommands } from './commands/keys.js';
import { driftCommand, psCommand } from './commands/runtime.js';
import { serverCommand, workerCommand } from './commands/server.js';
import { agentCommand } from './commands/agent.js';
import { sbomCommand } from './commands/sbom.js';
import { scanCommand } from './commands/scan.js';
import { cleanCommand, signCommand, treeCommand, verifyCommand } from './commands/sign.js';
import { reportError } from './context.js';
import { TARGET_HELP } from './help.js';
import { LONG_RUNNING } from './long-running.js';
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

export function buildProgram(): Command {
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
  program.addCommand(inspectCommand());
  program.addCommand(copyCommand());
  program.addCommand(sbomCommand());
  program.addCommand(catalogersCommand());
  program.addCommand(convertCommand());
  program.addCommand(scanCommand());
  program.addCommand(dbCommand());
  for (const c of keysCommands()) program.addCommand(c);
  for (const c of [signCommand(), verifyCommand(), treeCommand(), cleanCommand(), signBlobCommand(), verifyBlobCommand()]) program.addCommand(c);
  for (const c of [...attestCommands(), ...attestBlobCommands()]) program.addCommand(c);
  program.addCommand(psCommand());
  program.addCommand(driftCommand());
  program.addCommand(serverCommand());
  program.addCommand(workerCommand());
  program.addCommand(agentCommand());
  // every (sub)command: usage errors become exceptions so the exit code contract holds
  const override = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
