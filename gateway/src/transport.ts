/**
 * How the gateway is reached: gRPC over TLS that requires a client certificate signed by the
 * client CA (the default), or, in the explicit insecure mode, plaintext on a loopback address only.
 */
import net from 'node:net';
import { createSecureContext } from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import { readConfigFile, WasmeshError } from '@wasmesh/lattice';

/** The files of the gateway's TLS. */
export interface GatewayTls {
  /** The gateway's certificate (PEM; a chain is fine). */
  certFile: string;
  /** Its private key (PEM). */
  keyFile: string;
  /** The CA whose client certificates are accepted (PEM); their subject OU is the client's role. */
  clientCaFile: string;
}

/** The loopback networks: 127.0.0.0/8 and ::1 (IPv4-mapped addresses match too). */
const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether `host` (of a listen address; IPv6 in brackets or not) is a loopback address or `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  const family = net.isIP(h);
  return family !== 0 && LOOPBACK.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/**
 * Server credentials requiring client certificates signed by `tls.clientCaFile`. The files are
 * read and checked here (a key that does not match its certificate, a file that is not PEM), so a
 * mistake is a `WASMESH_ERR_CONFIG` naming the files before anything listens.
 */
export function tlsCredentials(tls: GatewayTls): ServerCredentials {
  const cert = readConfigFile(tls.certFile, "gateway's TLS certificate");
  const key = readConfigFile(tls.keyFile, "gateway's TLS key");
  const ca = readConfigFile(tls.clientCaFile, "gateway's client CA");
  try {
    createSecureContext({ cert, key, ca });
  } catch (err) {
    throw new WasmeshError(
      'WASMESH_ERR_CONFIG',
      `the gateway's TLS files do not work together (certificate ${tls.certFile}, key ${tls.keyFile}, client CA ${tls.clientCaFile}): ${(err as Error).message}`,
      { cause: err, details: { ...tls } },
    );
  }
  return ServerCredentials.createSsl(ca, [{ cert_chain: cert, private_key: key }], true);
}
