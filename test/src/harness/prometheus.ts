/**
 * A real Prometheus for tests: Debian's `prometheus` (installed by scripts/setup.sh), on a free port
 * of 127.0.0.1 with its TSDB in its own temporary directory, scraping the targets a test names
 * (file-based discovery, so targets can be added after it started) every 500 ms, and killed when
 * the test process exits. Tests assert through its HTTP query API, as a dashboard would read it.
 */
import { renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  detachServer,
  findBinary,
  launchInFreshDir,
  launchServer,
  OwnedServer,
  stopServer,
  waitReady,
  type LaunchedServer,
} from './processes.js';
import { freePort } from './redis-server.js';

/** How long a start waits for Prometheus to say it is ready. */
const START_TIMEOUT_MS = 30_000;
/** How often targets are scraped. */
export const SCRAPE_INTERVAL_MS = 500;

const INSTALL_HINT =
  "run `bash scripts/setup.sh` in the repository (it installs Debian's prometheus package), " +
  'or set PROMETHEUS_BIN to a Prometheus 2.x binary';

/** The prometheus binary: env PROMETHEUS_BIN, then `prometheus` on PATH, then /usr/bin/prometheus. */
export function findPrometheusBinary(): string {
  return findBinary({
    name: 'prometheus',
    envVar: 'PROMETHEUS_BIN',
    fallback: ['/usr/bin/prometheus'],
    installHint: INSTALL_HINT,
  });
}

/** One sample of an instant query: its labels and value. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** A Prometheus process owned by a test; see {@link PrometheusServer.start}. */
export class PrometheusServer extends OwnedServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;

  private constructor(
    server: LaunchedServer,
    readonly port: number,
    dir: string,
  ) {
    super(server, dir);
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts Prometheus scraping `targets` (`host:port`, path /metrics) and resolves once it is ready. */
  static async start(targets: readonly string[] = []): Promise<PrometheusServer> {
    const binary = findPrometheusBinary();
    return launchInFreshDir('wasmesh-prometheus-', async (dir) =>
      PrometheusServer.launch(binary, dir, await freePort(), targets),
    );
  }

  /** Replaces the scraped targets; Prometheus picks the change up from the file within a second. */
  setTargets(targets: readonly string[]): void {
    writeTargets(this.dir, targets);
  }

  /** Evaluates PromQL `expr` now; resolves with the samples of its instant vector. */
  async query(expr: string): Promise<PromSample[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`, {
      signal: AbortSignal.timeout(5000),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || !body.data) {
      throw new Error(`prometheus query ${JSON.stringify(expr)} failed: ${body.error ?? res.status}`);
    }
    if (body.data.resultType !== 'vector') {
      throw new Error(`prometheus query ${JSON.stringify(expr)} gave a ${body.data.resultType}, not a vector`);
    }
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Health of each scraped target (`up`, and the last error): why a metric is missing. */
  async targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]> {
    const res = await fetch(`${this.url}/api/v1/targets`, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as {
      data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] };
    };
    return body.data.activeTargets.map(({ scrapeUrl, health, lastError }) => ({ scrapeUrl, health, lastError }));
  }

  private static async launch(
    binary: string,
    dir: string,
    port: number,
    targets: readonly string[],
  ): Promise<PrometheusServer> {
    writeTargets(dir, targets);
    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        `  scrape_interval: ${SCRAPE_INTERVAL_MS}ms`,
        `  scrape_timeout: ${SCRAPE_INTERVAL_MS}ms`,
        'scrape_configs:',
        '  - job_name: wasmesh',
        '    file_sd_configs:',
        `      - files: [${JSON.stringify(path.join(dir, 'targets.json'))}]`,
        '        refresh_interval: 1s',
        '',
      ].join('\n'),
    );
    const server = launchServer(
      `prometheus (${binary})`,
      binary,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { cwd: dir },
    );
    try {
      await waitReady(server, () => ready(port), START_TIMEOUT_MS, 100);
    } catch (err) {
      await stopServer(server, 0);
      throw err;
    }
    detachServer(server);
    return new PrometheusServer(server, port, dir);
  }
}

/** Writes the file-discovery targets atomically (Prometheus must never read half a file). */
function writeTargets(dir: string, targets: readonly string[]): void {
  const file = path.join(dir, 'targets.json');
  writeFileSync(`${file}.tmp`, JSON.stringify([{ targets: [...targets] }]));
  renameSync(`${file}.tmp`, file);
}

/** True once Prometheus on `port` answers its readiness endpoint. */
async function ready(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/-/ready`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
