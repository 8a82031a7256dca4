#!/usr/bin/env node
/**
 * `wasmesh-reconciler` (also run as `wasmesh reconciler`, which forwards here): runs an app
 * reconciler in the foreground (`wasmesh up` runs one too). Run several for high availability:
 * one leads at a time, the others take over within the lease (default 3 s) when it goes. Logs
 * (JSON) go to stderr; SIGINT/SIGTERM hand leadership over and exit 0. A bin of @wasmesh/apps
 * (the package stays a library: only this entry uses commander), so the CLI never loads the
 * reconciler.
 */
import { Command } from 'commander';
import {
  CONNECT_TIMEOUT,
  createLogger,
  examples,
  flagsAccess,
  intFlag,
  latticeOptions,
  note,
  printJson,
  runServiceBin,
  serveUntilStopped,
  withoutServers,
  type LatticeOptions,
} from '@wasmesh/lattice';
import { Reconciler } from '../reconciler/reconciler.js';

interface ReconcilerCommandOptions extends LatticeOptions {
  id?: string;
  intervalMs: number;
  leaseMs: number;
}

const program = examples(
  latticeOptions(
    new Command('wasmesh-reconciler')
      .description('run an app reconciler in the foreground (several may run: one leads)')
      .option('--id <id>', 'this reconciler’s id among candidates (default: random)')
      .option('--interval-ms <n>', 'reconcile at least this often', intFlag('--interval-ms', 100, 600_000), 1000)
      .option(
        '--lease-ms <n>',
        'leader lease: a lost leader is replaced after this',
        intFlag('--lease-ms', 300, 600_000),
        3000,
      ),
    CONNECT_TIMEOUT,
  ),
  ['wasmesh reconciler', 'wasmesh reconciler --lattice staging --id rec-1'],
  'Apps are put and deployed with `wasmesh app deploy`; the leading reconciler makes them so.\n' +
    '`wasmesh reconciler` runs this bin, wasmesh-reconciler (of @wasmesh/apps), with the same arguments.',
).action(async (opts: ReconcilerCommandOptions) => {
  const reconciler = await Reconciler.start({
    natsUrl: opts.nats.split(','),
    ...withoutServers(flagsAccess(opts)),
    lattice: opts.lattice,
    ...(opts.id ? { id: opts.id } : {}),
    intervalMs: opts.intervalMs,
    leaseMs: opts.leaseMs,
    ...(opts.timeoutMs ? { connectTimeoutMs: opts.timeoutMs } : {}),
    logger: createLogger({ component: 'reconciler' }),
  });
  if (opts.json) printJson({ id: reconciler.id, lattice: opts.lattice });
  else note(`reconciler ${reconciler.id} running in lattice "${opts.lattice}" (Ctrl-C to stop)`);
  await serveUntilStopped(reconciler, 'reconciler');
});

await runServiceBin('wasmesh-reconciler', program);
