/**
 * The host's side of the control API: one handler per operation. Requests are decoded at the
 * edge (malformed → `WASMESH_ERR_BAD_REQUEST`), and every failure is a typed error reply; a bad
 * request never disturbs the host.
 */
import type { Msg } from '@nats-io/transport-node';
import {
  checkToken,
  claimsRecord,
  decode,
  digestOf,
  encode,
  loadArtifact,
  MAX_TIMER_MS,
  OciCache,
  parseOciRef,
  pullWasmArtifact,
  WasmeshError,
  type ControlOp,
} from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import { BUILTIN_LABEL_PREFIX, checkLabelKey, checkLabelValue, MAX_LABELS } from './identity.js';
import { admitModule } from '../actors/admission.js';
import { hostCallHandler } from '../actors/host-calls.js';
import type { LatticeHost } from './host.js';
import { RunningActor, type ActorModule } from '../actors/running-actor.js';

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

/**
 * How long a stop waits for in-flight work: the request's `timeout_ms` (0: `fallback`), at most
 * {@link MAX_TIMER_MS}. A uint32 may ask for more than a Node timer holds, and such a timer fires
 * after 1 ms: the stop gave up at once instead of waiting (found by fuzzing).
 */
function waitOf(requestedMs: number, fallbackMs: number): number {
  return Math.min(requestedMs || fallbackMs, MAX_TIMER_MS);
}

/** How long a spy's watch lasts when it names no duration. */
const DEFAULT_SPY_WATCH_MS = 5000;

/** Control handlers bound to one host. */
export class ControlHandlers {
  constructor(private readonly host: LatticeHost) {}

  /** Handles one control request; `null` means "no reply" (an auction this host does not bid in). */
  async handle(op: ControlOp, msg: Msg): Promise<Uint8Array | null> {
    switch (op) {
      case 'host.ping':
        decode(lattice.PingRequest, msg.data, 'ping request');
        return encode(lattice.HostInfo, this.host.info());
      case 'host.inventory':
        decode(lattice.GetInventoryRequest, msg.data, 'inventory request');
        return encode(lattice.HostInventory, this.host.inventory());
      case 'host.stop':
        return this.#stopHost(decode(lattice.StopHostRequest, msg.data, 'stop-host request'));
      case 'label.put':
        return this.#putLabel(decode(lattice.PutLabelRequest, msg.data, 'label put request'));
      case 'label.del':
        return this.#deleteLabel(decode(lattice.DeleteLabelRequest, msg.data, 'label delete request'));
      case 'actor.auction':
        return this.#auction(decode(lattice.AuctionActorRequest, msg.data, 'actor auction request'));
      case 'actor.start':
        return this.#startActor(decode(lattice.StartActorRequest, msg.data, 'start-actor request'));
      case 'actor.stop':
        return this.#stopActor(decode(lattice.StopActorRequest, msg.data, 'stop-actor request'));
      case 'actor.update':
        return this.#updateActor(decode(lattice.UpdateActorRequest, msg.data, 'update-actor request'));
      case 'claims.get':
        decode(lattice.GetClaimsRequest, msg.data, 'claims request');
        return this.#claims();
      case 'provider.start':
        return this.#ack(
          await this.host.supervisor.start(decode(lattice.StartProviderRequest, msg.data, 'start-provider request')),
        );
      case 'provider.stop':
        return this.#ack(
          await this.host.supervisor.stop(decode(lattice.StopProviderRequest, msg.data, 'stop-provider request')),
        );
      case 'spy.watch': {
        const req = decode(lattice.SpyWatchRequest, msg.data, 'spy watch request');
        this.host.spied.watch(checkToken('actor id', req.actorId), req.forMs || DEFAULT_SPY_WATCH_MS);
        return null;
      }
    }
  }

  #ack(message: string): Uint8Array {
    return encode(lattice.Ack, { message });
  }

  #stopHost(req: lattice.StopHostRequest): Uint8Array {
    const timeout = waitOf(req.timeoutMs, this.host.options.drainTimeoutMs);
    // Reply first, then drain: the requester gets its answer before the connection closes.
    setImmediate(() => void this.host.drain('stop requested', timeout));
    return this.#ack(`host ${this.host.id} is draining (up to ${timeout} ms)`);
  }

  #putLabel(req: lattice.PutLabelRequest): Uint8Array {
    checkLabelKey(req.key);
    if (req.key.startsWith(BUILTIN_LABEL_PREFIX)) {
      throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `label "${req.key}" is built in and cannot be changed`, {
        details: { key: req.key },
      });
    }
    checkLabelValue(req.key, req.value);
    // Own keys only (`in` would see `constructor`, `toString`, … of every object: found by fuzzing).
    if (!Object.hasOwn(this.host.labels, req.key) && Object.keys(this.host.labels).length >= MAX_LABELS) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `host ${this.host.id} already has ${MAX_LABELS} labels, the most it keeps`,
        {
          details: { key: req.key, limit: MAX_LABELS },
        },
      );
    }
    this.host.labels[req.key] = req.value;
    this.host.publish('labels_changed', { hostId: this.host.id, labels: this.host.labels });
    return this.#ack(`label ${req.key}=${req.value} set`);
  }

  #deleteLabel(req: lattice.DeleteLabelRequest): Uint8Array {
    checkLabelKey(req.key);
    if (req.key.startsWith(BUILTIN_LABEL_PREFIX)) {
      throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', `label "${req.key}" is built in and cannot be removed`, {
        details: { key: req.key },
      });
    }
    if (!Object.hasOwn(this.host.labels, req.key)) {
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `host ${this.host.id} has no label "${req.key}"`, {
        details: { key: req.key },
      });
    }
    delete this.host.labels[req.key];
    this.host.publish('labels_changed', { hostId: this.host.id, labels: this.host.labels });
    return this.#ack(`label ${req.key} removed`);
  }

  #auction(req: lattice.AuctionActorRequest): Uint8Array | null {
    if (this.host.actors.has(req.actorId)) return null;
    for (const [k, v] of Object.entries(req.constraints ?? {})) if (this.host.labels[k] !== v) return null;
    return encode(lattice.AuctionOffer, {
      hostId: this.host.id,
      friendlyName: this.host.friendlyName,
      labels: this.host.labels,
      actorsRunning: this.host.actors.size,
    });
  }

  /** Fetches the bytes of an artifact: from the object store, an allowed file or a registry. */
  #fetchArtifact(actorId: string, ref: string): Promise<Uint8Array> {
    return loadArtifact(
      ref,
      () => this.host.objects(),
      (file) => this.host.jail.readFile(file, `module of actor ${actorId}`),
      (oci) => this.#pullOci(actorId, oci),
    );
  }

  /** Validates and loads fetched `bytes` of `ref` into a module this host can run. */
  async #loadModule(actorId: string, ref: string, bytes: Uint8Array, maxConcurrent: number): Promise<ActorModule> {
    // The trust policy decides before anything is compiled: a refused module never runs.
    const claims = await admitModule(this.host.runtime, actorId, bytes, this.host.options.trustedIssuers);
    const actor = await this.host.runtime.load(
      bytes,
      { name: actorId, maxConcurrent, timeoutMs: this.host.options.invocationTimeoutMs },
      {
        hostCall: hostCallHandler(
          {
            nc: this.host.nc,
            subjects: this.host.subjects,
            objects: () => this.host.objects(),
            links: () => this.host.links(),
            fallbackTimeoutMs: this.host.options.invocationTimeoutMs,
            local: this.host.local,
          },
          claims?.caps,
        ),
      },
    );
    return { actor, ref, digest: digestOf(bytes), maxConcurrent, ...(claims ? { claims } : {}) };
  }

  /** Pulls an `oci://` module within the host's module cap and pull deadline, through the on-disk cache. */
  async #pullOci(actorId: string, ref: string): Promise<Uint8Array> {
    const { options } = this.host;
    const registry = parseOciRef(ref).registry.toLowerCase();
    const pulled = await pullWasmArtifact(
      ref,
      {
        maxModuleBytes: options.maxModuleBytes,
        insecure: options.insecureRegistries.includes(registry),
        pullTimeoutMs: options.pullTimeoutMs,
      },
      options.ociCacheDir === null ? undefined : new OciCache(options.ociCacheDir),
    );
    this.host.logger.info(
      { actor: actorId, ref, manifest: pulled.manifestDigest, source: pulled.source },
      'actor module pulled',
    );
    return pulled.bytes;
  }

  #failed(actorId: string, ref: string, err: unknown): never {
    const error = err instanceof WasmeshError ? err : new WasmeshError('WASMESH_ERR_INTERNAL', String(err));
    this.host.publish('actor_failed', {
      hostId: this.host.id,
      actorId,
      artifactRef: ref,
      error: { code: error.code, message: error.message },
    });
    throw error;
  }

  async #startActor(req: lattice.StartActorRequest): Promise<Uint8Array> {
    const actorId = checkToken('actor id', req.actorId);
    checkAnnotations(actorId, req.annotations ?? {});
    if (!req.artifactRef)
      throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'start-actor request without an artifact reference');
    const maxConcurrent = req.maxConcurrent || this.host.options.defaultMaxConcurrent;
    const existing = this.host.actors.get(actorId);
    if (existing && existing.module.ref !== req.artifactRef) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFLICT',
        `actor "${actorId}" already runs ${existing.module.ref} on host ${this.host.id}; use update to change its artifact`,
        { details: { actor: actorId, running: existing.module.ref, requested: req.artifactRef } },
      );
    }
    if (existing && existing.module.maxConcurrent === maxConcurrent) {
      return this.#annotate(existing, req.annotations ?? {});
    }
    let module: ActorModule;
    try {
      const bytes = await this.#fetchArtifact(actorId, req.artifactRef);
      module = await this.#loadModule(actorId, req.artifactRef, bytes, maxConcurrent);
    } catch (err) {
      this.#failed(actorId, req.artifactRef, err);
    }
    if (existing) {
      const previousDigest = existing.swap(module, req.annotations ?? undefined);
      await this.#recordClaims(actorId, module);
      this.host.publish('actor_updated', {
        hostId: this.host.id,
        actor: existing.describe(),
        previousDigest,
      });
      return this.#ack(`actor ${actorId} now allows ${maxConcurrent} concurrent invocations`);
    }
    const running = new RunningActor(actorId, module, req.annotations ?? {}, {
      nc: this.host.nc,
      subjects: this.host.subjects,
      hostId: this.host.id,
      logger: this.host.logger,
      objects: () => this.host.objects(),
      local: this.host.local,
    });
    this.host.actors.set(actorId, running);
    running.serve();
    await this.host.nc.flush();
    await this.#recordClaims(actorId, module);
    this.host.publish('actor_started', { hostId: this.host.id, actor: running.describe() });
    this.host.logger.info({ actor: actorId, ref: req.artifactRef, digest: module.digest }, 'actor started');
    return this.#ack(`actor ${actorId} started on host ${this.host.id}`);
  }

  /**
   * A start of an actor that already runs as asked: its annotations become the request's when it
   * gives other ones (a new app version names itself there; the reconciler compares it), announced
   * by `actor_updated`; the module is not touched.
   */
  #annotate(running: RunningActor, annotations: Record<string, string>): Uint8Array {
    const current = running.annotations;
    const keys = Object.keys(annotations);
    const same = keys.length === Object.keys(current).length && keys.every((k) => current[k] === annotations[k]);
    if (keys.length === 0 || same) return this.#ack(`actor ${running.id} already running`);
    running.annotate(annotations);
    this.host.publish('actor_updated', {
      hostId: this.host.id,
      actor: running.describe(),
      previousDigest: running.module.digest,
    });
    return this.#ack(`actor ${running.id} already running; annotations updated`);
  }

  /**
   * Records which module `actorId` runs and its claims (empty for an unsigned module) in the
   * lattice's claims bucket: `claims.get` answers from it and `link put` checks capabilities in it.
   */
  async #recordClaims(actorId: string, module: ActorModule): Promise<void> {
    try {
      const bucket = await this.host.claims();
      await bucket.put(actorId, {
        actorId,
        digest: module.digest,
        claims: claimsRecord(module.claims),
      });
    } catch (err) {
      this.host.logger.warn({ err, actor: actorId }, 'cannot record claims');
    }
  }

  #running(actorId: string): RunningActor {
    const running = this.host.actors.get(checkToken('actor id', actorId));
    if (!running) {
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `actor "${actorId}" is not running on host ${this.host.id}`, {
        details: { actor: actorId, host: this.host.id },
      });
    }
    return running;
  }

  async #stopActor(req: lattice.StopActorRequest): Promise<Uint8Array> {
    const running = this.#running(req.actorId);
    this.host.actors.delete(req.actorId);
    const left = await running.stop(waitOf(req.timeoutMs, this.host.options.drainTimeoutMs));
    this.host.publish('actor_stopped', { hostId: this.host.id, actorId: req.actorId, reason: 'stop requested' });
    this.host.logger.info({ actor: req.actorId, unfinished: left }, 'actor stopped');
    return this.#ack(
      left ? `actor ${req.actorId} stopped; ${left} invocations were still running` : `actor ${req.actorId} stopped`,
    );
  }

  /**
   * Moves an actor to the module `artifact_ref` names now. The reference is always fetched again, even
   * when it is the one the actor runs: an `oci://` tag may have moved to another module (or a file
   * changed). When the same reference still yields the running module's digest, nothing is compiled
   * or swapped and no event is published: the reply says "unchanged". Only then is an update a no-op,
   * so `wasmesh update actor ID oci://…:TAG` and the reconciler's refresh of tag images on a new app
   * version (apps/src/reconciler/plan.ts) cost one manifest request when the tag did not move.
   */
  async #updateActor(req: lattice.UpdateActorRequest): Promise<Uint8Array> {
    const running = this.#running(req.actorId);
    if (!req.artifactRef)
      throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'update-actor request without an artifact reference');
    let module: ActorModule;
    try {
      const bytes = await this.#fetchArtifact(req.actorId, req.artifactRef);
      const digest = digestOf(bytes);
      if (req.artifactRef === running.module.ref && digest === running.module.digest) {
        this.host.logger.info({ actor: req.actorId, ref: req.artifactRef, digest }, 'actor unchanged');
        return this.#ack(`actor ${req.actorId} unchanged: ${req.artifactRef} still resolves to ${digest}`);
      }
      module = await this.#loadModule(req.actorId, req.artifactRef, bytes, running.module.maxConcurrent);
    } catch (err) {
      this.#failed(req.actorId, req.artifactRef, err);
    }
    const previousDigest = running.swap(module);
    await this.#recordClaims(req.actorId, module);
    this.host.publish('actor_updated', { hostId: this.host.id, actor: running.describe(), previousDigest });
    this.host.logger.info({ actor: req.actorId, ref: req.artifactRef, previousDigest }, 'actor updated');
    return this.#ack(`actor ${req.actorId} updated to ${module.digest}`);
  }

  async #claims(): Promise<Uint8Array> {
    const entries = await (await this.host.claims()).entries();
    return encode(lattice.GetClaimsResponse, { claims: [...entries.values()] });
  }
}
