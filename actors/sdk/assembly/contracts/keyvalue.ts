// Client of contract `wasmesh:keyvalue` (proto/wasmesh/contracts/v1/keyvalue.proto): calls go to
// the key-value provider the actor is linked to under `link` (usually "default"). The codecs,
// contract id and operation names are generated from the .proto (../gen, see
// actors/scripts/generate-codecs.mjs); this module adds the calls.
import { hostCall } from "../wapc";
import {
  DeleteRequest,
  DeleteResponse,
  GetRequest,
  GetResponse,
  IncrementRequest,
  IncrementResponse,
  KEYVALUE,
  KeyValue,
  SetRequest,
} from "../gen/contracts/keyvalue";
export * from "../gen/contracts/keyvalue";

/** A value or an error from a key-value call. */
export class KvResult<T> {
  constructor(public readonly value: T, public readonly error: string | null) {}
  get isOk(): bool {
    return this.error === null;
  }
}

/** Atomically adds `delta` to the integer under `key` (absent = 0) and returns the new value. */
export function increment(link: string, key: string, delta: i64 = 1): KvResult<i64> {
  const req = new IncrementRequest();
  req.key = key;
  req.delta = delta;
  const r = hostCall(link, KEYVALUE, KeyValue.Increment, req.encode());
  if (!r.isOk) return new KvResult<i64>(0, r.error);
  const res = IncrementResponse.decode(r.value!);
  if (res.error !== null) return new KvResult<i64>(0, "malformed IncrementResponse: " + res.error!);
  return new KvResult<i64>(res.value, null);
}

/** Reads `key`; the response's `found` is false when it is absent. */
export function get(link: string, key: string): KvResult<GetResponse | null> {
  const req = new GetRequest();
  req.key = key;
  const r = hostCall(link, KEYVALUE, KeyValue.Get, req.encode());
  if (!r.isOk) return new KvResult<GetResponse | null>(null, r.error);
  const res = GetResponse.decode(r.value!);
  if (res.error !== null) return new KvResult<GetResponse | null>(null, "malformed GetResponse: " + res.error!);
  return new KvResult<GetResponse | null>(res, null);
}

/** Stores `value` under `key`, expiring after `ttlSeconds` (0 = never). */
export function set(link: string, key: string, value: ArrayBuffer, ttlSeconds: u32 = 0): KvResult<bool> {
  const req = new SetRequest();
  req.key = key;
  req.value = value;
  req.ttlSeconds = ttlSeconds;
  const r = hostCall(link, KEYVALUE, KeyValue.Set, req.encode());
  return new KvResult<bool>(r.isOk, r.error);
}

/** Deletes `key`; the value says whether it existed. */
export function del(link: string, key: string): KvResult<bool> {
  const req = new DeleteRequest();
  req.key = key;
  const r = hostCall(link, KEYVALUE, KeyValue.Delete, req.encode());
  if (!r.isOk) return new KvResult<bool>(false, r.error);
  const res = DeleteResponse.decode(r.value!);
  if (res.error !== null) return new KvResult<bool>(false, "malformed DeleteResponse: " + res.error!);
  return new KvResult<bool>(res.existed, null);
}
