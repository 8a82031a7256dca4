/**
 * `wasmesh host`: runs a lattice host in the foreground until SIGINT/SIGTERM (or a remote
 * `host.stop`), then drains: in-flight invocations finish, host_stopped is published, NATS flushed.
 */
import { checkListen, createLogger, latticeName, listenHost, setupTelemetry } from '@wasmesh/lattice';
import { LatticeHost } from '../node/host.js';
import type { ProviderMode } from '@wasmesh/lattice';

/** Parsed flags of `wasmesh host`. */
export interface HostCommandOptions {
  nats?: string;
  creds?: string;
  tlsCa?: string;
  lattice?: string;
  label: Record<string, string>;
  seed?: string;
  heartbeatMs?: number;
  maxConcurrent?: number;
  providerHealthMs?: number;
  trustedIssuer?: string[];
  allowDir?: string[];
  maxModuleBytes?: number;
  insecureRegistry?: string[];
  pullTimeoutMs?: number;
  providerMode?: ProviderMode;
  /** False with --no-local-dispatch. */
  localDispatch: boolean;
  /** `host:port` of the Prometheus endpoint (env WASMESH_METRICS_LISTEN). */
  metricsListen?: string;
  json: boolean;
}

/** Runs the host until it is told to stop; resolves when it has drained. */
export async function hostCommand(opts: HostCommandOptions): Promise<void> {
  const metricsListen = opts.metricsListen ?? (process.env.WASMESH_METRICS_LISTEN || undefined);
  const telemetry = await setupTelemetry({
    serviceName: 'wasmesh-host',
    metricsListen,
    instanceId: 'later', // the host's id, known once it started
    attributes: { 'wasmesh.lattice': latticeName(opts.lattice ?? process.env.WASMESH_LATTICE) },
  });
  const logger = createLogger({ component: 'host' });
  const host = await LatticeHost.start({
    ...(opts.nats !== undefined ? { nats: opts.nats } : {}),
    ...(opts.creds ? { creds: opts.creds } : {}),
    ...(opts.tlsCa ? { tlsCa: opts.tlsCa } : {}),
    ...(opts.lattice ? { lattice: opts.lattice } : {}),
    ...(opts.seed ? { seed: opts.seed } : {}),
    ...(opts.heartbeatMs ? { heartbeatMs: opts.heartbeatMs } : {}),
    ...(opts.maxConcurrent ? { defaultMaxConcurrent: opts.maxConcurrent } : {}),
    ...(opts.providerHealthMs ? { providerHealthMs: opts.providerHealthMs } : {}),
    ...(opts.trustedIssuer ? { trustedIssuers: opts.trustedIssuer } : {}),
    ...(opts.allowDir ? { allowDirs: opts.allowDir } : {}),
    ...(opts.maxModuleBytes ? { maxModuleBytes: opts.maxModuleBytes } : {}),
    ...(opts.insecureRegistry ? { insecureRegistries: opts.insecureRegistry } : {}),
    ...(opts.pullTimeoutMs ? { pullTimeoutMs: opts.pullTimeoutMs } : {}),
    ...(opts.providerMode ? { providerMode: opts.providerMode } : {}),
    ...(opts.localDispatch === false ? { localDispatch: false } : {}),
    // Its provider processes serve metrics too, each on a free port of the same address.
    ...(metricsListen ? { providerMetricsListen: `${listenHost(checkListen(metricsListen, 'metrics'))}:0` } : {}),
    labels: opts.label,
    logger,
  }).catch(async (err: unknown) => {
    await telemetry.shutdown();
    throw err;
  });
  telemetry.identify(host.id);
  const ready = {
    hostId: host.id,
    friendlyName: host.friendlyName,
    lattice: host.subjects.lattice,
    labels: host.labels,
    trustedIssuers: host.options.trustedIssuers,
    ...(telemetry.metricsUrl ? { metricsUrl: telemetry.metricsUrl } : {}),
  };
  process.stdout.write(
    opts.json
      ? `${JSON.stringify(ready)}\n`
      : `host ${host.friendlyName} (${host.id}) joined lattice "${ready.lattice}"${telemetry.metricsUrl ? `; metrics at ${telemetry.metricsUrl}` : ''}; Ctrl-C to stop\n`,
  );
  const onSignal = (sig: NodeJS.Signals): void => {
    logger.info({ signal: sig }, 'signal received, draining');
    void host.drain(`signal ${sig}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await host.stopped();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await telemetry.shutdown();
}
