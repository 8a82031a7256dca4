/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go's leaderelection does it, so
 * two operator replicas can run and only one reconciles:
 *
 * - a candidate reads the Lease; it takes it when there is none, when it has no holder (released),
 *   or when the holder has not renewed it for `leaseDurationSeconds` *as observed on this
 *   candidate's own clock* (the time it last saw the Lease change; clocks of machines are never compared);
 * - the leader renews every `renewMs`; if it cannot renew for a whole lease it stops leading before
 *   anyone else may take over (it steps down at `leaseMs - renewMs` at the latest);
 * - every write carries the resourceVersion it read, so two candidates never both win;
 * - on close the leader releases the Lease (no holder), so a follower takes over at once.
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '@wasmesh/lattice';
import { apiMessage, statusOf } from './kube.js';

/** Options of {@link LeaderElector}. */
export interface LeaderElectorOptions {
  /** Where the Lease lives. */
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** This candidate's identity (unique among replicas: the pod name is a good one). */
  id: string;
  /** How long a lease lasts without renewal (rounded up to whole seconds in the Lease). @default 15000 */
  leaseMs?: number;
  /** How often the leader renews and candidates retry. @default leaseMs / 3 */
  renewMs?: number;
  /** Called when this candidate starts leading. */
  onStartedLeading: () => void;
  /** Called when it stops leading (lost the lease, or closing); on close the lease is released once it resolves. */
  onStoppedLeading: () => void | Promise<void>;
  logger: Logger;
}

/** See the module comment. */
export class LeaderElector {
  readonly #api: CoordinationV1Api;
  readonly #leaseSeconds: number;
  readonly #renewMs: number;
  #leading = false;
  #lastRenewed = 0;
  /** The Lease as last seen, and when (this process's clock) it last changed. */
  #observed: { resourceVersion: string; at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #tick: Promise<void> = Promise.resolve();

  constructor(
    kc: KubeConfig,
    private readonly options: LeaderElectorOptions,
  ) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#leaseSeconds = Math.max(1, Math.ceil((options.leaseMs ?? 15_000) / 1000));
    this.#renewMs = options.renewMs ?? Math.max(100, Math.floor((this.#leaseSeconds * 1000) / 3));
  }

  /** True while this candidate holds the lease. */
  get isLeader(): boolean {
    return this.#leading;
  }

  /** Starts campaigning (first attempt at once). */
  start(): void {
    this.#schedule(0);
  }

  /**
   * Stops campaigning. A leader calls onStoppedLeading, waits for it (its work must stop before
   * another replica may start), then releases the lease.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#tick;
    if (!this.#leading) return;
    await this.#setLeading(false);
    try {
      const lease = await this.#read();
      if (lease?.spec?.holderIdentity === this.options.id) {
        lease.spec = {
          ...micro(lease.spec ?? {}),
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: new V1MicroTime(),
        };
        await this.#api.replaceNamespacedLease({
          name: this.options.name,
          namespace: this.options.namespace,
          body: lease,
        });
      }
    } catch (err) {
      this.options.logger.warn({ err: apiMessage(err) }, 'could not release the leader lease; it expires on its own');
    }
  }

  #schedule(delayMs: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#tick = this.#attempt().finally(() => this.#schedule(this.#renewMs));
    }, delayMs);
  }

  /** One round: acquire or renew; steps down when renewing has failed for too long. */
  async #attempt(): Promise<void> {
    let ok = false;
    try {
      ok = await this.#tryAcquireOrRenew();
    } catch (err) {
      this.options.logger.warn({ err: apiMessage(err) }, 'leader election: lease update failed');
    }
    if (this.#closed) return;
    if (ok) {
      this.#lastRenewed = Date.now();
      if (!this.#leading) void this.#setLeading(true);
    } else if (this.#leading && Date.now() - this.#lastRenewed > this.#leaseSeconds * 1000 - this.#renewMs) {
      this.options.logger.warn(
        { lease: this.options.name },
        'leader election: could not renew the lease in time; stepping down',
      );
      void this.#setLeading(false);
    }
  }

  async #read(): Promise<V1Lease | undefined> {
    try {
      return await this.#api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  /** True when this candidate holds the lease after the call. */
  async #tryAcquireOrRenew(): Promise<boolean> {
    const { id, name, namespace } = this.options;
    const now = new V1MicroTime();
    const lease = await this.#read();
    if (!lease) {
      try {
        await this.#api.createNamespacedLease({
          namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: {
              holderIdentity: id,
              leaseDurationSeconds: this.#leaseSeconds,
              acquireTime: now,
              renewTime: now,
              leaseTransitions: 0,
            },
          },
        });
        return true;
      } catch (err) {
        if (statusOf(err) === 409) return false; // another candidate created it first
        throw err;
      }
    }
    const rv = lease.metadata?.resourceVersion ?? '';
    if (this.#observed?.resourceVersion !== rv) this.#observed = { resourceVersion: rv, at: Date.now() };
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const duration = (spec.leaseDurationSeconds ?? this.#leaseSeconds) * 1000;
    const expired = this.#observed.at + duration < Date.now();
    if (holder && holder !== id && !expired) return false;
    const taking = holder !== id;
    lease.spec = {
      ...micro(spec),
      holderIdentity: id,
      leaseDurationSeconds: this.#leaseSeconds,
      renewTime: now,
      ...(taking ? { acquireTime: now, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      const updated = await this.#api.replaceNamespacedLease({ name, namespace, body: lease });
      this.#observed = { resourceVersion: updated.metadata?.resourceVersion ?? '', at: Date.now() };
      if (taking)
        this.options.logger.info({ lease: name, previous: holder || null }, 'leader election: acquired the lease');
      return true;
    } catch (err) {
      if (statusOf(err) === 409) return false; // someone else wrote it since we read it
      throw err;
    }
  }

  async #setLeading(leading: boolean): Promise<void> {
    this.#leading = leading;
    if (leading) this.options.onStartedLeading();
    else await this.options.onStoppedLeading();
  }
}

/**
 * The spec with its times as MicroTime: the API server parses Lease times only with microseconds,
 * and client-node reads them back as plain Dates (serialized with milliseconds, refused).
 */
function micro(spec: NonNullable<V1Lease['spec']>): NonNullable<V1Lease['spec']> {
  return {
    ...spec,
    ...(spec.acquireTime ? { acquireTime: new V1MicroTime(spec.acquireTime) } : {}),
    ...(spec.renewTime ? { renewTime: new V1MicroTime(spec.renewTime) } : {}),
  };
}
