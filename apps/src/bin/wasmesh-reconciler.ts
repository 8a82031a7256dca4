#!/usr/bin/env node
/**
 * `wasmesh-reconciler` (also run as `wasmesh reconciler`, which forwards here): runs an app
 * reconciler in the foreground (`wasmesh up` runs one too). Run several for high availability:
 * one leads at a time, the others take over within the lease (default 3 s) when it goes. Logs
 * (JSON) go to stderr; SIGINT/SIGTERM hand leadership over and exit 0. With `--metrics-listen` it
 * serves Prometheus metrics (rounds, plan actions, status transitions, converge times); traces and
 * metrics go over OTLP as the OTEL_* environment says. A bin of @wasmesh/apps
 * (the package stays a library: only this entry uses commander), so the CLI never loads the
 * reconciler.
 */
import { Command, Option } from 'commander';
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
  setupTelemetry,
  withoutServers,
  type LatticeOptions,
} from '@wasmesh/lattice';
import { Reconciler } from '../reconciler/reconciler.js';

interface ReconcilerCommandOptions extends LatticeOptions {
  id?: string;
  intervalMs: number;
  leaseMs: number;
  metricsListen?: string;
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
      )
      .addOption(
        new Option(
          '--metrics-listen <host:port>',
          'serve Prometheus metrics at http://HOST:PORT/metrics (port 0: a free one, printed when running)',
        ).env('WASMESH_METRICS_LISTEN'),
      ),
    CONNECT_TIMEOUT,
  ),
  [
    'wasmesh reconciler',
    'wasmesh reconciler --lattice staging --id rec-1',
    'wasmesh reconciler --metrics-listen 127.0.0.1:9465     # Prometheus scrapes /metrics there',
  ],
  'Apps are put and deployed with `wasmesh app deploy`; the leading reconciler makes them so.\n' +
    '`wasmesh reconciler` runs this bin, wasmesh-reconciler (of @wasmesh/apps), with the same arguments.',
).action(async (opts: ReconcilerCommandOptions) => {
  // Before the reconciler exists: its instruments come from the meter set up here. Its id (random
  // unless --id) is known once it started; exporters wait for it.
  const telemetry = await setupTelemetry({
    serviceName: 'wasmesh-reconciler',
    metricsListen: opts.metricsListen || undefined,
    instanceId: 'later',
    attributes: { 'wasmesh.lattice': opts.lattice },
  });
  try {
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
    telemetry.identify(reconciler.id);
    const { metricsUrl } = telemetry;
    if (opts.json) printJson({ id: reconciler.id, lattice: opts.lattice, ...(metricsUrl ? { metricsUrl } : {}) });
    else {
      note(
        `reconciler ${reconciler.id} running in lattice "${opts.lattice}"${metricsUrl ? `; metrics at ${metricsUrl}` : ''} (Ctrl-C to stop)`,
      );
    }
    await serveUntilStopped(reconciler, 'reconciler');
  } finally {
    await telemetry.shutdown();
  }
});

await runServiceBin('wasmesh-reconciler', program);
