/**
 * Shared output of host-side commands: one-line errors on stderr (or a JSON object on stdout with
 * `--json`), exit statuses by error kind, and a human-readable guest log on stderr.
 */
import { destination, pino } from 'pino';
import { ExitCode, WasmeshError, type ExitCodeValue, type Logger } from '@wasmesh/lattice';
import { LIMIT_ERROR_CODES } from '../runtime/errors.js';

/** A bad command line or unreadable input; exits with {@link ExitCode.USAGE}. */
export class UsageError extends WasmeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('WASMESH_ERR_USAGE', message, options);
    this.name = 'UsageError';
  }
}

const INTERNAL_CODES: ReadonlySet<string> = new Set([
  'WASMESH_ERR_INTERNAL',
  'WASMESH_ERR_NATIVE_MISSING',
  'WASMESH_ERR_CLOSED',
]);

/** Exit status for `err` (see the README's error table). */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (!(err instanceof WasmeshError)) return ExitCode.INTERNAL;
  if (err.code === 'WASMESH_ERR_USAGE' || err.code === 'WASMESH_ERR_CONFIG') return ExitCode.USAGE;
  if (LIMIT_ERROR_CODES.has(err.code)) return ExitCode.LIMIT;
  if (INTERNAL_CODES.has(err.code)) return ExitCode.INTERNAL;
  return ExitCode.ACTOR;
}

/** The JSON shape of an error in `--json` output. */
export function errorJson(err: unknown): { ok: false; error: Record<string, unknown> } {
  if (err instanceof WasmeshError) {
    return { ok: false, error: { code: err.code, message: err.message, ...err.details } };
  }
  return {
    ok: false,
    error: { code: 'WASMESH_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) },
  };
}

/** Reports `err` (one line on stderr, or JSON on stdout) and returns the exit status to use. */
export function reportError(err: unknown, json: boolean): ExitCodeValue {
  if (json) {
    process.stdout.write(`${JSON.stringify(errorJson(err))}\n`);
  } else if (err instanceof WasmeshError) {
    process.stderr.write(`wasmesh: ${err.toLine()}\n`);
  } else {
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`wasmesh: WASMESH_ERR_INTERNAL: ${msg}\n`);
  }
  return exitCodeFor(err);
}

/** A logger that prints guest log lines as `[actor] line` on stderr (or JSON lines when `json`). */
export function terminalLogger(json: boolean): Logger {
  const level = process.env.WASMESH_LOG_LEVEL ?? 'info';
  if (json) return pino({ level, base: { component: 'cli' } }, destination({ fd: 2, sync: true }));
  return pino(
    { level, base: undefined, timestamp: false },
    {
      write(line: string): void {
        const o = JSON.parse(line) as { actor?: string; msg?: string; level?: number };
        const tag = o.actor ? `[${o.actor}] ` : '';
        process.stderr.write(`${tag}${o.msg ?? ''}\n`);
      },
    },
  );
}
