/**
 * Lattice state in JetStream KV: one bucket per lattice and kind (`wasmesh_<lattice>_<kind>`),
 * typed values (protobuf), and watchers that see every change. Buckets are created on first use
 * (1 replica, file storage; NATS clustering raises replicas).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { decode, encode, type Decoder, type Encoder } from './codec.js';
import { permissionDenied, refusalIn } from './auth/denied.js';
import { WasmeshError } from './errors.js';
import type { Subjects } from './subjects.js';

/** A change seen by a watcher: a put (with the value) or a delete. */
export type StateChange<T> =
  { op: 'put'; key: string; value: T; revision: number } | { op: 'del'; key: string; revision: number };

/** A typed view of one KV bucket. */
export class StateBucket<T> {
  constructor(
    private readonly kv: KV,
    private readonly type: Encoder<T> & Decoder<T>,
    /** The bucket's name, for messages. */
    readonly name: string,
  ) {}

  /** Stores `value` under `key`; returns the new revision. */
  async put(key: string, value: T): Promise<number> {
    return this.#write(key, () => this.kv.put(key, encode(this.type, value)));
  }

  /**
   * The entry under `key`. A bucket that does not exist yet holds nothing: credentials that may
   * not create it (a reader) bind to it before anyone wrote to it.
   */
  async #read(key: string): Promise<KvEntry | null> {
    try {
      return await this.kv.get(key);
    } catch (err) {
      if ((err as Error).name === 'StreamNotFoundError') return null;
      throw err;
    }
  }

  /** Runs a write; the server refusing it is `WASMESH_ERR_PERMISSION_DENIED` naming bucket and key. */
  async #write<R>(key: string, write: () => Promise<R>): Promise<R> {
    try {
      return await write();
    } catch (err) {
      throw permissionDenied(err, `writing "${key}" in ${this.name}`, { bucket: this.name, key }) ?? err;
    }
  }

  /** The value and revision under `key`, or `undefined`. */
  async getEntry(key: string): Promise<{ value: T; revision: number } | undefined> {
    const e = await this.#read(key);
    return e && e.operation === 'PUT' ? { value: this.#decode(e), revision: e.revision } : undefined;
  }

  /**
   * Stores `value` only if `key` is still at `revision` (0: only if absent). Returns the new
   * revision, or false when someone else wrote it first, so callers can re-read and decide again.
   */
  async putIf(key: string, value: T, revision: number): Promise<number | false> {
    try {
      return await this.#write(key, () =>
        revision === 0
          ? this.kv.create(key, encode(this.type, value))
          : this.kv.update(key, encode(this.type, value), revision),
      );
    } catch (err) {
      if (/wrong last sequence|key exists/i.test((err as Error).message)) return false;
      throw err;
    }
  }

  /** The value under `key`, or `undefined`. */
  async get(key: string): Promise<T | undefined> {
    const e = await this.#read(key);
    return e && e.operation === 'PUT' ? this.#decode(e) : undefined;
  }

  /** Deletes `key` (idempotent). */
  async delete(key: string): Promise<void> {
    await this.#write(key, () => this.kv.delete(key));
  }

  /** Every key and value now in the bucket. */
  async entries(): Promise<Map<string, T>> {
    const out = new Map<string, T>();
    for await (const key of await this.kv.keys()) {
      const v = await this.get(key);
      if (v !== undefined) out.set(key, v);
    }
    return out;
  }

  /** Changes from now on (after the current values, when `includeExisting`). */
  async *watch(options: { includeExisting?: boolean } = {}): AsyncGenerator<StateChange<T>> {
    const it = await this.kv.watch({
      include: options.includeExisting ? KvWatchInclude.LastValue : KvWatchInclude.UpdatesOnly,
    });
    try {
      for await (const e of it) {
        if (e.operation === 'PUT') yield { op: 'put', key: e.key, value: this.#decode(e), revision: e.revision };
        else yield { op: 'del', key: e.key, revision: e.revision };
      }
    } finally {
      it.stop();
    }
  }

  #decode(e: KvEntry): T {
    return decode(this.type, e.value, `${this.name} entry "${e.key}"`);
  }
}

/**
 * The bucket `name`, created if missing; credentials that may not create streams (a reader) bind
 * to it instead, and read what exists.
 */
async function createOrBind(nc: NatsConnection, name: string): Promise<KV> {
  try {
    return await new Kvm(nc).create(name, { history: 1 });
  } catch (err) {
    if (refusalIn(err)?.subject.startsWith('$JS.API.STREAM.CREATE.')) return new Kvm(nc).open(name);
    throw err;
  }
}

/** Opens (creating if needed) the state bucket of `kind` for this lattice. */
export async function openBucket<T>(
  nc: NatsConnection,
  subjects: Subjects,
  kind: string,
  type: Encoder<T> & Decoder<T>,
): Promise<StateBucket<T>> {
  const name = subjects.bucket(kind);
  try {
    return new StateBucket(await createOrBind(nc, name), type, name);
  } catch (err) {
    const denied = permissionDenied(err, `opening the lattice state bucket ${name}`, { bucket: name });
    if (denied) throw denied;
    throw new WasmeshError(
      'WASMESH_ERR_UNAVAILABLE',
      `cannot open the lattice state bucket ${name}: ${(err as Error).message} (is JetStream enabled on the NATS server?)`,
      { cause: err, details: { bucket: name } },
    );
  }
}
