/**
 * @wasmesh/host: the host node: the actor runtime (wasmtime via the native addon), the lattice host
 * (control API, actors, provider supervision) and the local commands built on them.
 */
export { ActorRuntime, Actor } from './runtime/runtime.js';
export type {
  ActorBindings,
  ActorRuntimeOptions,
  HostCallHandler,
  HostCallRequest,
  InvokeOptions,
  ModuleInfo,
  RuntimeState,
} from './runtime/runtime.js';
export type { ActorOptions, RuntimeOptions, ResolvedRuntimeOptions } from './runtime/options.js';
export { ActorError, RUNTIME_ERROR_CODES, type RuntimeErrorCode } from './runtime/errors.js';
export { LatticeHost, HOST_VERSION, type HostState } from './node/host.js';
export type { HostOptions, ResolvedHostOptions } from './node/options.js';
export { resolveProviderEntry, resolveInProcessModule } from './providers/reference.js';
export { providerEnvironment } from './providers/environment.js';
export { SupervisedProvider, type ProviderDescription, type ProviderState } from './providers/supervised-provider.js';
