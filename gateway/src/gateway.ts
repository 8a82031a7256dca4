/**
 * The gateway: one NATS connection to one lattice, and a grpc-js server serving the Control,
 * Lattice and Apps services with health and reflection — over TLS with client certificates, every
 * call authorized by the certificate's role (access.ts), unless explicitly insecure (plaintext on
 * loopback only). Lifecycle: created → starting → running → draining
 * → stopped. `close()` is idempotent: health turns NOT_SERVING, open event streams end, the server
 * shuts down gracefully (in-flight calls finish, bounded by `shutdownTimeoutMs`, then cancelled),
 * and the NATS connection drains (which flushes) last. Every call is counted and timed by its
 * method and status code (gateway-metrics.ts).
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import {
  DEFAULT_MAX_MODULE_BYTES,
  FileJail,
  LatticeClient,
  WasmeshError,
  type Logger,
  redactUrl,
} from '@wasmesh/lattice';
import { authorizer, classifiedServer } from './access.js';
import { resolveConfig, type GatewayConfig, type GatewayOptions } from './config.js';
import { controlService } from './control-service.js';
import { GatewayMetrics } from './gateway-metrics.js';
import type { ServiceDeps } from './deps.js';
import { GatewayHealth } from './health.js';
import { latticeService } from './lattice-service.js';
import {
  APPS_SERVICE,
  CONTROL_SERVICE,
  HEALTH_SERVICE,
  LATTICE_SERVICE,
  loadDefinitions,
  serviceOf,
} from './protos.js';
import { appsService } from './apps-service.js';
import { tlsCredentials } from './transport.js';

/** The lifecycle states of a {@link Gateway}. */
export type GatewayState = 'created' | 'starting' | 'running' | 'draining' | 'stopped';

/** The services a gateway serves (reflection lists these, and its own). */
export const SERVED_SERVICES = Object.freeze([CONTROL_SERVICE, LATTICE_SERVICE, APPS_SERVICE, HEALTH_SERVICE]);

/** The gRPC gateway of one lattice. */
export class Gateway {
  /** The validated configuration. */
  readonly config: GatewayConfig;
  readonly #logger: Logger;
  /** Where `PutApp` may read actor images given as paths. */
  readonly #jail: FileJail;
  /** Its instruments (made with it, so after the process set up its telemetry). */
  readonly #metrics = new GatewayMetrics();
  #state: GatewayState = 'created';
  #client: LatticeClient | undefined;
  #server: Server | undefined;
  #health: GatewayHealth | undefined;
  #address = '';
  #closing: Promise<void> | undefined;
  readonly #streams = new Set<() => void>();
  readonly #stopped: Promise<string>;
  #resolveStopped!: (reason: string) => void;

  constructor(options: GatewayOptions = {}) {
    this.config = resolveConfig(options);
    this.#logger = this.config.logger;
    this.#jail = FileJail.create('gateway', this.config.allowDirs, DEFAULT_MAX_MODULE_BYTES);
    this.#stopped = new Promise((r) => (this.#resolveStopped = r));
  }

  /** The current lifecycle state. */
  get state(): GatewayState {
    return this.#state;
  }

  /** The address actually served, `host:port` (the port resolved when `:0` was asked); empty before start. */
  get address(): string {
    return this.#address;
  }

  /** The health status reported to gRPC clients (NOT_SERVING before start and after close). */
  get health(): 'SERVING' | 'NOT_SERVING' | 'UNKNOWN' {
    return this.#health?.status ?? 'NOT_SERVING';
  }

  /** Resolves with the reason once the gateway has stopped. */
  stopped(): Promise<string> {
    return this.#stopped;
  }

  /**
   * Checks the TLS files, connects to NATS, then binds and serves. Throws `WASMESH_ERR_CONFIG` for
   * TLS files that do not work, `WASMESH_ERR_NOT_CONNECTED` when NATS cannot be reached and
   * `WASMESH_ERR_UNAVAILABLE` when the address cannot be bound; the gateway is stopped then.
   */
  async start(): Promise<void> {
    if (this.#state !== 'created') {
      throw new WasmeshError('WASMESH_ERR_CONFLICT', `gateway.start(): already ${this.#state}; start it once`);
    }
    this.#state = 'starting';
    const { listen, natsUrl, natsCreds, natsCa, lattice, tls, connectTimeoutMs } = this.config;
    const shownNats = natsUrl.map(redactUrl);
    try {
      const credentials = tls ? tlsCredentials(tls) : ServerCredentials.createInsecure();
      const definitions = loadDefinitions();
      this.#client = await LatticeClient.connect({
        servers: [...natsUrl],
        ...(natsCreds ? { creds: natsCreds } : {}),
        ...(natsCa ? { tlsCa: natsCa } : {}),
        lattice,
        name: 'wasmesh-gateway',
        connectTimeoutMs,
        logger: this.#logger,
      });
      const health = new GatewayHealth([CONTROL_SERVICE, LATTICE_SERVICE, APPS_SERVICE], this.#logger);
      this.#health = health;
      const deps: ServiceDeps = {
        client: this.#client,
        logger: this.#logger,
        jail: this.#jail,
        pre: () => {
          if (!health.serving) {
            throw new WasmeshError(
              'WASMESH_ERR_NOT_CONNECTED',
              `the gateway's NATS connection to ${shownNats.join(', ')} is down (reconnecting); retry later`,
              { details: { servers: shownNats } },
            );
          }
        },
        trackStream: (end) => {
          this.#streams.add(end);
          return () => this.#streams.delete(end);
        },
      };
      // Metrics first: the innermost interceptor sees the status of every call, refusals included.
      const server = new Server({
        interceptors: [this.#metrics.interceptor(), ...(tls ? [authorizer(this.#logger)] : [])],
      });
      this.#server = server;
      const classified = classifiedServer(server);
      classified.addService(serviceOf(definitions, CONTROL_SERVICE), controlService(deps));
      classified.addService(serviceOf(definitions, LATTICE_SERVICE), latticeService(deps));
      classified.addService(serviceOf(definitions, APPS_SERVICE), appsService(deps));
      health.addToServer(classified);
      new ReflectionService(definitions).addToServer(classified);
      const port = await bind(server, listen, credentials);
      this.#address = `${listen.slice(0, listen.lastIndexOf(':'))}:${port}`;
      health.follow(this.#client.nc);
      void this.#client.nc.closed().then(() => void this.close('NATS connection closed'));
      this.#state = 'running';
      if (!tls) {
        this.#logger.warn({ listen }, 'gateway INSECURE: plaintext gRPC without credentials, every caller is an admin');
      }
      this.#logger.info(
        { address: this.#address, lattice, nats: shownNats, transport: tls ? 'tls+client-certificates' : 'insecure' },
        'gateway serving',
      );
    } catch (err) {
      await this.close('start failed');
      throw err;
    }
  }

  /** Stops gracefully (see the class doc). Idempotent: every call returns the same promise. */
  close(reason = 'closed'): Promise<void> {
    this.#closing ??= this.#shutdown(reason);
    return this.#closing;
  }

  async #shutdown(reason: string): Promise<void> {
    if (this.#state === 'created') {
      this.#state = 'stopped';
      this.#resolveStopped(reason);
      return;
    }
    // A start that failed was never serving: its error, thrown by start(), says it all (one line
    // from the CLI); draining and stopped log lines would only bury it.
    const served = this.#state !== 'starting';
    this.#state = 'draining';
    if (served) this.#logger.info({ reason }, 'gateway draining');
    this.#health?.drain();
    for (const end of [...this.#streams]) end();
    if (this.#server) await shutdown(this.#server, this.config.shutdownTimeoutMs, this.#logger);
    await this.#client?.close().catch((err: unknown) => this.#logger.warn({ err }, 'NATS drain failed'));
    this.#state = 'stopped';
    if (served) this.#logger.info({ reason }, 'gateway stopped');
    this.#resolveStopped(reason);
  }
}

/** Binds `server` to `listen`; `WASMESH_ERR_UNAVAILABLE` naming the address when it cannot. */
function bind(server: Server, listen: string, credentials: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(listen, credentials, (err, port) => {
      if (err) {
        reject(
          new WasmeshError('WASMESH_ERR_UNAVAILABLE', `gateway cannot listen on ${listen}: ${err.message}`, {
            cause: err,
            details: { listen },
          }),
        );
      } else resolve(port);
    });
  });
}

/** `tryShutdown`, then `forceShutdown` once `timeoutMs` passed. */
function shutdown(server: Server, timeoutMs: number, logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      logger.warn({ timeoutMs }, 'graceful gRPC shutdown timed out: cancelling in-flight calls');
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
