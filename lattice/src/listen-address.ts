/**
 * `host:port` listen addresses of the services (the gRPC gateway, metrics endpoints): checked once,
 * here, so a service and `wasmesh up` (which makes the gateway's certificate for that host) agree.
 */
import { WasmeshError } from './errors.js';

/** `host:port` (host may be a name, IPv4 or `[IPv6]`), port 0..65535. */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Checks a listen address; `WASMESH_ERR_CONFIG` naming it (and `what` it is for) when it is not `host:port`. */
export function checkListen(listen: string, what = 'gateway'): string {
  const m = HOST_PORT.exec(listen.trim());
  if (!m || Number(m[2]) > 65535) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `invalid ${what} listen address "${listen}": expected host:port, e.g. 127.0.0.1:50051 or [::1]:0`,
      { details: { listen } },
    );
  }
  return listen.trim();
}

/** The port of a checked `host:port` listen address. */
export function listenPort(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

/** The host part of a `host:port` listen address. */
export function listenHost(listen: string): string {
  return listen.slice(0, listen.lastIndexOf(':'));
}
