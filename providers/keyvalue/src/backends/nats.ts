/**
 * The default backend: a JetStream KV bucket on the lattice's own NATS (no extra setup). Every
 * write that depends on the current value (increment, compare-and-set, delete's `existed`) is
 * an optimistic update on the key's revision, retried on conflict, so instances of the provider
 * never lose an update. Within one process, concurrent increments of a key are coalesced: the
 * waiting deltas are applied in one update and each caller gets its own intermediate value, as if
 * they had run one after another, and a batch first tries its update on the revision this process
 * wrote last, without reading the key. Per-key TTLs need per-message TTLs (NATS server 2.11+) on the
 * bucket; buckets the provider creates have them enabled when the server supports them.
 */
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV, type KvEntry } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { WasmeshError } from '@wasmesh/lattice';
import { INT64_MAX, INT64_MIN, outOfRange, parseCounter, sameBytes, type KeyValueBackend } from './backend.js';
import { escapeKey, unescapeKey } from './nats-keys.js';

/** How many times a conflicting write is retried before giving up. */
const MAX_ATTEMPTS = 200;

/** How many counters' last writes a bucket remembers (the oldest is forgotten first). */
const REMEMBERED_COUNTERS = 4096;

/** How long delete markers of expired keys stay in a bucket the provider creates. */
const MARKER_TTL_MS = 1000;

/** JetStream KV bucket names. */
const BUCKET = /^[A-Za-z0-9_-]{1,240}$/;

/** Checks a bucket name (`WASMESH_ERR_CONFIG` naming it when invalid). */
export function checkBucketName(bucket: string): string {
  if (!BUCKET.test(bucket)) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `invalid JetStream KV bucket name "${bucket}" in config key "bucket": use letters, digits, '-' and '_' only`,
      { details: { key: 'bucket', value: bucket } },
    );
  }
  return bucket;
}

/** The default bucket of an actor's links: `wasmesh_<lattice>_kv_<actorId>`, reduced to valid characters. */
export function defaultBucket(lattice: string, actorId: string): string {
  return `wasmesh_${lattice}_kv_${actorId}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Whether `version` (`2.11.0`) is at least `major.minor`. */
function atLeast(version: string | undefined, major: number, minor: number): boolean {
  const [a = 0, b = 0] = (version ?? '').split('.').map((n) => parseInt(n, 10));
  return a > major || (a === major && b >= minor);
}

function isConflict(err: unknown): boolean {
  return /wrong last sequence|key exists/i.test((err as Error)?.message ?? '');
}

/** A short pause before retrying a conflicting write (grows with the attempt, with jitter). */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(2 ** Math.min(attempt, 6), 50);
  return new Promise((r) => setTimeout(r, ms));
}

interface PendingIncrement {
  delta: bigint;
  resolve: (value: number) => void;
  reject: (err: unknown) => void;
}

/** An open bucket, shared by every link that uses it. */
export class NatsBucket {
  /** Increments waiting per stored key, while a batch of that key is being written. */
  readonly #increments = new Map<string, PendingIncrement[]>();
  /** The counters this process wrote last (revision and value), oldest first; see `#add`. */
  readonly #lastWritten = new Map<string, { revision: number; value: bigint }>();

  private constructor(
    readonly name: string,
    readonly kv: KV,
    private readonly js: JetStreamClient,
    /** Whether the bucket takes per-key TTLs. */
    readonly ttlSupported: boolean,
  ) {}

  /** Opens bucket `name`, creating it (with per-key TTLs where the server has them) if needed. */
  static async open(nc: NatsConnection, name: string): Promise<NatsBucket> {
    const js = jetstream(nc);
    const ttl = atLeast(nc.info?.version, 2, 11);
    let kv: KV;
    try {
      kv = await new Kvm(js).create(name, { history: 1, ...(ttl ? { markerTTL: MARKER_TTL_MS } : {}) });
    } catch (err) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFIG',
        `cannot open the JetStream KV bucket "${name}": ${(err as Error).message}`,
        { cause: err, details: { bucket: name } },
      );
    }
    const status = await kv.status();
    return new NatsBucket(name, kv, js, status.streamInfo.config.allow_msg_ttl === true);
  }

  /** The live entry under stored key `k`, or `undefined` (absent, deleted or expired). */
  async entry(k: string): Promise<KvEntry | undefined> {
    const e = await this.kv.get(k);
    return e && e.operation === 'PUT' ? e : undefined;
  }

  /** Writes `value` under stored key `k` with a TTL in seconds. */
  async putWithTtl(k: string, value: Uint8Array, ttlSeconds: number): Promise<void> {
    await this.js.publish(`$KV.${this.name}.${k}`, value, { ttl: `${ttlSeconds}s` });
  }

  /** Adds `delta` to the counter under stored key `k`; `key` names it in errors. */
  increment(k: string, key: string, delta: bigint): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const op = { delta, resolve, reject };
      const waiting = this.#increments.get(k);
      if (waiting) {
        waiting.push(op);
        return;
      }
      this.#increments.set(k, [op]);
      void this.#runIncrements(k, key);
    });
  }

  /** Writes the queued increments of `k` in batches until none are left. */
  async #runIncrements(k: string, key: string): Promise<void> {
    for (;;) {
      const batch = this.#increments.get(k)!;
      if (batch.length === 0) {
        this.#increments.delete(k);
        return;
      }
      this.#increments.set(k, []);
      try {
        let value = await this.#add(
          k,
          key,
          batch.reduce((sum, op) => sum + op.delta, 0n),
        );
        for (const op of batch) {
          value += op.delta;
          op.resolve(Number(value));
        }
      } catch (err) {
        for (const op of batch) op.reject(err);
      }
    }
  }

  #remember(k: string, revision: number, value: bigint): void {
    this.#lastWritten.set(k, { revision, value });
    if (this.#lastWritten.size > REMEMBERED_COUNTERS) {
      this.#lastWritten.delete(this.#lastWritten.keys().next().value!);
    }
  }

  /**
   * Adds `sum` to the counter under `k` with an optimistic update; returns the value before. The
   * update is first tried on the revision this process wrote last, with no read: a hot counter
   * written by one instance costs one round trip per batch instead of two. A conflict (another
   * writer, a delete, an expiry) falls back to reading the entry.
   */
  async #add(k: string, key: string, sum: bigint): Promise<bigint> {
    const known = this.#lastWritten.get(k);
    this.#lastWritten.delete(k);
    const guessed = known ? known.value + sum : undefined;
    if (known && guessed !== undefined && guessed <= INT64_MAX && guessed >= INT64_MIN) {
      try {
        this.#remember(k, await this.kv.update(k, guessed.toString(), known.revision), guessed);
        return known.value;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const e = await this.entry(k);
      const current = e ? parseCounter(e.value, key) : 0n;
      const next = current + sum;
      if (next > INT64_MAX || next < INT64_MIN) throw outOfRange(key);
      try {
        const revision = e
          ? await this.kv.update(k, next.toString(), e.revision)
          : await this.kv.create(k, next.toString());
        this.#remember(k, revision, next);
        return current;
      } catch (err) {
        if (!isConflict(err)) throw err;
        await backoff(attempt);
      }
    }
    throw contention(key);
  }
}

function contention(key: string): WasmeshError {
  return new WasmeshError(
    'WASMESH_ERR_CONFLICT',
    `key "${key}" changed ${MAX_ATTEMPTS} times while this write was retried; try again`,
    { details: { key } },
  );
}

/** One link's key space in a bucket: keys are stored as `prefix + key`, escaped. */
export class NatsBackend implements KeyValueBackend {
  readonly kind = 'nats';
  readonly description: string;

  constructor(
    private readonly bucket: NatsBucket,
    private readonly prefix: string,
  ) {
    this.description = `JetStream KV bucket ${bucket.name}${prefix ? ` (prefix "${prefix}")` : ''}`;
  }

  #k(key: string): string {
    return escapeKey(this.prefix + key);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.bucket.entry(this.#k(key)))?.value;
  }

  async set(key: string, value: Uint8Array, ttlSeconds: number): Promise<void> {
    if (ttlSeconds > 0) {
      if (!this.bucket.ttlSupported) {
        throw new WasmeshError(
          'WASMESH_ERR_UNAVAILABLE',
          `${this.description} does not take per-key TTLs (they need NATS server 2.11+ and a bucket created with ` +
            'per-message TTLs, as this provider creates them); set ttl_seconds 0, or use the redis backend',
          { details: { bucket: this.bucket.name, key } },
        );
      }
      await this.bucket.putWithTtl(this.#k(key), value, ttlSeconds);
    } else {
      await this.bucket.kv.put(this.#k(key), value);
    }
  }

  async delete(key: string): Promise<boolean> {
    const k = this.#k(key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const e = await this.bucket.entry(k);
      if (!e) return false;
      try {
        await this.bucket.kv.delete(k, { previousSeq: e.revision });
        return true;
      } catch (err) {
        if (!isConflict(err)) throw err;
        await backoff(attempt);
      }
    }
    throw contention(key);
  }

  async exists(key: string): Promise<boolean> {
    return (await this.bucket.entry(this.#k(key))) !== undefined;
  }

  increment(key: string, delta: number): Promise<number> {
    return this.bucket.increment(this.#k(key), key, BigInt(delta));
  }

  async keys(prefix: string, limit: number): Promise<string[]> {
    const wanted = this.prefix + prefix;
    const candidates: string[] = [];
    for await (const stored of await this.bucket.kv.keys()) {
      const key = unescapeKey(stored);
      if (key !== undefined && key.startsWith(wanted)) candidates.push(key);
    }
    candidates.sort();
    // The key listing also shows keys whose value just expired (until the server's delete marker
    // goes), so each one is checked before it is returned.
    const out: string[] = [];
    for (const key of candidates) {
      if (out.length >= limit) break;
      if (await this.bucket.entry(escapeKey(key))) out.push(key.slice(this.prefix.length));
    }
    return out;
  }

  async compareAndSet(key: string, expected: Uint8Array | null, value: Uint8Array): Promise<boolean> {
    const k = this.#k(key);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const e = await this.bucket.entry(k);
      if (expected === null ? e !== undefined : !e || !sameBytes(e.value, expected)) return false;
      try {
        if (e) await this.bucket.kv.update(k, value, e.revision);
        else await this.bucket.kv.create(k, value);
        return true;
      } catch (err) {
        // Someone wrote in between: read again, the value may still match.
        if (!isConflict(err)) throw err;
        await backoff(attempt);
      }
    }
    throw contention(key);
  }

  health(): { healthy: boolean; message?: string } {
    return { healthy: true };
  }

  async close(): Promise<void> {
    // The bucket is shared and lives on the provider's own connection: nothing to release.
  }
}
