/**
 * The native addon's surface, typed by hand, and its loader. Only this module touches the `.node`
 * file; everything above it goes through `ActorRuntime`. The addon is built from source by
 * `npm install` (see host/scripts/build-native.mjs).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WasmeshError } from '@wasmesh/lattice';

/**
 * Engine and pool sizing as the addon takes it. napi-rs maps `Option<T>` to an absent property or
 * `undefined` (not `null`), hence the optional fields here and nowhere above this module.
 */
export interface NativeRuntimeOptions {
  maxInstances: number;
  maxMemoryBytes: number;
  maxWasmStackBytes: number;
  epochTickUs: number;
  cacheDir?: string;
  /** Spin for a lone invocation's outcome (JS thread) and linger for the next job (worker), µs. */
  spinWaitUs: number;
}

/** Actor limits as the addon takes them (every field set). */
export interface NativeActorOptions {
  maxMemoryBytes: number;
  timeoutMs: number;
  fuel?: number;
  maxConcurrent: number;
  maxResponseBytes: number;
  maxLogBytes: number;
  logRateBytesPerSec: number;
}

/** An import or export of a module. */
export interface NativeItem {
  module: string;
  name: string;
  type: string;
}

/** What `inspect` returns. */
export interface NativeModuleInfo {
  hash: string;
  size: number;
  /** A component of the Component Model, else a core module. */
  component: boolean;
  imports: NativeItem[];
  exports: NativeItem[];
  validActor: boolean;
  problem?: string;
}

/** Pool and cache counters. */
export interface NativeStats {
  instancesInUse: number;
  maxInstances: number;
  modulesCached: number;
}

/**
 * A batch of invocation outcomes. `lengths[i]` is the byte length of invocation `ids[i]`'s
 * response within `data` (responses are stored back to back), or -1 when it failed: its error
 * is then the next entry of `errors`, as the addon's `{code, message, ...}` JSON text. Fields
 * that would be empty are absent.
 */
export interface NativeCompletions {
  ids: number[];
  lengths: number[];
  data: Buffer;
  /**
   * How long invocation `ids[i]` waited for its actor's concurrency permit and a pool slot before
   * its wasm started, µs (for one that failed while waiting, the whole time it waited). Absent when
   * every wait of the batch is zero.
   */
  waits?: number[];
  errors?: string[];
  /** Guest log lines written since the last batch: invocation id, level and text of each. */
  logIds?: number[];
  logLevels?: string[];
  logLines?: string[];
  /**
   * Host calls guests made since the last batch: each to be answered with `resolveHostCall` or
   * `rejectHostCall` by its id; `callInvocations[i]` is the invocation whose guest made it, and
   * its payload the next `callLengths[i]` bytes of `callData`.
   */
  callIds?: number[];
  callInvocations?: number[];
  callBindings?: string[];
  callNamespaces?: string[];
  callOperations?: string[];
  callLengths?: number[];
  callData?: Buffer;
}

/** A loaded actor in the addon. */
export interface NativeActor {
  /** Queues invocation `id`; its outcome arrives through the runtime's `takeCompleted()`. */
  invoke(id: number, operation: string, payload: Uint8Array, timeoutMs: number | undefined): void;
  readonly hash: string;
  readonly source: 'memory' | 'disk' | 'compiled';
  readonly inFlight: number;
}

/** The addon's runtime class. */
export interface NativeRuntime {
  /**
   * Loads synchronously when the compiled code is cached (no wasm runs); `null` means use `load`.
   * `handlesCalls`: whether JS answers the actor's host calls (else they fail in the addon).
   */
  loadPrecompiled(wasm: Uint8Array, opts: NativeActorOptions, handlesCalls: boolean): NativeActor | null;
  load(wasm: Buffer, opts: NativeActorOptions, handlesCalls: boolean): Promise<NativeActor>;
  /** Answers a host call of a batch with the response bytes. */
  resolveHostCall(id: number, response: Uint8Array): void;
  /** Fails a host call of a batch; the guest sees `message` as its error. */
  rejectHostCall(id: number, message: string): void;
  inspect(wasm: Buffer): Promise<NativeModuleInfo>;
  stats(): NativeStats;
  close(): void;
  /** References (keeps Node alive) or unreferences the wake-up callback. */
  setActive(active: boolean): void;
  /** Every outcome finished since the last call; `null` when there is none. */
  takeCompleted(): NativeCompletions | null;
  /**
   * Busy-waits up to `maxMicros` for an outcome; true when `takeCompleted` must be called (no
   * wake-up comes for outcomes ready by then). Called at the end of every turn that invoked.
   */
  waitCompleted(maxMicros: number): boolean;
}

interface NativeModule {
  /** `wake` is called when outcomes are waiting for `takeCompleted()`. */
  NativeRuntime: new (opts: NativeRuntimeOptions, wake: () => void) => NativeRuntime;
}

/** Path of the built addon; `WASMESH_NATIVE_PATH` overrides it. */
export function nativeAddonPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  return process.env.WASMESH_NATIVE_PATH ?? path.resolve(here, '..', '..', 'native', 'wasmesh_runtime.node');
}

let loaded: NativeModule | undefined;

/** Loads the addon once; a clear error says how to build it when it is missing. */
export function loadNative(): NativeModule {
  if (loaded) return loaded;
  const file = nativeAddonPath();
  if (!existsSync(file)) {
    throw new WasmeshError(
      'WASMESH_ERR_NATIVE_MISSING',
      `the native runtime is not built (${file} does not exist); run \`npm install\` or \`npm run build\` in the repository`,
      { details: { path: file } },
    );
  }
  const require = createRequire(import.meta.url);
  loaded = require(file) as NativeModule;
  return loaded;
}
