/**
 * Metrics, with the OpenTelemetry metrics API. Components take their instruments from {@link meter}
 * when they are made; the process decides where the numbers go (telemetry.ts): a Prometheus scrape
 * endpoint (`--metrics-listen`), OTLP, both, or nowhere. With nowhere, the API hands out no-op
 * instruments, so recording costs a function call.
 *
 * Names follow the OpenTelemetry semantic conventions where one exists (`http.server.request.duration`)
 * and are `wasmesh.*` otherwise; durations are in seconds. On the scrape endpoint they come out the
 * way Prometheus users expect: dots become underscores, the unit is a suffix and counters end in
 * `_total` (`wasmesh_actor_invocations_total`, `http_server_request_duration_seconds_bucket`).
 */
import http from 'node:http';
import { metrics, type Meter } from '@opentelemetry/api';
import type { MetricReader, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { bucketHistogram, type BucketHistogram, type HistogramSeries } from './bucket-histogram.js';
import { WasmeshError } from './errors.js';
import { checkListen, listenHost, listenPort } from './listen-address.js';

/** The meter every wasmesh component records with (the global provider's, or a no-op one). */
export function meter(): Meter {
  return metrics.getMeter('wasmesh', '0.1.0');
}

/**
 * Histogram bounds of durations, in seconds: from 100 µs (an actor call served in-process) to 10 s
 * (the default deadline), where OpenTelemetry's default bounds start at 5 ms.
 */
export const DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Histogram bounds of the time an app takes to converge, in seconds. */
export const CONVERGE_BUCKETS_S: readonly number[] = Object.freeze([0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]);

/** Prometheus suffixes of UCUM units (OpenTelemetry's Prometheus compatibility rules). */
const UNIT_SUFFIX: Record<string, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  By: 'bytes',
};

/**
 * `data` with each metric's unit appended to its name the way OpenTelemetry's Prometheus rules say
 * (`s` -> `_seconds`, `By` -> `_bytes`; annotations such as `{call}` add nothing), which the
 * exporter's serializer of this version does not do.
 */
export function withUnitSuffixes(data: ResourceMetrics): ResourceMetrics {
  return {
    resource: data.resource,
    scopeMetrics: data.scopeMetrics.map((scope) => ({
      scope: scope.scope,
      metrics: scope.metrics.map((metric) => {
        const suffix = UNIT_SUFFIX[metric.descriptor.unit];
        if (!suffix || metric.descriptor.name.endsWith(`.${suffix}`)) return metric;
        return {
          ...metric,
          descriptor: { ...metric.descriptor, name: `${metric.descriptor.name}.${suffix}`, unit: suffix },
        } as typeof metric;
      }),
    })),
  };
}

/** The lifecycle of a {@link MetricsEndpoint}. */
export type MetricsEndpointState = 'listening' | 'closed';

/**
 * The Prometheus scrape endpoint of a process: `GET /metrics` answers what `reader` collects, in
 * the Prometheus text format. Its own small server (not the exporter's) so the listen address is
 * checked like every other, a taken port is a clear error, and names get their unit suffixes.
 */
export class MetricsEndpoint {
  #state: MetricsEndpointState = 'listening';
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly server: http.Server,
    /** The URL to scrape, e.g. `http://127.0.0.1:9464/metrics`. */
    readonly url: string,
  ) {}

  /**
   * Listens on `listen` (`host:port`; port 0 picks a free one). `WASMESH_ERR_CONFIG` for a bad
   * address, `WASMESH_ERR_UNAVAILABLE` when it cannot be bound (in use, not an address here).
   */
  static async listen(listen: string, reader: MetricReader): Promise<MetricsEndpoint> {
    const address = checkListen(listen, 'metrics');
    const host = listenHost(address).replace(/^\[(.*)\]$/, '$1');
    const { PrometheusSerializer } = await import('@opentelemetry/exporter-prometheus');
    const serializer = new PrometheusSerializer('', false, undefined, false, true);
    const server = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET /metrics\n');
        return;
      }
      if (path !== '/metrics') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
        return;
      }
      void (async () => {
        try {
          const { resourceMetrics } = await reader.collect();
          // Attributes known only later (a host's id) are waited for, not left out.
          await resourceMetrics.resource.waitForAsyncAttributes?.();
          const body = serializer.serialize(withUnitSuffixes(resourceMetrics));
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
        } catch (err) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`collecting metrics failed: ${String(err)}\n`);
        }
      })();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new WasmeshError(
            'WASMESH_ERR_UNAVAILABLE',
            `cannot serve metrics on ${address}: ${err.code ?? err.message}`,
            { details: { listen: address } },
          ),
        ),
      );
      server.listen(listenPort(address), host, () => resolve());
    });
    server.unref();
    const bound = server.address();
    const port = bound && typeof bound === 'object' ? bound.port : listenPort(address);
    const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    return new MetricsEndpoint(server, `http://${shown}:${port}/metrics`);
  }

  /** Where the endpoint is in its lifecycle. */
  get state(): MetricsEndpointState {
    return this.#state;
  }

  /** Stops listening. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#state = 'closed';
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.#closing;
  }
}

/** The error code of a failure (`WASMESH_ERR_…`), or `error` for one that carries none: `error.type` in metrics. */
export function errorType(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code ? code : 'error';
}

/**
 * Makes `counter` an observable counter of how many values each series of `histogram` holds: a
 * count of calls whose durations are recorded anyway, at no cost per call.
 */
export function countsOf(
  histogram: BucketHistogram,
  counter: string,
  options: { description: string; unit: string },
): void {
  meter()
    .createObservableCounter(counter, options)
    .addCallback((result) => {
      for (const s of histogram.allSeries()) result.observe(s.count, s.attributes);
    });
}

/** What a {@link CallRecorder} records into. */
export interface CallInstrumentNames {
  /** The counter, e.g. `wasmesh.host_calls`. */
  counter: string;
  /** The duration histogram (seconds), e.g. `wasmesh.host_call.duration`. */
  duration: string;
  /** What is counted, e.g. `Calls actors made through the host`. */
  description: string;
  /** The counted unit, e.g. `{call}`. */
  unit: string;
}

/**
 * Counts and times one kind of call (invocations, host calls, backend operations, deliveries) by
 * its attributes plus its outcome: `wasmesh.outcome` `ok`, or `error` with `error.type`. The
 * shape every wasmesh call metric has, so a dashboard queries them alike.
 *
 * A call costs one record into a {@link bucketHistogram} (the series found by the string of the
 * attribute values); the counter is an observable one that reads the histogram's counts, so the
 * SDK hashes nothing per call.
 */
export class CallRecorder {
  readonly #duration: BucketHistogram;

  constructor(names: CallInstrumentNames) {
    this.#duration = bucketHistogram(names.duration, {
      description: `Duration of: ${names.description.charAt(0).toLowerCase()}${names.description.slice(1)}`,
      unit: 's',
      bounds: DURATION_BUCKETS_S,
    });
    countsOf(this.#duration, names.counter, { description: names.description, unit: names.unit });
  }

  /**
   * Runs `call` and records it under `base` plus its outcome; `measured`, when given, is told the
   * same duration and outcome (a caller's own counts, without timing the call a second time).
   */
  async record<T>(
    base: Record<string, string>,
    call: () => Promise<T>,
    measured?: (seconds: number, failed: boolean) => void,
  ): Promise<T> {
    const started = performance.now();
    let error: string | undefined;
    try {
      return await call();
    } catch (err) {
      error = errorType(err);
      throw err;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.#seriesOf(base, error).record(seconds);
      measured?.(seconds, error !== undefined);
    }
  }

  /** The series of `base` with outcome ok (no `error`) or error. */
  #seriesOf(base: Record<string, string>, error: string | undefined): HistogramSeries {
    let key = '';
    for (const k in base) key += `${base[k]}\n`;
    if (error !== undefined) key += `\u0000${error}`;
    return (
      this.#duration.find(key) ??
      this.#duration.series(
        key,
        error === undefined
          ? { ...base, 'wasmesh.outcome': 'ok' }
          : { ...base, 'wasmesh.outcome': 'error', 'error.type': error },
      )
    );
  }
}
