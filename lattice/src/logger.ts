/**
 * The one logger type of wasmesh: pino, created once per process and passed down. Libraries never
 * write to the console; they take a `Logger` (or make a child of the one they were given). A line
 * written inside a recorded span carries its `trace_id` and `span_id`, so logs and traces link up.
 */
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
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
  return pino({ level, base, mixin: traceIds }, destination({ fd: options.fd ?? 2, sync: true }));
}

/**
 * The ids of the span active where a line is logged (none outside a recorded span). A new object
 * each time: pino merges the line's own fields into it.
 */
function traceIds(): { trace_id?: string; span_id?: string } {
  const sc = trace.getSpan(context.active())?.spanContext();
  return sc && isSpanContextValid(sc) ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** A logger that discards everything; for tests and embedders that bring no logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
