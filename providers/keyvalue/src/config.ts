/**
 * The keyvalue provider's link config (named config values, merged in order over the provider's
 * own config):
 *
 *   backend   `nats` (default): a JetStream KV bucket on the lattice's NATS; `redis`: a Redis server
 *   bucket    nats only: the bucket (default `wasmesh_<lattice>_kv_<actorId>`)
 *   url       redis only: `redis://[user:password@]host:port[/db]` (or `rediss://`)
 *   prefix    both: prepended to every key, so links can share a bucket or database
 *
 * Config that cannot work is refused with `WASMESH_ERR_CONFIG` naming the key and value at fault;
 * a key meant for the other backend is refused too (a `url` without `backend=redis` would
 * otherwise silently keep the data in NATS).
 */
import { configError, type ConfigValues } from '@wasmesh/provider-sdk';
import { checkBucketName, defaultBucket } from './backends/nats.js';
import { checkRedisUrl } from './backends/redis.js';

/** The config keys the provider reads. */
export const CONFIG_KEYS = ['backend', 'bucket', 'url', 'prefix'] as const;

/** Where one link's keys live. */
export type BackendConfig =
  { backend: 'nats'; bucket: string; prefix: string } | { backend: 'redis'; url: string; prefix: string };

/** Reads a link's merged config; `actorId` and `lattice` name the default bucket. */
export function parseBackendConfig(config: ConfigValues, lattice: string, actorId: string): BackendConfig {
  const backend = (config.backend ?? 'nats').trim() || 'nats';
  const prefix = config.prefix ?? '';
  const misplaced = (key: string, owner: string): never => {
    throw configError(
      `config key "${key}" is for backend "${owner}", but the backend is "${backend}"; set backend=${owner} or remove "${key}"`,
      { key, backend },
    );
  };
  switch (backend) {
    case 'nats':
      if (config.url !== undefined) misplaced('url', 'redis');
      return { backend, bucket: checkBucketName(config.bucket ?? defaultBucket(lattice, actorId)), prefix };
    case 'redis':
      if (config.bucket !== undefined) misplaced('bucket', 'nats');
      return { backend, url: checkRedisUrl(config.url), prefix };
    default:
      throw configError(
        `unknown keyvalue backend "${backend}" in config key "backend": use "nats" (JetStream KV, the default) or "redis"`,
        { key: 'backend', value: backend },
      );
  }
}

/** Config keys the provider does not know (logged, so a typo does not go unnoticed). */
export function unknownConfigKeys(config: ConfigValues): string[] {
  return Object.keys(config).filter((k) => !(CONFIG_KEYS as readonly string[]).includes(k));
}
