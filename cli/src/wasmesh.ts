#!/usr/bin/env node
/** Entry point of the `wasmesh` command. */
import { CommanderError } from 'commander';
import { ExitCode, exitAfterGrace, reportError, UsageError } from '@wasmesh/lattice';
import { FORWARDED_COMMANDS, forwardToService } from './service-bins.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(FORWARDED_COMMANDS, command)) return forwardToService(command, rest);
  const json = argv.includes('--json');
  let usage = '';
  // Commander's own errors (unknown option, missing argument…) become one `wasmesh: CODE: message` line.
  const program = buildProgram((text) => {
    usage = text
      .replace(/^error: /, '')
      .replace(/\s*\n\s*/g, ' ')
      .trim();
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end here with status 0.
      if (err.exitCode === 0) return ExitCode.OK;
      // A group command without its subcommand printed its help on stderr.
      const message =
        usage || (err.code === 'commander.help' ? 'missing subcommand (see the help above)' : err.message);
      return reportError(new UsageError(message), json);
    }
    return reportError(err, json);
  }
}

process.exitCode = await main(process.argv.slice(2));
exitAfterGrace();
