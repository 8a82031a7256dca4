/**
 * Invocations in flight in the addon, by id. The addon wakes JS once per batch of finished
 * invocations; this table takes the batch and turns each outcome back into a settled promise, and
 * keeps Node alive exactly while something is outstanding.
 */
import { WasmeshError } from '@wasmesh/lattice';
import { fromNative } from './errors.js';
import type { NativeCompletions } from './native.js';
import type { HostCallHandler, HostCallRequest } from './runtime.js';

interface Entry {
  resolve: (response: Buffer) => void;
  reject: (err: unknown) => void;
  /** Added to the details of an error (actor, operation). */
  context: Record<string, unknown>;
  /** The caller's value handed to host calls this invocation's guest makes. */
  hostContext: unknown;
  /** Receives the guest's log lines, with the invocation's `hostContext`. */
  log: (level: string, line: string, hostContext: unknown) => void;
  /** Answers the host calls its guest makes (absent: the addon fails them itself). */
  hostCall: HostCallHandler | undefined;
  /**
   * Told, just before the invocation settles, how long it waited for its actor's concurrency
   * permit and a pool slot, in seconds (see `InvokeOptions.onQueueWait`).
   */
  queued: ((seconds: number) => void) | undefined;
}

/** How host calls are answered: the addon's `resolveHostCall` and `rejectHostCall`. */
export interface HostCallAnswers {
  resolve(id: number, response: Uint8Array): void;
  reject(id: number, message: string): void;
}

/** Schedules the end-of-turn check (see `submitted`). */
const SETTLED = Promise.resolve();

/** Stands in for the fields a batch leaves out when they are empty. */
const NONE: readonly never[] = [];

/**
 * Hands an invocation's queue wait (`micros`) to its hook, in seconds. A hook that throws loses
 * its own report only: the rest of the batch must still settle.
 */
function reportWait(queued: (seconds: number) => void, micros: number): void {
  try {
    queued(micros / 1e6);
  } catch {
    // A metrics hook's failure is not the invocation's.
  }
}

/** The table of outstanding invocations of one runtime. */
export class PendingInvocations {
  readonly #entries = new Map<number, Entry>();
  #nextId = 0;
  #spinCheckQueued = false;

  /**
   * `setActive(true)` when the first invocation starts, `false` when the last one ends;
   * `takeCompleted` fetches the finished batch from the addon.
   */
  constructor(
    private readonly setActive: (active: boolean) => void,
    private readonly takeCompleted: () => NativeCompletions | null,
    private readonly waitCompleted: (maxMicros: number) => boolean,
    /** How long a lone invocation is awaited by spinning before yielding to the event loop. */
    private readonly spinWaitUs: number,
    private readonly answers: HostCallAnswers,
  ) {}

  /**
   * Called right after an invocation was handed to the addon. When it is the only one
   * outstanding once the current turn of JS is done, the JS thread spins briefly for its outcome:
   * a lone call finishes in tens of microseconds, while waking the event loop from idle costs
   * about as much again. The check waits for the end of the turn (a microtask), so callers that
   * issue several invocations in one turn (closed loops, bursts of messages) never spin; they
   * only look once. Either way the addon sends no wake-up for outcomes ready by then.
   */
  submitted(): void {
    if (this.spinWaitUs === 0 || this.#spinCheckQueued) return;
    this.#spinCheckQueued = true;
    // A promise reaction rather than queueMicrotask, which makes an AsyncResource per call
    // (about 0.7 µs each, and 130 µs on its first use in a process).
    void SETTLED.then(this.#endOfTurn);
  }

  readonly #endOfTurn = (): void => {
    this.#spinCheckQueued = false;
    if (this.waitCompleted(this.#entries.size === 1 ? this.spinWaitUs : 0)) this.drain();
  };

  /** Invocations outstanding. */
  get size(): number {
    return this.#entries.size;
  }

  /** Registers an invocation and returns its id (never 0, which means "no invocation"). */
  add(entry: Entry): number {
    do this.#nextId = (this.#nextId + 1) >>> 0;
    while (this.#nextId === 0 || this.#entries.has(this.#nextId));
    if (this.#entries.size === 0) this.setActive(true);
    this.#entries.set(this.#nextId, entry);
    return this.#nextId;
  }

  /**
   * Settles every invocation in the addon's finished batch. Responses are views into one buffer
   * per batch (a copy of each would cost more than it saves).
   */
  readonly drain = (): void => {
    const batch = this.takeCompleted();
    if (!batch) return;
    const { ids, lengths, data, waits = NONE, errors = NONE, logIds = NONE, logLevels = NONE, logLines = NONE } = batch;
    // Logs first: an invocation's log lines come before its outcome.
    for (let i = 0; i < logIds.length; i++) {
      const entry = this.#entries.get(logIds[i]!);
      entry?.log(logLevels[i]!, logLines[i]!, entry.hostContext);
    }
    // Host calls before outcomes: the invocation that made one is outstanding until it is answered.
    if (batch.callIds) this.#startHostCalls(batch);
    let offset = 0;
    let nextError = 0;
    for (let i = 0; i < ids.length; i++) {
      const entry = this.#take(ids[i]!);
      const length = lengths[i]!;
      if (entry?.queued) reportWait(entry.queued, waits[i] ?? 0);
      if (length >= 0) {
        entry?.resolve(data.subarray(offset, offset + length));
        offset += length;
      } else {
        const error = errors[nextError++]!;
        entry?.reject(fromNative(new Error(error), entry.context));
      }
    }
  };

  /** Starts the handler of every host call in `batch`; each answers the addon when it settles. */
  #startHostCalls(batch: NativeCompletions): void {
    const { callIds = NONE, callInvocations = NONE, callBindings = NONE, callNamespaces = NONE } = batch;
    const { callOperations = NONE, callLengths = NONE, callData } = batch;
    let offset = 0;
    for (let i = 0; i < callIds.length; i++) {
      const end = offset + callLengths[i]!;
      const entry = this.#entries.get(callInvocations[i]!);
      void this.#hostCall(callIds[i]!, entry, {
        binding: callBindings[i]!,
        namespace: callNamespaces[i]!,
        operation: callOperations[i]!,
        payload: callData!.subarray(offset, end),
        context: entry?.hostContext,
      });
      offset = end;
    }
  }

  async #hostCall(id: number, entry: Entry | undefined, call: HostCallRequest): Promise<void> {
    try {
      if (!entry?.hostCall) throw new Error(`no host call handler for ${call.namespace}.${call.operation}`);
      this.answers.resolve(id, await entry.hostCall(call));
    } catch (err) {
      // The guest sees this text as its host error: keep the code in it.
      this.answers.reject(
        id,
        err instanceof WasmeshError ? err.toLine() : err instanceof Error ? err.message : String(err),
      );
    }
    // The guest runs on: a lone invocation's outcome is worth spinning for, as after a submit.
    this.submitted();
  }

  /** Rejects invocation `id` with `err` (the addon refused to start it). */
  fail(id: number, err: unknown): void {
    this.#take(id)?.reject(fromNative(err, {}));
  }

  #take(id: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#entries.delete(id);
    if (this.#entries.size === 0) this.setActive(false);
    return entry;
  }
}
