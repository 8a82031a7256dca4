#!/usr/bin/env node
/**
 * `wasmesh-gateway` (also run as `wasmesh gateway`, which forwards here): serves the lattice
 * control API over gRPC (Control, Lattice and Apps services, health, reflection) until
 * SIGINT/SIGTERM: over TLS with client certificates (`--tls-cert --tls-key --client-ca`), or
 * `--insecure` (plaintext, loopback only). Prints one line once serving: the address, or with
 * --json `{"address", "lattice", "nats", "pid", "transport"}` (and `metricsUrl` with
 * `--metrics-listen`, where it serves Prometheus metrics of the calls it handles). Its own bin, so
 * gRPC is loaded by this process only, never by the CLI.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import {
  collect,
  CONNECT_TIMEOUT,
  createLogger,
  examples,
  flagsAccess,
  latticeOptions,
  note,
  printJson,
  redactUrl,
  runServiceBin,
  setupTelemetry,
  UsageError,
  type LatticeOptions,
} from '@wasmesh/lattice';
import { DEFAULT_LISTEN } from '../config.js';
import { runGateway } from '../run.js';
import type { GatewayTls } from '../transport.js';

interface GatewayCommandOptions extends LatticeOptions {
  listen: string;
  allowDir?: string[];
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  insecure?: boolean;
  metricsListen?: string;
}

/** The gateway's transport options from the flags; a usage error saying what to pass when incomplete. */
function transportOf(opts: GatewayCommandOptions): { tls: GatewayTls } | { insecure: true } {
  const given = [opts.tlsCert, opts.tlsKey, opts.clientCa].filter((f) => f !== undefined).length;
  if (opts.insecure) {
    if (given > 0) throw new UsageError('--insecure serves plaintext: drop --tls-cert, --tls-key and --client-ca');
    return { insecure: true };
  }
  if (given < 3) {
    throw new UsageError(
      'the gateway serves gRPC over TLS with client certificates: pass --tls-cert FILE --tls-key FILE --client-ca FILE ' +
        '(env WASMESH_GATEWAY_TLS_CERT, _TLS_KEY, _CLIENT_CA), or --insecure for plaintext on a loopback address only. ' +
        '`wasmesh up --gateway 127.0.0.1:50051` sets all of this up, and `wasmesh creds gateway-cert` issues client certificates',
    );
  }
  return { tls: { certFile: opts.tlsCert!, keyFile: opts.tlsKey!, clientCaFile: opts.clientCa! } };
}

const program = latticeOptions(
  new Command('wasmesh-gateway')
    .description('serve the lattice control API over gRPC (with health and reflection)')
    .addOption(
      new Option('--listen <addr>', 'host:port to serve gRPC on (:0 picks a free port)')
        .env('WASMESH_GATEWAY_LISTEN')
        .default(DEFAULT_LISTEN),
    )
    .option(
      '--allow-dir <dir>',
      `a directory PutApp may read actor images given as paths from (repeatable; env WASMESH_ALLOW_DIRS, separated by "${path.delimiter}"); without any, images must be sha256: references`,
      collect,
    )
    .addOption(new Option('--tls-cert <file>', "the gateway's TLS certificate (PEM)").env('WASMESH_GATEWAY_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'its private key (PEM)').env('WASMESH_GATEWAY_TLS_KEY'))
    .addOption(
      new Option(
        '--client-ca <file>',
        "the CA of client certificates (PEM): required, and their subject OU (admin or reader) is the caller's role",
      ).env('WASMESH_GATEWAY_CLIENT_CA'),
    )
    .option('--insecure', 'plaintext gRPC without credentials, every caller an admin: loopback addresses only')
    .addOption(
      new Option(
        '--metrics-listen <host:port>',
        'serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free one, printed when serving)',
      ).env('WASMESH_METRICS_LISTEN'),
    ),
  CONNECT_TIMEOUT,
);
examples(
  program,
  [
    'T=~/.wasmesh/tls',
    'wasmesh gateway --tls-cert $T/server.pem --tls-key $T/server-key.pem --client-ca $T/ca.pem',
    'wasmesh gateway --listen 0.0.0.0:50051 --lattice prod --tls-cert gw.pem --tls-key gw-key.pem --client-ca ca.pem',
    'wasmesh creds gateway-cert --role reader --out ops      # ops.pem, ops-key.pem: a client certificate',
    'grpcurl -cacert $T/ca.pem -cert ops.pem -key ops-key.pem 127.0.0.1:50051 list',
    'grpcurl -cacert $T/ca.pem -cert ops.pem -key ops-key.pem 127.0.0.1:50051 wasmesh.lattice.v1.Control/Ping',
    'wasmesh gateway --allow-dir ./apps ...                 # PutApp may read images under ./apps',
    'wasmesh gateway --insecure --listen 127.0.0.1:0 --json # plaintext; prints {"address":"127.0.0.1:41234",…}',
    'wasmesh gateway --metrics-listen 127.0.0.1:9466 ...    # Prometheus scrapes /metrics there',
  ],
  'Runs until Ctrl-C (SIGINT) or SIGTERM, then finishes in-flight calls and exits 0. `wasmesh gateway` runs\n' +
    'this bin, wasmesh-gateway (of @wasmesh/gateway), with the same arguments.\n' +
    'gRPC over TLS; clients need a certificate signed by --client-ca whose OU is their role: admin (every\n' +
    'call), reader (reads: Ping, GetInventory, GetClaims, List*, Get*, WatchEvents); anything else gets\n' +
    'PERMISSION_DENIED. `wasmesh up --gateway ADDR` runs one with an admin client certificate ready.\n' +
    'Errors carry the wasmesh code in the trailing metadata key wasmesh-error-code.',
).action(async (opts: GatewayCommandOptions) => {
  const transport = transportOf(opts);
  if ('insecure' in transport) {
    note(
      'wasmesh: WARNING: --insecure: plaintext gRPC without credentials; anyone on this machine controls the lattice',
    );
  }
  // Before the gateway exists: its instruments come from the meter set up here.
  const telemetry = await setupTelemetry({
    serviceName: 'wasmesh-gateway',
    metricsListen: opts.metricsListen || undefined,
    attributes: { 'wasmesh.lattice': opts.lattice },
  });
  const { metricsUrl } = telemetry;
  try {
    await runGateway({
      ...transport,
      listen: opts.listen,
      natsUrl: opts.nats,
      natsCreds: flagsAccess(opts).creds,
      natsCa: flagsAccess(opts).tlsCa,
      lattice: opts.lattice,
      ...(opts.timeoutMs ? { connectTimeoutMs: opts.timeoutMs } : {}),
      ...(opts.allowDir ? { allowDirs: opts.allowDir } : {}),
      logger: createLogger({ component: 'gateway' }),
      onListening: (gateway) => {
        if (opts.json) {
          printJson({
            address: gateway.address,
            lattice: gateway.config.lattice,
            nats: gateway.config.natsUrl.map(redactUrl).join(','),
            pid: process.pid,
            transport: gateway.config.insecure ? 'insecure' : 'tls',
            ...(metricsUrl ? { metricsUrl } : {}),
          });
        } else {
          const how = gateway.config.insecure ? 'plaintext, INSECURE' : 'TLS, client certificates required';
          process.stdout.write(
            `wasmesh gateway serving lattice "${gateway.config.lattice}" on ${gateway.address} (${how})${metricsUrl ? `; metrics at ${metricsUrl}` : ''}\n`,
          );
        }
      },
    });
  } finally {
    await telemetry.shutdown();
  }
});

await runServiceBin('wasmesh-gateway', program);
