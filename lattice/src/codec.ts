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
 * makes a reply that fits in a NATS message. It never throws, whatever was thrown or put in details.
 */
export function toErrorInfo(err: unknown): lattice.IErrorInfo {
  if (err instanceof WasmeshError) {
    const details: Record<string, string> = {};
    for (const [k, v] of Object.entries(err.details).slice(0, MAX_ERROR_DETAILS)) {
      if (v === undefined || v === null) continue;
      details[truncate(k, 128)] = truncate(detailText(v), MAX_ERROR_DETAIL_CHARS);
    }
    return { code: truncate(err.code, 128), message: truncate(err.message, MAX_ERROR_MESSAGE_CHARS), details };
  }
  const message = err instanceof Error ? err.message : plainText(err);
  return { code: 'WASMESH_ERR_INTERNAL', message: truncate(message, MAX_ERROR_MESSAGE_CHARS), details: {} };
}

/**
 * A detail value as text. Details are whatever the code that threw put there: a bigint or a
 * circular object must not turn the error reply itself into a raw TypeError (found by fuzzing).
 */
function detailText(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? plainText(v);
  } catch {
    return plainText(v);
  }
}

/** `String(v)`, or the object's tag when it has no string form (`Object.create(null)` has none). */
function plainText(v: unknown): string {
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

/** What a stable error code looks like (`WASMESH_ERR_TIMEOUT`): callers and exit statuses branch on it. */
const ERROR_CODE = /^[A-Z][A-Z0-9_]{0,127}$/;

/**
 * The `WasmeshError` for an `ErrorInfo` received from the bus; `context` is added to its details.
 * The info comes from another process: a code that is not a stable code (blank, spaces, huge;
 * found by fuzzing) becomes `WASMESH_ERR_INTERNAL` with the received code in `details.code`, and
 * message and details are cut to the sizes {@link toErrorInfo} sends.
 */
export function fromErrorInfo(info: lattice.IErrorInfo, context: Record<string, unknown> = {}): WasmeshError {
  const details: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info.details ?? {}).slice(0, MAX_ERROR_DETAILS)) {
    details[truncate(k, 128)] = parseDetail(truncate(v, MAX_ERROR_DETAIL_CHARS));
  }
  const received = info.code || 'WASMESH_ERR_INTERNAL';
  const code = ERROR_CODE.test(received) ? received : 'WASMESH_ERR_INTERNAL';
  if (code !== received) details.code = truncate(received, 128);
  return new WasmeshError(code, truncate(info.message || 'unknown error', MAX_ERROR_MESSAGE_CHARS), {
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
