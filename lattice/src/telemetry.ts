/**
 * Process-wide OpenTelemetry setup, driven by the standard environment and one flag:
 *   OTEL_TRACES_EXPORTER  = otlp | console | none (default none, unless an OTLP endpoint is set)
 *   OTEL_METRICS_EXPORTER = otlp | console | none (the same default)
 *   OTEL_EXPORTER_OTLP_ENDPOINT / …_TRACES_ENDPOINT / …_METRICS_ENDPOINT (read by the OTLP exporters)
 *   OTEL_EXPORTER_OTLP_PROTOCOL / …_TRACES_PROTOCOL = http/protobuf (the default) | http/json
 *   OTEL_METRIC_EXPORT_INTERVAL (ms, default 60000), OTEL_SERVICE_NAME (default: the name given here)
 *   `metricsListen` (`--metrics-listen`, env WASMESH_METRICS_LISTEN): a Prometheus scrape endpoint.
 * With nothing asked for, no SDK is loaded: trace context still propagates (see tracing.ts) and
 * instruments are no-ops (see metrics.ts).
 */
import { metrics, trace } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { enableContextManager, ensurePropagation } from './tracing.js';
import { histogramProducer } from './bucket-histogram.js';
import { MetricsEndpoint } from './metrics.js';

/** Where a kind of signal goes, as the environment asks. */
export type ExporterKind = 'otlp' | 'console' | 'none';

/** Which exporter `OTEL_<SIGNAL>_EXPORTER` asks for (an OTLP endpoint alone means otlp). */
function exporterFor(signal: 'TRACES' | 'METRICS', env: NodeJS.ProcessEnv): ExporterKind {
  const configured = env[`OTEL_${signal}_EXPORTER`]?.trim().toLowerCase();
  if (configured === 'otlp' || configured === 'console' || configured === 'none') return configured;
  if (configured) return 'none';
  return env.OTEL_EXPORTER_OTLP_ENDPOINT || env[`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`] ? 'otlp' : 'none';
}

/** Which span exporter the environment asks for. */
export function tracesExporter(env: NodeJS.ProcessEnv = process.env): ExporterKind {
  return exporterFor('TRACES', env);
}

/** Which metric exporter the environment asks for (besides a scrape endpoint). */
export function metricsExporter(env: NodeJS.ProcessEnv = process.env): ExporterKind {
  return exporterFor('METRICS', env);
}

/** What a process tells {@link setupTelemetry}. */
export interface TelemetryOptions {
  /** `service.name` unless OTEL_SERVICE_NAME says otherwise, e.g. `wasmesh-host`. */
  serviceName: string;
  /** `host:port` of the Prometheus scrape endpoint (port 0: any free one); absent: none. */
  metricsListen?: string | undefined;
  /**
   * `service.instance.id`: the process's id (a provider's), or `'later'` for one known only once
   * the service started (a host's): {@link Telemetry.identify} names it, and exporters wait for it.
   */
  instanceId?: string;
  /** More resource attributes (`wasmesh.lattice`, …). */
  attributes?: Record<string, string>;
}

/** The telemetry of this process. */
export interface Telemetry {
  /** The scrape URL when a metrics endpoint listens. */
  readonly metricsUrl: string | undefined;
  /** Names the `service.instance.id` that was set up as `'later'`. */
  identify(id: string): void;
  /** Flushes what is buffered and stops exporting (an id still awaited is given up). Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Sets up propagation and, as the environment and `options` ask, span export, metric export and
 * the metrics endpoint. Call it before making the components whose instruments should record.
 */
export async function setupTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  ensurePropagation();
  const tracesKind = tracesExporter();
  const metricsKind = metricsExporter();
  const listen = options.metricsListen;
  if (tracesKind === 'none' && metricsKind === 'none' && !listen) {
    return { metricsUrl: undefined, identify: () => {}, shutdown: async () => {} };
  }
  let identify: (id: string | undefined) => void = () => {};
  const instanceId =
    options.instanceId === 'later'
      ? new Promise<string | undefined>((resolve) => (identify = resolve))
      : options.instanceId;
  const { resourceFromAttributes } = await import('@opentelemetry/resources');
  const resource = resourceFromAttributes({
    'service.name': process.env.OTEL_SERVICE_NAME || options.serviceName,
    ...(instanceId !== undefined ? { 'service.instance.id': instanceId } : {}),
    ...options.attributes,
  });
  const shutdowns: (() => Promise<void>)[] = [];
  if (tracesKind !== 'none') shutdowns.push(await setupTraces(tracesKind, resource));
  let endpoint: MetricsEndpoint | undefined;
  if (metricsKind !== 'none' || listen) {
    const m = await setupMetrics(metricsKind, listen, resource);
    endpoint = m.endpoint;
    shutdowns.push(m.shutdown);
  }
  let done: Promise<void> | undefined;
  return {
    metricsUrl: endpoint?.url,
    identify,
    shutdown: () => {
      identify(undefined);
      return (done ??= Promise.all(shutdowns.map((s) => s().catch(() => undefined))).then(() => undefined));
    },
  };
}

/** Registers a tracer provider exporting to `kind`; returns its shutdown. */
async function setupTraces(kind: 'otlp' | 'console', resource: Resource): Promise<() => Promise<void>> {
  enableContextManager();
  const [{ NodeTracerProvider }, { BatchSpanProcessor, SimpleSpanProcessor, ConsoleSpanExporter }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/sdk-trace-base'),
  ]);
  const processor =
    kind === 'console'
      ? new SimpleSpanProcessor(new ConsoleSpanExporter())
      : new BatchSpanProcessor(await otlpSpanExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  trace.setGlobalTracerProvider(provider);
  return () => provider.shutdown();
}

/**
 * The OTLP span exporter of the protocol the environment names: `http/protobuf` (the
 * specification's default) unless it says `http/json`. Neither encoder was cheaper per span in a
 * profile of the bus benchmark's observed host (about 6% and 8% of its CPU).
 */
async function otlpSpanExporter(): Promise<SpanExporter> {
  const protocol = (
    process.env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    ''
  ).trim();
  return protocol === 'http/json'
    ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
    : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
}

/** Registers a meter provider reading for `kind` and for a scrape endpoint on `listen`. */
async function setupMetrics(
  kind: ExporterKind,
  listen: string | undefined,
  resource: Resource,
): Promise<{ endpoint: MetricsEndpoint | undefined; shutdown: () => Promise<void> }> {
  const sdk = await import('@opentelemetry/sdk-metrics');
  const readers: InstanceType<typeof sdk.MetricReader>[] = [];
  let endpoint: MetricsEndpoint | undefined;
  if (listen) {
    // A pull reader: the endpoint collects on each scrape (cumulative, as Prometheus wants).
    const reader = new (class PullReader extends sdk.MetricReader {
      protected override async onForceFlush(): Promise<void> {}
      protected override async onShutdown(): Promise<void> {}
    })({ metricProducers: [histogramProducer] });
    endpoint = await MetricsEndpoint.listen(listen, reader);
    readers.push(reader);
  }
  if (kind !== 'none') {
    const exporter =
      kind === 'console'
        ? new sdk.ConsoleMetricExporter()
        : new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
    const interval = Number(process.env.OTEL_METRIC_EXPORT_INTERVAL) || 60_000;
    readers.push(
      new sdk.PeriodicExportingMetricReader({
        exporter,
        metricProducers: [histogramProducer],
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(30_000, interval),
      }),
    );
  }
  const provider = new sdk.MeterProvider({ resource, readers });
  metrics.setGlobalMeterProvider(provider);
  return {
    endpoint,
    shutdown: async () => {
      await endpoint?.close();
      await provider.shutdown();
    },
  };
}
