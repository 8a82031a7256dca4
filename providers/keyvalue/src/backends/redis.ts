/**
 * The Redis backend (config `backend=redis`, `url=redis://host:port[/db]`, optional `prefix`):
 * INCRBY for atomic increments, SET EX for TTLs, a Lua script for compare-and-set, SCAN for keys.
 * The first connection must succeed (or the link is refused with the reason); after that the
 * client reconnects forever, and calls during an outage fail with `WASMESH_ERR_UNAVAILABLE`.
 */
import { Redis } from 'ioredis';
import { WasmeshError, type Logger } from '@wasmesh/lattice';
import { configError } from '@wasmesh/provider-sdk';
import { notAnInteger, type KeyValueBackend } from './backend.js';

/** How long the first connection may take before the link is refused. */
const CONNECT_TIMEOUT_MS = 3000;

/** Sets KEYS[1] to ARGV[3] if it is absent (ARGV[1] = '1') or equals ARGV[2]; returns 1 when it did. */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
`;

/** `url` without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** Checks a Redis URL from link config (`WASMESH_ERR_CONFIG` saying what is wrong). */
export function checkRedisUrl(url: string | undefined): string {
  if (!url) {
    throw configError('backend "redis" needs config key "url", e.g. url=redis://127.0.0.1:6379', { key: 'url' });
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw configError(`config key "url" is not a URL: "${redactUrl(url)}" (expected redis://host:port)`, {
      key: 'url',
    });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw configError(
      `config key "url" must be a redis:// or rediss:// URL, got "${redactUrl(url)}" (${parsed.protocol})`,
      {
        key: 'url',
      },
    );
  }
  if (!parsed.hostname) throw configError(`config key "url" names no host: "${redactUrl(url)}"`, { key: 'url' });
  return url;
}

/** One link's key space in a Redis database: keys are stored as `prefix + key`. */
export class RedisBackend implements KeyValueBackend {
  readonly kind = 'redis';
  readonly description: string;
  #closed = false;

  private constructor(
    private readonly client: Redis,
    private readonly url: string,
    private readonly prefix: string,
  ) {
    this.description = `Redis at ${redactUrl(url)}${prefix ? ` (prefix "${prefix}")` : ''}`;
  }

  /** Connects (the first attempt must succeed: `WASMESH_ERR_CONFIG` with the reason otherwise). */
  static async connect(url: string, prefix: string, logger: Logger): Promise<RedisBackend> {
    checkRedisUrl(url);
    let connected = false;
    let lastError: Error | undefined;
    const client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 1,
      // Before the first connection: give up at once (the link is refused). After: retry forever.
      retryStrategy: (times) => (connected ? Math.min(times * 100, 2000) : null),
    });
    client.on('error', (err: Error) => {
      lastError = err;
      if (connected) logger.warn({ err, redis: redactUrl(url) }, 'redis connection error');
    });
    try {
      await client.connect();
      await client.ping();
      connected = true;
    } catch (err) {
      // A connection that never opened is already closed; disconnecting it again would leave a
      // timer behind.
      if (client.status !== 'end') client.disconnect();
      const reason = (lastError ?? (err as Error))?.message ?? String(err);
      throw configError(`cannot reach Redis at ${redactUrl(url)}: ${reason}`, { url: redactUrl(url) }, err);
    }
    return new RedisBackend(client, url, prefix);
  }

  #k(key: string): string {
    return this.prefix + key;
  }

  /** Runs a command, turning connection failures into `WASMESH_ERR_UNAVAILABLE`. */
  async #call<T>(key: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      if (/not an integer|out of range/i.test(message)) throw notAnInteger(key);
      if ((err as Error)?.name === 'ReplyError') {
        throw new WasmeshError('WASMESH_ERR_INTERNAL', `Redis at ${redactUrl(this.url)} refused: ${message}`, {
          cause: err,
          details: { key },
        });
      }
      throw new WasmeshError('WASMESH_ERR_UNAVAILABLE', `Redis at ${redactUrl(this.url)} is unavailable: ${message}`, {
        cause: err,
        details: { key, url: redactUrl(this.url) },
      });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = await this.#call(key, () => this.client.getBuffer(this.#k(key)));
    return value ?? undefined;
  }

  async set(key: string, value: Uint8Array, ttlSeconds: number): Promise<void> {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    await this.#call(key, () =>
      ttlSeconds > 0 ? this.client.set(this.#k(key), bytes, 'EX', ttlSeconds) : this.client.set(this.#k(key), bytes),
    );
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#call(key, () => this.client.del(this.#k(key)))) > 0;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.#call(key, () => this.client.exists(this.#k(key)))) > 0;
  }

  async increment(key: string, delta: number): Promise<number> {
    return this.#call(key, () => this.client.incrby(this.#k(key), delta));
  }

  async keys(prefix: string, limit: number): Promise<string[]> {
    const pattern = `${escapeGlob(this.prefix + prefix)}*`;
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await this.#call(prefix, () => this.client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000));
      for (const k of batch) found.add(k.slice(this.prefix.length));
      cursor = next;
    } while (cursor !== '0');
    return [...found].sort().slice(0, limit);
  }

  async compareAndSet(key: string, expected: Uint8Array | null, value: Uint8Array): Promise<boolean> {
    const swapped = await this.#call(key, () =>
      this.client.eval(
        COMPARE_AND_SET,
        1,
        this.#k(key),
        expected === null ? '1' : '0',
        Buffer.from(expected ?? new Uint8Array()),
        Buffer.from(value),
      ),
    );
    return swapped === 1;
  }

  health(): { healthy: boolean; message?: string } {
    const status = this.client.status;
    return status === 'ready' ? { healthy: true } : { healthy: false, message: `${this.description} is ${status}` };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/** Escapes the glob characters of a Redis MATCH pattern. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
