/**
 * A real Jaeger for tests: Jaeger v2 (`jaeger`, built by scripts/setup.sh from the Go module proxy
 * into ~/.cache/wasmesh/bin), with in-memory trace storage, receiving OTLP over HTTP and answering
 * its query API on free ports of 127.0.0.1, and killed when the test process exits. Processes under
 * test export to {@link JaegerServer.otlpEndpoint} through the standard `OTEL_*` environment; tests
 * assert through the query API, as the Jaeger UI reads it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  detachServer,
  findBinary,
  setupBuiltBinary,
  launchInFreshDir,
  launchServer,
  OwnedServer,
  stopServer,
  waitReady,
  type LaunchedServer,
} from './processes.js';
import { freePort } from './redis-server.js';

/** How long a start waits for Jaeger to answer. */
const START_TIMEOUT_MS = 30_000;

const INSTALL_HINT =
  'run `bash scripts/setup.sh` in the repository (it builds the pinned Jaeger into ~/.cache/wasmesh/bin), ' +
  'or set JAEGER_BIN to a Jaeger v2 binary';

/** The jaeger binary: env JAEGER_BIN, then the one scripts/setup.sh builds, then `jaeger` on PATH. */
export function findJaegerBinary(): string {
  return findBinary({
    name: 'jaeger',
    envVar: 'JAEGER_BIN',
    preferred: [setupBuiltBinary('jaeger')],
    fallback: [],
    installHint: INSTALL_HINT,
  });
}

/** A span as Jaeger's query API returns it (the fields tests read). */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  processID: string;
  tags: { key: string; value: unknown }[];
  /** The span's events (OpenTelemetry events are Jaeger logs): each a time and its fields. */
  logs: { timestamp: number; fields: { key: string; value: unknown }[] }[];
}

/** A trace as Jaeger's query API returns it: its spans and the processes (services) they came from. */
export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

/** A Jaeger process owned by a test; see {@link JaegerServer.start}. */
export class JaegerServer extends OwnedServer {
  /** Base URL of its OTLP/HTTP receiver: the value of `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  readonly otlpEndpoint: string;
  /** Base URL of its query API (and UI). */
  readonly queryUrl: string;

  private constructor(server: LaunchedServer, otlpPort: number, queryPort: number, dir: string) {
    super(server, dir);
    this.otlpEndpoint = `http://127.0.0.1:${otlpPort}`;
    this.queryUrl = `http://127.0.0.1:${queryPort}`;
  }

  /** Starts Jaeger on free ports and resolves once both its receiver and its query API answer. */
  static async start(): Promise<JaegerServer> {
    const binary = findJaegerBinary();
    return launchInFreshDir('wasmesh-jaeger-', async (dir) =>
      JaegerServer.launch(binary, dir, await freePort(), await freePort(), await freePort()),
    );
  }

  /** The environment that makes a wasmesh process export its spans here. */
  exportEnv(): Record<string, string> {
    return {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: this.otlpEndpoint,
      // Jaeger takes traces only; spans are sent within 200 ms, not 5 s, so a test waits little.
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
  }

  /** Names of the services that sent spans. */
  async services(): Promise<string[]> {
    return ((await this.#get('/api/services')) as { data: string[] | null }).data ?? [];
  }

  /** Trace `traceId` (32 hex digits), or undefined while Jaeger has none of its spans. */
  async trace(traceId: string): Promise<JaegerTrace | undefined> {
    const res = await fetch(`${this.queryUrl}/api/traces/${traceId}`, { signal: AbortSignal.timeout(5000) });
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    const body = (await res.json()) as { data?: JaegerTrace[] };
    return body.data?.[0];
  }

  /** The latest traces with a span of `service`. */
  async traces(service: string, limit = 20): Promise<JaegerTrace[]> {
    const query = `service=${encodeURIComponent(service)}&limit=${limit}&lookback=1h`;
    return ((await this.#get(`/api/traces?${query}`)) as { data: JaegerTrace[] | null }).data ?? [];
  }

  async #get(pathAndQuery: string): Promise<unknown> {
    const res = await fetch(`${this.queryUrl}${pathAndQuery}`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`jaeger ${pathAndQuery}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  private static async launch(
    binary: string,
    dir: string,
    otlpPort: number,
    queryPort: number,
    queryGrpcPort: number,
  ): Promise<JaegerServer> {
    const config = path.join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'service:',
        '  extensions: [jaeger_storage, jaeger_query]',
        '  pipelines:',
        '    traces:',
        '      receivers: [otlp]',
        '      processors: [batch]',
        '      exporters: [jaeger_storage_exporter]',
        '  telemetry:',
        '    metrics:',
        '      level: none',
        '    logs:',
        '      level: warn',
        'extensions:',
        '  jaeger_storage:',
        '    backends:',
        '      memstore:',
        '        memory:',
        '          max_traces: 10000',
        '  jaeger_query:',
        '    storage:',
        '      traces: memstore',
        '    http:',
        `      endpoint: 127.0.0.1:${queryPort}`,
        '    grpc:',
        `      endpoint: 127.0.0.1:${queryGrpcPort}`,
        'receivers:',
        '  otlp:',
        '    protocols:',
        '      http:',
        `        endpoint: 127.0.0.1:${otlpPort}`,
        'processors:',
        '  batch:',
        '    timeout: 100ms',
        'exporters:',
        '  jaeger_storage_exporter:',
        '    trace_storage: memstore',
        '',
      ].join('\n'),
    );
    const server = launchServer(`jaeger (${binary})`, binary, ['--config', config], { cwd: dir });
    try {
      await waitReady(
        server,
        async () => (await answers(queryPort)) && (await receives(otlpPort)),
        START_TIMEOUT_MS,
        100,
      );
    } catch (err) {
      await stopServer(server, 0);
      throw err;
    }
    detachServer(server);
    return new JaegerServer(server, otlpPort, queryPort, dir);
  }
}

/** True when the query API on `port` answers. */
async function answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/api/services`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** True when the OTLP/HTTP receiver on `port` takes an (empty) trace export. */
async function receives(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"resourceSpans":[]}',
      signal: AbortSignal.timeout(1000),
    });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
