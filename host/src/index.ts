/**
 * @wasmesh/host: the host node: the actor runtime (wasmtime via the native addon), the lattice host
 * (control API, actors, provider supervision) and the local commands built on them.
 *
 * Layout (decided for issue 12: one directory per concern, no import cycles: `node/` builds on
 * `actors/` and `providers/`, which build on `runtime/`; `actors/` reads only the option types of
 * node/options.ts, and nothing imports node/host.ts or node/control.ts back):
 * - `node/`: the `LatticeHost` itself (host.ts), its options, identity and labels, the control API
 *   handlers (control.ts: decode, delegate, encode) and the spy's view of local calls.
 * - `actors/`: the actors a host runs: their lifecycle (lifecycle.ts: start, update, stop, claims
 *   records), module loading and admission, each running actor, and its host calls (with the link table).
 * - `providers/`: capability providers in both modes and their supervision.
 * - `runtime/`: the binding of the native wasm runtime; `commands/` and `bin/`: the CLI built on them.
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
export {
  allowsOutbound,
  answerActorConfig,
  ALLOWED_OUTBOUND_HOSTS,
  OUTGOING_HTTP_CAPABILITY,
} from './actors/actor-config.js';
