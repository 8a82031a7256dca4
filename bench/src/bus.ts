/**
 * The bus benchmark: end-to-end actor invocation over the lattice against the floor NATS itself
 * sets, on one nats-server and from one client process.
 *
 *   mesh   `LatticeClient.invoke('echo', 'Echo', payload)`: client → NATS → a host process (its own
 *          Node process, as in production) → the echo actor in wasm → reply; on an open nats-server
 *          (no TLS, no auth: the baseline the secure case is compared with).
 *   secure the same on a second nats-server secured as `wasmesh up` configures it: TLS required
 *          (private CA), decentralized JWT auth with the lattice's account, the host with host
 *          credentials and the client with admin credentials.
 *   floor  plain nats.js request/reply: `nc.request(subject, payload)` answered by a responder in a
 *          child process doing `msg.respond(msg.data)` (floor-responder.ts).
 *   secure_floor  the floor on the secure server (TLS, `app` credentials): what TLS and auth cost
 *          NATS itself, so the secure case's ratio can be read against it.
 *   observed  the mesh case with everything an operator turns on: a host (of its own lattice on the
 *          open server) serving Prometheus metrics (`--metrics-listen`) and exporting a span of every
 *          invocation over OTLP to a real Jaeger on this machine. The metrics endpoint is read at
 *          the end: its invocation count must cover every measured call.
 *   observed_sampled  the same with the sampling a busy production lattice runs with
 *          (`OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `OTEL_TRACES_SAMPLER_ARG=0.1`: a tenth of
 *          the traces that start here, and every call of a trace its caller sampled).
 *
 * Each case is measured sequentially (one request at a time: p50/p99 latency) and as a closed loop
 * with `concurrency` requests in flight (each completion issues the next: throughput, and the
 * latency under that load). Every response is checked against the payload.
 *
 * The loaded mesh and observed cases also read the CPU time their host (and Jaeger) spent, per
 * call: on 2 shared cores every process competes for the same CPU, so what observing costs the
 * host per call (`observed_host_cpu_ratio`), and the receiver's share, say what bounds the
 * throughput ratio more steadily than throughput does.
 *
 * Configuration (flags win over environment):
 *   --seconds N       / BENCH_SECONDS          measured seconds per case (default 3)
 *   --warmup N        / BENCH_WARMUP_SECONDS   warm-up seconds per case (default 1)
 *   --concurrency N   / BENCH_CONCURRENCY      requests in flight in the loaded cases (default 256)
 *   --timeout-ms N    / BENCH_TIMEOUT_MS       per-request timeout (default 10000)
 */
import os from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { actorPath } from '@wasmesh/actors';
import { connectNats, LatticeClient } from '@wasmesh/lattice';
import { HostProcess, JaegerServer, NatsServer } from '@wasmesh/test';
import { ReadyChild, stopHost, tail, unwind } from './child.js';
import { treeCpuMs } from './process-cpu.js';
import { check, closedLoop, option, positive } from './runtime.js';
import { LatencyRecorder, mean, percentile, round } from './stats.js';

/** Settings of one run of the bus bench. */
export interface BusBenchConfig {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  timeoutMs: number;
}

/** Latency and throughput of one measured case at one concurrency. */
interface Measured {
  p50_us: number;
  p99_us: number;
  mean_us: number;
  throughput_per_s: number;
  calls: number;
  /** CPU each watched process spent per call while measured, µs, by name (`host`, `jaeger`). */
  cpu_us_per_call: Record<string, number>;
}

/** Processes whose CPU time a measurement divides by its calls, by name. */
type Watched = Record<string, number | undefined>;

type Call = () => Promise<unknown>;

const PAYLOAD_BYTES = 100;
const LATTICE = 'bench';
/** The observed cases' lattices, on the open server: each host is the only one serving its echo. */
const OBSERVED_LATTICE = 'bench-observed';
const SAMPLED_LATTICE = 'bench-observed-sampled';
const ACTOR_ID = 'echo';
const FLOOR_SUBJECT = 'bench.floor.echo';

function log(msg: string): void {
  process.stderr.write(`[bench bus] ${msg}\n`);
}

/** Reads the bench settings from `args` (flags after the bench name) and the environment. */
export function parseBusBenchConfig(args: readonly string[], env: NodeJS.ProcessEnv = process.env): BusBenchConfig {
  const get = (flag: string, name: string): string | undefined => option(args, env, flag, name);
  return {
    seconds: positive('seconds', get('--seconds', 'BENCH_SECONDS'), 3, false),
    warmupSeconds: positive('warm-up seconds', get('--warmup', 'BENCH_WARMUP_SECONDS'), 1, false),
    concurrency: positive('concurrency', get('--concurrency', 'BENCH_CONCURRENCY'), 256, true),
    timeoutMs: positive('timeout', get('--timeout-ms', 'BENCH_TIMEOUT_MS'), 10_000, true),
  };
}

/** An error's message, with the per-request timeout (nats.js says just `timeout`). */
function describe(err: unknown, cfg: BusBenchConfig): string {
  return `${err instanceof Error ? err.message : String(err)} (per-request timeout ${cfg.timeoutMs} ms)`;
}

/** Warms `call` up, then runs it for `cfg.seconds` with `concurrency` in flight. */
async function measure(
  label: string,
  call: Call,
  concurrency: number,
  cfg: BusBenchConfig,
  watched: Watched = {},
): Promise<Measured> {
  log(`${label}: warm-up ${cfg.warmupSeconds}s, then ${cfg.seconds}s, ${concurrency} in flight`);
  try {
    await closedLoop(call, concurrency, cfg.warmupSeconds);
    const rec = new LatencyRecorder();
    const cpuMs = (): Record<string, number> =>
      Object.fromEntries(Object.entries(watched).map(([name, pid]) => [name, pid ? treeCpuMs(pid) : 0]));
    const cpuBefore = cpuMs();
    const { completed, wallS } = await closedLoop(call, concurrency, cfg.seconds, rec);
    const cpuAfter = cpuMs();
    const sorted = rec.sorted();
    const r: Measured = {
      p50_us: round(percentile(sorted, 50)),
      p99_us: round(percentile(sorted, 99)),
      mean_us: round(mean(sorted)),
      throughput_per_s: round(completed / wallS, 0),
      calls: completed,
      cpu_us_per_call: Object.fromEntries(
        Object.keys(watched).map((name) => [name, round(((cpuAfter[name]! - cpuBefore[name]!) * 1000) / completed, 1)]),
      ),
    };
    const cpu = Object.entries(r.cpu_us_per_call)
      .map(([name, us]) => `, ${name} ${us} µs CPU/call`)
      .join('');
    log(`${label}: p50 ${r.p50_us} µs, p99 ${r.p99_us} µs, ${r.throughput_per_s}/s (${completed} calls)${cpu}`);
    return r;
  } catch (err) {
    throw new Error(`${label} failed: ${describe(err, cfg)}`, { cause: err });
  }
}

function caseResult(seq: Measured, loaded: Measured, concurrency: number): Record<string, unknown> {
  return {
    p50_us: seq.p50_us,
    p99_us: seq.p99_us,
    throughput_per_s: loaded.throughput_per_s,
    mean_us: seq.mean_us,
    sequential_throughput_per_s: seq.throughput_per_s,
    sequential_calls: seq.calls,
    [`c${concurrency}_p50_us`]: loaded.p50_us,
    [`c${concurrency}_p99_us`]: loaded.p99_us,
    [`c${concurrency}_mean_us`]: loaded.mean_us,
    [`c${concurrency}_calls`]: loaded.calls,
    ...Object.fromEntries(
      Object.entries(loaded.cpu_us_per_call).map(([name, us]) => [`c${concurrency}_${name}_cpu_us_per_call`, us]),
    ),
  };
}

/** Runs the bus bench and returns its JSON-ready result object. */
export async function runBusBench(args: readonly string[]): Promise<Record<string, unknown>> {
  const cfg = parseBusBenchConfig(args);
  const began = process.hrtime.bigint();
  const C = cfg.concurrency;
  const payload = Buffer.alloc(PAYLOAD_BYTES);
  for (let i = 0; i < PAYLOAD_BYTES; i++) payload[i] = 32 + (i % 95);
  log(
    `cores ${os.availableParallelism()}, ${PAYLOAD_BYTES}-byte payload, concurrency ${C}, ` +
      `${cfg.seconds}s per case (+${cfg.warmupSeconds}s warm-up)`,
  );

  const cleanups: Array<[string, () => Promise<unknown>]> = [];
  let host: HostProcess | undefined;
  let responder: ReadyChild | undefined;
  let stoppingHost = false;
  let hostExit: string | undefined;
  try {
    // The open server is the baseline (an explicit opt-out of security, for comparison only).
    const nats = await NatsServer.start({ insecure: true });
    cleanups.push(['stop nats-server', () => nats[Symbol.asyncDispose]()]);
    log(`open nats-server at ${nats.url} (pid ${nats.pid})`);
    const secureNats = await NatsServer.start();
    cleanups.push(['stop secure nats-server', () => secureNats[Symbol.asyncDispose]()]);
    log(`secure nats-server at ${secureNats.url} (pid ${secureNats.pid})`);

    host = await HostProcess.start({ natsUrl: nats.url, lattice: LATTICE });
    const startedHost = host;
    void host.exited.then((code) => {
      if (!stoppingHost) hostExit = `host process ${startedHost.pid} exited (code ${code}) during the bench`;
    });
    cleanups.push([
      'stop host',
      () => {
        stoppingHost = true;
        return stopHost(startedHost, log);
      },
    ]);
    log(`host ${host.hostId} (pid ${host.pid})`);
    const jaeger = await JaegerServer.start();
    cleanups.push(['stop jaeger', () => jaeger[Symbol.asyncDispose]()]);
    log(`jaeger receiving OTLP at ${jaeger.otlpEndpoint}`);
    // An observed host: metrics endpoint, spans over OTLP (the SDK's defaults otherwise: batches of
    // 512, what a user gets), plus `env` (sampling).
    const startObserved = async (lattice: string, env: Record<string, string>): Promise<HostProcess> => {
      const h = await HostProcess.start({
        natsUrl: nats.url,
        lattice,
        args: ['--metrics-listen', '127.0.0.1:0'],
        env: {
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
          OTEL_METRICS_EXPORTER: 'none',
          ...env,
        },
      });
      cleanups.push([`stop host of ${lattice}`, () => stopHost(h, log)]);
      log(`${lattice} host ${h.hostId} (pid ${h.pid}), metrics at ${h.metricsUrl}`);
      return h;
    };
    const observedHost = await startObserved(OBSERVED_LATTICE, {});
    const sampledHost = await startObserved(SAMPLED_LATTICE, {
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.1',
    });
    const secureHost = await HostProcess.start({ ...(await secureNats.processAccess(LATTICE)), lattice: LATTICE });
    cleanups.push(['stop secure host', () => stopHost(secureHost, log)]);
    log(`secure host ${secureHost.hostId} (pid ${secureHost.pid})`);

    responder = await ReadyChild.start('floor-responder.js', [nats.url, FLOOR_SUBJECT], log);
    const startedResponder = responder;
    cleanups.push(['stop floor responder', () => startedResponder.stop()]);
    const appAccess = await secureNats.access(LATTICE, 'app', 'bench-floor');
    const secureResponder = await ReadyChild.start(
      'floor-responder.js',
      [secureNats.url, FLOOR_SUBJECT, appAccess.creds ?? '', appAccess.tlsCa ?? ''],
      log,
    );
    cleanups.push(['stop secure floor responder', () => secureResponder.stop()]);
    log('floor responders ready');

    const client = await LatticeClient.connect({ servers: nats.url, lattice: LATTICE, name: 'wasmesh-bench-mesh' });
    cleanups.push(['close lattice client', () => client.close()]);
    const observedClient = await LatticeClient.connect({
      servers: nats.url,
      lattice: OBSERVED_LATTICE,
      name: 'wasmesh-bench-observed',
    });
    cleanups.push(['close observed lattice client', () => observedClient.close()]);
    const sampledClient = await LatticeClient.connect({
      servers: nats.url,
      lattice: SAMPLED_LATTICE,
      name: 'wasmesh-bench-observed-sampled',
    });
    cleanups.push(['close sampled lattice client', () => sampledClient.close()]);
    const floorNc: NatsConnection = await connect({ servers: nats.url, name: 'wasmesh-bench-floor' });
    cleanups.push(['close floor connection', () => floorNc.drain()]);
    const secureClient = await LatticeClient.connect({
      ...(await secureNats.access(LATTICE, 'admin')),
      lattice: LATTICE,
      name: 'wasmesh-bench-secure',
    });
    cleanups.push(['close secure lattice client', () => secureClient.close()]);
    const secureFloorNc = await connectNats({ ...appAccess, name: 'wasmesh-bench-secure-floor', reconnect: false });
    cleanups.push(['close secure floor connection', () => secureFloorNc.drain()]);

    const artifactRef = actorPath('echo');
    for (const [c, h] of [
      [client, host],
      [secureClient, secureHost],
      [observedClient, observedHost],
      [sampledClient, sampledHost],
    ] as const) {
      await c.control.startActor({ hostId: h.hostId, actorId: ACTOR_ID, artifactRef, maxConcurrent: Math.max(256, C) });
    }
    log(`actor ${ACTOR_ID} started from ${artifactRef}`);

    const timeoutMs = cfg.timeoutMs;
    const mesh = async (): Promise<void> =>
      check('mesh echo', await client.invoke(ACTOR_ID, 'Echo', payload, { timeoutMs }), payload);
    const observed = async (): Promise<void> =>
      check('observed echo', await observedClient.invoke(ACTOR_ID, 'Echo', payload, { timeoutMs }), payload);
    const sampled = async (): Promise<void> =>
      check('sampled echo', await sampledClient.invoke(ACTOR_ID, 'Echo', payload, { timeoutMs }), payload);
    const secure = async (): Promise<void> =>
      check('secure echo', await secureClient.invoke(ACTOR_ID, 'Echo', payload, { timeoutMs }), payload);
    const floor = async (): Promise<void> =>
      check('floor echo', (await floorNc.request(FLOOR_SUBJECT, payload, { timeout: timeoutMs })).data, payload);
    const secureFloor = async (): Promise<void> =>
      check(
        'secure floor echo',
        (await secureFloorNc.request(FLOOR_SUBJECT, payload, { timeout: timeoutMs })).data,
        payload,
      );
    for (const [name, call] of [
      ['floor', floor],
      ['mesh', mesh],
      ['observed', observed],
      ['observed_sampled', sampled],
      ['secure', secure],
      ['secure_floor', secureFloor],
    ] as const) {
      try {
        await call();
      } catch (err) {
        throw new Error(`${name}: validation failed: ${describe(err, cfg)}`, {
          cause: err,
        });
      }
    }
    log('all six echo the payload');

    // Back to back on the same server and client process, floor first at each concurrency.
    const floorSeq = await measure('floor sequential', floor, 1, cfg);
    const meshSeq = await measure('mesh sequential', mesh, 1, cfg);
    const observedSeq = await measure('observed sequential', observed, 1, cfg);
    const sampledSeq = await measure('observed sampled sequential', sampled, 1, cfg);
    const secureSeq = await measure('secure sequential', secure, 1, cfg);
    const secureFloorSeq = await measure('secure floor sequential', secureFloor, 1, cfg);
    const floorLoaded = await measure(`floor c=${C}`, floor, C, cfg);
    const meshLoaded = await measure(`mesh c=${C}`, mesh, C, cfg, { host: host.pid });
    const observedLoaded = await measure(`observed c=${C}`, observed, C, cfg, {
      host: observedHost.pid,
      jaeger: jaeger.pid,
    });
    const sampledLoaded = await measure(`observed sampled c=${C}`, sampled, C, cfg, {
      host: sampledHost.pid,
      jaeger: jaeger.pid,
    });
    const observedCounted = await invocationsCounted(observedHost.metricsUrl!);
    if (observedCounted < observedSeq.calls + observedLoaded.calls) {
      throw new Error(
        `the observed host's metrics count ${observedCounted} echo invocations, fewer than the ${observedSeq.calls + observedLoaded.calls} measured`,
      );
    }
    const secureLoaded = await measure(`secure c=${C}`, secure, C, cfg);
    const secureFloorLoaded = await measure(`secure floor c=${C}`, secureFloor, C, cfg);

    return {
      mesh: caseResult(meshSeq, meshLoaded, C),
      floor: caseResult(floorSeq, floorLoaded, C),
      observed: caseResult(observedSeq, observedLoaded, C),
      // Target: observed throughput >= 0.9x mesh throughput.
      observed_p50_ratio: round(observedSeq.p50_us / meshSeq.p50_us, 2),
      observed_throughput_ratio: round(observedLoaded.throughput_per_s / meshLoaded.throughput_per_s, 3),
      // What bounds it on a shared machine: the CPU a call costs the host, and the receiver.
      observed_host_cpu_ratio: cpuRatio(observedLoaded, meshLoaded),
      observed_sampled_host_cpu_ratio: cpuRatio(sampledLoaded, meshLoaded),
      // Calls the observed host's metrics counted (warm-ups and the validation call included).
      observed_invocations_counted: observedCounted,
      observed_sampled: caseResult(sampledSeq, sampledLoaded, C),
      observed_sampled_p50_ratio: round(sampledSeq.p50_us / meshSeq.p50_us, 2),
      observed_sampled_throughput_ratio: round(sampledLoaded.throughput_per_s / meshLoaded.throughput_per_s, 3),
      secure: caseResult(secureSeq, secureLoaded, C),
      // Targets: secure p50 <= 1.15x mesh p50, secure throughput >= 0.85x mesh throughput.
      secure_p50_ratio: round(secureSeq.p50_us / meshSeq.p50_us, 2),
      secure_throughput_ratio: round(secureLoaded.throughput_per_s / meshLoaded.throughput_per_s, 3),
      secure_floor: caseResult(secureFloorSeq, secureFloorLoaded, C),
      // What TLS and auth cost NATS itself (nats.js and nats-server, no wasmesh code).
      floor_tls_p50_ratio: round(secureFloorSeq.p50_us / floorSeq.p50_us, 2),
      floor_tls_throughput_ratio: round(secureFloorLoaded.throughput_per_s / floorLoaded.throughput_per_s, 3),
      p50_ratio: round(meshSeq.p50_us / floorSeq.p50_us, 2),
      p99_ratio: round(meshSeq.p99_us / floorSeq.p99_us, 2),
      throughput_ratio: round(meshLoaded.throughput_per_s / floorLoaded.throughput_per_s, 3),
      concurrency: C,
      payload_bytes: PAYLOAD_BYTES,
      seconds_per_case: cfg.seconds,
      warmup_seconds: cfg.warmupSeconds,
      cores: os.availableParallelism(),
      node: process.version,
      nats_server: client.nc.info?.version ?? 'unknown',
      duration_s: round(Number(process.hrtime.bigint() - began) / 1e9, 1),
    };
  } catch (err) {
    if (hostExit) log(hostExit);
    if (host) log(`host log (tail):\n${tail(host.logs())}`);
    if (responder?.logs()) log(`floor responder stderr (tail):\n${tail(responder.logs())}`);
    throw err;
  } finally {
    await unwind(cleanups, log);
  }
}

/** The host CPU per call of `observed` over `base`'s (measured under the same load). */
function cpuRatio(observed: Measured, base: Measured): number | undefined {
  const o = observed.cpu_us_per_call.host;
  const b = base.cpu_us_per_call.host;
  return o && b ? round(o / b, 2) : undefined;
}

/** The echo invocations a host's metrics endpoint at `url` counts (all outcomes). */
async function invocationsCounted(url: string): Promise<number> {
  const text = await (await fetch(url, { signal: AbortSignal.timeout(10_000) })).text();
  let total = 0;
  for (const m of text.matchAll(/^wasmesh_actor_invocations_total\{[^}]*wasmesh_actor_id="echo"[^}]*\} (\d+)$/gm)) {
    total += Number(m[1]);
  }
  return total;
}
