/**
 * The actors of one host: `actor.start`, `actor.update` and `actor.stop` requests, the running
 * actors they create, swap and stop, the lifecycle events they publish (a module that cannot be
 * fetched, admitted or compiled publishes `actor_failed`), and the claims bucket entry of each
 * actor's module (`claims.get` answers from it, `link put` checks capabilities in it).
 */
import {
  checkToken,
  claimsRecord,
  digestOf,
  WasmeshError,
  type EventBodies,
  type EventType,
  type StateBucket,
} from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import type { ResolvedHostOptions } from '../node/options.js';
import { ModuleLoader, type ModuleLoaderEnv, type ModuleLoaderOptions } from './module-loader.js';
import { RunningActor, type ActorModule, type RunningActorEnv } from './running-actor.js';

/** Most annotations an actor carries, and the longest key and value: they travel in every heartbeat. */
const MAX_ANNOTATIONS = 32;
const MAX_ANNOTATION_CHARS = 1024;

/** Checks the annotations of a start request; throws `WASMESH_ERR_BAD_REQUEST` without quoting them. */
function checkAnnotations(actorId: string, annotations: Record<string, string>): void {
  const entries = Object.entries(annotations);
  const tooLong = entries.find(([k, v]) => k.length > MAX_ANNOTATION_CHARS || v.length > MAX_ANNOTATION_CHARS);
  if (entries.length > MAX_ANNOTATIONS || tooLong) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `the annotations of actor "${actorId}" exceed the limits: at most ${MAX_ANNOTATIONS}, keys and values of at most ${MAX_ANNOTATION_CHARS} characters`,
      { details: { actor: actorId, count: entries.length } },
    );
  }
}

/** What the actor lifecycle needs of the host (built by it once connected). */
export interface ActorHostEnv extends ModuleLoaderEnv, RunningActorEnv {
  /** The lattice's claims bucket. */
  claims: () => Promise<StateBucket<lattice.IClaims>>;
  /** Publishes a lattice event from the host. */
  publish: <T extends EventType>(type: T, data: EventBodies[T]) => void;
  options: Readonly<ModuleLoaderOptions & Pick<ResolvedHostOptions, 'defaultMaxConcurrent'>>;
}

/** The actors of one host: starts, updates and stops them. */
export class ActorLifecycle {
  readonly #modules: ModuleLoader;

  constructor(
    /** Running actors by id (the host's `actors`). */
    readonly actors: Map<string, RunningActor>,
    private readonly env: ActorHostEnv,
  ) {
    this.#modules = new ModuleLoader(env);
  }

  /**
   * Handles `actor.start`: a new actor is served once its module is loaded; an actor already running
   * the same reference gets the new maximum concurrency (a swap to a module loaded again) or, when
   * only the annotations or config names differ, the new ones. Another reference is a conflict: that
   * is an update.
   */
  async start(req: lattice.IStartActorRequest): Promise<string> {
    const actorId = checkToken('actor id', req.actorId ?? '');
    const annotations = req.annotations ?? {};
    checkAnnotations(actorId, annotations);
    const config = (req.config ?? []).map((name) => checkToken('config name', name));
    const ref = req.artifactRef ?? '';
    if (!ref) throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'start-actor request without an artifact reference');
    const { hostId } = this.env;
    const maxConcurrent = req.maxConcurrent || this.env.options.defaultMaxConcurrent;
    const existing = this.actors.get(actorId);
    if (existing && existing.module.ref !== ref) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFLICT',
        `actor "${actorId}" already runs ${existing.module.ref} on host ${hostId}; use update to change its artifact`,
        { details: { actor: actorId, running: existing.module.ref, requested: ref } },
      );
    }
    if (existing && existing.module.maxConcurrent === maxConcurrent)
      return this.#annotate(existing, annotations, config);
    let module: ActorModule;
    try {
      const bytes = await this.#modules.fetch(actorId, ref);
      module = await this.#modules.load(actorId, ref, bytes, maxConcurrent);
    } catch (err) {
      this.#failed(actorId, ref, err);
    }
    if (existing) {
      const previousDigest = existing.swap(module, req.annotations ?? undefined);
      existing.configure(config);
      await this.#recordClaims(actorId, module);
      this.env.publish('actor_updated', { hostId, actor: existing.describe(), previousDigest });
      return `actor ${actorId} now allows ${maxConcurrent} concurrent invocations`;
    }
    const running = new RunningActor(actorId, module, annotations, config, this.env);
    this.actors.set(actorId, running);
    running.serve();
    await this.env.nc.flush();
    await this.#recordClaims(actorId, module);
    this.env.publish('actor_started', { hostId, actor: running.describe() });
    this.env.logger.info({ actor: actorId, ref, digest: module.digest }, 'actor started');
    return `actor ${actorId} started on host ${hostId}`;
  }

  /**
   * Handles `actor.update`: moves an actor to the module `artifact_ref` names now. The reference is
   * always fetched again, even when it is the one the actor runs: an `oci://` tag may have moved to
   * another module (or a file changed). When the same reference still yields the running module's
   * digest, nothing is compiled or swapped and no event is published: the reply says "unchanged".
   * Only then is an update a no-op, so `wasmesh update actor ID oci://…:TAG` and the reconciler's
   * refresh of tag images on a new app version (apps/src/reconciler/plan.ts) cost one manifest
   * request when the tag did not move.
   */
  async update(req: lattice.IUpdateActorRequest): Promise<string> {
    const actorId = req.actorId ?? '';
    const running = this.#running(actorId);
    const ref = req.artifactRef ?? '';
    if (!ref) throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'update-actor request without an artifact reference');
    let module: ActorModule;
    try {
      const bytes = await this.#modules.fetch(actorId, ref);
      const digest = digestOf(bytes);
      if (ref === running.module.ref && digest === running.module.digest) {
        this.env.logger.info({ actor: actorId, ref, digest }, 'actor unchanged');
        return `actor ${actorId} unchanged: ${ref} still resolves to ${digest}`;
      }
      module = await this.#modules.load(actorId, ref, bytes, running.module.maxConcurrent);
    } catch (err) {
      this.#failed(actorId, ref, err);
    }
    const previousDigest = running.swap(module);
    await this.#recordClaims(actorId, module);
    this.env.publish('actor_updated', { hostId: this.env.hostId, actor: running.describe(), previousDigest });
    this.env.logger.info({ actor: actorId, ref, previousDigest }, 'actor updated');
    return `actor ${actorId} updated to ${module.digest}`;
  }

  /** Handles `actor.stop`: no new invocations, in-flight ones get at most `waitMs` to finish. */
  async stop(actorId: string, waitMs: number): Promise<string> {
    const running = this.#running(actorId);
    this.actors.delete(actorId);
    const left = await running.stop(waitMs);
    this.env.publish('actor_stopped', { hostId: this.env.hostId, actorId, reason: 'stop requested' });
    this.env.logger.info({ actor: actorId, unfinished: left }, 'actor stopped');
    return left ? `actor ${actorId} stopped; ${left} invocations were still running` : `actor ${actorId} stopped`;
  }

  /** Stops every actor (host drain), each waiting at most `timeoutMs`; resolves with the invocations left unfinished. */
  async stopAll(timeoutMs: number): Promise<number> {
    const left = await Promise.all([...this.actors.values()].map((a) => a.stop(timeoutMs)));
    return left.reduce((a, b) => a + b, 0);
  }

  /** Handles `claims.get`: the modules and claims of the lattice's actors, as recorded in its claims bucket. */
  async recordedClaims(): Promise<lattice.IClaims[]> {
    return [...(await (await this.env.claims()).entries()).values()];
  }

  /**
   * A start of an actor that already runs as asked: its annotations become the request's when it
   * gives other ones (a new app version names itself there; the reconciler compares it), and its
   * config names the request's, announced by `actor_updated`; the module is not touched.
   */
  #annotate(running: RunningActor, annotations: Record<string, string>, config: readonly string[]): string {
    const current = running.annotations;
    const keys = Object.keys(annotations);
    const same = keys.length === Object.keys(current).length && keys.every((k) => current[k] === annotations[k]);
    const sameConfig = config.length === running.config.length && config.every((c, i) => running.config[i] === c);
    if ((keys.length === 0 || same) && sameConfig) return `actor ${running.id} already running`;
    if (keys.length > 0 && !same) running.annotate(annotations);
    running.configure(config);
    this.env.publish('actor_updated', {
      hostId: this.env.hostId,
      actor: running.describe(),
      previousDigest: running.module.digest,
    });
    return `actor ${running.id} already running; ${sameConfig ? 'annotations' : 'config'} updated`;
  }

  /** Announces that `actorId` could not get the module of `ref` (`actor_failed`) and throws the typed error. */
  #failed(actorId: string, ref: string, err: unknown): never {
    const error = err instanceof WasmeshError ? err : new WasmeshError('WASMESH_ERR_INTERNAL', String(err));
    this.env.publish('actor_failed', {
      hostId: this.env.hostId,
      actorId,
      artifactRef: ref,
      error: { code: error.code, message: error.message },
    });
    throw error;
  }

  /**
   * Records which module `actorId` runs and its claims (empty for an unsigned module) in the
   * lattice's claims bucket: `claims.get` answers from it and `link put` checks capabilities in it.
   */
  async #recordClaims(actorId: string, module: ActorModule): Promise<void> {
    try {
      const bucket = await this.env.claims();
      await bucket.put(actorId, { actorId, digest: module.digest, claims: claimsRecord(module.claims) });
    } catch (err) {
      this.env.logger.warn({ err, actor: actorId }, 'cannot record claims');
    }
  }

  /** The running actor `actorId`, or `WASMESH_ERR_NOT_FOUND`. */
  #running(actorId: string): RunningActor {
    const running = this.actors.get(checkToken('actor id', actorId));
    if (!running) {
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `actor "${actorId}" is not running on host ${this.env.hostId}`, {
        details: { actor: actorId, host: this.env.hostId },
      });
    }
    return running;
  }
}
