/**
 * Local dispatch: an invocation whose target (an actor or a provider) is served in the caller's own
 * process is handed to it directly, without NATS — no envelope encoding, no socket, no server hop,
 * no object store for large payloads. Everything else about the call stays as over the bus: the
 * deadline (the caller's timer and the target's own check), the trace (the serving span continues
 * the caller's), typed errors (the target's failure becomes an error result that the caller decodes
 * exactly as a reply from the bus), and which host served it.
 *
 * The rule, when a local target exists: the call goes to it while it *accepts* — it runs fewer
 * calls than its maximum concurrency and is not draining or stopping. A saturated or draining
 * local target sends the call over the bus, where the queue group of the subject spreads it across
 * every replica in the lattice, so load still spreads once a host is busy. The queue group
 * includes this host's own subscription: NATS may hand the call back to the saturated replica,
 * whose runtime then queues it, as it did before local dispatch existed.
 * Several local targets of one subject (several hosts in one process, as in tests) take turns.
 *
 * Who dispatches locally: only callers handed a {@link LocalDispatch} — a host's actors and the
 * providers running in its process. They share the process, and with it everything a NATS
 * permission could keep apart; an unrelated client in the process (a test's reader) still goes
 * through the server and its permissions.
 */
import type { Context } from '@opentelemetry/api';
import type { lattice } from '@wasmesh/proto';
import { runInvocation, type AnswerOptions, type InvocationRunner } from './serve-invocation.js';

/** A target served in this process. */
export interface LocalTarget {
  /** Whether it takes a call now: false when saturated or draining, so the call goes over the bus. */
  accepts(): boolean;
  /**
   * True when it ends every call by the call's deadline itself (an actor: its runtime stops the
   * guest then), so the caller needs no timer of its own. A provider's handler may hang: false.
   */
  readonly bounded?: boolean;
  /**
   * Serves one call in a span under `parent` (the caller's trace). Never rejects: a failure is a
   * result with `error`, as the bus would carry it.
   */
  serve(inv: lattice.Invocation, parent: Context): Promise<lattice.IInvocationResult>;
}

/** Told of every call delivered locally (the host mirrors spied ones: they never cross NATS). */
export type LocalCallObserver = (
  inv: lattice.Invocation,
  result: lattice.IInvocationResult,
  durationUs: number,
) => void;

/** The targets served in one process, by rpc subject; see the module comment. */
export class LocalDispatch {
  readonly #targets = new Map<string, LocalTarget[]>();
  #turn = 0;
  #observer: LocalCallObserver | undefined;

  /** Sets who is told of each local call (one observer: the host). */
  observe(observer: LocalCallObserver | undefined): void {
    this.#observer = observer;
  }

  /** Tells the observer of a call delivered locally; an observer that throws is not the caller's problem. */
  delivered(inv: lattice.Invocation, result: lattice.IInvocationResult, durationUs: number): void {
    try {
      this.#observer?.(inv, result, durationUs);
    } catch {
      // Observation must never fail a call.
    }
  }

  /** Registers `target` as serving `subject`; the function returned removes it (idempotent). */
  add(subject: string, target: LocalTarget): () => void {
    const list = this.#targets.get(subject) ?? [];
    this.#targets.set(subject, [...list, target]);
    return () => {
      const left = (this.#targets.get(subject) ?? []).filter((t) => t !== target);
      if (left.length > 0) this.#targets.set(subject, left);
      else this.#targets.delete(subject);
    };
  }

  /** A target of `subject` that accepts a call now (taking turns among several), or undefined: use the bus. */
  pick(subject: string): LocalTarget | undefined {
    const list = this.#targets.get(subject);
    if (!list) return undefined;
    if (list.length === 1) return list[0]!.accepts() ? list[0] : undefined;
    const start = this.#turn++;
    for (let i = 0; i < list.length; i++) {
      const target = list[(start + i) % list.length]!;
      if (target.accepts()) return target;
    }
    return undefined;
  }
}

/**
 * The local target of something that serves invocations on the bus too (an actor, a provider):
 * `accepts` and `bounded` as in {@link LocalTarget}, calls served as on the bus with `options` and
 * `run`, each counted by `track` (what a drain waits for and saturation counts).
 */
export function servingTarget(
  accepts: () => boolean,
  options: () => AnswerOptions,
  run: InvocationRunner,
  track: <T>(work: () => Promise<T>) => Promise<T>,
  bounded = false,
): LocalTarget {
  return { accepts, bounded, serve: (inv, parent) => track(() => runInvocation(parent, () => inv, options(), run)) };
}
