/**
 * @wasmesh/provider-messaging: the `wasmesh:messaging` provider. Linked actors publish and request
 * on NATS; the subjects their link config subscribes to are delivered to them as
 * `MessageHandler.HandleMessage`. Run it as a process (`node providers/messaging/dist/main.js`
 * with the `WASMESH_*` environment of the provider SDK, or `builtin:messaging` on a host), or
 * embed it with {@link createMessagingProvider}.
 */
import type { ProviderDefinition, ProviderFactory } from '@wasmesh/provider-sdk';
import { messagingProvider } from './provider.js';
export { createMessagingProvider, messagingProvider, type MessagingProviderOptions } from './provider.js';
export {
  parseLinkConfig,
  parseSubscriptions,
  defaultQueueGroup,
  unknownConfigKeys,
  CONFIG_KEYS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_DELIVERY_TIMEOUT_MS,
  type MessagingLinkConfig,
} from './config.js';
export { subjectProblem, INTERNAL_FIRST_TOKENS, INTERNAL_PREFIXES, type SubjectUse } from './subjects.js';
export { DEFAULT_REQUEST_TIMEOUT_MS, requestTimeout } from './operations.js';
export {
  SERVICE_ERROR_HEADER,
  SERVICE_ERROR_CODE_HEADER,
  serviceErrorStatus,
  serviceErrorDescription,
} from './delivery.js';
export { MessagingLink, type LinkHealth } from './link.js';

/**
 * What a host loads to run `builtin:messaging` in-process: the same definition the process runs,
 * from the same bootstrap environment.
 */
export const providerDefinition: ProviderFactory = (env) =>
  messagingProvider(env.WASMESH_APP_NATS_CREDS || undefined) as ProviderDefinition<unknown>;
