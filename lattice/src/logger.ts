/**
 * The one logger type of wasmesh: pino, created once per process and passed down. Libraries never
 * write to the console; they take a `Logger` (or make a child of the one they were given).
 */
import { destination, pino, type Logger as PinoLogger } from 'pino';

/** The structured logger injected into every wasmesh component. */
export type Logger = PinoLogger;

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level; default `WASMESH_LOG_LEVEL` or `info`. */
  level?: string;
  /** File descriptor to write JSON lines to; default 2 (stderr) so stdout stays for command output. */
  fd?: number;
  /** Component tag added to every line (`host`, `cli`, `provider`, …). */
  component?: string;
}

/** Creates the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.WASMESH_LOG_LEVEL ?? 'info';
  const base = options.component ? { component: options.component } : {};
  return pino({ level, base }, destination({ fd: options.fd ?? 2, sync: true }));
}

/** A logger that discards everything; for tests and embedders that bring no logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
