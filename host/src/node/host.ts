/**
 * `LatticeHost`: a host node. It joins a lattice over NATS, answers the control API (control.ts),
 * runs actors and serves their invocations (../actors/), supervises capability providers
 * (../providers/), heartbeats its inventory, and drains gracefully.
 *
 * Lifecycle: created → starting → running → draining → stopped. `drain()` stops intake, lets
 * in-flight invocations finish (bounded), stops its providers, publishes host_stopped and flushes NATS; it is
 * idempotent, and `stopped()` resolves when it is done (also after a remote `host.stop`).
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  connectNats,
  FileJail,
  LocalDispatch,
  LatticeObjects,
  LinkState,
  openBucket,
  publishEvent,
  readCredentials,
  serve,
  silentLogger,
  Subjects,
  WasmeshError,
  type EventBodies,
  type EventType,
  type Logger,
  type StateBucket,
} from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import { ActorRuntime } from '../runtime/runtime.js';
import { ActorLifecycle } from '../actors/lifecycle.js';
import { LinkTable } from '../actors/link-table.js';
import { readActorConfig } from '../actors/actor-config.js';
import type { RunningActor } from '../actors/running-actor.js';
import { ControlHandlers } from './control.js';
import { LabelEditor } from './labels.js';
import { ProviderSupervisor } from '../providers/supervisor.js';
import type { SupervisedProvider } from '../providers/supervised-provider.js';
import { friendlyName, hostId, resolveLabels } from './identity.js';
import { mirrorOf } from './local-call-mirror.js';
import { SpiedActors } from './spied-actors.js';
import { ActorMetrics } from '../actors/actor-metrics.js';
import { observeHost } from './host-metrics.js';
import { ProviderCredentials } from '../providers/credentials.js';
import { resolveHostOptions, type HostOptions, type ResolvedHostOptions } from './options.js';

/** The version hosts report. */
export const HOST_VERSION = '0.1.0';

/** Named states of a host. */
export type HostState = 'created' | 'starting' | 'running' | 'draining' | 'stopped';

/** A lattice host. Create with {@link LatticeHost.start}. */
export class LatticeHost {
  #state: HostState = 'created';
  readonly id: string;
  readonly friendlyName = friendlyName();
  readonly startedAtMs = Date.now();
  readonly subjects: Subjects;
  readonly labels: Record<string, string>;
  /** Actors this host runs, by id. */
  readonly actors = new Map<string, RunningActor>();
  /** Capability providers this host supervises, by id. */
  readonly providers = new Map<string, SupervisedProvider>();
  readonly logger: Logger;
  readonly runtime: ActorRuntime;
  /** The directories this host reads module and provider files from; the only way it reads them. */
  readonly jail: FileJail;
  /** The actors and providers served in this process, for calls that skip NATS (absent when turned off). */
  readonly local: LocalDispatch | undefined;
  /** The actors a spy watches: their local calls are mirrored as `local_call` events. */
  readonly spied = new SpiedActors();
  #nc: NatsConnection | undefined;
  #controlSubs: Subscription[] = [];
  #heartbeat: NodeJS.Timeout | undefined;
  /** Stops the host's gauges (see host-metrics.ts). */
  #unobserve: (() => void) | undefined;
  #objects: Promise<LatticeObjects> | undefined;
  #claims: Promise<StateBucket<lattice.IClaims>> | undefined;
  #linkState: Promise<LinkState> | undefined;
  #links: Promise<LinkTable> | undefined;
  #supervisor: ProviderSupervisor | undefined;
  #actorLifecycle: ActorLifecycle | undefined;
  #providerCredentials = new ProviderCredentials(undefined, undefined);
  #drained: Promise<void> | undefined;
  #stoppedResolve!: () => void;
  readonly #stopped = new Promise<void>((r) => (this.#stoppedResolve = r));

  private constructor(
    readonly options: Readonly<ResolvedHostOptions>,
    id: string,
    logger: Logger,
  ) {
    this.id = id;
    this.subjects = new Subjects(options.lattice);
    this.labels = resolveLabels(options.labels);
    this.logger = logger.child({ host: this.id.slice(0, 12), lattice: options.lattice });
    this.jail = FileJail.create('host', options.allowDirs, options.maxModuleBytes);
    this.local = options.localDispatch ? new LocalDispatch() : undefined;
    this.local?.observe((inv, result, durationUs) => {
      if (this.spied.has(inv.source) || this.spied.has(inv.target)) {
        this.publish('local_call', { hostId: this.id, ...mirrorOf(inv, result), durationUs });
      }
    });
    this.runtime = ActorRuntime.create({ ...options.runtime, logger: this.logger });
  }

  /** Connects, subscribes to the control API, announces itself and starts heartbeating. */
  static async start(options: HostOptions = {}): Promise<LatticeHost> {
    const resolved = resolveHostOptions(options);
    const creds = resolved.creds ? readCredentials(resolved.creds) : undefined;
    const id = hostId(resolved.seed, creds);
    const minted = new ProviderCredentials(creds, resolved.tlsCa);
    const own = resolved.creds ? { creds: await minted.hostFile(resolved.creds, id) } : {};
    const host = new LatticeHost({ ...resolved, ...own }, id, options.logger ?? silentLogger());
    host.#providerCredentials = minted;
    await host.#start().catch((err: unknown) => {
      minted.close();
      throw err;
    });
    return host;
  }

  /** The current lifecycle state. */
  get state(): HostState {
    return this.#state;
  }

  /** The NATS connection (running hosts only). */
  get nc(): NatsConnection {
    if (!this.#nc) throw new WasmeshError('WASMESH_ERR_CLOSED', 'the host is not connected');
    return this.#nc;
  }

  /** Resolves once the host has stopped (after `drain`, or a remote stop request). */
  stopped(): Promise<void> {
    return this.#stopped;
  }

  /** The lattice object store, opened on first use. */
  objects(): Promise<LatticeObjects> {
    this.#objects ??= LatticeObjects.open(this.nc, this.subjects);
    this.#objects.catch(() => (this.#objects = undefined));
    return this.#objects;
  }

  /** The lattice's claims bucket, opened on first use. */
  claims(): Promise<StateBucket<lattice.IClaims>> {
    this.#claims ??= openBucket(this.nc, this.subjects, 'claims', lattice.Claims);
    this.#claims.catch(() => (this.#claims = undefined));
    return this.#claims;
  }

  /** The lattice's links, config and provider registry (opened on first use). */
  linkState(): Promise<LinkState> {
    this.#linkState ??= LinkState.open(this.nc, this.subjects);
    this.#linkState.catch(() => (this.#linkState = undefined));
    return this.#linkState;
  }

  /** The lattice's links, watched live (opened on first use). */
  links(): Promise<LinkTable> {
    this.#links ??= this.linkState().then((state) => LinkTable.watch(state, this.logger));
    this.#links.catch(() => (this.#links = undefined));
    return this.#links;
  }

  /** This host as ping replies and events describe it. */
  info(): lattice.IHostInfo {
    return {
      hostId: this.id,
      friendlyName: this.friendlyName,
      labels: { ...this.labels },
      lattice: this.subjects.lattice,
      version: HOST_VERSION,
      startedAtMs: this.startedAtMs,
      uptimeMs: Date.now() - this.startedAtMs,
    };
  }

  /** This host's offer to run `actorId`; `null` (no bid) when it runs it already or lacks a label `constraints` ask for. */
  auctionOffer(actorId: string, constraints: Record<string, string>): lattice.IAuctionOffer | null {
    if (this.actors.has(actorId)) return null;
    for (const [k, v] of Object.entries(constraints)) if (this.labels[k] !== v) return null;
    return {
      hostId: this.id,
      friendlyName: this.friendlyName,
      labels: this.labels,
      actorsRunning: this.actors.size,
    };
  }

  /** What this host runs. */
  inventory(): lattice.IHostInventory {
    return {
      host: this.info(),
      actors: [...this.actors.values()].map((a) => a.describe()),
      providers: [...this.providers.values()].map((p) => {
        const { entry: _entry, ...description } = p.describe();
        return description;
      }),
    };
  }

  /** Publishes a lattice event from this host; an event that cannot be sent (too large) is logged, never thrown. */
  publish<T extends EventType>(type: T, data: EventBodies[T]): void {
    if (!this.#nc || this.#nc.isClosed()) return;
    try {
      publishEvent(this.#nc, this.subjects, type, this.id, data);
    } catch (err) {
      this.logger.warn({ err, event: type }, 'cannot publish a lattice event');
    }
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    this.#nc = await connectNats({
      servers: this.options.nats,
      ...(this.options.creds ? { creds: this.options.creds } : {}),
      ...(this.options.tlsCa ? { tlsCa: this.options.tlsCa } : {}),
      name: `wasmesh-host ${this.id}`,
      logger: this.logger,
    });
    this.#supervisor = new ProviderSupervisor(this.providers, {
      nc: this.#nc,
      subjects: this.subjects,
      hostId: this.id,
      natsUrls: this.options.nats,
      access: (providerId, app) => this.#providerCredentials.for(providerId, app),
      logger: this.logger,
      jail: this.jail,
      state: () => this.linkState(),
      publish: (type, data) => this.publish(type, data),
      local: this.local,
      defaultMode: this.options.providerMode,
      healthMs: this.options.providerHealthMs,
      startTimeoutMs: this.options.providerStartTimeoutMs,
      stopTimeoutMs: this.options.providerStopTimeoutMs,
      metricsListen: this.options.providerMetricsListen,
    });
    this.#supervisor.listen();
    this.#unobserve = observeHost(this);
    this.#actorLifecycle = new ActorLifecycle(this.actors, {
      nc: this.#nc,
      subjects: this.subjects,
      hostId: this.id,
      logger: this.logger,
      runtime: this.runtime,
      jail: this.jail,
      local: this.local,
      metrics: new ActorMetrics(),
      objects: () => this.objects(),
      links: () => this.links(),
      actorConfig: async (id) => readActorConfig(await this.linkState(), this.actors.get(id)?.config ?? []),
      claims: () => this.claims(),
      publish: (type, data) => this.publish(type, data),
      options: this.options,
    });
    const handlers = new ControlHandlers({
      host: this,
      labels: new LabelEditor(this.labels, this.id, () =>
        this.publish('labels_changed', { hostId: this.id, labels: this.labels }),
      ),
      actors: this.#actorLifecycle,
      providers: this.#supervisor,
      spied: this.spied,
      drainTimeoutMs: this.options.drainTimeoutMs,
    });
    for (const { op, subject, queue } of this.subjects.hostControlSubjects(this.id)) {
      this.#controlSubs.push(
        serve(this.#nc, subject, (msg) => handlers.handle(op, msg), {
          logger: this.logger,
          name: `control ${op}`,
          ...(queue ? { queue } : {}),
        }),
      );
    }
    await this.#nc.flush();
    this.#state = 'running';
    this.publish('host_started', { host: this.info() });
    this.#beat();
    this.#heartbeat = setInterval(() => this.#beat(), this.options.heartbeatMs);
    // Load the links now, so the first host call to a provider does not wait for them.
    this.links().catch((err: unknown) => this.logger.warn({ err }, 'cannot watch the lattice links yet'));
    this.logger.info(
      { hostId: this.id, name: this.friendlyName, labels: this.labels, allowDirs: this.jail.realDirs },
      'host started',
    );
  }

  #beat(): void {
    this.publish('host_heartbeat', { inventory: this.inventory(), intervalMs: this.options.heartbeatMs });
  }

  /**
   * Graceful stop: no new invocations or control requests, in-flight invocations finish (at most
   * `timeoutMs`, default the host's drainTimeoutMs) while the providers stop, host_stopped is
   * published and NATS flushed.
   */
  drain(reason = 'drained', timeoutMs = this.options.drainTimeoutMs): Promise<void> {
    this.#drained ??= this.#drain(reason, timeoutMs);
    return this.#drained;
  }

  async #drain(reason: string, timeoutMs: number): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'stopped';
      this.#stoppedResolve();
      return;
    }
    this.#state = 'draining';
    this.logger.info({ reason }, 'host draining');
    clearInterval(this.#heartbeat);
    for (const sub of this.#controlSubs.splice(0)) sub.unsubscribe();
    void this.#links?.then((t) => t.stop()).catch(() => undefined);
    const [unfinished] = await Promise.all([
      this.#actorLifecycle?.stopAll(timeoutMs) ?? 0,
      this.#supervisor?.stopAll(`host ${this.id} draining`),
    ]);
    this.#supervisor?.close();
    this.#providerCredentials.close();
    if (unfinished > 0) this.logger.warn({ unfinished }, 'drain timed out with invocations still running');
    this.publish('host_stopped', { host: this.info(), reason });
    if (this.#nc && !this.#nc.isClosed()) await this.#nc.drain().catch(() => this.#nc?.close());
    this.#unobserve?.();
    this.runtime.close();
    this.#state = 'stopped';
    this.logger.info('host stopped');
    this.#stoppedResolve();
  }
}
