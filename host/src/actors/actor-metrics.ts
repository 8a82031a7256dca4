/**
 * What a host records of its actors' work, on the bus and by local dispatch alike: the invocations
 * they serve (by actor, operation and outcome, with the error code of a failure; how long; how long
 * each waited for a slot before its wasm started) and the host calls they make (by caller, contract
 * and outcome; how long). Invocations in flight are read from the actors when metrics are collected
 * (host-metrics.ts), not counted per call. One set of instruments per host, made when the host
 * starts, after the process set up its telemetry (an instrument made before that records nowhere).
 */
import { bucketHistogram, CallRecorder, DURATION_BUCKETS_S } from '@wasmesh/lattice';
import type { ActorStats } from './actor-stats.js';

/** The instruments of one host's actors. */
export class ActorMetrics {
  readonly #invocations = new CallRecorder({
    counter: 'wasmesh.actor.invocations',
    duration: 'wasmesh.actor.invocation.duration',
    description: 'Actor invocations served by this host, from reaching it to the answer (waiting for a slot included)',
    unit: '{invocation}',
  });
  readonly #hostCalls = new CallRecorder({
    counter: 'wasmesh.host_calls',
    duration: 'wasmesh.host_call.duration',
    description: 'Calls actors made through the host to providers and other actors',
    unit: '{call}',
  });
  readonly #queueWait = bucketHistogram('wasmesh.actor.invocation.queue_wait', {
    description:
      "Time actor invocations waited for their actor's concurrency permit and a pool slot before their wasm started",
    unit: 's',
    bounds: DURATION_BUCKETS_S,
  });

  /** Measures `call`, an invocation of `actorId`'s `operation`, and counts it in the actor's `stats` too. */
  invocation<T>(actorId: string, operation: string, stats: ActorStats, call: () => Promise<T>): Promise<T> {
    return this.#invocations.record(
      { 'wasmesh.actor.id': actorId, 'wasmesh.operation': operation },
      call,
      stats.record,
    );
  }

  /**
   * Records that an invocation of `actorId` waited `seconds` for the actor's concurrency permit and
   * a pool slot before its wasm started (the runtime measures it): a growing wait says the actor's
   * `maxConcurrent` or the host's pool is too small for its traffic, not that the guest is slow.
   */
  queueWait(actorId: string, seconds: number): void {
    (this.#queueWait.find(actorId) ?? this.#queueWait.series(actorId, { 'wasmesh.actor.id': actorId })).record(seconds);
  }

  /** Measures `call`, a host call of `actorId` on `contract` (`wasmesh:actor` for another actor). */
  hostCall<T>(actorId: string, contract: string, call: () => Promise<T>): Promise<T> {
    return this.#hostCalls.record({ 'wasmesh.actor.id': actorId, 'wasmesh.contract': contract }, call);
  }
}
