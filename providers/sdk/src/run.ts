/**
 * The process entry of a provider: `runProvider(definition)` reads the `WASMESH_*` environment,
 * starts the provider, prints one JSON line on stdout once it serves (`{"providerId", "contract",
 * "lattice", "hostId", "pid"}`, for supervisors and scripts), and drains on SIGTERM/SIGINT (or,
 * under a host, when stdin reaches end-of-file: the host is gone), then exits 0. A failed start prints `wasmesh: CODE: message` on stderr and exits with the code's
 * status; losing NATS for good exits 5. With `WASMESH_METRICS_LISTEN` (a host sets it for its
 * provider processes when it serves metrics) it serves Prometheus metrics there and names the URL
 * in its record's `metrics_url` annotation.
 */
import { createLogger, ExitCode, reportError, setupTelemetry, type Telemetry } from '@wasmesh/lattice';
import type { ProviderDefinition } from './definition.js';
import { resolveProviderOptions, type ProviderOptions } from './options.js';
import { NATS_CLOSED_REASON, Provider } from './provider.js';

/** Runs `definition` as this process's provider until a signal (or `close()`); then the process exits. */
export async function runProvider<R>(
  definition: ProviderDefinition<R>,
  options: ProviderOptions = {},
): Promise<Provider<R>> {
  const logger = options.logger ?? createLogger({ component: 'provider' });
  let provider: Provider<R>;
  let telemetry: Telemetry;
  try {
    // Telemetry first: the provider's instruments are made as it starts.
    const resolved = resolveProviderOptions(options);
    const env = options.env ?? process.env;
    telemetry = await setupTelemetry({
      serviceName: `wasmesh-provider-${definition.name ?? definition.contract.slice(definition.contract.indexOf(':') + 1)}`,
      metricsListen: env.WASMESH_METRICS_LISTEN || undefined,
      instanceId: resolved.providerId,
      attributes: {
        'wasmesh.lattice': resolved.lattice,
        ...(resolved.hostId ? { 'wasmesh.host.id': resolved.hostId } : {}),
      },
    });
    provider = new Provider(definition, { ...options, logger, metricsUrl: telemetry.metricsUrl });
  } catch (err) {
    process.exit(reportError(err, false));
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without finishing the drain');
      process.exit(ExitCode.INTERNAL);
    }
    logger.info({ signal }, 'signal received, draining');
    void provider.close(`signal ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await provider.start();
  } catch (err) {
    process.exit(reportError(err, false));
  }
  // A supervising host gives its providers a stdin it never writes to: end-of-file means the host
  // is gone (even after a SIGKILL), and a provider never outlives its host.
  if (provider.options.hostId && !process.stdin.isTTY) {
    process.stdin.on('end', () => void provider.close('stdin closed: the host is gone'));
    process.stdin.on('error', () => undefined);
    process.stdin.resume();
  }
  void provider.stopped().then(async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await telemetry.shutdown();
    process.exit(provider.stopReason === NATS_CLOSED_REASON ? ExitCode.UNAVAILABLE : ExitCode.OK);
  });
  process.stdout.write(
    `${JSON.stringify({
      providerId: provider.id,
      contract: provider.contract,
      lattice: provider.subjects.lattice,
      hostId: provider.options.hostId,
      pid: process.pid,
    })}\n`,
  );
  return provider;
}
