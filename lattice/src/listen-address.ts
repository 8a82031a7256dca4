/**
 * `host:port` listen addresses of the services (the gRPC gateway): checked once, here, so the
 * gateway and `wasmesh up` (which makes the gateway's certificate for that host) agree on them.
 */
import { WasmeshError } from './errors.js';

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

/** The host part of a `host:port` listen address. */
export function listenHost(listen: string): string {
  return listen.slice(0, listen.lastIndexOf(':'));
}
