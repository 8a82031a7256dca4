/**
 * What a host records of its actors' work, on the bus and by local dispatch alike: the invocations
 * they serve (by actor, operation and outcome, with the error code of a failure; how long; how many
 * run now) and the host calls they make (by caller, contract and outcome; how long). One set of
 * instruments per host, made when the host starts, after the process set up its telemetry (an
 * instrument made before that records nowhere).
 */
import type { Attributes, UpDownCounter } from '@opentelemetry/api';
import { CallRecorder, meter } from '@wasmesh/lattice';

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
  readonly #inFlight: UpDownCounter = meter().createUpDownCounter('wasmesh.actor.invocations.in_flight', {
    description: 'Actor invocations running on this host now',
    unit: '{invocation}',
  });
  readonly #actor = new Map<string, Attributes>();

  /** Measures `call`, an invocation of `actorId`'s `operation`, counted in flight while it runs. */
  async invocation<T>(actorId: string, operation: string, call: () => Promise<T>): Promise<T> {
    let inFlight = this.#actor.get(actorId);
    if (!inFlight) this.#actor.set(actorId, (inFlight = { 'wasmesh.actor.id': actorId }));
    this.#inFlight.add(1, inFlight);
    try {
      return await this.#invocations.record({ 'wasmesh.actor.id': actorId, 'wasmesh.operation': operation }, call);
    } finally {
      this.#inFlight.add(-1, inFlight);
    }
  }

  /** Measures `call`, a host call of `actorId` on `contract` (`wasmesh:actor` for another actor). */
  hostCall<T>(actorId: string, contract: string, call: () => Promise<T>): Promise<T> {
    return this.#hostCalls.record({ 'wasmesh.actor.id': actorId, 'wasmesh.contract': contract }, call);
  }
}
