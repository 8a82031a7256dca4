/**
 * What a reconciler records of its work while it leads: its rounds (by outcome), the actions of
 * its plans (by kind and outcome, with the error code of a failure), the app status transitions it
 * writes, and how long a newly deployed app version takes to converge. One set of instruments per
 * reconciler, made when it starts, after the process set up its telemetry (an instrument made
 * before that records nowhere).
 *
 * No instrument carries an app's name: app names come and go, and each would be a series the
 * scrape endpoint keeps until the process ends. The status of one app is in the app store.
 */
import { bucketHistogram, CONVERGE_BUCKETS_S, errorType, meter } from '@wasmesh/lattice';

/** The meter's instruments (typed from it: the apps package does not depend on the OpenTelemetry API itself). */
type Meter = ReturnType<typeof meter>;
type Counter = ReturnType<Meter['createCounter']>;
type Attributes = Record<string, string>;

/**
 * The kinds of plan action (`wasmesh.action`), one per list of a plan (plan.ts), in the order a
 * round does them. `start_actor` includes the module update (`actor.update`) of an actor whose
 * image changed: both are one action of the plan.
 */
export type PlanAction =
  | 'put_config'
  | 'start_provider'
  | 'put_link'
  | 'start_actor'
  | 'stop_actor'
  | 'delete_link'
  | 'stop_provider'
  | 'delete_config';

/** An app version on its way to being deployed: since when (monotonic ms) this reconciler saw it. */
interface Converging {
  version: string;
  sinceMs: number;
}

/** The instruments of one reconciler, and the app versions it is timing until they converge. */
export class ReconcilerMetrics {
  readonly #rounds: Counter;
  readonly #actions: Counter;
  readonly #transitions: Counter;
  readonly #converge = bucketHistogram('wasmesh.app.converge.duration', {
    description:
      'Time from this reconciler first seeing a newly deployed app version to the round that found it deployed',
    unit: 's',
    bounds: CONVERGE_BUCKETS_S,
  }).series('', {});
  /** Attribute sets made once: successful rounds and actions, transitions (few states, few kinds). */
  readonly #attributes = new Map<string, Attributes>();
  /** Deployed app versions not converged yet, by app name. */
  readonly #converging = new Map<string, Converging>();

  constructor() {
    const m = meter();
    this.#rounds = m.createCounter('wasmesh.reconciler.rounds', {
      description: 'Reconcile rounds (every app planned and acted on) this reconciler ran while leading, by outcome',
      unit: '{round}',
    });
    this.#actions = m.createCounter('wasmesh.reconciler.actions', {
      description:
        'Plan actions this reconciler did (provider and actor starts and stops, links, config), by kind and outcome',
      unit: '{action}',
    });
    this.#transitions = m.createCounter('wasmesh.app.status_transitions', {
      description: 'App status changes this reconciler wrote, by the state before and after',
      unit: '{transition}',
    });
  }

  /**
   * Runs `round`, one reconcile round, and counts it: `ok`, or `error` with `error.type` when it
   * failed as a whole (reading the app store, say). Actions that fail inside a round are counted
   * as actions; the round itself still is `ok`.
   */
  async round(round: () => Promise<void>): Promise<void> {
    try {
      await round();
      this.#rounds.add(
        1,
        this.#cached('round', () => ({ 'wasmesh.outcome': 'ok' })),
      );
    } catch (err) {
      this.#rounds.add(1, { 'wasmesh.outcome': 'error', 'error.type': errorType(err) });
      throw err;
    }
  }

  /** Runs `act`, one action of kind `kind` of a plan, and counts it by its outcome. */
  async action<T>(kind: PlanAction, act: () => Promise<T>): Promise<T> {
    try {
      const out = await act();
      this.#actions.add(
        1,
        this.#cached(`action\n${kind}`, () => ({ 'wasmesh.action': kind, 'wasmesh.outcome': 'ok' })),
      );
      return out;
    } catch (err) {
      this.#actions.add(1, { 'wasmesh.action': kind, 'wasmesh.outcome': 'error', 'error.type': errorType(err) });
      throw err;
    }
  }

  /**
   * Counts an app status written as `to` over one that was `from` (`none`: the app had no status
   * yet). A status written again in the same state is no transition and is not counted.
   */
  transition(from: string, to: string): void {
    if (from === to) return;
    this.#transitions.add(
      1,
      this.#cached(`transition\n${from}\n${to}`, () => ({
        'wasmesh.app.status.from': from,
        'wasmesh.app.status.to': to,
      })),
    );
  }

  /**
   * Starts timing version `version` of app `app`, a version this reconciler sees deployed for the
   * first time. Timing it already, nothing changes; timing another version of the app, that one
   * is dropped (it never converged: the newer one replaced it).
   */
  versionSeen(app: string, version: string): void {
    if (this.#converging.get(app)?.version === version) return;
    this.#converging.set(app, { version, sinceMs: performance.now() });
  }

  /** Records the converge time of `version` of `app`, now deployed, if it was timing that version. */
  versionDeployed(app: string, version: string): void {
    const timing = this.#converging.get(app);
    if (timing?.version !== version) return;
    this.#converging.delete(app);
    this.#converge.record((performance.now() - timing.sinceMs) / 1000);
  }

  /** Stops timing `app` (it was undeployed before it converged). */
  forget(app: string): void {
    this.#converging.delete(app);
  }

  /**
   * Stops timing every app: a reconciler elected again does not know what happened while another
   * led (an app it was timing may have converged and been deployed again since).
   */
  forgetAll(): void {
    this.#converging.clear();
  }

  /** The attribute set under `key`, made by `make` the first time. */
  #cached(key: string, make: () => Attributes): Attributes {
    let attributes = this.#attributes.get(key);
    if (!attributes) this.#attributes.set(key, (attributes = make()));
    return attributes;
  }
}
