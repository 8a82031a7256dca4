/**
 * `wasmesh reconciler`: runs an app reconciler in the foreground (`wasmesh up` runs one too). Run
 * several for high availability: one leads at a time, the others take over within the lease
 * (default 3 s) when it goes. Logs (JSON) go to stderr; SIGINT/SIGTERM hand leadership over and exit 0.
 */
import type { Command } from 'commander';
import { Reconciler } from '@wasmesh/apps';
import { createLogger, intFlag } from '@wasmesh/lattice';
import {
  CONNECT_TIMEOUT,
  examples,
  latticeOptions,
  natsAccessOf,
  note,
  printJson,
  withoutServers,
  type LatticeOptions,
} from '../common.js';

interface ReconcilerCommandOptions extends LatticeOptions {
  id?: string;
  intervalMs: number;
  leaseMs: number;
}

/** Registers `reconciler` on `program`. */
export function registerReconciler(program: Command): void {
  examples(
    latticeOptions(
      program
        .command('reconciler')
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
    'Apps are put and deployed with `wasmesh app deploy`; the leading reconciler makes them so.',
  ).action(async (opts: ReconcilerCommandOptions) => {
    const reconciler = await Reconciler.start({
      natsUrl: opts.nats.split(','),
      ...withoutServers(natsAccessOf(opts)),
      lattice: opts.lattice,
      ...(opts.id ? { id: opts.id } : {}),
      intervalMs: opts.intervalMs,
      leaseMs: opts.leaseMs,
      ...(opts.timeoutMs ? { connectTimeoutMs: opts.timeoutMs } : {}),
      logger: createLogger({ component: 'reconciler' }),
    });
    if (opts.json) printJson({ id: reconciler.id, lattice: opts.lattice });
    else note(`reconciler ${reconciler.id} running in lattice "${opts.lattice}" (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await reconciler.close();
  });
}
