/**
 * What every lattice command shares: the common flags (`--nats`, `--lattice`, `--json`,
 * `--timeout-ms`), the connection (always closed), flag parsers, output helpers (tables, JSON,
 * progress notes on stderr), and error reporting with stable exit statuses.
 */
import { Option, type Command } from 'commander';
import {
  DEFAULT_LATTICE,
  DEFAULT_NATS_URL,
  intFlag,
  LatticeClient,
  natsUrlFlag,
  NATS_URL_SOURCE,
  WasmeshError,
  type NatsAccess,
} from '@wasmesh/lattice';
import { localAccess } from './local/security.js';
import { resolveHome } from './local/state.js';

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

/** Appends an "Examples:" section (and optional notes) to `cmd`'s help. */
export function examples(cmd: Command, lines: string[], notes = ''): Command {
  return cmd.addHelpText(
    'after',
    `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}${notes ? `\n\n${notes}` : ''}`,
  );
}

const groupExamples = new WeakMap<Command, string[]>();

/**
 * The group command `name` of `program` (`start`, `stop`, `get`, …), created on first use. Every
 * registration adds its example lines, shown in one "Examples:" section of the group's help.
 */
export function commandGroup(program: Command, name: string, description: string, lines: string[]): Command {
  let group = program.commands.find((c) => c.name() === name);
  if (!group) {
    group = program.command(name).description(description);
    const all: string[] = [];
    groupExamples.set(group, all);
    group.addHelpText('after', () => `\nExamples:\n${all.map((l) => `  $ ${l}`).join('\n')}`);
  }
  groupExamples.get(group)?.push(...lines);
  return group;
}

/**
 * The NATS access the common flags describe. Given no credentials (or no CA), a command aimed at
 * the local lattice that `wasmesh up` runs (its URL) uses that lattice's admin credentials (CA), as
 * kubectl uses its kubeconfig: `wasmesh get hosts` next to `npm start` just works.
 */
export function natsAccessOf(opts: LatticeOptions): NatsAccess {
  const local =
    opts.creds === undefined || opts.tlsCa === undefined ? localAccess(resolveHome(), opts.nats) : undefined;
  const creds = opts.creds ?? local?.creds;
  const tlsCa = opts.tlsCa ?? local?.tlsCa;
  return { servers: opts.nats, ...(creds ? { creds } : {}), ...(tlsCa ? { tlsCa } : {}) };
}

/** `access` without its servers (credentials and CA only). */
export function withoutServers(access: NatsAccess): Omit<NatsAccess, 'servers'> {
  const { servers: _servers, ...rest } = access;
  return rest;
}

/** How long the first connection attempt of a one-shot command may take at most. */
const CONNECT_TIMEOUT_MS = 5000;

/**
 * How much later than its `--timeout-ms` a one-shot command is cut short. Where `--timeout-ms` is
 * the deadline of one step (a call, a wait for confirmation), that step's own error, more precise,
 * comes first; the steps around it (storing, listing) get these seconds.
 */
const DEADLINE_MARGIN_MS = 5000;

/** How long closing the connection may take (a drain against a silent server never ends). */
const CLOSE_TIMEOUT_MS = 2000;

/** Options of {@link withLattice}. */
export interface WithLatticeOptions {
  /** The command runs until stopped (`events`, `spy`): `--timeout-ms` bounds connecting only. */
  untilStopped?: boolean;
}

/** Resolves after `ms`; the timer does not keep the process alive. */
function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Connects to the lattice, runs `fn`, and always closes the connection. A one-shot command that
 * is not done 5 s past its `--timeout-ms` after connecting fails with `WASMESH_ERR_TIMEOUT` (exit
 * status 4);
 * connecting takes at most 5 s (or `--timeout-ms` if smaller, or exactly `--timeout-ms` for a
 * command that runs until stopped) and fails with `WASMESH_ERR_NOT_CONNECTED` (exit status 5).
 */
export async function withLattice<T>(
  opts: LatticeOptions,
  fn: (client: LatticeClient) => Promise<T>,
  how: WithLatticeOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? COMMAND_TIMEOUT.defaultMs;
  const client = await LatticeClient.connect({
    ...natsAccessOf(opts),
    lattice: opts.lattice,
    name: 'wasmesh-cli',
    reconnect: false,
    connectTimeoutMs: how.untilStopped ? timeoutMs : Math.min(timeoutMs, CONNECT_TIMEOUT_MS),
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    if (how.untilStopped) return await fn(client);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new WasmeshError(
              'WASMESH_ERR_TIMEOUT',
              `the lattice did not answer within ${timeoutMs} ms (is NATS overloaded? raise --timeout-ms to wait longer)`,
              { details: { timeoutMs } },
            ),
          ),
        timeoutMs + DEADLINE_MARGIN_MS,
      );
    });
    return await Promise.race([fn(client), deadline]);
  } finally {
    clearTimeout(timer);
    const closed = await Promise.race([
      client.close().then(
        () => true,
        () => true,
      ),
      sleep(CLOSE_TIMEOUT_MS).then(() => false),
    ]);
    // A drain that cannot finish (the server went silent): drop the connection without flushing.
    if (!closed) void client.nc.close().catch(() => undefined);
  }
}

/** {@link withLattice} for a command that runs until stopped (`events`, `spy`): `--timeout-ms` bounds connecting. */
export function watchLattice<T>(opts: LatticeOptions, fn: (client: LatticeClient) => Promise<T>): Promise<T> {
  return withLattice(opts, fn, { untilStopped: true });
}

/** Prints one JSON value on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Prints lines on stdout. */
export function printLines(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

/** A note on stderr (never on stdout, so `--json` output stays clean). */
export function note(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Renders rows as left-aligned columns separated by two spaces, with a header line. */
export function table(headers: string[], rows: string[][]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** Prints `message` on stderr if `fn` is still running after `delayMs`. */
export async function withProgress<T>(message: string, fn: () => Promise<T>, delayMs = 1000): Promise<T> {
  const timer = setTimeout(() => note(message), delayMs);
  try {
    return await fn();
  } finally {
    clearTimeout(timer);
  }
}

/** `sha256:` and the first 12 hex digits of a digest. */
export function shortDigest(digest: string): string {
  return digest.startsWith('sha256:') ? digest.slice(0, 'sha256:'.length + 12) : digest;
}

/** A compact duration: `42s`, `5m12s`, `3h04m`, `2d03h`. */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** `key=value,…` sorted by key, or `-`. */
export function formatLabels(labels: Record<string, string> | null | undefined): string {
  const entries = Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(',') : '-';
}

/** A protobuf int64 (number, or a Long when long.js is loaded) as a number. */
export function toNumber(v: number | { toString(): string } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

/** Commander parser of a repeatable flag: each use adds its value to the list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
