/**
 * What the command lines of the CLI and of the service bins (`wasmesh-host`, `wasmesh-reconciler`,
 * `wasmesh-gateway`) share on top of command-line.ts: the common lattice flags (`--nats`,
 * `--creds`, `--tls-ca`, `--lattice`, `--json`, `--timeout-ms`) as commander options, help
 * examples, stdout/stderr output, and the main of a bin (parse, one-line errors, exit status, exit
 * guard). Here rather than in the CLI so a service's flags, help and errors stay the same whether
 * it is run as `wasmesh reconciler` (forwarded) or `wasmesh-reconciler`, without the CLI loading it.
 */
import { CommanderError, Option, type Command } from 'commander';
import { reportError, intFlag, UsageError } from './command-line.js';
import { ExitCode } from './exit-codes.js';
import { WasmeshError } from './errors.js';
import { exitAfterGrace } from './exit-guard.js';
import { exitWithParent } from './exit-with-parent.js';
import { natsUrlFlag, NATS_URL_SOURCE } from './nats-url.js';
import { DEFAULT_LATTICE } from './client.js';
import { DEFAULT_NATS_URL, type NatsAccess } from './connection.js';

/** Flags every lattice command has. */
export interface LatticeOptions {
  nats: string;
  creds?: string;
  tlsCa?: string;
  lattice: string;
  json?: boolean;
  timeoutMs?: number;
}

/** What `--timeout-ms` of a command bounds, and its default. */
export interface TimeoutSpec {
  defaultMs: number;
  help: string;
}

/** The deadline of a one-shot command that does not give `--timeout-ms` a meaning of its own. */
export const COMMAND_TIMEOUT: TimeoutSpec = {
  defaultMs: 60_000,
  help: 'deadline of the command in ms once connected (it is cut short 5 s later; connecting takes at most 5 s)',
};

/** The deadline of a command that runs until Ctrl-C (`events`, `spy`, services): connecting only. */
export const CONNECT_TIMEOUT: TimeoutSpec = {
  defaultMs: 5000,
  help: 'deadline in ms to connect to NATS; once connected the command runs until stopped',
};

/**
 * Adds `--nats`, `--creds`, `--tls-ca`, `--lattice`, `--json` and `--timeout-ms` to `cmd`. Every
 * lattice command has a deadline, so none can hang on a NATS server that is silent or slow:
 * `timeout` says what it covers (by default the whole command, {@link COMMAND_TIMEOUT}).
 */
export function latticeOptions(cmd: Command, timeout: TimeoutSpec = COMMAND_TIMEOUT): Command {
  return cmd
    .addOption(
      new Option('--nats <url>', 'NATS server URL(s), comma separated')
        .env('WASMESH_NATS_URL')
        .argParser(natsUrlFlag(NATS_URL_SOURCE))
        .default(DEFAULT_NATS_URL),
    )
    .addOption(new Option('--creds <file>', 'NATS credentials file (wasmesh creds create)').env('WASMESH_NATS_CREDS'))
    .addOption(new Option('--tls-ca <file>', "CA certificate of the NATS server's TLS").env('WASMESH_NATS_CA'))
    .addOption(new Option('--lattice <name>', 'lattice to talk to').env('WASMESH_LATTICE').default(DEFAULT_LATTICE))
    .option('--json', 'print JSON on stdout (errors too, as {"ok":false,"error":{…}})')
    .addOption(
      new Option('--timeout-ms <n>', timeout.help)
        .argParser(intFlag('--timeout-ms', 1, 3_600_000))
        .default(timeout.defaultMs),
    );
}

/** The NATS access the common flags (and their environment variables) name, as they are. */
export function flagsAccess(opts: LatticeOptions): NatsAccess {
  return {
    servers: opts.nats,
    ...(opts.creds ? { creds: opts.creds } : {}),
    ...(opts.tlsCa ? { tlsCa: opts.tlsCa } : {}),
  };
}

/** `access` without its servers (credentials and CA only). */
export function withoutServers(access: NatsAccess): Omit<NatsAccess, 'servers'> {
  const { servers: _servers, ...rest } = access;
  return rest;
}

/** Appends an "Examples:" section (and optional notes) to `cmd`'s help. */
export function examples(cmd: Command, lines: string[], notes = ''): Command {
  return cmd.addHelpText(
    'after',
    `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}${notes ? `\n\n${notes}` : ''}`,
  );
}

/** Prints one JSON value on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** A note on stderr (never on stdout, so `--json` output stays clean). */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Commander parser of a repeatable flag: each use adds its value to the list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A long-running service as its bin sees it: it can lose its lattice connection for good, and close. */
export interface StoppableService {
  /** Resolves when its NATS connection closed for good. */
  closed(): Promise<unknown>;
  /** Stops it (idempotent). */
  close(): Promise<void>;
}

/**
 * Runs `service` in the foreground until the first SIGINT or SIGTERM, then closes it. When its
 * NATS connection closes for good first, it is closed too and the bin fails with
 * `WASMESH_ERR_NOT_CONNECTED` (exit status 5) naming `what`, so a supervisor (Kubernetes, `up`)
 * restarts it.
 */
export async function serveUntilStopped(service: StoppableService, what: string): Promise<void> {
  const signalled = new Promise<false>((resolve) => {
    process.once('SIGINT', () => resolve(false));
    process.once('SIGTERM', () => resolve(false));
  });
  const lost = await Promise.race([signalled, service.closed().then(() => true)]);
  await service.close();
  if (lost) throw new WasmeshError('WASMESH_ERR_NOT_CONNECTED', `the ${what} stopped: its NATS connection closed`);
}

/**
 * Runs the program of a service bin named `name` on this process's arguments: it stops with the
 * parent that started it (exit-with-parent.ts), prints errors as one `wasmesh: CODE: message`
 * line (JSON with `--json`), sets the exit status, and ends the process within the exit guard's
 * grace once the command has returned. `program` must not call process.exit itself.
 */
export async function runServiceBin(name: string, program: Command): Promise<void> {
  exitWithParent(name);
  const json = process.argv.includes('--json');
  let usage = '';
  const output = {
    outputError: (text: string) => {
      usage = text
        .replace(/^error: /, '')
        .replace(/\s*\n\s*/g, ' ')
        .trim();
    },
  };
  // Subcommands copied their settings when made: set these on each.
  const all = (cmd: Command): Command[] => [cmd, ...cmd.commands.flatMap(all)];
  for (const cmd of all(program)) cmd.exitOverride().configureOutput(output);
  try {
    await program.parseAsync(process.argv);
    process.exitCode = ExitCode.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end here with status 0; anything else is one usage error line.
      process.exitCode =
        err.exitCode === 0
          ? ExitCode.OK
          : reportError(new UsageError(usage || err.message.replace(/^error: /, '')), json);
    } else {
      process.exitCode = reportError(err, json);
    }
  }
  exitAfterGrace();
}
