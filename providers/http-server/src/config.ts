/**
 * The http-server provider's config, as named config values.
 *
 * The provider's own config (`wasmesh start provider builtin:http-server --config NAME`) sets up
 * the shared listener and the defaults of every route:
 *
 *   address             where the shared listener binds: `host:port`, `:port` or `port`
 *                       (default `0.0.0.0:8080`; port 0 picks a free port, see the `url` annotation)
 *   max_body_bytes      largest request body taken, else 413 (default 10485760 = 10 MiB)
 *   timeout_ms          how long the actor has to answer, else 504 (default 30000)
 *   headers_timeout_ms  how long a client may take to send the request head, else 408 and the
 *                       connection closes: the slowloris guard (default 10000)
 *   request_timeout_ms  how long a client may take to send the whole request (default 60000)
 *   keep_alive_timeout_ms  how long an idle keep-alive connection stays open (default 5000)
 *   max_connections     open connections at once; more are refused (default 10000)
 *   error_details       `true`: error answers say which code and why (they may name actor ids and
 *                       lattice subjects); `false`: only the status line and code. Default: `true`
 *                       for a listener bound to a loopback address, `false` for any other (the
 *                       wildcard included), so a public-facing server does not describe the lattice
 *
 * A link (actor → provider, contract `wasmesh:httpserver`) sets its route:
 *
 *   path          path prefix, matched on whole segments (`/api` takes `/api` and `/api/x`, not
 *                 `/apix`); default `/`
 *   host          Host header to match, exact (`shop.example.com`) or a wildcard for subdomains
 *                 (`*.example.com`); default: any host
 *   address       per-link listener mode: the route lives on its own listener at this address
 *                 (links giving the same address share it); default: the shared listener
 *   strip_prefix  `true`: the actor sees the path without the prefix (default `false`)
 *   max_body_bytes, timeout_ms  override the provider's defaults for this route
 *
 * Config that cannot work is refused with `WASMESH_ERR_CONFIG` naming the key and the value.
 */
import { configError, type ConfigValues } from '@wasmesh/provider-sdk';

/** The shared listener's address when none is configured. */
export const DEFAULT_ADDRESS = '0.0.0.0:8080';

/** Keys read from the provider's own config. */
export const SERVER_KEYS = [
  'address',
  'max_body_bytes',
  'timeout_ms',
  'headers_timeout_ms',
  'request_timeout_ms',
  'keep_alive_timeout_ms',
  'max_connections',
  'error_details',
] as const;

/** Keys read from a link's config. */
export const ROUTE_KEYS = ['path', 'host', 'address', 'strip_prefix', 'max_body_bytes', 'timeout_ms'] as const;

/** A listen address, parsed. */
export interface ListenAddress {
  host: string;
  port: number;
}

/** How a listener treats connections. */
export interface ListenerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  /** Whether error answers say why; undefined: by the listener's address ({@link isLoopback}). */
  errorDetails: boolean | undefined;
}

/** The provider's own settings. */
export interface ServerConfig extends ListenerLimits {
  address: ListenAddress;
  maxBodyBytes: number;
  timeoutMs: number;
}

/** One link's route. */
export interface RouteConfig {
  /** Normalised prefix: starts with `/`, no trailing `/` except for the root. */
  path: string;
  /** Lower-case host or `*.domain`; '' = any host. */
  host: string;
  /** Its own listener, or undefined for the shared one. */
  address: ListenAddress | undefined;
  stripPrefix: boolean;
  maxBodyBytes: number;
  timeoutMs: number;
}

/** Reads the provider's own config (missing keys take the defaults). */
export function parseServerConfig(config: ConfigValues): ServerConfig {
  return {
    address: parseAddress(config.address ?? DEFAULT_ADDRESS, 'address'),
    maxBodyBytes: intValue(config, 'max_body_bytes', 10 * 1024 * 1024, 0, 2 ** 31),
    timeoutMs: intValue(config, 'timeout_ms', 30_000, 1, 3_600_000),
    headersTimeoutMs: intValue(config, 'headers_timeout_ms', 10_000, 100, 600_000),
    requestTimeoutMs: intValue(config, 'request_timeout_ms', 60_000, 100, 3_600_000),
    keepAliveTimeoutMs: intValue(config, 'keep_alive_timeout_ms', 5_000, 0, 600_000),
    maxConnections: intValue(config, 'max_connections', 10_000, 1, 1_000_000),
    errorDetails: boolValue(config, 'error_details', undefined),
  };
}

/** Reads a link's route config; `server` gives the defaults of the limits. */
export function parseRouteConfig(config: ConfigValues, server: ServerConfig): RouteConfig {
  return {
    path: parsePathPrefix(config.path ?? '/'),
    host: parseHostPattern(config.host ?? ''),
    address: config.address === undefined ? undefined : parseAddress(config.address, 'address'),
    stripPrefix: boolValue(config, 'strip_prefix', false),
    maxBodyBytes: intValue(config, 'max_body_bytes', server.maxBodyBytes, 0, 2 ** 31),
    timeoutMs: intValue(config, 'timeout_ms', server.timeoutMs, 1, 3_600_000),
  };
}

/** Config keys the provider does not know (logged, so a typo does not go unnoticed). */
export function unknownKeys(config: ConfigValues, known: readonly string[]): string[] {
  return Object.keys(config).filter((k) => !known.includes(k));
}

/** `host:port`, `[v6]:port`, `:port` or `port` → host and port (host `0.0.0.0` when left out). */
export function parseAddress(value: string, key: string): ListenAddress {
  const text = value.trim();
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw configError(
      `config key "${key}" is "${value}", which is not a listen address: use host:port, :port or port (e.g. 127.0.0.1:8080)`,
      { key, value },
    );
  }
  const host = (m[1] ?? '').replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  return { host, port };
}

/**
 * True when `host` is a loopback address or `localhost`: only this machine can connect, so error
 * answers may say which actor failed and why. A wildcard (`0.0.0.0`, `::`) is not loopback.
 */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The text form of an address (IPv6 hosts in brackets). */
export function formatAddress(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function parsePathPrefix(value: string): string {
  const path = value.trim();
  if (!path.startsWith('/') || /[\s?#]/.test(path) || path.includes('//')) {
    throw configError(
      `config key "path" is "${value}", which is not a path prefix: it must start with "/" and hold no spaces, "?", "#" or "//" (e.g. /api)`,
      { key: 'path', value },
    );
  }
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function parseHostPattern(value: string): string {
  const host = value.trim().toLowerCase();
  if (host === '') return '';
  const name = host.startsWith('*.') ? host.slice(2) : host;
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(name) || name.length > 253) {
    throw configError(
      `config key "host" is "${value}", which is not a host name: use a name like shop.example.com, or *.example.com for its subdomains (no port)`,
      { key: 'host', value },
    );
  }
  return host;
}

function intValue(config: ConfigValues, key: string, fallback: number, min: number, max: number): number {
  const raw = config[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw configError(`config key "${key}" is "${raw}": expected a whole number from ${min} to ${max}`, {
      key,
      value: raw,
    });
  }
  return n;
}

function boolValue<T extends boolean | undefined>(config: ConfigValues, key: string, fallback: T): boolean | T {
  const raw = config[key]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1' || raw === 'yes') return true;
  if (raw === 'false' || raw === '0' || raw === 'no') return false;
  throw configError(`config key "${key}" is "${config[key]}": expected true or false`, { key, value: config[key] });
}
