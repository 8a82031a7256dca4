/**
 * The `wasmesh` command tree. Each command documents itself with examples (`wasmesh <cmd> --help`).
 */
import { Command } from 'commander';
import { HOST_COMMANDS } from './host-bin.js';

/** Builds the top-level program. Host commands are listed here and executed by `wasmesh-host`. */
export function buildProgram(): Command {
  const program = new Command('wasmesh')
    .description('wasmesh: a distributed actor mesh for WebAssembly')
    .version('0.1.0')
    .exitOverride()
    .addHelpText(
      'after',
      `
Examples:
  $ wasmesh run actors/build/hello.wasm SayHello --data World
  $ wasmesh inspect actors/build/echo.wasm --json

Run 'wasmesh <command> --help' for a command's flags and examples.`,
    );
  const descriptions: Record<string, string> = {
    run: 'load an actor locally and invoke one operation',
    inspect: 'show imports, exports, hash and claims of a module',
    host: 'run a lattice host in the foreground',
  };
  for (const name of HOST_COMMANDS) {
    program
      .command(name)
      .description(descriptions[name] ?? '')
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments();
  }
  return program;
}
