/**
 * What a key-value backend offers the provider: the seven operations of `wasmesh:keyvalue` on one
 * key space (a link's bucket or prefix). Keys arrive checked (non-empty, at most
 * {@link MAX_KEY_BYTES} bytes of UTF-8); counters are stored as decimal text, as Redis does.
 */
import { WasmeshError } from '@wasmesh/lattice';

/** The longest key accepted, in bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;

/** Keys returned by `Keys` when the request gives no limit. */
export const DEFAULT_KEYS_LIMIT = 1000;

/** One link's key space on one backend. */
export interface KeyValueBackend {
  /** `nats` or `redis`. */
  readonly kind: 'nats' | 'redis';
  /** Where the data lives, for messages and logs (`JetStream KV bucket x`, `Redis at redis://…`). */
  readonly description: string;
  /** The value of `key`, or `undefined`. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores `value`; `ttlSeconds` > 0 makes the key expire. */
  set(key: string, value: Uint8Array, ttlSeconds: number): Promise<void>;
  /** Deletes `key`; true when it existed. */
  delete(key: string): Promise<boolean>;
  /** Whether `key` exists. */
  exists(key: string): Promise<boolean>;
  /** Adds `delta` to the integer under `key` (absent = 0) atomically; returns the new value. */
  increment(key: string, delta: number): Promise<number>;
  /** Up to `limit` keys starting with `prefix`, sorted. */
  keys(prefix: string, limit: number): Promise<string[]>;
  /** Stores `value` only if the current value equals `expected` (`null`: only if absent); true when it did. */
  compareAndSet(key: string, expected: Uint8Array | null, value: Uint8Array): Promise<boolean>;
  /** Whether the backend can serve calls now (`message` says why not). */
  health(): { healthy: boolean; message?: string };
  /** Releases connections (calls in flight have finished). */
  close(): Promise<void>;
}

/** Checks a key from a request; `WASMESH_ERR_BAD_REQUEST` when empty or too long. */
export function checkKey(key: string): string {
  if (key.length === 0) {
    throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'the key is empty', { details: { key } });
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > MAX_KEY_BYTES) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `the key is ${bytes} bytes long; keys are at most ${MAX_KEY_BYTES} bytes`,
      { details: { bytes, limit: MAX_KEY_BYTES } },
    );
  }
  return key;
}

/** Parses a stored counter; `WASMESH_ERR_CONFLICT` when the value is not a decimal integer. */
export function parseCounter(value: Uint8Array, key: string): bigint {
  const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
  if (!/^-?\d{1,19}$/.test(text)) throw notAnInteger(key);
  return BigInt(text);
}

/** The largest counter value (that of a signed 64-bit integer, as in Redis). */
export const INT64_MAX = 2n ** 63n - 1n;
/** The smallest counter value. */
export const INT64_MIN = -(2n ** 63n);

/** `WASMESH_ERR_CONFLICT`: the value under `key` cannot be incremented. */
export function notAnInteger(key: string): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_CONFLICT',
    `cannot increment key "${key}": its value is not an integer (counters are stored as decimal text)`,
    { details: { key } },
  );
}

/** `WASMESH_ERR_CONFLICT`: an increment would leave the 64-bit range. */
export function outOfRange(key: string): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_CONFLICT',
    `cannot increment key "${key}": the result would not fit in a signed 64-bit integer`,
    { details: { key } },
  );
}

/** Byte-wise equality. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
