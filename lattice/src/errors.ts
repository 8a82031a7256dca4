/**
 * The base of every error wasmesh raises. Callers branch on `code` (stable, listed in the README's
 * error table), never on messages; `details` carries the structured fields of that code.
 */
export class WasmeshError extends Error {
  /** Stable code such as `WASMESH_ERR_TIMEOUT`. */
  readonly code: string;
  /** Structured fields of the error (actor id, limits, trap code, …). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WasmeshError';
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }

  /** A one-line rendering for terminals and logs: `CODE: message`. */
  toLine(): string {
    return `${this.code}: ${this.message.replace(/\s*\n\s*/g, ' ')}`;
  }
}

/** True when `err` is a {@link WasmeshError} with one of `codes` (any code when none given). */
export function isWasmeshError(err: unknown, ...codes: string[]): err is WasmeshError {
  return err instanceof WasmeshError && (codes.length === 0 || codes.includes(err.code));
}
