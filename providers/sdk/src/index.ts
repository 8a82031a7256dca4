/**
 * @wasmesh/provider-sdk: write a capability provider as its own process. Define the contract's
 * operations and the hooks you need, then `runProvider(definition)` (a process) or
 * `new Provider(definition, options).start()` (embedded, e.g. in tests).
 */
export { Provider, NATS_CLOSED_REASON, type ProviderInvokeOptions } from './provider.js';
export { runProvider } from './run.js';
export {
  resolveProviderOptions,
  DEFAULT_DRAIN_TIMEOUT_MS,
  type ProviderOptions,
  type ResolvedProviderOptions,
} from './options.js';
export type {
  CallContext,
  ConfigValues,
  HealthStatus,
  LinkReleaseReason,
  OperationHandler,
  ProviderDefinition,
  ProviderFactory,
  ProviderState,
} from './definition.js';
export type { ProviderLink } from './links.js';
export { configError, noLinkError, unknownOperationError } from './errors.js';
