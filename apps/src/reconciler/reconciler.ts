/**
 * The app reconciler: a lattice service that keeps every deployed app as its manifest says, and
 * removes what an undeployed app started. Several may run (inside `wasmesh up`, or on their own
 * with `wasmesh reconciler`); one leads at a time through {@link LeaderElection} and only the
 * leader acts. Everything it needs is in the lattice (app store, link and config state, host
 * inventories), so a new leader carries on where the last one stopped.
 *
 * Rounds run when something changes (an app is put, deployed or undeployed; a host comes, goes or
 * misses its heartbeats, noticed as soon as they are overdue; an actor or provider starts or stops)
 * and at least every `intervalMs`.
 * A round plans each app (plan.ts) and does the plan; the app's status becomes `deployed` when a
 * round finds nothing to do, `reconciling` while it acts, `failed` (with the reason) when hosts or
 * state cannot satisfy it, and `undeployed` once an undeployed app's resources are gone.
 * What it does is measured (reconciler-metrics.ts): rounds, plan actions, status transitions and
 * how long a newly deployed app version takes to be `deployed`.
 */
import { randomBytes } from 'node:crypto';
import {
  ControlClient,
  DEFAULT_PULL_TIMEOUT_MS,
  isWasmeshError,
  LatticeClient,
  LeaderElection,
  type LatticeEvent,
  type LinkState,
  type Logger,
} from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';
import type { AppManifest } from '../manifest/model.js';
import { AppStore, manifestOf, type AppState } from '../store.js';
import { isEmptyPlan, planApp, type Plan } from './plan.js';
import { ReconcilerMetrics, type PlanAction } from './reconciler-metrics.js';
import { LatticeView } from './view.js';

/**
 * How long a request to a host may take: an actor start or update pulls its module (a host's
 * whole `oci://` pull is bounded by DEFAULT_PULL_TIMEOUT_MS), compiles and starts it, so the
 * reconciler waits past the pull deadline and sees the host's own typed error, not a timeout.
 */
const CONTROL_TIMEOUT_MS = DEFAULT_PULL_TIMEOUT_MS + 30_000;

/** The lifecycle of a reconciler. */
export type ReconcilerState = 'created' | 'starting' | 'running' | 'stopped';

/** Options of {@link Reconciler.start}. */
export interface ReconcilerOptions {
  natsUrl: string | string[];
  /** NATS credentials file (admin role). @default WASMESH_NATS_CREDS */
  creds?: string;
  /** CA of the NATS server's certificate. @default WASMESH_NATS_CA */
  tlsCa?: string;
  lattice: string;
  /** This reconciler's id among candidates. @default a random id */
  id?: string;
  /** Rounds run at least this often. @default 1000 */
  intervalMs?: number;
  /** Lease of the leader: a dead leader is replaced after about this long. @default 3000 */
  leaseMs?: number;
  /** The hosts' heartbeat interval when a host has not said its own. @default 2000 */
  heartbeatMs?: number;
  /** How long the first connection to NATS may take before the start fails. @default 5000 */
  connectTimeoutMs?: number;
  logger?: Logger;
}

/** A reconciler; see the module comment. */
export class Reconciler {
  #state: ReconcilerState = 'created';
  readonly #view: LatticeView;
  #election: LeaderElection | undefined;
  #events: (AsyncIterable<LatticeEvent> & { close(): void }) | undefined;
  #appWatch: AsyncGenerator<unknown> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  /** Apps whose status this leader has written since it was elected. */
  readonly #confirmed = new Set<string>();
  /** Whether the view holds a snapshot taken since this reconciler was last elected. */
  #ready = false;
  #closing: Promise<void> | undefined;
  readonly #control: ControlClient;
  /** Its instruments (made with it, so after the process set up its telemetry). */
  readonly #metrics = new ReconcilerMetrics();
  /** Rounds done while leading (for tests and operators). */
  rounds = 0;

  private constructor(
    private readonly client: LatticeClient,
    private readonly store: AppStore,
    private readonly links: LinkState,
    private readonly options: Required<Omit<ReconcilerOptions, 'logger' | 'creds' | 'tlsCa' | 'connectTimeoutMs'>> & {
      logger?: Logger;
    },
  ) {
    this.#view = new LatticeView(options.heartbeatMs);
    this.#control = new ControlClient(client.nc, client.subjects, CONTROL_TIMEOUT_MS);
  }

  /** Connects, joins the leader election and starts following the lattice. */
  static async start(options: ReconcilerOptions): Promise<Reconciler> {
    const id = options.id ?? `reconciler-${randomBytes(4).toString('hex')}`;
    const client = await LatticeClient.connect({
      servers: options.natsUrl,
      ...(options.creds ? { creds: options.creds } : {}),
      ...(options.tlsCa ? { tlsCa: options.tlsCa } : {}),
      lattice: options.lattice,
      name: id,
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
    try {
      const [store, links] = await Promise.all([AppStore.open(client.nc, client.subjects), client.state()]);
      const r = new Reconciler(client, store, links, {
        natsUrl: options.natsUrl,
        lattice: options.lattice,
        id,
        intervalMs: options.intervalMs ?? 1000,
        leaseMs: options.leaseMs ?? 3000,
        heartbeatMs: options.heartbeatMs ?? 2000,
        ...(options.logger ? { logger: options.logger } : {}),
      });
      await r.#start();
      return r;
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }

  /** Where it is in its lifecycle. */
  get state(): ReconcilerState {
    return this.#state;
  }

  /** Its candidate id. */
  get id(): string {
    return this.options.id;
  }

  /** Whether it leads (acts) now. */
  get isLeader(): boolean {
    return this.#election?.isLeader ?? false;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    this.#events = this.client.events();
    void (async () => {
      for await (const e of this.#events!) if (this.#view.apply(e) && this.isLeader) this.#trigger();
    })();
    this.#appWatch = this.store.watch();
    void (async () => {
      try {
        for await (const _change of this.#appWatch!) if (this.isLeader) this.#trigger();
      } catch (err) {
        if (!this.#closing) this.options.logger?.error({ err }, 'the app watcher ended');
      }
    })();
    this.#election = new LeaderElection(this.client.nc, this.client.subjects, {
      role: 'reconciler',
      candidateId: this.options.id,
      leaseMs: this.options.leaseMs,
      ...(this.options.logger ? { logger: this.options.logger } : {}),
      onElected: () => {
        // A new leader starts from what the hosts say now, not from what it heard as a follower;
        // no round runs before that (it would see no hosts and call every app failed).
        this.#ready = false;
        this.#confirmed.clear();
        this.#metrics.forgetAll();
        void this.#view
          .snapshot(this.#control)
          .catch((err: unknown) => this.options.logger?.warn({ err }, 'lattice snapshot failed'))
          .then(() => {
            this.#ready = true;
            this.#trigger();
          });
      },
    });
    await this.#election.start();
    this.#state = 'running';
    this.#tick();
    this.#watchExpiry();
  }

  /**
   * Notices a silent host as soon as its heartbeats are overdue (not only at the next tick, which
   * would add up to `intervalMs` to the time a lost host's work waits to be re-placed).
   */
  #watchExpiry(): void {
    if (this.#closing) return;
    const next = this.#view.nextExpiryMs();
    const delay =
      next === undefined
        ? this.options.intervalMs
        : Math.min(this.options.intervalMs, Math.max(10, next - Date.now() + 1));
    this.#expiryTimer = setTimeout(() => {
      if (this.#view.expire().length > 0) this.#trigger();
      this.#watchExpiry();
    }, delay);
  }

  #tick(): void {
    if (this.#closing) return;
    this.#timer = setTimeout(() => {
      if (this.#view.expire().length > 0 || this.isLeader) this.#trigger();
      this.#tick();
    }, this.options.intervalMs);
  }

  /** Asks for a round: now, or right after the one running. */
  #trigger(): void {
    if (this.#closing || !this.isLeader || !this.#ready) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.reconcileAll();
        } catch (err) {
          this.options.logger?.warn({ err }, 'reconcile round failed');
        }
      } while (this.#again && this.isLeader && !this.#closing);
    })().finally(() => (this.#running = undefined));
  }

  /** One round over every app (the leader's work; exposed for tests and tools). */
  reconcileAll(): Promise<void> {
    return this.#metrics.round(() => this.#round());
  }

  async #round(): Promise<void> {
    this.#view.expire();
    this.rounds++;
    const [records, statuses, linkEntries, configEntries] = await Promise.all([
      this.store.apps.entries(),
      this.store.statuses.entries(),
      this.links.links.entries(),
      this.links.config.entries(),
    ]);
    const links = new Map<string, lattice.ILink>(linkEntries);
    const config = new Map([...configEntries].map(([k, v]) => [k, { ...v.values }]));
    const deployed = new Map<string, AppManifest>();
    for (const [name, r] of records) {
      if (r.deployedVersion) deployed.set(name, manifestOf(r, r.deployedVersion));
    }
    for (const [name] of records) {
      if (!this.isLeader) return;
      const manifest = deployed.get(name);
      const previous = statuses.get(name);
      if (!manifest && (!previous || previous.state === 'undeployed')) continue;
      await this.#reconcileApp(name, manifest, previous, links, config, deployed);
    }
  }

  async #reconcileApp(
    name: string,
    manifest: AppManifest | undefined,
    previous: lattice.IAppStatus | undefined,
    links: Map<string, lattice.ILink>,
    config: Map<string, Record<string, string>>,
    deployed: Map<string, AppManifest>,
  ): Promise<void> {
    const shared = new Map<string, string>();
    for (const c of manifest?.components ?? []) {
      if (c.kind !== 'shared') continue;
      const ownerApp = deployed.get(c.app);
      // Only an app whose manifest says it shares its providers lends them.
      const owner = ownerApp?.sharedProviders ? ownerApp.components.find((x) => x.name === c.component) : undefined;
      if (owner && owner.kind === 'provider') shared.set(c.name, owner.id);
    }
    // A version is timed from the round that first sees it deployed (no status of it yet, or one
    // left by an earlier deployment) until a round finds it deployed; an undeploy ends the timing.
    if (!manifest) this.#metrics.forget(name);
    else if (previous?.version !== manifest.version || !previous.state || previous.state === 'undeployed') {
      this.#metrics.versionSeen(name, manifest.version);
    }
    // The state of the app's status in the store, as this round last wrote it.
    let written = previous?.state || 'none';
    const plan = planApp({ manifest, appName: name, view: this.#view, links, config, previous, shared });
    if (plan.startProviders.length > 0) {
      // Owned before they start: a leader that dies half-way leaves them on record, so the next
      // leader (and an undeploy) still knows they are the app's.
      const intended = plan.startProviders.map((p) => ({ providerId: p.providerId, hostId: p.hostId }));
      await this.store.statuses.put(name, {
        ...previous,
        name,
        version: manifest?.version ?? '',
        state: 'reconciling',
        message: describePlan(plan),
        providers: uniqueProviders([...(previous?.providers ?? []), ...intended]),
        updatedAtMs: Date.now(),
      });
      this.#confirmed.add(name);
      this.#metrics.transition(written, 'reconciling');
      written = 'reconciling';
    }
    const failures = isEmptyPlan(plan) ? [] : await this.#execute(plan);
    let state: AppState;
    let message: string;
    if (!manifest) {
      state = isEmptyPlan(plan) && failures.length === 0 ? 'undeployed' : 'reconciling';
      message = state === 'undeployed' ? '' : 'removing what the app started';
    } else if (plan.shortfalls.length > 0 || failures.some((f) => f.fatal)) {
      state = 'failed';
      message = [...plan.shortfalls, ...failures.filter((f) => f.fatal).map((f) => f.message)].join('; ');
    } else if (isEmptyPlan(plan)) {
      state = 'deployed';
      message = '';
    } else {
      state = 'reconciling';
      message = failures.length ? failures.map((f) => f.message).join('; ') : describePlan(plan);
    }
    const status: lattice.IAppStatus = {
      name,
      version: manifest?.version ?? '',
      state,
      message,
      updatedAtMs: Date.now(),
      providers: plan.owned.providers,
      links: plan.owned.links,
      config: plan.owned.config,
      deployedAtMs: state === 'deployed' && previous?.state !== 'deployed' ? Date.now() : (previous?.deployedAtMs ?? 0),
    };
    // A new leader writes every app's status once, so readers can tell a status it confirmed from
    // one an earlier leader left behind (`updatedAtMs`).
    if (changedStatus(previous, status) || !this.#confirmed.has(name)) {
      this.#confirmed.add(name);
      await this.store.statuses.put(name, status);
      this.#metrics.transition(written, state);
      this.options.logger?.info({ app: name, state, message }, 'app status');
    }
    if (manifest && state === 'deployed') this.#metrics.versionDeployed(name, manifest.version);
    // Check the work at once; after a failure wait for the next tick (no tight retry loop).
    if (state === 'reconciling' && !isEmptyPlan(plan) && failures.length === 0) this.#again = true;
  }

  /** Does a plan, phase by phase; returns what failed (fatal: a retry will not help). */
  async #execute(plan: Plan): Promise<{ message: string; fatal: boolean }[]> {
    const failures: { message: string; fatal: boolean }[] = [];
    const run = async <T>(
      kind: PlanAction,
      items: T[],
      what: (t: T) => string,
      fn: (t: T) => Promise<unknown>,
    ): Promise<void> => {
      await Promise.all(
        items.map(async (item) => {
          try {
            await this.#metrics.action(kind, () => fn(item));
          } catch (err) {
            const fatal = isWasmeshError(
              err,
              'WASMESH_ERR_INVALID_MODULE',
              'WASMESH_ERR_CONFIG',
              'WASMESH_ERR_BAD_REQUEST',
            );
            failures.push({ message: `${what(item)}: ${(err as Error).message}`, fatal });
          }
        }),
      );
    };
    await run(
      'put_config',
      plan.putConfig,
      (c) => `config ${c.name}`,
      (c) => this.links.putConfig(c.name, c.values, this.id),
    );
    await run(
      'start_provider',
      plan.startProviders,
      (p) => `start provider ${p.providerId} on ${p.hostId}`,
      async (p) => {
        await this.#control.startProvider(p);
        this.#view.noteProvider(p.hostId, {
          providerId: p.providerId,
          artifactRef: p.artifactRef,
          config: [...p.config],
          state: 'running',
        });
        plan.owned.providers = uniqueProviders([
          ...plan.owned.providers,
          { providerId: p.providerId, hostId: p.hostId },
        ]);
      },
    );
    await run(
      'put_link',
      plan.putLinks,
      (l) => `link ${l.sourceId} → ${l.targetId}`,
      (l) => this.links.putLink(l, this.id),
    );
    await run(
      'start_actor',
      plan.startActors,
      (a) => `start actor ${a.actorId} on ${a.hostId}`,
      async ({ replace, ...a }) => {
        if (replace)
          await this.#control.updateActor({ hostId: a.hostId, actorId: a.actorId, artifactRef: a.artifactRef });
        await this.#control.startActor(a);
      },
    );
    await run(
      'stop_actor',
      plan.stopActors,
      (a) => `stop actor ${a.actorId} on ${a.hostId}`,
      (a) => this.#control.stopActor(a),
    );
    await run(
      'delete_link',
      plan.deleteLinks,
      (l) => `delete link ${l.key}`,
      (l) => this.links.deleteLink(l.sourceId, l.contract, l.name, this.id).catch(ignoreNotFound),
    );
    await run(
      'stop_provider',
      plan.stopProviders,
      (p) => `stop provider ${p.providerId} on ${p.hostId}`,
      async (p) => {
        try {
          await this.#control.stopProvider({ hostId: p.hostId ?? '', providerId: p.providerId ?? '' });
        } catch (err) {
          // Gone already (its host was lost, or someone stopped it): nothing left to remove.
          if (!isWasmeshError(err, 'WASMESH_ERR_NOT_FOUND')) {
            plan.owned.providers.push(p);
            throw err;
          }
        }
      },
    );
    await run(
      'delete_config',
      plan.deleteConfig,
      (c) => `delete config ${c}`,
      (c) => this.links.deleteConfig(c, this.id).catch(ignoreNotFound),
    );
    return failures;
  }

  /**
   * Resolves once its NATS connection has closed: after close(), or for good on its own (the
   * connection reconnects forever, so only e.g. revoked credentials end it), when a supervisor
   * such as `wasmesh up` starts a new reconciler.
   */
  async closed(): Promise<void> {
    await this.client.nc.closed();
  }

  /** Leaves the election (a follower takes over at once) and disconnects. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#timer);
      clearTimeout(this.#expiryTimer);
      await this.#election?.close();
      await this.#running;
      this.#events?.close();
      // Not awaited: the watcher is parked in a KV read until the connection closes below.
      void this.#appWatch?.return(undefined);
      await this.client.close().catch(() => undefined);
      this.#state = 'stopped';
    })();
    return this.#closing;
  }
}

/** `providers` without repeats (same id on the same host). */
function uniqueProviders(providers: lattice.IOwnedProvider[]): lattice.IOwnedProvider[] {
  const seen = new Set<string>();
  return providers.filter((p) => {
    const key = `${p.providerId}@${p.hostId}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

function ignoreNotFound(err: unknown): void {
  if (!isWasmeshError(err, 'WASMESH_ERR_NOT_FOUND')) throw err;
}

/** A short account of what a round does, for the status message. */
function describePlan(plan: Plan): string {
  const parts: [number, string][] = [
    [plan.startProviders.length, 'provider starts'],
    [plan.startActors.length, 'actor starts or updates'],
    [plan.stopActors.length, 'actor stops'],
    [plan.putLinks.length, 'links'],
    [plan.putConfig.length, 'config'],
    [plan.stopProviders.length + plan.deleteLinks.length + plan.deleteConfig.length, 'removals'],
  ];
  return parts
    .filter(([n]) => n > 0)
    .map(([n, what]) => `${n} ${what}`)
    .join(', ');
}

function changedStatus(a: lattice.IAppStatus | undefined, b: lattice.IAppStatus): boolean {
  if (!a) return true;
  return (
    a.state !== b.state ||
    a.message !== b.message ||
    a.version !== b.version ||
    JSON.stringify([a.providers, a.links, a.config]) !== JSON.stringify([b.providers, b.links, b.config])
  );
}
