/**
 * The TLS of the gRPC gateway of a local lattice, from the CA under `<home>/tls` (the one that
 * signs nats-server's certificate):
 *
 *   <home>/tls/server.pem, server-key.pem           the gateway's certificate (shared with nats-server;
 *                                                   it covers loopback and the gateway's listen host)
 *   <home>/creds/<L>-admin-client.pem, -key.pem    an admin client certificate, for grpcurl and friends
 *
 * Client certificates of other roles come from `wasmesh creds gateway-cert`. Made once and reused;
 * a client certificate close to expiry, or not signed by the current CA, is issued again.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensureServerTls, issueClientCert } from '@wasmesh/lattice';

/** A client certificate with less validity left than this is issued again. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

/** What a local gateway serves with, and the admin client certificate to call it with. */
export interface LocalGatewayTls {
  /** The gateway's TLS files (its `--tls-cert`, `--tls-key`, `--client-ca`). */
  tls: { certFile: string; keyFile: string; clientCaFile: string };
  /** The admin client certificate and its key (PEM files). */
  clientCert: string;
  clientKey: string;
}

/** The files of a client certificate written with {@link writeClientCert}: `<prefix>.pem`, `<prefix>-key.pem`. */
export function clientCertFiles(prefix: string): { cert: string; key: string } {
  return { cert: `${prefix}.pem`, key: `${prefix}-key.pem` };
}

/**
 * Issues a client certificate of `role` named `name` from the CA in `tlsDir` and writes it to
 * `<prefix>.pem` and `<prefix>-key.pem` (the key 0600).
 */
export async function writeClientCert(
  tlsDir: string,
  prefix: string,
  role: string,
  name: string,
  validDays?: number,
): Promise<{ cert: string; key: string }> {
  const files = clientCertFiles(prefix);
  const { cert, key } = await issueClientCert(tlsDir, name, role, validDays);
  writeFileSync(files.key, key, { mode: 0o600 });
  writeFileSync(files.cert, cert);
  return files;
}

/** Whether the certificate in `file` was signed by the CA in `caFile`, has role `role` and is valid long enough. */
function reusable(file: string, caFile: string, role: string): boolean {
  try {
    const cert = new X509Certificate(readFileSync(file));
    const ca = new X509Certificate(readFileSync(caFile));
    return (
      cert.verify(ca.publicKey) &&
      cert.subject.split('\n').includes(`OU=${role}`) &&
      new Date(cert.validTo).getTime() - Date.now() > RENEW_BEFORE_MS
    );
  } catch {
    return false;
  }
}

/** Hosts of a listen address the server certificate must name: none for loopback or a wildcard. */
function namedHosts(listenHost: string): string[] {
  const h = listenHost.replace(/^\[(.*)\]$/, '$1');
  return ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost'].includes(h) ? [] : [h];
}

/** Makes (or reuses) the gateway's TLS in `home` for `lattice`, served at host `listenHost`. */
export async function prepareGatewayTls(home: string, lattice: string, listenHost: string): Promise<LocalGatewayTls> {
  const tlsDir = path.join(home, 'tls');
  const server = await ensureServerTls(tlsDir, namedHosts(listenHost));
  const credsDir = path.join(home, 'creds');
  mkdirSync(credsDir, { recursive: true, mode: 0o700 });
  const prefix = path.join(credsDir, `${lattice}-admin-client`);
  let files = clientCertFiles(prefix);
  if (!existsSync(files.key) || !reusable(files.cert, server.caFile, 'admin')) {
    files = await writeClientCert(tlsDir, prefix, 'admin', `${lattice}-local-admin`);
  }
  return {
    tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: server.caFile },
    clientCert: files.cert,
    clientKey: files.key,
  };
}
