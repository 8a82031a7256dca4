/**
 * What a host counts of one actor's invocations since the actor started on it, whether or not the
 * process exports metrics: calls, failures and a duration histogram, carried in the actor's
 * inventory entry (`InvocationStats`), so `wasmesh top` reads rates and percentiles from the
 * lattice with no metrics server. A few additions per call.
 */
import { DURATION_BUCKETS_S } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';

/** The invocation counts of one actor on this host. */
export class ActorStats {
  #calls = 0;
  #errors = 0;
  /** Calls per duration bucket: one per bound of {@link DURATION_BUCKETS_S}, and one above them all. */
  readonly #counts = new Array<number>(DURATION_BUCKETS_S.length + 1).fill(0);

  /** Counts one invocation that took `seconds` and failed or not (bound: handed on as a callback). */
  readonly record = (seconds: number, failed: boolean): void => {
    this.#calls++;
    if (failed) this.#errors++;
    let i = 0;
    while (i < DURATION_BUCKETS_S.length && seconds > DURATION_BUCKETS_S[i]!) i++;
    this.#counts[i]!++;
  };

  /** The counts as the inventory carries them. */
  describe(): lattice.IInvocationStats {
    return {
      calls: this.#calls,
      errors: this.#errors,
      latencyBoundsS: [...DURATION_BUCKETS_S],
      latencyCounts: [...this.#counts],
    };
  }
}
