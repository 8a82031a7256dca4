/**
 * The messaging provider: contract `wasmesh:messaging` (proto/wasmesh/contracts/v1/messaging.proto).
 * Linked actors publish and request through it (operations.ts); the subjects a link's config
 * subscribes to are delivered to the actor as `MessageHandler.HandleMessage` (link.ts,
 * delivery.ts). Each link's resource (its connection and subscriptions) is built when the link is
 * put or its config changes, before the old one is released, and drained once the calls using it
 * have finished. The provider is unhealthy while a link's own NATS connection (config `url`) is
 * down; the lattice connection is the SDK's concern.
 *
 * Links without a `url` travel on the lattice's NATS. In a secured lattice the provider's own
 * credentials may not touch application subjects (the `provider` role), so it opens a second
 * connection with the `app` credentials its host gave it (env `WASMESH_APP_NATS_CREDS`).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { CallRecorder, connectNats, DEFAULT_LINK_NAME, describeLink, linkKey, redactUrl } from '@wasmesh/lattice';
import { ContractId, Operation } from '@wasmesh/proto';
import { Provider, type HealthStatus, type ProviderDefinition, type ProviderOptions } from '@wasmesh/provider-sdk';
import { defaultQueueGroup, parseLinkConfig, unknownConfigKeys } from './config.js';
import { deliverMessage } from './delivery.js';
import { MessagingLink } from './link.js';
import { publish, requestReply } from './operations.js';

/**
 * The provider's definition: Publish and Request, and a {@link MessagingLink} per link.
 * `appCreds`: the `app` credentials for application subjects in a secured lattice (default env
 * `WASMESH_APP_NATS_CREDS`, which a supervising host sets).
 */
export function messagingProvider(
  appCreds: string | undefined = process.env.WASMESH_APP_NATS_CREDS || undefined,
): ProviderDefinition<MessagingLink> {
  /** Links whose resource is live, for health checks. */
  const links = new Set<MessagingLink>();
  /** The connection for application subjects, when the lattice is secured. */
  let appNc: NatsConnection | undefined;
  /** Deliveries counted and timed; made on the first, after the process set up its telemetry. */
  let deliveries: CallRecorder | undefined;

  return {
    contract: ContractId.MESSAGING,
    name: 'messaging',

    async start(provider) {
      if (!appCreds) return;
      const { tlsCa } = provider.options;
      appNc = await connectNats({
        servers: [...provider.options.natsServers],
        creds: appCreds,
        ...(tlsCa ? { tlsCa } : {}),
        name: `provider ${provider.id} app`,
        logger: provider.logger,
      });
    },

    async stop() {
      await appNc?.drain().catch(() => undefined);
    },

    operations: {
      [Operation.Messaging.Publish]: publish,
      [Operation.Messaging.Request]: requestReply,
    },

    async onLinkPut(link, linkConfig, provider) {
      // The provider's own config gives defaults (e.g. max_in_flight for every link).
      const config = { ...provider.config, ...linkConfig };
      const description = describeLink(link);
      const unknown = unknownConfigKeys(config);
      if (unknown.length > 0) provider.logger.warn({ link: description, unknown }, 'unknown config keys ignored');
      const key = linkKey(link.sourceId ?? '', link.contract ?? ContractId.MESSAGING, link.name || DEFAULT_LINK_NAME);
      const parsed = parseLinkConfig(config, defaultQueueGroup(provider.subjects.lattice, provider.id, key));
      const logger = provider.logger.child({ linkKey: key });
      const resource = await MessagingLink.open({
        link,
        key,
        config: parsed,
        latticeNc: appNc ?? provider.nc,
        providerId: provider.id,
        deliver: (actorId, msg, timeoutMs) =>
          (deliveries ??= new CallRecorder({
            counter: 'wasmesh.messaging.deliveries',
            duration: 'wasmesh.messaging.delivery.duration',
            description: 'Messages delivered to actors, from receiving one to the actor having handled it',
            unit: '{message}',
          })).record({ 'wasmesh.actor.id': actorId }, () => deliverMessage(provider, actorId, msg, timeoutMs)),
        logger,
      });
      links.add(resource);
      provider.logger.info(
        {
          link: description,
          subscriptions: parsed.subscriptions,
          queue: parsed.queue,
          nats: parsed.url === undefined ? 'lattice' : redactUrl(parsed.url),
          maxInFlight: parsed.maxInFlight,
          timeoutMs: parsed.timeoutMs,
        },
        'messaging link ready',
      );
      return resource;
    },

    async onLinkDelete(_link, resource, reason, provider) {
      links.delete(resource);
      await resource.close(provider.options.drainTimeoutMs);
      provider.logger.info(
        { link: resource.description, reason, delivered: resource.delivered, failed: resource.failed },
        'messaging link released',
      );
    },

    health(): HealthStatus {
      const sick = [...links].map((l) => l.health()).filter((h) => !h.healthy);
      return sick.length === 0
        ? true
        : { healthy: false, message: sick.map((h) => h.message ?? 'unavailable').join('; ') };
    },
  };
}

/** Options of {@link createMessagingProvider}: the SDK's, and the `app` credentials. */
export interface MessagingProviderOptions extends ProviderOptions {
  /** `app` credentials for application subjects. @default env WASMESH_APP_NATS_CREDS (of `env`, else the process's) */
  appCreds?: string;
}

/** A messaging provider (state `created`; call `start()`), configured from `options` and the `WASMESH_*` env. */
export function createMessagingProvider(options: MessagingProviderOptions = {}): Provider<MessagingLink> {
  const { appCreds, ...sdk } = options;
  const env = options.env ?? process.env;
  return new Provider(messagingProvider(appCreds ?? (env.WASMESH_APP_NATS_CREDS || undefined)), sdk);
}
