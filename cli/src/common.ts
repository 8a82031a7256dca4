/**
 * What every lattice command shares: the common flags (`--nats`, `--lattice`, `--json`,
 * `--timeout-ms`), the connection (always closed), flag parsers, output helpers (tables, JSON,
 * progress notes on stderr), and error reporting with stable exit statuses.
 */
import type { Command } from 'commander';
import {
  COMMAND_TIMEOUT,
  LatticeClient,
  note,
  WasmeshError,
  type LatticeOptions,
  type NatsAccess,
} from '@wasmesh/lattice';
import { localAccess } from './local/security.js';
import { resolveHome } from './local/state.js';

// The common flags and output helpers are shared with the service bins (wasmesh-reconciler,
// wasmesh-gateway): they live in @wasmesh/lattice (service-command.ts).
export {
  collect,
  COMMAND_TIMEOUT,
  CONNECT_TIMEOUT,
  examples,
  latticeOptions,
  note,
  printJson,
  withoutServers,
  type LatticeOptions,
  type TimeoutSpec,
} from '@wasmesh/lattice';

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

/** Prints lines on stdout. */
export function printLines(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
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
