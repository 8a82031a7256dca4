/**
 * `LatticeClient`: one connection to one lattice, with everything a client (CLI, provider, test)
 * needs: control API, events, object store, and actor invocation.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { LatticeObjects } from './artifacts.js';
import { LinkState } from './links.js';
import { connectNats, type ConnectOptions } from './connection.js';
import { ControlClient } from './control-client.js';
import { subscribeEvents, type EventStreamOptions, type LatticeEvent } from './events.js';
import { invoke, type InvocationOutcome } from './invocation.js';
import { Subjects, type InvocationTarget } from './subjects.js';

/** Options of {@link LatticeClient.invoke}. */
export interface InvokeOptions {
  /** Deadline of the call. @default 10000 */
  timeoutMs?: number;
  /** Who is calling, for the actor's logs and traces. @default 'client' */
  source?: string;
}

/** Default lattice name (env `WASMESH_LATTICE` overrides it where options allow). */
export const DEFAULT_LATTICE = 'default';

/** The lattice name to use: explicit, else env, else `default`. */
export function latticeName(explicit?: string): string {
  return explicit ?? process.env.WASMESH_LATTICE ?? DEFAULT_LATTICE;
}

/** Options of {@link LatticeClient.connect}. */
export interface LatticeClientOptions extends Omit<ConnectOptions, 'name'> {
  lattice?: string;
  /** Connection name. @default 'wasmesh-client' */
  name?: string;
}

/** A client of one lattice. Close it when done. */
export class LatticeClient {
  readonly control: ControlClient;
  #objects: Promise<LatticeObjects> | undefined;
  #state: Promise<LinkState> | undefined;

  constructor(
    /** The NATS connection (owned by this client). */
    readonly nc: NatsConnection,
    readonly subjects: Subjects,
  ) {
    this.control = new ControlClient(nc, subjects);
  }

  /** Connects to NATS and binds to a lattice. */
  static async connect(options: LatticeClientOptions = {}): Promise<LatticeClient> {
    const subjects = new Subjects(latticeName(options.lattice));
    const nc = await connectNats({ ...options, name: options.name ?? 'wasmesh-client' });
    return new LatticeClient(nc, subjects);
  }

  /** The lattice name. */
  get lattice(): string {
    return this.subjects.lattice;
  }

  /** Links, named config and the provider registry (opened on first use). */
  state(): Promise<LinkState> {
    this.#state ??= LinkState.open(this.nc, this.subjects);
    return this.#state;
  }

  /** The lattice object store (opened on first use). */
  objects(): Promise<LatticeObjects> {
    this.#objects ??= LatticeObjects.open(this.nc, this.subjects);
    return this.#objects;
  }

  /** Lattice events from now on. */
  events(options?: EventStreamOptions): AsyncIterable<LatticeEvent> & { close(): void } {
    return subscribeEvents(this.nc, this.subjects, options);
  }

  /**
   * Invokes an actor (given by its id, or as `{ actor }`) or a provider (`{ provider }`) anywhere
   * in the lattice and returns the response bytes.
   */
  async invoke(
    target: string | InvocationTarget,
    operation: string,
    payload: Uint8Array,
    options: InvokeOptions = {},
  ): Promise<Uint8Array> {
    return (await this.invokeDetailed(target, operation, payload, options)).payload;
  }

  /** {@link invoke}, also telling which host served the call. */
  invokeDetailed(
    target: string | InvocationTarget,
    operation: string,
    payload: Uint8Array,
    options: InvokeOptions = {},
  ): Promise<InvocationOutcome> {
    return invoke(this.nc, this.subjects, typeof target === 'string' ? { actor: target } : target, operation, payload, {
      timeoutMs: options.timeoutMs ?? 10_000,
      source: options.source ?? 'client',
      objects: () => this.objects(),
    });
  }

  /** Flushes and closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (!this.nc.isClosed()) await this.nc.drain();
  }
}
