/**
 * `wasmesh gateway --listen ADDR`: serves the lattice control API over gRPC (Control and Lattice
 * services, health, reflection) until SIGINT/SIGTERM. Prints one line once serving: the address,
 * or with --json `{"address", "lattice", "nats", "pid"}`.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_LISTEN, runGateway } from '@wasmesh/gateway';
import { createLogger } from '@wasmesh/lattice';
import { collect, examples, latticeOptions, natsAccessOf, printJson, type LatticeOptions } from '../common.js';

interface GatewayCommandOptions extends LatticeOptions {
  listen: string;
  allowDir?: string[];
}

/** Registers `wasmesh gateway`. */
export function registerGateway(program: Command): void {
  const cmd = latticeOptions(
    program
      .command('gateway')
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
      ),
  );
  examples(
    cmd,
    [
      'wasmesh gateway',
      'wasmesh gateway --listen 0.0.0.0:50051 --lattice prod',
      'wasmesh gateway --allow-dir ./apps                 # PutApp may read images under ./apps',
      'wasmesh gateway --listen 127.0.0.1:0 --json      # prints {"address":"127.0.0.1:41234",…}',
      'grpcurl -plaintext 127.0.0.1:50051 list',
      'grpcurl -plaintext 127.0.0.1:50051 wasmesh.lattice.v1.Control/Ping',
    ],
    'Runs until Ctrl-C (SIGINT) or SIGTERM, then finishes in-flight calls and exits 0.\n' +
      'Plaintext gRPC without authentication: the default address is loopback only.\n' +
      'Errors carry the wasmesh code in the trailing metadata key wasmesh-error-code.',
  ).action(async (opts: GatewayCommandOptions) => {
    await runGateway({
      listen: opts.listen,
      natsUrl: opts.nats,
      natsCreds: natsAccessOf(opts).creds,
      natsCa: natsAccessOf(opts).tlsCa,
      lattice: opts.lattice,
      ...(opts.allowDir ? { allowDirs: opts.allowDir } : {}),
      logger: createLogger({ component: 'gateway' }),
      onListening: (gateway) => {
        if (opts.json) {
          printJson({
            address: gateway.address,
            lattice: gateway.config.lattice,
            nats: gateway.config.natsUrl.join(','),
            pid: process.pid,
          });
        } else {
          process.stdout.write(`wasmesh gateway serving lattice "${gateway.config.lattice}" on ${gateway.address}\n`);
        }
      },
    });
  });
}
