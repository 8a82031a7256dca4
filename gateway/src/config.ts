/**
 * The gateway's configuration: options with documented defaults, then the environment
 * (`WASMESH_GATEWAY_LISTEN`, `WASMESH_NATS_URL`, `WASMESH_LATTICE`), then validation; the result
 * is frozen.
 */
import {
  allowDirsFromEnv,
  checkListen,
  latticeName,
  listenHost,
  resolveAccess,
  silentLogger,
  WasmeshError,
  type Logger,
} from '@wasmesh/lattice';
import { isLoopback, type GatewayTls } from './transport.js';

/**
 * Default listen address: loopback, so exposing the gateway beyond this machine is an explicit
 * choice (`--listen 0.0.0.0:50051`, with TLS). 50051 is the customary gRPC port.
 */
export const DEFAULT_LISTEN = '127.0.0.1:50051';

/** Default bound of the graceful shutdown before in-flight calls are cancelled. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

/** Default bound of the first connection to NATS: a gateway that cannot connect fails its start. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Options of a {@link Gateway}. */
export interface GatewayOptions {
  /** `host:port` to serve on (`:0` picks a free port). @default WASMESH_GATEWAY_LISTEN or 127.0.0.1:50051 */
  listen?: string;
  /** NATS server URL(s). @default WASMESH_NATS_URL or nats://127.0.0.1:4222 */
  natsUrl?: string | string[];
  /** NATS credentials file (admin role). @default WASMESH_NATS_CREDS */
  natsCreds?: string;
  /** CA of the NATS server's certificate. @default WASMESH_NATS_CA */
  natsCa?: string;
  /** The lattice to drive. @default WASMESH_LATTICE or "default" */
  lattice?: string;
  /** Where the gateway logs. @default silent */
  logger?: Logger;
  /** How long a graceful shutdown waits for in-flight calls before cancelling them. @default 5000 */
  shutdownTimeoutMs?: number;
  /** How long the first connection to NATS may take before the start fails. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Directories `PutApp` may read actor images given as paths from (see the file jail of
   * `@wasmesh/lattice`). @default WASMESH_ALLOW_DIRS, else none: images must be `sha256:` references.
   */
  allowDirs?: string[];
  /**
   * TLS with client certificates (the secure mode): every call is authorized by the role in the
   * client certificate (see access.ts). Required unless `insecure`.
   */
  tls?: GatewayTls;
  /**
   * The explicit opt-out: plaintext gRPC without credentials, every caller an admin. Refused
   * unless `listen` is a loopback address (127.0.0.0/8, ::1, localhost).
   */
  insecure?: boolean;
}

/** The validated, frozen configuration. */
export interface GatewayConfig {
  readonly listen: string;
  readonly natsUrl: readonly string[];
  readonly natsCreds: string | undefined;
  readonly natsCa: string | undefined;
  readonly lattice: string;
  readonly logger: Logger;
  readonly shutdownTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly allowDirs: readonly string[];
  /** The TLS files (secure mode); undefined when insecure. */
  readonly tls: Readonly<GatewayTls> | undefined;
  readonly insecure: boolean;
}

/**
 * The transport options, checked: TLS with all three files, or `insecure` on a loopback address;
 * `WASMESH_ERR_CONFIG` saying what to pass otherwise.
 */
function checkTransport(options: GatewayOptions, listen: string): Pick<GatewayConfig, 'tls' | 'insecure'> {
  const { tls, insecure = false } = options;
  if (insecure) {
    if (tls) throw new WasmeshError('WASMESH_ERR_CONFIG', 'the gateway was given both tls and insecure: pick one');
    if (!isLoopback(listenHost(listen))) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFIG',
        `an insecure gateway (plaintext, no credentials) listens on loopback only (127.0.0.0/8, ::1, localhost), not "${listen}": serve TLS with client certificates to listen there`,
        { details: { listen } },
      );
    }
    return { tls: undefined, insecure };
  }
  const missing = (['certFile', 'keyFile', 'clientCaFile'] as const).filter((k) => !tls?.[k]);
  if (missing.length > 0) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `the gateway serves TLS with client certificates and needs tls.${missing.join(', tls.')} (or insecure: true, plaintext on loopback only)`,
      { details: { missing } },
    );
  }
  return { tls: Object.freeze({ ...tls! }), insecure };
}

/** Resolves options → env → defaults, validates, and freezes. */
export function resolveConfig(options: GatewayOptions = {}): GatewayConfig {
  const timeout = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeout) || timeout < 0) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `invalid gateway shutdownTimeoutMs ${timeout}: expected a non-negative integer`,
    );
  }
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!Number.isSafeInteger(connectTimeoutMs) || connectTimeoutMs < 1) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `invalid gateway connectTimeoutMs ${connectTimeoutMs}: expected a positive integer`,
    );
  }
  const listen = checkListen(options.listen ?? process.env.WASMESH_GATEWAY_LISTEN ?? DEFAULT_LISTEN);
  const access = resolveAccess({ servers: options.natsUrl, creds: options.natsCreds, tlsCa: options.natsCa });
  return Object.freeze({
    listen,
    ...checkTransport(options, listen),
    natsUrl: Object.freeze(access.servers),
    natsCreds: access.creds,
    natsCa: access.tlsCa,
    lattice: latticeName(options.lattice),
    logger: options.logger ?? silentLogger(),
    shutdownTimeoutMs: timeout,
    connectTimeoutMs,
    allowDirs: Object.freeze([...(options.allowDirs ?? allowDirsFromEnv())]),
  });
}
