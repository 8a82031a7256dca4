/**
 * What a TypeScript actor built with componentize-js sees of `wasi:keyvalue@0.2.0-draft`
 * (../deps/keyvalue/store.wit), in componentize-js's mapping: a `result` returns its value or
 * throws an error whose `payload` is the WIT error, an `option` is a value or `undefined`, `u64`
 * is a `bigint`, `list<u8>` a `Uint8Array`. wasmesh serves it with the keyvalue contract: the
 * identifier given to `open` is the name of one of the actor's keyvalue links (`default` or '').
 */
declare module 'wasi:keyvalue/store@0.2.0-draft' {
  /** The WIT `error` variant, the `payload` of what a failed call throws. */
  export type Error = { tag: 'no-such-store' } | { tag: 'access-denied' } | { tag: 'other'; val: string };
  /** A page of keys; `cursor` continues the listing, `undefined` when there are no more. */
  export interface KeyResponse {
    keys: string[];
    cursor?: bigint;
  }
  /** The bucket the link `identifier` names. */
  export function open(identifier: string): Bucket;
  /** A collection of key-value pairs. */
  export class Bucket {
    private constructor();
    get(key: string): Uint8Array | undefined;
    set(key: string, value: Uint8Array): void;
    delete(key: string): void;
    exists(key: string): boolean;
    listKeys(cursor: bigint | undefined): KeyResponse;
  }
}

declare module 'wasi:keyvalue/atomics@0.2.0-draft' {
  import type { Bucket } from 'wasi:keyvalue/store@0.2.0-draft';
  /** Adds `delta` to the counter `key` (absent: 0) and returns its new value, atomically. */
  export function increment(bucket: Bucket, key: string, delta: bigint): bigint;
}

declare module 'wasi:keyvalue/batch@0.2.0-draft' {
  import type { Bucket } from 'wasi:keyvalue/store@0.2.0-draft';
  export function getMany(bucket: Bucket, keys: string[]): ([string, Uint8Array] | undefined)[];
  export function setMany(bucket: Bucket, keyValues: [string, Uint8Array][]): void;
  export function deleteMany(bucket: Bucket, keys: string[]): void;
}
