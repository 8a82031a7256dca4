/**
 * Typed errors of the actor runtime, and the one place where native errors become them.
 */
import { WasmeshError } from '@wasmesh/lattice';

/** Every code the runtime can raise. */
export const RUNTIME_ERROR_CODES = [
  'WASMESH_ERR_INVALID_MODULE',
  'WASMESH_ERR_MISSING_EXPORT',
  'WASMESH_ERR_TRAP',
  'WASMESH_ERR_TIMEOUT',
  'WASMESH_ERR_MEMORY_LIMIT',
  'WASMESH_ERR_FUEL_EXHAUSTED',
  'WASMESH_ERR_HOST_CALL_FAILED',
  'WASMESH_ERR_GUEST_ERROR',
  'WASMESH_ERR_UNKNOWN_OPERATION',
  'WASMESH_ERR_RESPONSE_TOO_LARGE',
  'WASMESH_ERR_GUEST_PROTOCOL',
  'WASMESH_ERR_BAD_REQUEST',
  'WASMESH_ERR_CONFIG',
  'WASMESH_ERR_CLOSED',
  'WASMESH_ERR_INTERNAL',
] as const;

/** A runtime error code. */
export type RuntimeErrorCode = (typeof RUNTIME_ERROR_CODES)[number];

/** An error from loading or invoking an actor. `details` holds the code's fields (trapCode, backtrace, …). */
export class ActorError extends WasmeshError {
  declare readonly code: RuntimeErrorCode;

  constructor(
    code: RuntimeErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
    this.name = 'ActorError';
  }

  /** The wasm backtrace of a trap, when wasmtime had one. */
  get backtrace(): string | undefined {
    const b = this.details.backtrace;
    return typeof b === 'string' ? b : undefined;
  }
}

const KNOWN = new Set<string>(RUNTIME_ERROR_CODES);

/** Turns whatever the addon threw into an {@link ActorError}; `context` (actor, operation) is added to details. */
export function fromNative(err: unknown, context: Record<string, unknown> = {}): ActorError {
  const raw = err instanceof Error ? err.message : String(err);
  try {
    // napi-rs prefixes async rejections with "Error: "; the payload is the JSON object after it.
    const parsed = JSON.parse(raw.slice(raw.indexOf('{'))) as Record<string, unknown>;
    const code = String(parsed.code);
    if (KNOWN.has(code)) {
      const { code: _c, message, ...rest } = parsed;
      return new ActorError(code as RuntimeErrorCode, String(message), {
        cause: err,
        details: { ...rest, ...context },
      });
    }
  } catch {
    // not one of ours: fall through
  }
  return new ActorError('WASMESH_ERR_INTERNAL', `native runtime failure: ${raw}`, { cause: err, details: context });
}

/** Runs `fn`, converting native failures (sync throws and rejections) with {@link fromNative}. */
export async function mapNative<T>(fn: () => Promise<T>, context: Record<string, unknown> = {}): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromNative(err, context);
  }
}
