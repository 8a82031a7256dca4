#!/usr/bin/env node
/** Entry point of the `wasmesh` command. */
import { CommanderError } from 'commander';
import { ExitCode, reportError, UsageError } from '@wasmesh/lattice';
import { forwardToHost, HOST_COMMANDS } from './host-bin.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && HOST_COMMANDS.includes(command)) return forwardToHost([command, ...rest]);
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

/**
 * How long the process may outlive its command. Every command closes what it opened, so the
 * process normally ends at once; this last guard ends it anyway if a library keeps a socket or a
 * timer (nats.js 3.4 left the socket of a failed connection attempt open), so the command's
 * deadline and exit status hold. The timer itself does not keep the process alive.
 */
const EXIT_GRACE_MS = 2000;

process.exitCode = await main(process.argv.slice(2));
setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
