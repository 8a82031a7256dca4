/**
 * What a host records of its actors' work, on the bus and by local dispatch alike: the invocations
 * they serve (by actor, operation and outcome, with the error code of a failure; how long; how many
 * run now) and the host calls they make (by contract and outcome; how long). One set of instruments
 * per host, made when the host starts, after the process set up its telemetry (an instrument made
 * before that records nowhere).
 */
import type { Attributes, Counter, Histogram, UpDownCounter } from '@opentelemetry/api';
import { DURATION_BUCKETS_S, meter } from '@wasmesh/lattice';

/** The error code of a failure (`WASMESH_ERR_…`), or `error` for one that carries none. */
export function errorType(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code ? code : 'error';
}

/** A count and a duration of one kind of call. */
interface CallInstruments {
  calls: Counter;
  duration: Histogram;
  /** Attributes of successful calls by their key: made once, not per call. */
  ok: Map<string, Attributes>;
}

/** The instruments of one host's actors. */
export class ActorMetrics {
  readonly #invocations: CallInstruments;
  readonly #hostCalls: CallInstruments;
  readonly #inFlight: UpDownCounter;
  readonly #actor = new Map<string, Attributes>();

  constructor() {
    const m = meter();
    const boundaries = { explicitBucketBoundaries: [...DURATION_BUCKETS_S] };
    this.#invocations = {
      calls: m.createCounter('wasmesh.actor.invocations', {
        description: 'Actor invocations served by this host, by actor, operation and outcome',
        unit: '{invocation}',
      }),
      duration: m.createHistogram('wasmesh.actor.invocation.duration', {
        description: 'Time from an invocation reaching this host to its answer (waiting for a slot included)',
        unit: 's',
        advice: boundaries,
      }),
      ok: new Map(),
    };
    this.#hostCalls = {
      calls: m.createCounter('wasmesh.host_calls', {
        description:
          'Calls actors made through the host to providers and other actors, by caller, contract and outcome',
        unit: '{call}',
      }),
      duration: m.createHistogram('wasmesh.host_call.duration', {
        description: 'Time a host call took, from the guest asking to its answer',
        unit: 's',
        advice: boundaries,
      }),
      ok: new Map(),
    };
    this.#inFlight = m.createUpDownCounter('wasmesh.actor.invocations.in_flight', {
      description: 'Actor invocations running on this host now',
      unit: '{invocation}',
    });
  }

  /** Measures `call`, an invocation of `actorId`'s `operation`, counted in flight while it runs. */
  async invocation<T>(actorId: string, operation: string, call: () => Promise<T>): Promise<T> {
    let inFlight = this.#actor.get(actorId);
    if (!inFlight) this.#actor.set(actorId, (inFlight = { 'wasmesh.actor.id': actorId }));
    this.#inFlight.add(1, inFlight);
    try {
      return await measure(this.#invocations, call, {
        'wasmesh.actor.id': actorId,
        'wasmesh.operation': operation,
      });
    } finally {
      this.#inFlight.add(-1, inFlight);
    }
  }

  /** Measures `call`, a host call of `actorId` on `contract` (`wasmesh:actor` for another actor). */
  hostCall<T>(actorId: string, contract: string, call: () => Promise<T>): Promise<T> {
    return measure(this.#hostCalls, call, { 'wasmesh.actor.id': actorId, 'wasmesh.contract': contract });
  }
}

/**
 * Runs `call` and records it under `base` plus its outcome: `ok`, or `error` with `error.type`.
 * Successful calls reuse one attribute set per `base` (bounded by what actors answer and call:
 * an unknown operation or contract fails, and failures are not kept).
 */
async function measure<T>(into: CallInstruments, call: () => Promise<T>, base: Record<string, string>): Promise<T> {
  const started = performance.now();
  let attributes: Attributes;
  try {
    const out = await call();
    const key = Object.values(base).join('\n');
    attributes = into.ok.get(key) ?? { ...base, 'wasmesh.outcome': 'ok' };
    if (!into.ok.has(key)) into.ok.set(key, attributes);
    return out;
  } catch (err) {
    attributes = { ...base, 'wasmesh.outcome': 'error', 'error.type': errorType(err) };
    throw err;
  } finally {
    into.calls.add(1, attributes!);
    into.duration.record((performance.now() - started) / 1000, attributes!);
  }
}
