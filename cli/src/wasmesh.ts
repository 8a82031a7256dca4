#!/usr/bin/env node
/** Entry point of the `wasmesh` command. */
import { CommanderError } from 'commander';
import { ExitCode, WasmeshError } from '@wasmesh/lattice';
import { forwardToHost, HOST_COMMANDS } from './host-bin.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && HOST_COMMANDS.includes(command)) return forwardToHost([command, ...rest]);
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    if (err instanceof WasmeshError) {
      process.stderr.write(`wasmesh: ${err.toLine()}\n`);
      return ExitCode.INTERNAL;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
