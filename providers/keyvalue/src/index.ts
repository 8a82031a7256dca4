/**
 * @wasmesh/provider-keyvalue: the `wasmesh:keyvalue` provider. Run it as a process
 * (`node providers/keyvalue/dist/main.js` with the `WASMESH_*` environment of the provider SDK), or
 * embed it with {@link createKeyValueProvider}.
 */
import type { ProviderDefinition, ProviderFactory } from '@wasmesh/provider-sdk';
import { keyValueProvider } from './provider.js';
export { createKeyValueProvider, keyValueProvider } from './provider.js';
export { parseBackendConfig, unknownConfigKeys, CONFIG_KEYS, type BackendConfig } from './config.js';
export { MAX_KEY_BYTES, DEFAULT_KEYS_LIMIT, type KeyValueBackend } from './backends/backend.js';
export { NatsBackend, NatsBucket, defaultBucket, checkBucketName } from './backends/nats.js';
export { escapeKey, unescapeKey } from './backends/nats-keys.js';
export { RedisBackend, checkRedisUrl, redactUrl } from './backends/redis.js';

/**
 * What a host loads to run `builtin:keyvalue` in-process: the same definition the process runs,
 * from the same bootstrap environment.
 */
export const providerDefinition: ProviderFactory = () => keyValueProvider() as ProviderDefinition<unknown>;
