/**
 * Leader election on JetStream KV, for lattice services that must act from one place at a time
 * (the app reconciler). Candidates for a role share one key of the `leases` bucket holding a
 * {@link lattice.Lease}: the holder renews it by compare-and-set every `leaseMs / 3`; a candidate
 * that finds it absent or expired takes it by compare-and-set, so exactly one wins a contest.
 *
 * - A leader that closes expires its lease, so a follower takes over within one check interval.
 * - A leader that dies (kill -9, lost network) is replaced once its lease expires: within
 *   `leaseMs` plus one check interval.
 * - A leader that cannot renew (NATS unreachable) stops leading at its own lease's expiry, before
 *   anyone else can take over; one that finds someone else holding the lease stops at once.
 *
 * Expiry compares wall clocks of different machines: they must agree to well within `leaseMs`
 * (NTP does); that is the usual price of leases, and NATS itself offers nothing better to KV users.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { lattice } from '@wasmesh/proto';
import { WasmeshError } from './errors.js';
import type { Logger } from './logger.js';
import { openBucket, type StateBucket } from './state.js';
import { checkToken, type Subjects } from './subjects.js';

/** The lifecycle of a candidate: `created → following ⇄ leading → stopped`. */
export type ElectionState = 'created' | 'following' | 'leading' | 'stopped';

/** Options of {@link LeaderElection}. */
export interface LeaderElectionOptions {
  /** What is led: the key in the leases bucket (a subject token), e.g. `reconciler`. */
  role: string;
  /** This candidate's id (unique among candidates, e.g. a host id or a random id). */
  candidateId: string;
  /** How long a lease lasts without renewal. @default 3000 */
  leaseMs?: number;
  /** Called when this candidate becomes leader (with its term). */
  onElected?: (term: number) => void;
  /** Called when it stops being leader (lost the lease, could not renew, or closing). */
  onDemoted?: (reason: string) => void;
  logger?: Logger;
}

/** A candidate for a role; see the module comment. */
export class LeaderElection {
  readonly #options: Required<Pick<LeaderElectionOptions, 'role' | 'candidateId' | 'leaseMs'>> & LeaderElectionOptions;
  #bucket: StateBucket<lattice.ILease> | undefined;
  #state: ElectionState = 'created';
  /** The lease revision we wrote last, while leading. */
  #revision = 0;
  #term = 0;
  #expiresAtMs = 0;
  #acquiredAtMs = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> = Promise.resolve();
  #closing: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    options: LeaderElectionOptions,
  ) {
    const leaseMs = options.leaseMs ?? 3000;
    if (!Number.isInteger(leaseMs) || leaseMs < 100) {
      throw new WasmeshError('WASMESH_ERR_CONFIG', `leaseMs must be a whole number of at least 100, got ${leaseMs}`);
    }
    checkToken('role', options.role);
    this.#options = { ...options, leaseMs };
  }

  /** Where the candidate is in its lifecycle. */
  get state(): ElectionState {
    return this.#state;
  }

  /** Whether this candidate leads now (and its lease has not run out). */
  get isLeader(): boolean {
    return this.#state === 'leading' && Date.now() < this.#expiresAtMs;
  }

  /** The term of the current leadership (0 when not leading). */
  get term(): number {
    return this.#state === 'leading' ? this.#term : 0;
  }

  /** The current holder of the lease, as stored (any candidate may ask). */
  async holder(): Promise<lattice.ILease | undefined> {
    const lease = await (await this.#open()).get(this.#options.role);
    return lease && Number(lease.expiresAtMs) > Date.now() ? lease : undefined;
  }

  /** Joins the election: tries for the lease now, then every `leaseMs / 3`. */
  async start(): Promise<this> {
    if (this.#state !== 'created') return this;
    await this.#open();
    this.#state = 'following';
    await this.#tick();
    this.#schedule();
    return this;
  }

  /** Leaves the election; a leader gives its lease up (expires it) so another candidate takes over at once. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#timer);
      await this.#ticking;
      const wasLeading = this.#state === 'leading';
      this.#state = 'stopped';
      if (wasLeading) {
        this.#options.onDemoted?.('closing');
        try {
          // An expired lease (rather than none) keeps terms rising across holders.
          await this.#bucket!.putIf(
            this.#options.role,
            { ...this.#lease(Date.now(), this.#term), expiresAtMs: 0 },
            this.#revision,
          );
        } catch (err) {
          this.#options.logger?.warn({ err }, 'could not give up the lease; it expires on its own');
        }
      }
    })();
    return this.#closing;
  }

  async #open(): Promise<StateBucket<lattice.ILease>> {
    this.#bucket ??= await openBucket(this.nc, this.subjects, 'leases', lattice.Lease);
    return this.#bucket;
  }

  #schedule(): void {
    if (this.#state === 'stopped') return;
    this.#timer = setTimeout(
      () => {
        this.#ticking = this.#tick().finally(() => this.#schedule());
      },
      Math.max(50, Math.floor(this.#options.leaseMs / 3)),
    );
  }

  /** One round: renew while leading, else take the lease if it is free or expired. */
  async #tick(): Promise<void> {
    if (this.#state === 'stopped') return;
    const { role, candidateId, leaseMs, logger } = this.#options;
    const now = Date.now();
    try {
      if (this.#state === 'leading') {
        if (now >= this.#expiresAtMs) return this.#demote('the lease ran out before it could be renewed');
        const renewed = await this.#bucket!.putIf(role, this.#lease(now, this.#term), this.#revision);
        if (renewed === false) return this.#demote('another candidate holds the lease');
        this.#revision = renewed;
        this.#expiresAtMs = now + leaseMs;
        return;
      }
      const current = await this.#bucket!.getEntry(role);
      if (current && Number(current.value.expiresAtMs) > now && current.value.holderId !== candidateId) return;
      const term = Number(current?.value.term ?? 0) + 1;
      this.#acquiredAtMs = now;
      const revision = await this.#bucket!.putIf(role, this.#lease(now, term), current?.revision ?? 0);
      if (revision === false) return;
      this.#revision = revision;
      this.#term = term;
      this.#expiresAtMs = now + leaseMs;
      this.#state = 'leading';
      logger?.info({ role, term }, 'elected leader');
      this.#options.onElected?.(term);
    } catch (err) {
      logger?.warn({ err, role }, 'leader election round failed');
      if (this.#state === 'leading' && Date.now() >= this.#expiresAtMs) {
        this.#demote('the lease ran out while the lattice was unreachable');
      }
    }
  }

  #lease(now: number, term: number): lattice.ILease {
    return {
      holderId: this.#options.candidateId,
      expiresAtMs: now + this.#options.leaseMs,
      term,
      acquiredAtMs: this.#acquiredAtMs,
    };
  }

  #demote(reason: string): void {
    this.#state = 'following';
    this.#term = 0;
    this.#options.logger?.warn({ role: this.#options.role, reason }, 'no longer leader');
    this.#options.onDemoted?.(reason);
  }
}
