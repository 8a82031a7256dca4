/**
 * A capability provider on the lattice. `start()` connects to NATS, registers the provider in the
 * lattice's provider registry, applies the links that target it (and follows their changes and
 * the changes of the config they use), serves its contract on its RPC subject (the same
 * invocation envelope as actors, queue group shared by every instance of the provider id) and
 * answers health checks. `close()` drains: new calls stop, in-flight ones finish (bounded), link
 * resources are released, the registry entry is removed, `provider_stopped` is published and NATS
 * is flushed.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Context } from '@opentelemetry/api';
import {
  answerInvocation,
  InFlight,
  servingTarget,
  checkContract,
  createLogger,
  DEFAULT_LINK_NAME,
  encode,
  invoke,
  LatticeObjects,
  LinkState,
  linkKey,
  mergeConfig,
  offloadIfLarge,
  publishEvent,
  receivePayload,
  serve,
  Subjects,
  WasmeshError,
  connectNats,
  type AnswerOptions,
  type LocalDispatch,
  type Logger,
} from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import type { CallContext, ConfigValues, HealthStatus, ProviderDefinition, ProviderState } from './definition.js';
import { noLinkError, unknownOperationError } from './errors.js';
import { ProviderLinks, type ProviderLink } from './links.js';
import { resolveProviderOptions, type ProviderOptions, type ResolvedProviderOptions } from './options.js';

/** The stop reason of a provider whose NATS connection closed for good. */
export const NATS_CLOSED_REASON = 'NATS connection closed';

/** Options of {@link Provider.invokeActor}. */
export interface ProviderInvokeOptions {
  /** Deadline of the call. @default 10000 */
  timeoutMs?: number;
  /** A unix-ms deadline inherited from a caller; the earlier one wins. */
  deadlineMs?: number;
  /** Trace context to continue (e.g. a {@link CallContext.trace}). */
  parent?: Context;
}

/** A capability provider; see the module comment. */
export class Provider<R = undefined> {
  /** Options after defaults, environment and validation. */
  readonly options: ResolvedProviderOptions;
  /** The provider's logger (a child of the one given, tagged with the provider id). */
  readonly logger: Logger;
  /** Subjects of the provider's lattice. */
  readonly subjects: Subjects;

  #state: ProviderState = 'created';
  #nc: NatsConnection | undefined;
  #linkState: LinkState | undefined;
  #objects: Promise<LatticeObjects> | undefined;
  #links: ProviderLinks<R> | undefined;
  #rpc: Subscription | undefined;
  /** Removes this provider from its host's local dispatch (in-process mode); undefined otherwise. */
  #unlisten: (() => void) | undefined;
  readonly #local: LocalDispatch | undefined;
  /** Where this process serves its metrics, when it does. */
  readonly #metricsUrl: string | undefined;
  #health: Subscription | undefined;
  #watchers: AsyncGenerator<unknown>[] = [];
  #record: lattice.IProviderRecord | undefined;
  #config: ConfigValues = Object.freeze({});
  readonly #inFlight = new InFlight();
  #answer: AnswerOptions | undefined;
  #starting: Promise<this> | undefined;
  #closing: Promise<void> | undefined;
  #stopReason = '';
  #stopped!: () => void;
  readonly #stoppedPromise = new Promise<void>((r) => (this.#stopped = r));

  /** Creates a provider (state `created`); `start()` brings it onto the lattice. */
  constructor(
    /** What the provider serves and its hooks. */
    readonly definition: ProviderDefinition<R>,
    options: ProviderOptions = {},
  ) {
    this.options = resolveProviderOptions(options);
    this.#local = options.local;
    this.#metricsUrl = options.metricsUrl;
    checkContract(definition.contract);
    this.subjects = new Subjects(this.options.lattice);
    this.logger = (options.logger ?? createLogger({ component: 'provider' })).child({
      provider: this.options.providerId,
      contract: definition.contract,
    });
  }

  /** The provider id (its RPC subject token and registry key). */
  get id(): string {
    return this.options.providerId;
  }

  /** The contract served. */
  get contract(): string {
    return this.definition.contract;
  }

  /** Where the provider is in its lifecycle. */
  get state(): ProviderState {
    return this.#state;
  }

  /** Calls being served now. */
  get inFlight(): number {
    return this.#inFlight.count;
  }

  /** The provider's own named config values (from `WASMESH_PROVIDER_CONFIG`), merged in order. */
  get config(): ConfigValues {
    return this.#config;
  }

  /** The NATS connection (once started). */
  get nc(): NatsConnection {
    if (!this.#nc) throw new WasmeshError('WASMESH_ERR_CLOSED', `provider ${this.id} is not started`);
    return this.#nc;
  }

  /** The lattice's links, config and provider registry (once started). */
  get linkState(): LinkState {
    if (!this.#linkState) throw new WasmeshError('WASMESH_ERR_CLOSED', `provider ${this.id} is not started`);
    return this.#linkState;
  }

  /** The links applied now (with their config, resource or refusal). */
  links(): ProviderLink<R>[] {
    return this.#links?.list() ?? [];
  }

  /** The lattice object store (opened on first use; large payloads travel through it). */
  objects(): Promise<LatticeObjects> {
    this.#objects ??= LatticeObjects.open(this.nc, this.subjects);
    return this.#objects;
  }

  /** Why the provider stopped or is stopping ('' while it runs); {@link NATS_CLOSED_REASON} when NATS went away for good. */
  get stopReason(): string {
    return this.#stopReason;
  }

  /** Resolves once the provider has stopped (after `close()`, or when its NATS connection closed for good). */
  stopped(): Promise<void> {
    return this.#stoppedPromise;
  }

  /** Starts the provider; resolves once it serves calls. Only from `created`; a failed start leaves it `stopped`. */
  start(): Promise<this> {
    if (this.#starting && !this.#closing) return this.#starting;
    if (this.#state !== 'created' || this.#closing) {
      return Promise.reject(new WasmeshError('WASMESH_ERR_CLOSED', `provider ${this.id} was already ${this.#state}`));
    }
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<this> {
    this.#state = 'starting';
    const { providerId, hostId, ref } = this.options;
    try {
      const { creds, tlsCa } = this.options;
      const nc = await connectNats({
        servers: [...this.options.natsServers],
        ...(creds ? { creds } : {}),
        ...(tlsCa ? { tlsCa } : {}),
        name: `provider ${providerId}`,
        logger: this.logger,
      });
      this.#nc = nc;
      const state = await LinkState.open(nc, this.subjects);
      this.#linkState = state;
      this.#config = await this.#loadOwnConfig();
      await this.definition.start?.(this);
      const links = new ProviderLinks<R>({
        provider: this,
        definition: this.definition,
        nc,
        subjects: this.subjects,
        state,
        logger: this.logger,
        drainTimeoutMs: this.options.drainTimeoutMs,
      });
      this.#links = links;
      // Config first, so no change of a config that an applied link uses goes unseen.
      this.#follow(state.config.watch(), (change) => this.#configChanged(change.key));
      this.#follow(state.links.watch({ includeExisting: true }), (change) =>
        change.op === 'put' ? links.put(change.key, change.value, change.revision) : links.delete(change.key),
      );
      const subject = this.subjects.provider(providerId);
      this.#rpc = nc.subscribe(subject, {
        queue: subject,
        callback: (err, msg) => {
          if (err) this.logger.warn({ err }, 'rpc subscription error');
          else void this.#handle(msg);
        },
      });
      this.#unlisten = this.#local?.add(
        subject,
        servingTarget(
          () => this.#state === 'running',
          () => this.#answerOptions(),
          (inv, trace) => this.#run(inv, trace, true),
          (work) => this.#inFlight.track(work),
        ),
      );
      const healthSubject = this.subjects.providerHealth(providerId);
      this.#health = serve(nc, healthSubject, () => this.#healthReply(), {
        queue: healthSubject,
        logger: this.logger,
        name: `health ${providerId}`,
      });
      await nc.flush();
      this.#record = {
        providerId,
        contract: this.contract,
        hostId,
        artifactRef: ref,
        startedAtMs: Date.now(),
        instance: process.pid,
        annotations: {
          ...this.definition.annotations?.(this),
          ...(this.#metricsUrl ? { metrics_url: this.#metricsUrl } : {}),
        },
      };
      await state.providers.put(providerId, this.#record);
      publishEvent(nc, this.subjects, 'provider_started', providerId, { provider: this.#record });
      // Instances of one id share one registry entry: when another instance's drain removes it,
      // a running instance writes its own back, so links to the id keep working.
      this.#follow(state.providers.watch(), async (change) => {
        if (change.key !== providerId || change.op !== 'del' || this.#state !== 'running' || !this.#record) return;
        await state.providers
          .put(providerId, this.#record)
          .catch((err: unknown) => this.logger.warn({ err }, 'cannot restore the registry entry'));
      });
      this.#state = 'running';
      void nc.closed().then((err) => {
        if (this.#closing) return;
        this.logger.error({ err }, 'the NATS connection closed; stopping');
        void this.close(NATS_CLOSED_REASON);
      });
      this.logger.info({ lattice: this.subjects.lattice, hostId, pid: process.pid }, 'provider running');
      return this;
    } catch (err) {
      // Not logged: the caller reports the error (runProvider prints one `wasmesh: CODE: message` line).
      for (const w of this.#watchers) void w.return(undefined);
      if (this.#nc && !this.#nc.isClosed()) await this.#nc.close().catch(() => undefined);
      this.#state = 'stopped';
      this.#stopReason = 'failed to start';
      this.#stopped();
      throw err;
    }
  }

  /**
   * Stops the provider: stops taking calls, waits for in-flight ones (at most `drainTimeoutMs`),
   * releases links, runs `stop`, removes the registry entry, publishes `provider_stopped` and
   * drains NATS. Idempotent: every call returns the same promise.
   */
  close(reason = 'closed'): Promise<void> {
    this.#stopReason ||= reason;
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  async #close(reason: string): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'stopped';
      this.#stopped();
      return;
    }
    if (this.#starting) {
      try {
        await this.#starting;
      } catch {
        return; // a failed start already cleaned up
      }
    }
    this.#state = 'draining';
    const nc = this.nc;
    this.logger.info({ reason, inFlight: this.#inFlight.count }, 'provider draining');
    await this.#stopIntake();
    const left = await this.#inFlight.idle(this.options.drainTimeoutMs);
    if (left > 0) this.logger.warn({ inFlight: left }, 'calls still running after the drain timeout');
    for (const w of this.#watchers) void w.return(undefined);
    await this.#links?.stop();
    try {
      await this.definition.stop?.(this);
    } catch (err) {
      this.logger.warn({ err }, 'provider stop hook failed');
    }
    if (!nc.isClosed()) {
      await this.#deregister().catch((err: unknown) => this.logger.warn({ err }, 'cannot remove the registry entry'));
      publishEvent(nc, this.subjects, 'provider_stopped', this.id, {
        providerId: this.id,
        hostId: this.options.hostId,
        reason,
      });
      this.#health?.unsubscribe();
      await nc.drain().catch(() => undefined);
    }
    this.#state = 'stopped';
    this.logger.info({ reason }, 'provider stopped');
    this.#stopped();
  }

  /** Drains the RPC subscription (and leaves local dispatch): calls already delivered are served, no new ones arrive. */
  async #stopIntake(): Promise<void> {
    this.#unlisten?.();
    this.#unlisten = undefined;
    const rpc = this.#rpc;
    if (!rpc || rpc.isClosed()) return;
    try {
      await rpc.drain();
    } catch {
      try {
        rpc.unsubscribe();
      } catch {
        // The connection is gone, and the subscription with it.
      }
    }
  }

  /** Removes the registry entry, unless another instance of this provider id has replaced it. */
  async #deregister(): Promise<void> {
    const state = this.linkState;
    const current = await state.providers.get(this.id);
    if (
      current &&
      Number(current.startedAtMs) === Number(this.#record?.startedAtMs) &&
      current.instance === this.#record?.instance
    ) {
      await state.providers.delete(this.id);
    }
  }

  /** Invokes an operation of an actor anywhere in the lattice (as `source` = this provider's id). */
  async invokeActor(
    actorId: string,
    operation: string,
    payload: Uint8Array,
    options: ProviderInvokeOptions = {},
  ): Promise<Uint8Array> {
    const { payload: out } = await invoke(this.nc, this.subjects, { actor: actorId }, operation, payload, {
      timeoutMs: options.timeoutMs ?? 10_000,
      source: this.id,
      objects: () => this.objects(),
      ...(this.#local ? { local: this.#local } : {}),
      ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
      ...(options.parent ? { parent: options.parent } : {}),
    });
    return out;
  }

  /** Runs `apply` for every change a watcher yields, in order, until the watcher is stopped. */
  #follow<T>(watcher: AsyncGenerator<T>, apply: (change: T) => Promise<void> | void): void {
    this.#watchers.push(watcher);
    void (async () => {
      try {
        for await (const change of watcher) await apply(change);
      } catch (err) {
        if (!this.#closing) this.logger.error({ err }, 'a lattice state watcher ended');
      }
    })();
  }

  async #loadOwnConfig(): Promise<ConfigValues> {
    const names = this.options.config;
    const configs = await Promise.all(names.map((n) => this.linkState.config.get(n)));
    const missing = names.filter((_, i) => !configs[i]);
    if (missing.length > 0) this.logger.warn({ missing }, 'named config of the provider does not exist (yet)');
    return Object.freeze(mergeConfig(configs));
  }

  async #configChanged(name: string): Promise<void> {
    this.#links?.configChanged(name);
    if (!this.options.config.includes(name)) return;
    this.#config = await this.#loadOwnConfig();
    this.logger.info({ config: name }, 'provider config changed');
    try {
      await this.definition.onConfig?.(this.#config, this);
    } catch (err) {
      this.logger.warn({ err }, 'the provider refused its config');
    }
    await this.#links?.reapplyAll();
  }

  async #healthReply(): Promise<Uint8Array> {
    let verdict: HealthStatus = true;
    if (this.#state !== 'running') verdict = { healthy: false, message: this.#state };
    else if (this.definition.health) {
      try {
        verdict = await this.definition.health(this);
      } catch (err) {
        verdict = { healthy: false, message: (err as Error)?.message ?? String(err) };
      }
    }
    const { healthy, message = '' } = typeof verdict === 'boolean' ? { healthy: verdict } : verdict;
    return encode(lattice.ProviderHealth, {
      providerId: this.id,
      hostId: this.options.hostId,
      healthy,
      message,
    });
  }

  /** Serves one invocation from the bus and replies with an `InvocationResult` (payload or error). */
  #handle(msg: Msg): Promise<void> {
    return this.#inFlight.track(() =>
      answerInvocation(msg, this.#answerOptions(), (inv, trace) => this.#run(inv, trace, false)),
    );
  }

  /** How this provider's calls are served and named, on the bus and locally alike. */
  #answerOptions(): AnswerOptions {
    if (this.#answer) return this.#answer;
    this.#answer = {
      span: `serve ${this.id}`,
      attributes: { 'wasmesh.provider': this.id, 'wasmesh.contract': this.contract },
      what: `invocation envelope for provider ${this.id}`,
      servedBy: this.id,
      logger: this.logger,
    };
    return this.#answer;
  }

  /** One call; `local` when it came by local dispatch (the response then stays inline, whatever its size). */
  async #run(inv: lattice.Invocation, trace: Context, local: boolean): Promise<lattice.IInvocationResult> {
    const operation = inv.operation;
    const deadlineMs = Number(inv.deadlineMs) || Date.now() + 10_000;
    if (deadlineMs <= Date.now()) {
      throw new WasmeshError(
        'WASMESH_ERR_TIMEOUT',
        `call of ${operation} on provider ${this.id} arrived after its deadline`,
        {
          details: { provider: this.id, operation, timeoutMs: 0 },
        },
      );
    }
    const handler = Object.hasOwn(this.definition.operations, operation)
      ? this.definition.operations[operation]
      : undefined;
    if (!handler) {
      throw unknownOperationError(operation, this.contract, this.id, Object.keys(this.definition.operations));
    }
    const source = inv.source;
    const linkName = inv.linkName || DEFAULT_LINK_NAME;
    let key: string;
    try {
      key = linkKey(source, this.contract, linkName);
    } catch {
      throw noLinkError(source || '(none)', this.contract, linkName, this.id);
    }
    const link = await this.#links!.acquire(key);
    if (!link) throw noLinkError(source, this.contract, linkName, this.id);
    try {
      if (link.error) {
        throw new WasmeshError(
          link.error.code,
          `provider "${this.id}" refused the link of actor "${source}" (link "${linkName}"): ${link.error.message}`,
          { cause: link.error, details: { ...link.error.details, actor: source, link: linkName, provider: this.id } },
        );
      }
      const payload = await receivePayload(
        inv,
        inv.id,
        'request',
        () => this.objects(),
        `invocation envelope for provider ${this.id}`,
      );
      const ctx: CallContext<R> = {
        provider: this,
        link: link.link,
        linkKey: key,
        linkName,
        config: link.config,
        resource: link.resource as R,
        source,
        operation,
        invocationId: inv.id,
        deadlineMs,
        trace,
      };
      const out = await handler(ctx, payload);
      const payloadObject = local
        ? ''
        : await offloadIfLarge(
            this.nc,
            out,
            () => this.objects(),
            inv.id,
            'response',
            `response of ${this.id}.${operation}`,
          );
      return { payload: payloadObject ? new Uint8Array() : out, payloadObject, hostId: this.id };
    } finally {
      link.release();
    }
  }
}
