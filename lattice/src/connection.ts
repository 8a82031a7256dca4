/**
 * The one NATS connection of a wasmesh process: reconnects forever (hosts must survive a NATS
 * restart without a restart of their own), names itself, reports status changes to the log, and
 * authenticates: a credentials file (`--creds`, env `WASMESH_NATS_CREDS`), TLS verified against a
 * CA file (`--tls-ca`, env `WASMESH_NATS_CA`), or `user:password@` / `token@` in the URL. A URL's
 * secrets never appear in a message or a log line.
 */
import {
  createInbox,
  errors as natsErrors,
  type ConnectionOptions,
  type NatsConnection,
} from '@nats-io/transport-node';
import { readCredentials } from './auth/credentials.js';
import { inboxPrefixOf } from './auth/roles.js';
import { WasmeshError } from './errors.js';
import type { Logger } from './logger.js';
import { connectNatsTransport as connect } from './nats-transport.js';
import { jwtNkeyAuthenticator } from './nkeys.js';
import { NATS_URL_SOURCE, parseNatsUrls, redactUrl } from './nats-url.js';
import { observeNats } from './nats-metrics.js';

/** Default NATS URL (env `WASMESH_NATS_URL` overrides it where options allow). */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Where a lattice's NATS is and how to get in: what every process is given. */
export interface NatsAccess {
  /** Server URL(s), comma separated allowed. @default WASMESH_NATS_URL or nats://127.0.0.1:4222 */
  servers?: string | string[];
  /** A NATS credentials file (`.creds`). @default WASMESH_NATS_CREDS */
  creds?: string;
  /** The CA certificate (PEM) that signed the server's; implies TLS. @default WASMESH_NATS_CA */
  tlsCa?: string;
}

/** Options of {@link connectNats}. */
export interface ConnectOptions extends NatsAccess {
  /** Connection name shown by the server (`host <id>`, `cli`, …). */
  name: string;
  logger?: Logger;
  /** Give up the first connection attempt after this long. @default 5000 */
  connectTimeoutMs?: number;
  /** Keep trying to reconnect forever (hosts) or fail fast (one-shot CLI commands). @default true */
  reconnect?: boolean;
}

/**
 * The NATS URL(s) to use: explicit, else env, else the default; checked by {@link parseNatsUrls},
 * so every process refuses an empty or malformed URL the same way before connecting.
 */
export function natsServers(explicit?: string | string[], source = NATS_URL_SOURCE): string[] {
  return parseNatsUrls(explicit ?? process.env.WASMESH_NATS_URL ?? DEFAULT_NATS_URL, source);
}

/** `access` with the environment's defaults filled in (what a process hands its children). */
export function resolveAccess(access: NatsAccess = {}): { servers: string[]; creds?: string; tlsCa?: string } {
  const creds = access.creds ?? (process.env.WASMESH_NATS_CREDS || undefined);
  const tlsCa = access.tlsCa ?? (process.env.WASMESH_NATS_CA || undefined);
  return { servers: natsServers(access.servers), ...(creds ? { creds } : {}), ...(tlsCa ? { tlsCa } : {}) };
}

/** The auth and TLS options of a connection to `servers` with `access`. */
function authOptions(
  servers: string[],
  access: NatsAccess,
): { servers: string[]; options: Partial<ConnectionOptions> } {
  const options: Partial<ConnectionOptions> = {};
  const plain = servers.map((raw) => {
    const m = /^([a-z][a-z0-9+.-]*:\/\/)?([^@/]*)@(.*)$/i.exec(raw);
    if (!m) return raw;
    const [user, pass] = m[2]!.split(':').map((s) => decodeURIComponent(s));
    if (pass === undefined) options.token = user;
    else Object.assign(options, { user, pass });
    return `${m[1] ?? ''}${m[3]}`;
  });
  if (access.creds) {
    const creds = readCredentials(access.creds);
    options.authenticator = jwtNkeyAuthenticator(creds.jwt, creds.seed);
    // Lattice processes get replies under their own prefix; `app` users keep NATS's default
    // inboxes, as every NATS client does (see auth/roles.ts).
    if (creds.role !== 'app') options.inboxPrefix = inboxPrefixOf(creds.userKey);
  }
  if (access.tlsCa) options.tls = { caFile: access.tlsCa };
  else if (plain.some((s) => /^tls:\/\//i.test(s))) options.tls = {};
  return { servers: plain, options };
}

/** Whether `err` (or its cause) is the server refusing the credentials. */
function isAuthRefusal(err: unknown): boolean {
  for (let e = err; e instanceof Error; e = e.cause) {
    if (e instanceof natsErrors.AuthorizationError || e instanceof natsErrors.UserAuthenticationExpiredError)
      return true;
  }
  return false;
}

/**
 * Connects; a failure is `WASMESH_ERR_NOT_CONNECTED` naming the servers tried, or
 * `WASMESH_ERR_PERMISSION_DENIED` when the server refuses the credentials.
 */
export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  const access = resolveAccess(options);
  const { servers, options: auth } = authOptions(access.servers, access);
  const shown = servers.map(redactUrl);
  let nc: NatsConnection;
  try {
    nc = await connect({
      ...auth,
      servers,
      name: options.name,
      timeout: options.connectTimeoutMs ?? 5000,
      reconnect: options.reconnect ?? true,
      maxReconnectAttempts: options.reconnect === false ? 0 : -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      pingInterval: 10_000,
    });
  } catch (err) {
    if (isAuthRefusal(err)) {
      throw new WasmeshError(
        'WASMESH_ERR_PERMISSION_DENIED',
        `NATS at ${shown.join(', ')} refused ${access.creds ? `the credentials in ${access.creds}` : 'to let us in without credentials'}` +
          ' (pass --creds FILE or set WASMESH_NATS_CREDS; `wasmesh up` writes <home>/env with them)',
        { cause: err, details: { servers: shown, ...(access.creds ? { creds: access.creds } : {}) } },
      );
    }
    const tlsHint = /certificate|self.signed|TLS/i.test((err as Error).message)
      ? " (pass the CA that signed the server's certificate with --tls-ca or WASMESH_NATS_CA)"
      : ' (is nats-server running? scripts/setup.sh installs one; point --nats or WASMESH_NATS_URL at it)';
    throw new WasmeshError(
      'WASMESH_ERR_NOT_CONNECTED',
      `cannot connect to NATS at ${shown.join(', ')}: ${redactUrl((err as Error).message)}${tlsHint}`,
      { cause: err, details: { servers: shown } },
    );
  }
  const log = options.logger;
  const reconnected = observeNats(nc, options.name ?? 'nats');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'reconnect') reconnected();
      if (log && (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error')) {
        const server = 'server' in s ? redactUrl(String(s.server)) : undefined;
        const error = 'error' in s ? (s.error as Error).message : undefined;
        log.warn({ nats: s.type, server, error }, `nats ${s.type}`);
      }
    }
  })();
  return nc;
}

/**
 * A fresh inbox subject on `nc`, under the connection's inbox prefix: with credentials, a user may
 * only subscribe to inboxes under its own prefix.
 */
export function newInbox(nc: NatsConnection): string {
  return createInbox((nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
}
