/**
 * `ActorRuntime`: the process's wasm runtime (one wasmtime engine, pool and compiled-code cache) and
 * the actors loaded into it. Wasm runs on the addon's worker threads, never on the JS thread.
 */
import { silentLogger, WasmeshError, type Logger } from '@wasmesh/lattice';
import type { ActorError } from './errors.js';
import { fromNative, mapNative } from './errors.js';
import { PendingInvocations } from './pending.js';
import { loadNative, type NativeActor, type NativeRuntime, type NativeStats } from './native.js';
import {
  resolveRuntimeOptions,
  toNativeActorOptions,
  toNativeRuntimeOptions,
  type ActorOptions,
  type ResolvedRuntimeOptions,
  type RuntimeOptions,
} from './options.js';

/** Answers a guest's `__host_call(binding, namespace, operation, payload)`; a rejection becomes the guest's host error. */
export type HostCallHandler = (call: HostCallRequest) => Promise<Uint8Array>;

/** One host call made by a guest. */
export interface HostCallRequest {
  binding: string;
  namespace: string;
  operation: string;
  payload: Uint8Array;
  /** The `hostContext` given to the `invoke` whose guest made this call (deadline, trace, caller…). */
  context: unknown;
}

/** What a loaded actor can reach and where its logs go. */
export interface ActorBindings {
  /** Host-call handler; without one, every host call fails with a clear message. */
  hostCall?: HostCallHandler;
  /** Logger for the guest's `__console_log` and WASI stdout/stderr; default: the runtime's. */
  logger?: Logger;
  /**
   * Fields added to a guest log line of the invocation whose host context is `hostContext` (a
   * host adds the invocation and its trace, and records the line on the invocation's span).
   */
  guestLog?: (hostContext: unknown, level: string, line: string) => Record<string, unknown>;
}

/** Options of {@link ActorRuntime.create}. */
export interface ActorRuntimeOptions extends RuntimeOptions {
  logger?: Logger;
}

/** Lifecycle of the runtime: `running` until `close()`, then `closed` for good. */
export type RuntimeState = 'running' | 'closed';

/** Describes a module or component (see `inspect`). */
export interface ModuleInfo {
  hash: string;
  size: number;
  /** `component`: a WASI 0.2 component (its imports and exports are interfaces); `module`: a core module (waPC). */
  kind: 'module' | 'component';
  imports: { module: string; name: string; type: string }[];
  exports: { name: string; type: string }[];
  validActor: boolean;
  problem: ActorError | null;
}

/** Options of {@link Actor.invoke}. */
export interface InvokeOptions {
  /** Deadline of this invocation (waiting for a slot included); default: the actor's `timeoutMs`. */
  timeoutMs?: number;
  /** Handed to the host-call handler for every host call this invocation's guest makes. */
  hostContext?: unknown;
  /**
   * Told how long this invocation waited for the actor's concurrency permit and a pool slot before
   * its wasm started, in seconds (µs resolution; about zero when neither was contended), just
   * before its promise settles, failed or not: for one that failed while waiting (its deadline
   * passed, or the runtime closed), the whole time it waited. Not called for a call refused before
   * it reached the runtime (invalid arguments). It tells a saturated actor or pool from a slow
   * guest. Pass a function made once, not a closure per call, to keep invoking cheap.
   */
  onQueueWait?: (seconds: number) => void;
}

/** A loaded actor: invoke operations on fresh instances of it. */
export class Actor {
  /** @internal */
  constructor(
    private readonly native: NativeActor,
    private readonly pending: PendingInvocations,
    /** A name for errors and logs (file name or actor id). */
    readonly name: string,
    private readonly log: (level: string, line: string, hostContext: unknown) => void,
    private readonly hostCall: HostCallHandler | undefined,
  ) {}

  /** SHA-256 of the module bytes, hex. */
  get hash(): string {
    return this.native.hash;
  }

  /** Where the compiled code came from at load: `memory`, `disk` (precompiled artifact) or `compiled`. */
  get source(): 'memory' | 'disk' | 'compiled' {
    return this.native.source;
  }

  /** Invocations of this actor running now. */
  get inFlight(): number {
    return this.native.inFlight;
  }

  /**
   * Runs `operation` with `payload` and resolves with the guest's response bytes. Rejects with an
   * {@link ActorError}: its code says whether the guest failed, trapped, or hit a limit.
   */
  invoke(operation: string, payload: Uint8Array = EMPTY, options: InvokeOptions = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const context = { actor: this.name, operation };
      const id = this.pending.add({
        resolve,
        reject,
        context,
        hostContext: options.hostContext,
        log: this.log,
        hostCall: this.hostCall,
        queued: options.onQueueWait,
      });
      try {
        this.native.invoke(id, operation, payload, options.timeoutMs);
      } catch (err) {
        this.pending.fail(id, err);
        return;
      }
      this.pending.submitted();
    });
  }
}

/** The process's actor runtime. Create one per process with {@link ActorRuntime.create}. */
export class ActorRuntime {
  #state: RuntimeState = 'running';

  private constructor(
    private readonly native: NativeRuntime,
    private readonly pending: PendingInvocations,
    /** The options in force after defaults, environment and validation. */
    readonly options: ResolvedRuntimeOptions,
    private readonly logger: Logger,
  ) {}

  /** Builds the engine and pool. Throws `WASMESH_ERR_CONFIG` for bad options. */
  static create(options: ActorRuntimeOptions = {}): ActorRuntime {
    const { logger, ...rest } = options;
    const resolved = resolveRuntimeOptions(rest);
    const { NativeRuntime } = loadNative();
    let native: NativeRuntime | undefined;
    const pending = new PendingInvocations(
      (active) => native?.setActive(active),
      () => native!.takeCompleted(),
      (us) => native!.waitCompleted(us),
      resolved.spinWaitUs,
      {
        resolve: (id, response) => native!.resolveHostCall(id, response),
        reject: (id, message) => native!.rejectHostCall(id, message),
      },
    );
    try {
      native = new NativeRuntime(toNativeRuntimeOptions(resolved), pending.drain);
    } catch (err) {
      throw fromNative(err);
    }
    return new ActorRuntime(native, pending, resolved, logger ?? silentLogger());
  }

  /** `running` or `closed`. */
  get state(): RuntimeState {
    return this.#state;
  }

  /**
   * Validates, compiles (or takes from the memory/disk cache) and links `wasm` as a waPC actor.
   * Rejects with `WASMESH_ERR_INVALID_MODULE`, `WASMESH_ERR_MISSING_EXPORT` or `WASMESH_ERR_CONFIG`.
   */
  async load(
    wasm: Uint8Array,
    options: ActorOptions & { name?: string } = {},
    bindings: ActorBindings = {},
  ): Promise<Actor> {
    this.#ensureRunning();
    const name = options.name ?? 'actor';
    const dto = toNativeActorOptions(options, this.options);
    const logger = bindings.logger ?? this.logger;
    // The child logger is made on the first guest log line: making one costs more than the rest
    // of a cached load, and most actors never log.
    let log: Logger | undefined;
    const hostCall = bindings.hostCall;
    const { guestLog } = bindings;
    const onLog = (level: string, line: string, hostContext: unknown): void => {
      log ??= logger.child({ actor: name });
      const fields = { stream: 'guest', ...guestLog?.(hostContext, level, line) };
      log[GUEST_LOG_LEVELS.has(level) ? (level as GuestLogLevel) : 'info'](fields, line);
    };
    // Cached code loads synchronously (about 0.2 ms, no wasm runs); compiling goes to a thread.
    let native: NativeActor | null;
    try {
      native = this.native.loadPrecompiled(wasm, dto, hostCall !== undefined);
    } catch (err) {
      throw fromNative(err, { actor: name });
    }
    native ??= await mapNative(() => this.native.load(toBuffer(wasm), dto, hostCall !== undefined), { actor: name });
    if (logger.isLevelEnabled('debug')) {
      logger.debug({ actor: name, hash: native.hash, source: native.source }, 'actor loaded');
    }
    return new Actor(native, this.pending, name, onLog, hostCall);
  }

  /** Describes a module or component: hash, size, imports, exports and whether it is a valid actor here. */
  async inspect(wasm: Uint8Array): Promise<ModuleInfo> {
    this.#ensureRunning();
    const info = await mapNative(() => this.native.inspect(toBuffer(wasm)));
    return {
      hash: info.hash,
      size: info.size,
      kind: info.component ? 'component' : 'module',
      imports: info.imports.map(({ module, name, type }) => ({ module, name, type })),
      exports: info.exports.map(({ name, type }) => ({ name, type })),
      validActor: info.validActor,
      problem: info.problem === undefined ? null : fromNative(new Error(info.problem)),
    };
  }

  /** Pool and cache counters (instances in use, pool size, compiled modules held). */
  stats(): NativeStats {
    return this.native.stats();
  }

  /** Refuses further loads and queued invocations; in-flight ones finish. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.native.close();
  }

  #ensureRunning(): void {
    if (this.#state !== 'running') throw new WasmeshError('WASMESH_ERR_CLOSED', 'the actor runtime is closed');
  }
}

const EMPTY = new Uint8Array(0);

/** The levels a guest logs at (`wasi:logging`'s, critical as pino's fatal); stdout is info, stderr warn. */
type GuestLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
const GUEST_LOG_LEVELS: ReadonlySet<string> = new Set<GuestLogLevel>([
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
]);

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}
