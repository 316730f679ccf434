import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { commandName, LONG_RUNNING } from './long-running.js';
import { buildProgram, COMMAND_NAMES, commandToLoad, isLongRunning } from './main.js';

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
  it('keeps incremental marking only for the commands that run until stopped', async () => {
    const program = await buildProgram();
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
  it('agrees with the parsed command for every top-level command', async () => {
    const program = await buildProgram();
    for (const c of program.commands) {
      const argv = ['node', 'drydock', c.name(), '--help'];
      expect(LONG_RUNNING.has(commandName(argv) ?? ''), c.name()).toBe(isLongRunning(program, c));
    }
    expect(commandName(['node', 'drydock', '--version'])).toBeUndefined();
    expect(commandName(['node', 'drydock', '-h', 'server', '--port', '1'])).toBe('server');
  });
});

describe('commands loaded on use', () => {
  it('lists under each module the names of exactly the commands it defines', async () => {
    const all = (await buildProgram()).commands.map((c) => c.name());
    expect([...all].sort()).toEqual([...COMMAND_NAMES].sort());
    expect(new Set(COMMAND_NAMES).size).toBe(COMMAND_NAMES.length);
    for (const name of COMMAND_NAMES) {
      const program = await buildProgram(name);
      const names = program.commands.map((c) => c.name());
      expect(names, name).toContain(name);
      // only the named command's module: never the whole set
      expect(names.length, name).toBeLessThan(all.length);
      // and the same definition as in the whole program (options, subcommands)
      const alone = program.commands.find((c) => c.name() === name)!;
      const inAll = (await buildProgram()).commands.find((c) => c.name() === name)!;
      expect(alone.helpInformation(), name).toBe(inAll.helpInformation());
    }
  });

  it('loads one command only when the command line starts with it', () => {
    expect(commandToLoad(['node', 'drydock', 'sbom', 'x', '--format', 'json'])).toBe('sbom');
    expect(commandToLoad(['node', 'drydock', 'server', '--port', '1'])).toBe('server');
    // a program option first: `--help sbom` prints the program's help, which lists every command
    expect(commandToLoad(['node', 'drydock', '--help', 'sbom'])).toBeUndefined();
    expect(commandToLoad(['node', 'drydock', '-v'])).toBeUndefined();
    expect(commandToLoad(['node', 'drydock'])).toBeUndefined();
  });

  it('builds every command for names no module defines: help, a typo, none', async () => {
    const all = (await buildProgram()).commands.length;
    for (const name of [undefined, 'help', 'sbon']) expect((await buildProgram(name)).commands.length, String(name)).toBe(all);
  });
});
