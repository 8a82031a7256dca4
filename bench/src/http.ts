/**
 * The http benchmark: HTTP requests through the mesh against a plain Node server, measured by a
 * load generator in its own process (autocannon's command line), on one nats-server and one host
 * process, with the built-in providers in each mode (issue 12):
 *
 *   hello              GET /hello/bench → the http-server provider running inside the host process
 *                      → the `hello` actor by local dispatch (no NATS) → back. The default mode.
 *   kvcounter          GET /kv/counter/bench → … → the `kvcounter` actor → its keyvalue link (the
 *                      keyvalue provider, also in-process: local dispatch) → NATS JetStream KV →
 *                      back. One hot key.
 *   component_hello    GET /ts/hello/bench → as hello, to `hello-ts`: the same greeting written in
 *                      TypeScript, a 12 MB componentize-js component serving wasi:http (issue 14).
 *   hello_process      as hello, with the providers as the host's supervised child processes:
 *                      provider → NATS → host → actor → NATS → provider.
 *   kvcounter_process  as kvcounter, with the providers as processes (two more NATS round trips).
 *   ceiling            a plain Node `http` server (http-ceiling.ts, its own process) answering what
 *                      `hello` answers.
 *
 * Each case gets a warm-up run, then a measured run; every response must be a 2xx and the first
 * one's body is checked. Prints `{"hello": {"req_per_s", "p50_ms", "p99_ms", "cpu_us_per_req"},
 * "kvcounter": {…}, "hello_process": {…}, "kvcounter_process": {…}, "ceiling": {…}, the ratios to
 * the ceiling, "config"}`. `cpu_us_per_req` is the CPU the serving processes spent per request (the
 * host with its provider children and nats-server; the ceiling's own process), and
 * `<case>_cpu_vs_ceiling` the ceiling's figure over the case's: on a shared 2-core machine, where
 * the load generator and other tenants take cores, req/s swings by a third between runs; the CPU
 * a request costs moves less (though contention still raises it), so compare both within a run.
 *
 * Configuration (flags win over environment):
 *   --seconds N       / BENCH_SECONDS          measured seconds per case (default 5)
 *   --warmup N        / BENCH_WARMUP_SECONDS   warm-up seconds per case (default 2)
 *   --connections N   / BENCH_CONNECTIONS      concurrent connections (default 32)
 *   --cases A,B       / BENCH_HTTP_CASES       only these cases (default all; the ceiling always runs)
 *   --profile DIR     / BENCH_PROFILE_DIR      the host process writes a V8 CPU profile (.cpuprofile) into
 *                                              DIR when it stops: what bounds the figures
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { actorPath } from '@wasmesh/actors';
import { LatticeClient } from '@wasmesh/lattice';
import { ContractId } from '@wasmesh/proto';
import { HostProcess, NatsServer } from '@wasmesh/test';
import { ReadyChild, stopHost, tail, unwind } from './child.js';
import { canReadCpu, treeCpuMs } from './process-cpu.js';
import { option, positive } from './runtime.js';

/** Settings of one run of the http bench. */
export interface HttpBenchConfig {
  seconds: number;
  warmupSeconds: number;
  connections: number;
  /** Where the host writes its CPU profile, if anywhere. */
  profileDir?: string;
  /** The cases to measure besides the ceiling. */
  cases: HttpCase[];
}

/** The measured cases, in the order they run. */
const CASES = ['hello', 'component_hello', 'kvcounter', 'hello_process', 'kvcounter_process'] as const;
type HttpCase = (typeof CASES)[number];

/** One case's figures. */
interface HttpFigures {
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  /** CPU the serving processes used per request in the measured run (absent where /proc is not). */
  cpu_us_per_req?: number;
}

const LATTICE = 'bench-http';

function log(msg: string): void {
  process.stderr.write(`[bench http] ${msg}\n`);
}

/** Reads the bench settings from `args` (flags after the bench name) and the environment. */
export function parseHttpBenchConfig(args: readonly string[], env: NodeJS.ProcessEnv = process.env): HttpBenchConfig {
  const get = (flag: string, name: string): string | undefined => option(args, env, flag, name);
  return {
    seconds: positive('seconds', get('--seconds', 'BENCH_SECONDS'), 5, true),
    warmupSeconds: positive('warm-up seconds', get('--warmup', 'BENCH_WARMUP_SECONDS'), 2, true),
    connections: positive('connections', get('--connections', 'BENCH_CONNECTIONS'), 32, true),
    cases: parseCases(get('--cases', 'BENCH_HTTP_CASES')),
    ...(get('--profile', 'BENCH_PROFILE_DIR')
      ? { profileDir: path.resolve(get('--profile', 'BENCH_PROFILE_DIR')!) }
      : {}),
  };
}

/** The cases of `--cases` (comma separated), each a known one. */
function parseCases(raw: string | undefined): HttpCase[] {
  if (!raw) return [...CASES];
  const cases = raw.split(',').map((c) => c.trim());
  const unknown = cases.find((c) => !(CASES as readonly string[]).includes(c));
  if (unknown !== undefined) throw new Error(`unknown http bench case "${unknown}": use ${CASES.join(', ')}`);
  return cases as HttpCase[];
}

/** The autocannon command line script. */
function autocannonBin(): string {
  const pkg = createRequire(import.meta.url).resolve('autocannon/package.json');
  return path.join(path.dirname(pkg), 'autocannon.js');
}

/** The subset of autocannon's `--json` output read here. */
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** Runs autocannon against `url` for `seconds` in its own process; throws on any failed request. */
function autocannon(url: string, connections: number, seconds: number): Promise<AutocannonResult> {
  const args = [autocannonBin(), '--json', '-c', String(connections), '-d', String(seconds), url];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`autocannon failed: ${err.message}\n${tail(stderr)}`));
      let r: AutocannonResult;
      try {
        r = JSON.parse(stdout) as AutocannonResult;
      } catch {
        return reject(new Error(`autocannon printed no JSON:\n${tail(stdout)}\n${tail(stderr)}`));
      }
      if (r.errors || r.timeouts || r.non2xx) {
        return reject(new Error(`${url}: ${r.errors} errors, ${r.timeouts} timeouts, ${r.non2xx} non-2xx answers`));
      }
      resolve(r);
    });
  });
}

/**
 * Checks one request's answer, then warms up and measures `url`; the CPU time of `servers` (pids,
 * with their children) during the measured run is divided by the requests.
 */
async function measure(
  label: string,
  url: string,
  expected: RegExp,
  cfg: HttpBenchConfig,
  servers: readonly (number | undefined)[],
): Promise<HttpFigures> {
  const res = await fetch(url);
  const body = await res.text();
  if (res.status !== 200 || !expected.test(body)) {
    throw new Error(`${label}: ${url} answered ${res.status} ${JSON.stringify(body.slice(0, 200))}`);
  }
  log(`${label}: warm-up ${cfg.warmupSeconds}s, then ${cfg.seconds}s with ${cfg.connections} connections`);
  await autocannon(url, cfg.connections, cfg.warmupSeconds);
  const cpuMs = (): number => servers.reduce<number>((sum, pid) => sum + (pid ? treeCpuMs(pid) : 0), 0);
  const cpuBefore = cpuMs();
  const r = await autocannon(url, cfg.connections, cfg.seconds);
  const cpuUsed = cpuMs() - cpuBefore;
  const figures: HttpFigures = {
    req_per_s: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    requests: r.requests.total,
    ...(canReadCpu() && r.requests.total > 0
      ? { cpu_us_per_req: Math.round((cpuUsed * 1000 * 10) / r.requests.total) / 10 }
      : {}),
  };
  const cpu = figures.cpu_us_per_req === undefined ? '' : `, ${figures.cpu_us_per_req} µs CPU/request`;
  log(`${label}: ${figures.req_per_s} req/s, p50 ${figures.p50_ms} ms, p99 ${figures.p99_ms} ms${cpu}`);
  return figures;
}

/** Polls `url` until it answers 200 (links and routes settle asynchronously). */
async function waitFor200(url: string, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  let last = '';
  while (Date.now() - start < timeoutMs) {
    const res = await fetch(url).catch((e: Error) => e);
    if (!(res instanceof Error) && res.status === 200) return;
    last = res instanceof Error ? res.message : `${res.status} ${await res.text()}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms; last: ${last}`);
}

/** Runs the bench; see the module comment. */
export async function runHttpBench(args: readonly string[]): Promise<Record<string, unknown>> {
  const cfg = parseHttpBenchConfig(args);
  const cleanups: Array<[string, () => Promise<unknown>]> = [];
  let host: HostProcess | undefined;
  try {
    const nats = await NatsServer.start();
    cleanups.push(['nats-server', () => nats[Symbol.asyncDispose]()]);
    const started = await HostProcess.start({
      ...(await nats.processAccess(LATTICE)),
      lattice: LATTICE,
      heartbeatMs: 2000,
      ...(cfg.profileDir ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${cfg.profileDir}`] } : {}),
    });
    host = started;
    cleanups.push(['host', () => stopHost(started, log)]);
    const client = await LatticeClient.connect({
      ...(await nats.access(LATTICE)),
      lattice: LATTICE,
      name: 'bench-http',
    });
    cleanups.push(['client', () => client.close()]);
    const state = await client.state();
    const control = client.control;

    const objects = await client.objects();
    const refs = {
      hello: await objects.pushArtifact(readFileSync(actorPath('hello'))),
      kvcounter: await objects.pushArtifact(readFileSync(actorPath('kvcounter'))),
      'hello-ts': await objects.pushArtifact(readFileSync(actorPath('hello-ts'))),
    };
    /** The providers in `mode` and actors linked to them (ids suffixed by the mode); the HTTP base URL. */
    const deploy = async (mode: 'in-process' | 'process'): Promise<string> => {
      const id = (name: string): string => `${name}-${mode}`;
      await state.putConfig(id('http'), { address: '127.0.0.1:0' });
      await control.startProvider({
        hostId: started.hostId,
        providerId: id('http'),
        artifactRef: 'builtin:http-server',
        config: [id('http')],
        mode,
      });
      await control.startProvider({
        hostId: started.hostId,
        providerId: id('kv'),
        artifactRef: 'builtin:keyvalue',
        mode,
      });
      const base = (await state.providers.get(id('http')))?.annotations?.url;
      if (!base) throw new Error(`the ${mode} http-server provider registered no url`);
      for (const name of ['hello', 'kvcounter', 'hello-ts'] as const) {
        await control.startActor({
          hostId: started.hostId,
          actorId: id(name),
          artifactRef: refs[name],
          maxConcurrent: 256,
        });
      }
      await state.putConfig(id('route-hello'), { path: '/hello' });
      await state.putConfig(id('route-kv'), { path: '/kv', strip_prefix: 'true' });
      await state.putConfig(id('route-ts'), { path: '/ts', strip_prefix: 'true' });
      await state.putLink({
        sourceId: id('hello-ts'),
        contract: ContractId.HTTPSERVER,
        targetId: id('http'),
        config: [id('route-ts')],
      });
      await state.putLink({
        sourceId: id('hello'),
        contract: ContractId.HTTPSERVER,
        targetId: id('http'),
        config: [id('route-hello')],
      });
      await state.putLink({
        sourceId: id('kvcounter'),
        contract: ContractId.HTTPSERVER,
        targetId: id('http'),
        config: [id('route-kv')],
      });
      await state.putLink({ sourceId: id('kvcounter'), contract: ContractId.KEYVALUE, targetId: id('kv') });
      await waitFor200(`${base}/hello/bench`);
      await waitFor200(`${base}/kv/counter/warm`);
      await waitFor200(`${base}/ts/hello/bench`);
      return base;
    };
    const wants = (mode: 'in-process' | 'process'): boolean =>
      cfg.cases.some((c) => c.endsWith('_process') === (mode === 'process'));
    const base = {
      'in-process': wants('in-process') ? await deploy('in-process') : '',
      process: wants('process') ? await deploy('process') : '',
    };

    const ceilingServer = await ReadyChild.start('http-ceiling.js', [], log);
    cleanups.push(['ceiling server', () => ceilingServer.stop()]);
    const ceilingUrl = `http://127.0.0.1:${ceilingServer.readyLine.split(' ')[1]}`;

    const ceiling = await measure('ceiling', `${ceilingUrl}/hello/bench`, /^Hello, bench!\n$/, cfg, [
      ceilingServer.pid,
    ]);
    const round3 = (x: number): number => Math.round(x * 1000) / 1000;
    const ratio = (f: HttpFigures): number => round3(f.req_per_s / ceiling.req_per_s);
    // The mesh's serving processes: the host (with provider children) and nats-server.
    const mesh = [started.pid, nats.pid];
    const results: Record<string, unknown> = {};
    for (const c of cfg.cases) {
      const url = base[c.endsWith('_process') ? 'process' : 'in-process'];
      const figures = c.startsWith('kvcounter')
        ? await measure(c, `${url}/kv/counter/bench`, /^\d+\n$/, cfg, mesh)
        : await measure(c, `${url}${c === 'component_hello' ? '/ts' : ''}/hello/bench`, /^Hello, bench!\n$/, cfg, mesh);
      results[c] = figures;
      results[`${c}_vs_ceiling`] = ratio(figures);
      if (figures.cpu_us_per_req && ceiling.cpu_us_per_req) {
        results[`${c}_cpu_vs_ceiling`] = round3(ceiling.cpu_us_per_req / figures.cpu_us_per_req);
      }
    }
    return {
      ...results,
      ceiling,
      config: { ...cfg, cpus: (await import('node:os')).cpus().length, load_generator: 'autocannon (own process)' },
    };
  } catch (err) {
    if (host) log(`host log (tail):\n${tail(host.logs())}`);
    throw err;
  } finally {
    await unwind(cleanups, log);
  }
}
