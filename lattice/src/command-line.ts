/**
 * What every wasmesh command line shares (the `wasmesh` CLI and the host's `wasmesh-host`):
 * usage errors, flag parsers that name the flag, and error reporting — one line
 * `wasmesh: CODE: message` on stderr, or `{"ok":false,"error":{…}}` on stdout with `--json` —
 * returning the exit status.
 */
import { permissionDenied } from './auth/denied.js';
import { isWasmeshError, WasmeshError } from './errors.js';
import { exitCodeFor, type ExitCodeValue } from './exit-codes.js';
import { DEFAULT_MAX_MODULE_BYTES, readRegularFile } from './file-jail.js';

/**
 * The environment variable through which a process that starts `wasmesh-host` (the `wasmesh host`
 * wrapper, `wasmesh up`) names itself, so the host stops when that parent dies, even by SIGKILL.
 */
export const PARENT_PID_ENV = 'WASMESH_PARENT_PID';

/** A bad command line or unreadable input (exit status 2). */
export class UsageError extends WasmeshError {
  constructor(message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super('WASMESH_ERR_USAGE', message, options);
    this.name = 'UsageError';
  }
}

/** The JSON shape of an error with `--json`: `{ ok: false, error: { code, message, ...details } }`. */
export function errorJson(err: unknown): { ok: false; error: Record<string, unknown> } {
  if (err instanceof WasmeshError)
    return { ok: false, error: { code: err.code, message: err.message, ...err.details } };
  return {
    ok: false,
    error: { code: 'WASMESH_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) },
  };
}

/** Reports `err` (one line on stderr, or one JSON object on stdout) and returns the exit status. */
export function reportError(raw: unknown, json: boolean): ExitCodeValue {
  // A server refusal that reached us unwrapped is still a refusal, not an internal error.
  const err = permissionDenied(raw, 'the request') ?? raw;
  if (json) {
    process.stdout.write(`${JSON.stringify(errorJson(err))}\n`);
  } else if (err instanceof WasmeshError && Array.isArray(err.details.errors) && err.details.errors.length > 0) {
    // A list of problems (e.g. an invalid manifest): the head, then one problem per line.
    const items = (err.details.errors as { message?: unknown }[]).map((e) => `  - ${String(e.message)}`);
    process.stderr.write(`wasmesh: ${err.code}: ${err.message.split('\n')[0]}\n${items.join('\n')}\n`);
  } else if (err instanceof WasmeshError) {
    process.stderr.write(`wasmesh: ${err.toLine()}\n`);
  } else {
    const msg = err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`wasmesh: WASMESH_ERR_INTERNAL: ${msg.replace(/\s*\n\s*/g, ' ')}\n`);
  }
  return exitCodeFor(err);
}

/** Parses an integer flag value in [min, max]; anything else is a usage error naming the flag. */
export function intFlag(flag: string, min: number, max: number): (raw: string) => number {
  return (raw: string) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(`${flag} expects an integer in ${min}..${max}, got "${raw}"`);
    }
    return n;
  };
}

/** Collects repeated `key=value` flags (e.g. `--label zone=a`) into an object. */
export function keyValueFlag(
  flag: string,
): (raw: string, previous: Record<string, string> | undefined) => Record<string, string> {
  return (raw, previous = {}) => {
    const eq = raw.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} expects key=value, got "${raw}"`);
    return { ...previous, [raw.slice(0, eq)]: raw.slice(eq + 1) };
  };
}

/**
 * The one way commands read a file the user names (a module, a manifest, a payload, a seed):
 * bounded and only if it is a regular file (`readRegularFile`), so `/dev/zero` or a FIFO is refused
 * at once instead of filling memory or hanging the command. A directory, device or FIFO
 * (`WASMESH_ERR_BAD_REQUEST`) and a file over `maxBytes` (`WASMESH_ERR_TOO_LARGE`) keep their
 * codes; a file that cannot be read at all is a usage error naming `what`, the path and the errno.
 */
export async function readInputFile(file: string, what: string, maxBytes = DEFAULT_MAX_MODULE_BYTES): Promise<Buffer> {
  try {
    return await readRegularFile(file, maxBytes, what);
  } catch (err) {
    if (isWasmeshError(err, 'WASMESH_ERR_BAD_REQUEST', 'WASMESH_ERR_TOO_LARGE')) throw err;
    const reason = isWasmeshError(err) ? String(err.details.reason) : (err as Error).message;
    throw new UsageError(`cannot read ${what} "${file}": ${reason}`, { cause: err, details: { file } });
  }
}

/**
 * The request payload from `--data` or `--data-file` (not both; at most 64 MiB from a file: larger
 * payloads go through the object store, but a file must not fill the command's memory); empty when
 * neither is given.
 */
export async function payloadFrom(opts: { data?: string; dataFile?: string }): Promise<Buffer> {
  if (opts.data !== undefined && opts.dataFile !== undefined) {
    throw new UsageError('give either --data or --data-file, not both');
  }
  if (opts.dataFile !== undefined) return readInputFile(opts.dataFile, 'data file');
  return Buffer.from(opts.data ?? '', 'utf8');
}

/** Bytes for JSON output: UTF-8 text when they decode cleanly, else base64 (so `--json` never mangles a binary answer). */
export function bytesJson(b: Uint8Array): { encoding: 'utf8' | 'base64'; data: string } {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const text = buf.toString('utf8');
  if (!text.includes('\uFFFD') && Buffer.byteLength(text) === b.byteLength) return { encoding: 'utf8', data: text };
  return { encoding: 'base64', data: buf.toString('base64') };
}
