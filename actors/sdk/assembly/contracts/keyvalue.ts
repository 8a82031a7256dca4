// Client of contract `wasmesh:keyvalue` (proto/wasmesh/contracts/v1/keyvalue.proto): calls go to
// the key-value provider the actor is linked to under `link` (usually "default").
import { hostCall, Result } from "../wapc";
import { Reader, Writer, WireType } from "../protobuf";

/** The contract id. */
export const KEYVALUE = "wasmesh:keyvalue";

/** A value or an error from a key-value call. */
export class KvResult<T> {
  constructor(public readonly value: T, public readonly error: string | null) {}
  get isOk(): bool {
    return this.error === null;
  }
}

function call(link: string, op: string, req: ArrayBuffer): Result {
  return hostCall(link, KEYVALUE, "KeyValue." + op, req);
}

function firstVarint(buf: ArrayBuffer, field: u32): u64 {
  const r = new Reader(buf);
  while (r.more) {
    const t = r.tag();
    if (t >> 3 == field && (t & 7) == WireType.VARINT) return r.varint();
    r.skip(t & 7);
  }
  return 0;
}

/** Atomically adds `delta` to the integer under `key` (absent = 0) and returns the new value. */
export function increment(link: string, key: string, delta: i64 = 1): KvResult<i64> {
  const req = new Writer().stringField(1, key).varintField(2, <u64>delta).finish();
  const r = call(link, "Increment", req);
  if (!r.isOk) return new KvResult<i64>(0, r.error);
  return new KvResult<i64>(<i64>firstVarint(r.value!, 1), null);
}

/** The value under `key`; `found` is false when absent. */
export class KvValue {
  constructor(public readonly found: bool, public readonly value: ArrayBuffer) {}
}

/** Reads `key`. */
export function get(link: string, key: string): KvResult<KvValue | null> {
  const r = call(link, "Get", new Writer().stringField(1, key).finish());
  if (!r.isOk) return new KvResult<KvValue | null>(null, r.error);
  const rd = new Reader(r.value!);
  let found = false;
  let value = new ArrayBuffer(0);
  while (rd.more) {
    const t = rd.tag();
    if (t >> 3 == 1 && (t & 7) == WireType.VARINT) found = rd.varint() != 0;
    else if (t >> 3 == 2 && (t & 7) == WireType.LEN) value = rd.bytes().buffer;
    else rd.skip(t & 7);
  }
  return new KvResult<KvValue | null>(new KvValue(found, value), null);
}

/** Stores `value` under `key`, expiring after `ttlSeconds` (0 = never). */
export function set(link: string, key: string, value: ArrayBuffer, ttlSeconds: u32 = 0): KvResult<bool> {
  const req = new Writer().stringField(1, key).bytesField(2, Uint8Array.wrap(value)).varintField(3, ttlSeconds).finish();
  const r = call(link, "Set", req);
  return new KvResult<bool>(r.isOk, r.error);
}

/** Deletes `key`; the value says whether it existed. */
export function del(link: string, key: string): KvResult<bool> {
  const r = call(link, "Delete", new Writer().stringField(1, key).finish());
  if (!r.isOk) return new KvResult<bool>(false, r.error);
  return new KvResult<bool>(firstVarint(r.value!, 1) != 0, null);
}
