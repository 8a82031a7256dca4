/**
 * One actor running on this host: its loaded module, its subscription on the actor subject (queue
 * group shared with the other hosts running it), its place in the host's local dispatch (callers in
 * this process reach it without NATS while it has room: fewer calls in flight than its maximum
 * concurrency), and the in-flight count that `stop` and `update` wait on. Updating swaps the module
 * for new invocations while in-flight ones finish on the old.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Context } from '@opentelemetry/api';
import {
  answerInvocation,
  InFlight,
  servingTarget,
  offloadIfLarge,
  receivePayload,
  type ActorClaims,
  WasmeshError,
  type AnswerOptions,
  type LatticeObjects,
  type LocalDispatch,
  type Logger,
  type Subjects,
} from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import type { Actor } from '../runtime/runtime.js';
import type { ActorMetrics } from './actor-metrics.js';
import { ActorStats } from './actor-stats.js';

/** What a host call made during an invocation knows about that invocation. */
export interface InvocationContext {
  actorId: string;
  /** The invocation's id, named in its guest's log lines. */
  invocationId: string;
  /** Unix-ms deadline of the invocation; nested calls must finish before it. */
  deadlineMs: number;
  /** The OpenTelemetry context of the invocation's span, so nested calls join the trace. */
  trace: Context;
}

/** The module an actor currently runs. */
export interface ActorModule {
  actor: Actor;
  ref: string;
  digest: string;
  maxConcurrent: number;
  /** The module's verified claims; absent for an unsigned module. */
  claims?: ActorClaims;
}

/** Dependencies of a running actor, provided by the host. */
export interface RunningActorEnv {
  nc: NatsConnection;
  subjects: Subjects;
  hostId: string;
  logger: Logger;
  objects: () => Promise<LatticeObjects>;
  /** The host's local dispatch (absent: callers in this process use the bus too). */
  local: LocalDispatch | undefined;
  /** Where the host's invocations and host calls are counted and timed. */
  metrics: ActorMetrics;
}

/** An actor served by this host. */
export class RunningActor {
  #module: ActorModule;
  #sub: Subscription | undefined;
  #unlisten: (() => void) | undefined;
  readonly #inFlight = new InFlight();
  /** Counts of its invocations here, for the inventory (`wasmesh top`). */
  readonly #stats = new ActorStats();
  #answer: AnswerOptions | undefined;
  #revision = 1;
  #annotations: Record<string, string>;
  #config: readonly string[];
  readonly startedAtMs = Date.now();
  /** Records each invocation's wait for a slot (one function for all of them, not one per call). */
  readonly #onQueueWait = (seconds: number): void => this.env.metrics.queueWait(this.id, seconds);

  constructor(
    readonly id: string,
    module: ActorModule,
    annotations: Record<string, string>,
    config: readonly string[],
    private readonly env: RunningActorEnv,
  ) {
    this.#module = module;
    this.#annotations = annotations;
    this.#config = config;
  }

  /** The named config it reads as its own (contract `wasmesh:config`), in merge order. */
  get config(): readonly string[] {
    return this.#config;
  }

  /** Replaces the named config it reads; the next call that reads config sees the change. */
  configure(config: readonly string[]): void {
    this.#config = config;
  }

  /** The module new invocations run on. */
  get module(): ActorModule {
    return this.#module;
  }

  /** Invocations running now. */
  get inFlight(): number {
    return this.#inFlight.count;
  }

  /** How this actor appears in inventories and events. */
  describe(): lattice.IActorDescription {
    return {
      actorId: this.id,
      artifactRef: this.#module.ref,
      digest: this.#module.digest,
      maxConcurrent: this.#module.maxConcurrent,
      inFlight: this.#inFlight.count,
      annotations: this.#annotations,
      config: [...this.#config],
      startedAtMs: this.startedAtMs,
      revision: this.#revision,
      stats: this.#stats.describe(),
    };
  }

  /** Starts serving invocations: on the actor subject (queue group = the subject) and by local dispatch. */
  serve(): void {
    const subject = this.env.subjects.actor(this.id);
    this.#sub = this.env.nc.subscribe(subject, {
      queue: subject,
      callback: (err, msg) => {
        if (err) this.env.logger.warn({ err, actor: this.id }, 'actor subscription error');
        else
          void this.#inFlight.track(() =>
            answerInvocation(msg, this.#answerOptions(), (inv, t) => this.#run(inv, t, false)),
          );
      },
    });
    this.#unlisten = this.env.local?.add(
      subject,
      servingTarget(
        () => this.#sub !== undefined && this.#inFlight.count < this.#module.maxConcurrent,
        () => this.#answerOptions(),
        (inv, trace) => this.#run(inv, trace, true),
        (work) => this.#inFlight.track(work),
        true, // the runtime stops the guest at the call's deadline
      ),
    );
  }

  /** Operator annotations (e.g. which app started it). */
  get annotations(): Readonly<Record<string, string>> {
    return this.#annotations;
  }

  /**
   * Replaces the annotations without touching the module (the revision counts modules, so it stays):
   * a start of a running actor with new annotations, e.g. a new app version whose module did not change.
   */
  annotate(annotations: Record<string, string>): void {
    this.#annotations = annotations;
  }

  /**
   * Makes new invocations run `module` (and replaces the annotations, when given); in-flight ones
   * finish on the module they started on. Returns the previous module's digest.
   */
  swap(module: ActorModule, annotations?: Record<string, string>): string {
    const previous = this.#module.digest;
    this.#module = module;
    if (annotations && Object.keys(annotations).length > 0) this.#annotations = annotations;
    this.#revision++;
    return previous;
  }

  /**
   * Stops taking invocations, then waits (at most `timeoutMs`) for in-flight ones to finish.
   * Resolves with the number still running when it gave up.
   */
  async stop(timeoutMs: number): Promise<number> {
    this.#unlisten?.();
    this.#unlisten = undefined;
    const sub = this.#sub;
    this.#sub = undefined;
    if (sub && !sub.isClosed()) await sub.drain().catch(() => sub.unsubscribe());
    return this.#inFlight.idle(timeoutMs);
  }

  /** How this actor's calls are served and named, on the bus and locally alike. */
  #answerOptions(): AnswerOptions {
    if (this.#answer) return this.#answer;
    const { hostId, logger } = this.env;
    this.#answer = {
      span: `serve ${this.id}`,
      attributes: { 'wasmesh.actor': this.id, 'wasmesh.host': hostId },
      what: `invocation envelope for actor ${this.id}`,
      servedBy: hostId,
      logger: logger.child({ actor: this.id }),
    };
    return this.#answer;
  }

  /** One invocation, measured and counted; `local` when it came by local dispatch. */
  #run(inv: lattice.Invocation, trace: Context, local: boolean): Promise<lattice.IInvocationResult> {
    return this.env.metrics.invocation(this.id, inv.operation, this.#stats, () => this.#execute(inv, trace, local));
  }

  /** One invocation; `local` when it came by local dispatch (the response then stays inline, whatever its size). */
  async #execute(inv: lattice.Invocation, trace: Context, local: boolean): Promise<lattice.IInvocationResult> {
    const { nc, hostId, objects } = this.env;
    const deadlineMs = Number(inv.deadlineMs) || Date.now() + 10_000;
    const timeoutMs = deadlineMs - Date.now();
    if (timeoutMs <= 0) {
      throw new WasmeshError(
        'WASMESH_ERR_TIMEOUT',
        `invocation of ${this.id}.${inv.operation} arrived after its deadline`,
        {
          details: { actor: this.id, operation: inv.operation, timeoutMs: 0 },
        },
      );
    }
    const payload = await receivePayload(inv, inv.id, 'request', objects, `invocation envelope for actor ${this.id}`);
    const hostContext: InvocationContext = { actorId: this.id, invocationId: inv.id, deadlineMs, trace };
    // Runtime errors already name the actor (its runtime name is the actor id) and the operation.
    const out = await this.#module.actor.invoke(inv.operation, payload, {
      timeoutMs,
      hostContext,
      onQueueWait: this.#onQueueWait,
    });
    const payloadObject = local
      ? ''
      : await offloadIfLarge(nc, out, objects, inv.id, 'response', `response of ${this.id}.${inv.operation}`);
    return { payload: payloadObject ? new Uint8Array() : out, payloadObject, hostId };
  }
}
