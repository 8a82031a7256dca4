/**
 * @wasmesh/host: the host node. Today: the actor runtime (wasmtime via the native addon) and the
 * local commands built on it; the lattice-connected host follows.
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
