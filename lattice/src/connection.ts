/**
 * The one NATS connection of a wasmesh process: reconnects forever (hosts must survive a NATS
 * restart without a restart of their own), names itself, and reports status changes to the log.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { WasmeshError } from './errors.js';
import type { Logger } from './logger.js';

/** Default NATS URL (env `WASMESH_NATS_URL` overrides it where options allow). */
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Options of {@link connectNats}. */
export interface ConnectOptions {
  /** Server URL(s), comma separated allowed. @default WASMESH_NATS_URL or nats://127.0.0.1:4222 */
  servers?: string | string[];
  /** Connection name shown by the server (`host <id>`, `cli`, …). */
  name: string;
  logger?: Logger;
  /** Give up the first connection attempt after this long. @default 5000 */
  connectTimeoutMs?: number;
  /** Keep trying to reconnect forever (hosts) or fail fast (one-shot CLI commands). @default true */
  reconnect?: boolean;
}

/** The NATS URL(s) to use: explicit, else env, else the default. */
export function natsServers(explicit?: string | string[]): string[] {
  const raw = explicit ?? process.env.WASMESH_NATS_URL ?? DEFAULT_NATS_URL;
  return (Array.isArray(raw) ? raw : raw.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** Connects; a failure is `WASMESH_ERR_NOT_CONNECTED` naming the servers tried. */
export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  const servers = natsServers(options.servers);
  let nc: NatsConnection;
  try {
    nc = await connect({
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
    throw new WasmeshError(
      'WASMESH_ERR_NOT_CONNECTED',
      `cannot connect to NATS at ${servers.join(', ')}: ${(err as Error).message}` +
        ' (is nats-server running? scripts/setup.sh installs one; point --nats or WASMESH_NATS_URL at it)',
      { cause: err, details: { servers } },
    );
  }
  const log = options.logger;
  if (log) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
          log.warn({ nats: s.type, server: 'server' in s ? s.server : undefined }, `nats ${s.type}`);
        }
      }
    })();
  }
  return nc;
}
