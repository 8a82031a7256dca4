/**
 * How a provider process is told where it runs: an options object with documented defaults, else
 * the environment a supervising host (or an operator) sets, then validation; the result is frozen.
 *
 *   WASMESH_NATS_URL         NATS server URL(s), comma separated (default nats://127.0.0.1:4222)
 *   WASMESH_NATS_CREDS       NATS credentials file of a secured lattice (the `provider` role)
 *   WASMESH_NATS_CA          the CA that signed the NATS server's TLS certificate
 *   WASMESH_LATTICE          lattice name (default `default`)
 *   WASMESH_PROVIDER_ID      the provider's id: its RPC subject and registry key (required)
 *   WASMESH_HOST_ID          the host supervising this process (optional)
 *   WASMESH_PROVIDER_REF     what it was started from, for operators (optional)
 *   WASMESH_PROVIDER_CONFIG  named config for the provider itself, comma separated (optional)
 */
import { checkToken, latticeName, natsServers, WasmeshError, type LocalDispatch, type Logger } from '@wasmesh/lattice';

/** How long {@link Provider.close} waits for in-flight calls by default. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/** Options of a provider; every field falls back to the environment, then to its default. */
export interface ProviderOptions {
  /** The provider's id. @default env WASMESH_PROVIDER_ID (required) */
  providerId?: string;
  /** NATS server URL(s). @default env WASMESH_NATS_URL or nats://127.0.0.1:4222 */
  natsUrl?: string | string[];
  /** NATS credentials file (a secured lattice's `provider` role). @default env WASMESH_NATS_CREDS or none */
  creds?: string;
  /** CA certificate (PEM) of the NATS server's TLS. @default env WASMESH_NATS_CA or none */
  tlsCa?: string;
  /** Lattice name. @default env WASMESH_LATTICE or `default` */
  lattice?: string;
  /** The supervising host's id. @default env WASMESH_HOST_ID or '' (runs on its own) */
  hostId?: string;
  /** The artifact reference it was started from. @default env WASMESH_PROVIDER_REF or '' */
  ref?: string;
  /** Named config for the provider itself, merged in order. @default env WASMESH_PROVIDER_CONFIG or none */
  config?: string[];
  /** How long `close()` waits for in-flight calls. @default 10000 */
  drainTimeoutMs?: number;
  /** The logger. @default a pino logger on stderr (level WASMESH_LOG_LEVEL or info) */
  logger?: Logger;
  /**
   * The local dispatch of the host process this provider runs in (in-process mode): calls between
   * it and the actors of that host skip NATS. @default none (every call goes over the bus)
   */
  local?: LocalDispatch;
  /** Where the `WASMESH_*` variables are read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The URL of this process's metrics endpoint, named in the provider record (`metrics_url` annotation). */
  metricsUrl?: string | undefined;
}

/** Options after defaults, environment and validation. */
export interface ResolvedProviderOptions {
  readonly providerId: string;
  readonly natsServers: readonly string[];
  /** Credentials file and TLS CA for NATS; absent when not given. */
  readonly creds?: string;
  readonly tlsCa?: string;
  readonly lattice: string;
  readonly hostId: string;
  readonly ref: string;
  readonly config: readonly string[];
  readonly drainTimeoutMs: number;
}

/** Applies the environment and defaults to `options` and validates the result (`WASMESH_ERR_CONFIG`). */
export function resolveProviderOptions(options: ProviderOptions = {}): ResolvedProviderOptions {
  const env = options.env ?? process.env;
  const providerId = options.providerId ?? env.WASMESH_PROVIDER_ID ?? '';
  if (!providerId) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      'no provider id: set WASMESH_PROVIDER_ID (or the providerId option) to the id links will target',
      { details: { option: 'providerId' } },
    );
  }
  const hostId = options.hostId ?? env.WASMESH_HOST_ID ?? '';
  const config =
    options.config ??
    (env.WASMESH_PROVIDER_CONFIG ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const drainTimeoutMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  if (!Number.isFinite(drainTimeoutMs) || drainTimeoutMs < 0) {
    throw new WasmeshError('WASMESH_ERR_CONFIG', `drainTimeoutMs must be a number ≥ 0, got ${drainTimeoutMs}`, {
      details: { option: 'drainTimeoutMs', value: drainTimeoutMs },
    });
  }
  const servers = natsServers(
    options.natsUrl ?? env.WASMESH_NATS_URL,
    options.natsUrl !== undefined ? 'the natsUrl option' : 'WASMESH_NATS_URL',
  );
  const creds = options.creds ?? (env.WASMESH_NATS_CREDS || undefined);
  const tlsCa = options.tlsCa ?? (env.WASMESH_NATS_CA || undefined);
  return Object.freeze({
    providerId: asConfig(() => checkToken('provider id', providerId)),
    natsServers: Object.freeze(servers),
    ...(creds ? { creds } : {}),
    ...(tlsCa ? { tlsCa } : {}),
    lattice: asConfig(() => checkToken('lattice name', latticeName(options.lattice ?? env.WASMESH_LATTICE))),
    hostId: hostId ? asConfig(() => checkToken('host id', hostId)) : '',
    ref: options.ref ?? env.WASMESH_PROVIDER_REF ?? '',
    config: Object.freeze(config.map((name) => asConfig(() => checkToken('config name', name)))),
    drainTimeoutMs,
  });
}

/** Runs a name check, reporting a bad name as a configuration error. */
function asConfig(check: () => string): string {
  try {
    return check();
  } catch (err) {
    const e = err as WasmeshError;
    throw new WasmeshError('WASMESH_ERR_CONFIG', e.message, { cause: err, details: { ...e.details } });
  }
}
