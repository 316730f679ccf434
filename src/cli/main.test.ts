import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { commandName, LONG_RUNNING } from './long-running.js';
import { buildProgram, isLongRunning } from './main.js';

function find(program: Command, path: string[]): Command {
  let c = program;
  for (const name of path) {
    const next = c.commands.find((x) => x.name() === name);
    if (!next) throw new Error(`no command ${path.join(' ')}`);
    c = next;
  }
  return c;
}

describe('garbage collection mode per command', () => {
  it('keeps incremental marking only for the commands that run until stopped', () => {
    const program = buildProgram();
    const long = program.commands.filter((c) => isLongRunning(program, c)).map((c) => c.name());
    expect(long.sort()).toEqual(['agent', 'server', 'worker']);
    expect(isLongRunning(program, find(program, ['sbom']))).toBe(false);
    expect(isLongRunning(program, find(program, ['db', 'update']))).toBe(false);
    // a subcommand of a long-running command's group is judged by its group
    const serverSub = find(program, ['server']).commands[0];
    if (serverSub) expect(isLongRunning(program, serverSub)).toBe(true);
  });
});

describe('the command named on the command line (boot sets V8 flags from it before commander runs)', () => {
  it('agrees with the parsed command for every top-level command', () => {
    const program = buildProgram();
    for (const c of program.commands) {
      const argv = ['node', 'drydock', c.name(), '--help'];
      expect(LONG_RUNNING.has(commandName(argv) ?? ''), c.name()).toBe(isLongRunning(program, c));
    }
    expect(commandName(['node', 'drydock', '--version'])).toBeUndefined();
    expect(commandName(['node', 'drydock', '-h', 'server', '--port', '1'])).toBe('server');
  });
});
