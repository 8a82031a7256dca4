/**
 * The keyvalue provider: contract `wasmesh:keyvalue` (proto/wasmesh/contracts/v1/keyvalue.proto),
 * its seven operations on the backend each link's config chooses (see config.ts). A link's
 * backend is built when the link is put or its config changes, and closed once the calls using it
 * have finished.
 */
import { decode, describeLink, encode, type Decoder, type Encoder } from '@wasmesh/lattice';
import { ContractId, contracts, Operation } from '@wasmesh/proto';
import {
  Provider,
  type CallContext,
  type OperationHandler,
  type ProviderDefinition,
  type ProviderOptions,
} from '@wasmesh/provider-sdk';
import { checkKey, DEFAULT_KEYS_LIMIT, type KeyValueBackend } from './backends/backend.js';
import { NatsBackend, NatsBucket } from './backends/nats.js';
import { RedisBackend } from './backends/redis.js';
import { parseBackendConfig, unknownConfigKeys } from './config.js';
import { KeyValueTelemetry } from './telemetry.js';

/** The operations of the KeyValue service (keyvalue.proto). */
const KV = Operation.KeyValue;

/** The provider's definition: operations, and a backend per link built from its config. */
export function keyValueProvider(): ProviderDefinition<KeyValueBackend> {
  let telemetry: KeyValueTelemetry | undefined;

  /** A handler that decodes the request message, runs `fn` measured, and encodes the response message. */
  function operation<Req, Res>(
    name: (typeof KV)[keyof typeof KV],
    request: Decoder<Req>,
    response: Encoder<Res>,
    fn: (backend: KeyValueBackend, req: Req, ctx: CallContext<KeyValueBackend>) => Promise<Res>,
  ): OperationHandler<KeyValueBackend> {
    return async (ctx, payload) => {
      const req = decode(request, payload, `${name} request`);
      telemetry ??= new KeyValueTelemetry();
      return encode(response, await telemetry.measure(ctx.resource, name, ctx.trace, () => fn(ctx.resource, req, ctx)));
    };
  }

  /** Buckets opened so far, shared by the links using them. */
  const buckets = new Map<string, Promise<NatsBucket>>();
  const backends = new Set<KeyValueBackend>();

  const openBucket = (provider: Provider<KeyValueBackend>, name: string): Promise<NatsBucket> => {
    let bucket = buckets.get(name);
    if (!bucket) {
      bucket = NatsBucket.open(provider.nc, name);
      buckets.set(name, bucket);
      bucket.catch(() => buckets.delete(name));
    }
    return bucket;
  };

  return {
    contract: ContractId.KEYVALUE,
    name: 'keyvalue',
    operations: {
      [KV.Get]: operation(KV.Get, contracts.GetRequest, contracts.GetResponse, async (b, req) => {
        const value = await b.get(checkKey(req.key));
        return value === undefined ? { found: false } : { found: true, value };
      }),
      [KV.Set]: operation(KV.Set, contracts.SetRequest, contracts.SetResponse, async (b, req) => {
        await b.set(checkKey(req.key), req.value, req.ttlSeconds);
        return {};
      }),
      [KV.Delete]: operation(KV.Delete, contracts.DeleteRequest, contracts.DeleteResponse, async (b, req) => ({
        existed: await b.delete(checkKey(req.key)),
      })),
      [KV.Exists]: operation(KV.Exists, contracts.ExistsRequest, contracts.ExistsResponse, async (b, req) => ({
        exists: await b.exists(checkKey(req.key)),
      })),
      [KV.Increment]: operation(
        KV.Increment,
        contracts.IncrementRequest,
        contracts.IncrementResponse,
        async (b, req) => ({ value: await b.increment(checkKey(req.key), Number(req.delta) || 1) }),
      ),
      [KV.Keys]: operation(KV.Keys, contracts.KeysRequest, contracts.KeysResponse, async (b, req) => ({
        keys: await b.keys(req.prefix, req.limit || DEFAULT_KEYS_LIMIT),
      })),
      [KV.CompareAndSet]: operation(
        KV.CompareAndSet,
        contracts.CompareAndSetRequest,
        contracts.CompareAndSetResponse,
        async (b, req) => ({
          swapped: await b.compareAndSet(checkKey(req.key), req.expectAbsent ? null : req.expected, req.value),
        }),
      ),
    },

    async onLinkPut(link, linkConfig, provider) {
      // The provider's own config gives defaults (e.g. backend=redis for every link).
      const config = { ...provider.config, ...linkConfig };
      const unknown = unknownConfigKeys(config);
      if (unknown.length > 0)
        provider.logger.warn({ link: describeLink(link), unknown }, 'unknown config keys ignored');
      const parsed = parseBackendConfig(config, provider.subjects.lattice, link.sourceId ?? '');
      const backend =
        parsed.backend === 'nats'
          ? new NatsBackend(await openBucket(provider, parsed.bucket), parsed.prefix)
          : await RedisBackend.connect(parsed.url, parsed.prefix, provider.logger);
      backends.add(backend);
      provider.logger.info({ link: describeLink(link), backend: backend.description }, 'keyvalue link ready');
      return backend;
    },

    async onLinkDelete(_link, backend) {
      backends.delete(backend);
      await backend.close();
    },

    health() {
      const sick = [...backends].map((b) => b.health()).filter((h) => !h.healthy);
      return sick.length === 0
        ? true
        : { healthy: false, message: sick.map((h) => h.message ?? 'unavailable').join('; ') };
    },
  };
}

/** A keyvalue provider (state `created`; call `start()`), configured from `options` and the `WASMESH_*` env. */
export function createKeyValueProvider(options: ProviderOptions = {}): Provider<KeyValueBackend> {
  return new Provider(keyValueProvider(), options);
}
