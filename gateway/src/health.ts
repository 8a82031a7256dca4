/**
 * The standard `grpc.health.v1.Health` service, following the NATS connection: SERVING while it
 * is up, NOT_SERVING while it is down (reconnecting) and once the gateway drains. The overall
 * status (service `""`) and each served service's status always agree.
 */
import type { Server } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import type { LatticeClient, Logger } from '@wasmesh/lattice';

type NatsConnection = LatticeClient['nc'];

/** The health service of one gateway. */
export class GatewayHealth {
  readonly #impl: HealthImplementation;
  #status: ServingStatus = 'NOT_SERVING';
  #draining = false;

  constructor(
    /** Fully-qualified names of the services whose status is reported besides `""`. */
    private readonly services: readonly string[],
    private readonly logger: Logger,
  ) {
    this.#impl = new HealthImplementation(Object.fromEntries(['', ...services].map((s) => [s, 'NOT_SERVING'])));
  }

  /** The current status. */
  get status(): ServingStatus {
    return this.#status;
  }

  /** True while the status is SERVING. */
  get serving(): boolean {
    return this.#status === 'SERVING';
  }

  /** Adds the health service to `server` (anything that can add a service). */
  addToServer(server: Pick<Server, 'addService'>): void {
    this.#impl.addToServer(server as Server);
  }

  /** Sets every service's status (ignored once draining, which is final). */
  set(status: ServingStatus, why: string): void {
    if (this.#draining || status === this.#status) return;
    this.#status = status;
    for (const s of ['', ...this.services]) this.#impl.setStatus(s, status);
    this.logger.info({ health: status, why }, `gateway health ${status}`);
  }

  /** NOT_SERVING for good: the gateway is going away. */
  drain(): void {
    this.set('NOT_SERVING', 'draining');
    this.#draining = true;
  }

  /** Follows `nc`'s status events until it closes. */
  follow(nc: NatsConnection): void {
    this.set(nc.isClosed() ? 'NOT_SERVING' : 'SERVING', 'connected');
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'close') this.set('NOT_SERVING', `nats ${s.type}`);
        else if (s.type === 'reconnect') this.set('SERVING', 'nats reconnect');
      }
    })().catch(() => undefined);
    void nc.closed().then(() => this.set('NOT_SERVING', 'nats connection closed'));
  }
}
