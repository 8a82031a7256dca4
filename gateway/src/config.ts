/**
 * The gateway's configuration: options with documented defaults, then the environment
 * (`WASMESH_GATEWAY_LISTEN`, `WASMESH_NATS_URL`, `WASMESH_LATTICE`), then validation; the result
 * is frozen.
 */
import { allowDirsFromEnv, latticeName, natsServers, silentLogger, WasmeshError, type Logger } from '@wasmesh/lattice';

/**
 * Default listen address. Loopback only: the gateway serves plaintext gRPC without
 * authentication, so exposing it beyond this machine must be an explicit choice (`--listen 0.0.0.0:50051`).
 * 50051 is the customary gRPC port.
 */
export const DEFAULT_LISTEN = '127.0.0.1:50051';

/** Default bound of the graceful shutdown before in-flight calls are cancelled. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

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
  /**
   * Directories `PutApp` may read actor images given as paths from (see the file jail of
   * `@wasmesh/lattice`). @default WASMESH_ALLOW_DIRS, else none: images must be `sha256:` references.
   */
  allowDirs?: string[];
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
  readonly allowDirs: readonly string[];
}

/** `host:port` (host may be a name, IPv4 or `[IPv6]`), port 0..65535. */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Checks a listen address; `WASMESH_ERR_CONFIG` naming it when it is not `host:port`. */
export function checkListen(listen: string): string {
  const m = HOST_PORT.exec(listen.trim());
  if (!m || Number(m[2]) > 65535) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `invalid gateway listen address "${listen}": expected host:port, e.g. 127.0.0.1:50051 or [::1]:0`,
      { details: { listen } },
    );
  }
  return listen.trim();
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
  return Object.freeze({
    listen: checkListen(options.listen ?? process.env.WASMESH_GATEWAY_LISTEN ?? DEFAULT_LISTEN),
    natsUrl: Object.freeze(natsServers(options.natsUrl)),
    natsCreds: options.natsCreds ?? (process.env.WASMESH_NATS_CREDS || undefined),
    natsCa: options.natsCa ?? (process.env.WASMESH_NATS_CA || undefined),
    lattice: latticeName(options.lattice),
    logger: options.logger ?? silentLogger(),
    shutdownTimeoutMs: timeout,
    allowDirs: Object.freeze([...(options.allowDirs ?? allowDirsFromEnv())]),
  });
}
