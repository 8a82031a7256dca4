/**
 * Encoding at the bus edge: every message read from NATS is decoded here, and a malformed one
 * becomes a `WASMESH_ERR_BAD_REQUEST` that names what could not be read; errors cross the bus as
 * `ErrorInfo` and come back as `WasmeshError` with the same code and details.
 */
import { lattice } from '@wasmesh/proto';
import { WasmeshError } from './errors.js';

/** A protobufjs message class (its static `decode`). */
export interface Decoder<T> {
  decode(reader: Uint8Array): T;
}

/** A protobufjs message class (its static `encode`). */
export interface Encoder<T> {
  encode(message: T): { finish(): Uint8Array };
}

/** Decodes `data` as `type`; malformed bytes become `WASMESH_ERR_BAD_REQUEST` naming `what`. */
export function decode<T>(type: Decoder<T>, data: Uint8Array, what: string): T {
  try {
    // protobufjs's Buffer reader clamps a string that runs past the end instead of failing; the
    // plain Uint8Array reader checks every length, so malformed input is refused, not truncated.
    return type.decode(Buffer.isBuffer(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : data);
  } catch (err) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `malformed ${what}: ${(err as Error).message} (${data.length} bytes)`,
      { cause: err, details: { what, bytes: data.length } },
    );
  }
}

/** Encodes `message` with `type`. */
export function encode<T>(type: Encoder<T>, message: T): Uint8Array {
  return type.encode(message).finish();
}

/** Longest error message that crosses the bus; longer ones are cut (they may quote a huge input). */
const MAX_ERROR_MESSAGE_CHARS = 4096;
/** Longest error detail value that crosses the bus. */
const MAX_ERROR_DETAIL_CHARS = 4096;
/** Most error details that cross the bus. */
const MAX_ERROR_DETAILS = 32;

/** `text` cut to `max` characters, saying how much was left out. */
function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/**
 * An error as it crosses the bus. Non-wasmesh errors become `WASMESH_ERR_INTERNAL`. Message and
 * details are cut to bounded sizes, so an error that quotes its input (a 600 KB label key) still
 * makes a reply that fits in a NATS message.
 */
export function toErrorInfo(err: unknown): lattice.IErrorInfo {
  if (err instanceof WasmeshError) {
    const details: Record<string, string> = {};
    for (const [k, v] of Object.entries(err.details).slice(0, MAX_ERROR_DETAILS)) {
      if (v === undefined || v === null) continue;
      details[truncate(k, 128)] = truncate(typeof v === 'string' ? v : JSON.stringify(v), MAX_ERROR_DETAIL_CHARS);
    }
    return { code: truncate(err.code, 128), message: truncate(err.message, MAX_ERROR_MESSAGE_CHARS), details };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'WASMESH_ERR_INTERNAL', message: truncate(message, MAX_ERROR_MESSAGE_CHARS), details: {} };
}

/** The `WasmeshError` for an `ErrorInfo` received from the bus; `context` is added to its details. */
export function fromErrorInfo(info: lattice.IErrorInfo, context: Record<string, unknown> = {}): WasmeshError {
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info.details ?? {})) details[k] = parseDetail(v);
  return new WasmeshError(info.code || 'WASMESH_ERR_INTERNAL', info.message || 'unknown error', {
    // The remote side knows best (a provider names the calling actor); the caller adds what it lacks.
    details: { ...context, ...details },
  });
}

function parseDetail(v: string): unknown {
  if (v === 'true' || v === 'false' || /^-?\d+(\.\d+)?$/.test(v) || v.startsWith('{') || v.startsWith('[')) {
    try {
      return JSON.parse(v);
    } catch {
      return v;
    }
  }
  return v;
}

/** A control reply carrying `body`. */
export function okReply(body: Uint8Array): Uint8Array {
  return encode(lattice.Reply, { body });
}

/** A control reply carrying `err`. */
export function errorReply(err: unknown): Uint8Array {
  return encode(lattice.Reply, { error: toErrorInfo(err) });
}

/** Unwraps a control reply: its body, or throws the error it carries. */
export function unwrapReply(data: Uint8Array, what: string, context: Record<string, unknown> = {}): Uint8Array {
  const reply = decode(lattice.Reply, data, `${what} reply`);
  if (reply.error?.code) throw fromErrorInfo(reply.error, context);
  return reply.body;
}
