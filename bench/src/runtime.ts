/**
 * The runtime benchmark: invocation latency and throughput of wasmesh's `ActorRuntime` (a fresh
 * wasmtime instance per call, on the addon's worker threads) against a baseline of the same .wasm
 * on Node's own WebAssembly through `@wapc/host` (one reused instance, main thread), plus the
 * first-ever compile time and the cold-load time of a new process with a warm disk cache. Cases:
 * `echo` (a call and its answer), `fib` (CPU-bound guest), `host_call` (a guest calling out to
 * the embedder and back, which crosses threads twice more than a plain call), and `component_*`:
 * the TypeScript hello, a 12+ MB componentize-js component, answering the HTTP server contract
 * (its first compile, its cold load from the disk cache in a new process, its calls).
 *
 * Configuration (flags win over environment):
 *   --seconds N       / BENCH_SECONDS          measured seconds per case (default 3)
 *   --warmup N        / BENCH_WARMUP_SECONDS   warm-up seconds per case (default 1)
 *   --concurrency N   / BENCH_CONCURRENCY      invocations in flight on our runtime (default 8 × cores:
 *                                              each call crosses threads twice, so fewer in flight leave
 *                                              cores idle waiting for wake-ups; see echo.throughput_by_concurrency)
 *   --cold-runs N     / BENCH_COLD_RUNS        child processes for cold_load_ms (default 5)
 *   --fib-n N         / BENCH_FIB_N            fib's n (default: calibrated to ~500 µs per call)
 *   --fib-target-us N / BENCH_FIB_TARGET_US    calibration target (default 500)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { instantiate } from '@wapc/host';
import { actorPath } from '@wasmesh/actors';
import { ActorRuntime } from '@wasmesh/host';
import { contracts, Operation } from '@wasmesh/proto';
import { LatencyRecorder, mean, median, percentile, round } from './stats.js';

const execFileAsync = promisify(execFile);

/** Settings of one run of the runtime bench. */
export interface RuntimeBenchConfig {
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  coldRuns: number;
  fibN: number | null;
  fibTargetUs: number;
}

/** Latency and throughput of one measured case. */
export interface CaseResult {
  invoke_p50_us: number;
  invoke_p99_us: number;
  throughput_per_s: number;
  mean_us: number;
  calls: number;
  wall_s: number;
}

type Call = () => Promise<unknown>;

/** What one cold-load child reports (see cold-load.ts). */
interface ColdRun {
  ms: number;
  source: string;
  createMs: number;
}

const ECHO_PAYLOAD_BYTES = 100;

function log(msg: string): void {
  process.stderr.write(`[bench runtime] ${msg}\n`);
}

/** A setting from `--flag N`, `--flag=N`, or the environment variable `name` (flags win); undefined when unset. */
export function option(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  flag: string,
  name: string,
): string | undefined {
  const i = args.indexOf(flag);
  if (i >= 0) {
    const v = args[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  }
  const eq = args.find((a) => a.startsWith(`${flag}=`));
  if (eq !== undefined) return eq.slice(flag.length + 1);
  const e = env[name];
  return e === undefined || e.trim() === '' ? undefined : e;
}

/** Parses a positive number (an integer when `integer`), `fallback` when `raw` is undefined; throws when invalid. */
export function positive(name: string, raw: string | undefined, fallback: number, integer: boolean): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new Error(
      `invalid ${name}: expected a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/** Reads the bench settings from `args` (flags after the bench name) and the environment. */
export function parseRuntimeBenchConfig(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): RuntimeBenchConfig {
  const get = (flag: string, name: string): string | undefined => option(args, env, flag, name);
  const fibRaw = get('--fib-n', 'BENCH_FIB_N');
  const fibN = fibRaw === undefined ? null : positive('fib n', fibRaw, 0, true);
  if (fibN !== null && fibN > 45) throw new Error(`invalid fib n: at most 45, got ${fibN}`);
  return {
    seconds: positive('seconds', get('--seconds', 'BENCH_SECONDS'), 3, false),
    warmupSeconds: positive('warm-up seconds', get('--warmup', 'BENCH_WARMUP_SECONDS'), 1, false),
    concurrency: positive(
      'concurrency',
      get('--concurrency', 'BENCH_CONCURRENCY'),
      8 * os.availableParallelism(),
      true,
    ),
    coldRuns: positive('cold runs', get('--cold-runs', 'BENCH_COLD_RUNS'), 5, true),
    fibN,
    fibTargetUs: positive('fib target', get('--fib-target-us', 'BENCH_FIB_TARGET_US'), 500, false),
  };
}

/**
 * Runs `call` in a closed loop with `concurrency` calls in flight (each completion issues the next)
 * until `seconds` have passed, then waits for the calls in flight. Records each call's latency
 * (µs) into `rec` when given; returns the completed calls and the wall time in seconds.
 */
export async function closedLoop(
  call: Call,
  concurrency: number,
  seconds: number,
  rec?: LatencyRecorder,
): Promise<{ completed: number; wallS: number }> {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(Math.round(seconds * 1e9));
  let completed = 0;
  const worker = async (): Promise<void> => {
    let t0 = process.hrtime.bigint();
    while (t0 < deadline) {
      await call();
      const t1 = process.hrtime.bigint();
      rec?.add(Number(t1 - t0) / 1000);
      completed++;
      t0 = t1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const wallS = Number(process.hrtime.bigint() - start) / 1e9;
  return { completed, wallS };
}

/** Warms `call` up, then measures it with {@link closedLoop}. */
export async function measureCase(
  label: string,
  call: Call,
  concurrency: number,
  cfg: RuntimeBenchConfig,
): Promise<CaseResult> {
  log(`${label}: warm-up ${cfg.warmupSeconds}s, concurrency ${concurrency}`);
  await closedLoop(call, concurrency, cfg.warmupSeconds);
  const rec = new LatencyRecorder();
  const { completed, wallS } = await closedLoop(call, concurrency, cfg.seconds, rec);
  const sorted = rec.sorted();
  const r: CaseResult = {
    invoke_p50_us: round(percentile(sorted, 50)),
    invoke_p99_us: round(percentile(sorted, 99)),
    throughput_per_s: round(completed / wallS, 0),
    mean_us: round(mean(sorted)),
    calls: completed,
    wall_s: round(wallS, 3),
  };
  log(`${label}: p50 ${r.invoke_p50_us} µs, p99 ${r.invoke_p99_us} µs, ${r.throughput_per_s}/s (${completed} calls)`);
  return r;
}

function fibExpected(n: number): string {
  let a = 0n;
  let b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a.toString();
}

/** Throws when `got` is not byte-for-byte `want`. */
export function check(what: string, got: Uint8Array, want: Uint8Array): void {
  if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(want)) {
    throw new Error(`${what}: unexpected response ${JSON.stringify(Buffer.from(got).toString().slice(0, 80))}`);
  }
}

/** Sequential mean latency (µs) of `call` over at least `minCalls` calls and `minMs` ms. */
async function sequentialMeanUs(call: Call, minCalls: number, minMs: number): Promise<number> {
  const start = process.hrtime.bigint();
  const until = start + BigInt(minMs * 1e6);
  let n = 0;
  while (n < minCalls || process.hrtime.bigint() < until) {
    await call();
    n++;
  }
  return Number(process.hrtime.bigint() - start) / 1000 / n;
}

/** Picks fib's n whose sequential mean latency on our runtime is closest to `targetUs`. */
async function calibrateFib(
  invoke: (n: number) => Promise<unknown>,
  targetUs: number,
): Promise<{ n: number; meanUs: number }> {
  let best = { n: 1, meanUs: Number.POSITIVE_INFINITY };
  for (let n = 10; n <= 40; n++) {
    const call = (): Promise<unknown> => invoke(n);
    await sequentialMeanUs(call, 5, 20); // warm
    const meanUs = await sequentialMeanUs(call, 20, 150);
    log(`calibrate fib: n=${n} mean ${round(meanUs)} µs`);
    if (Math.abs(meanUs - targetUs) < Math.abs(best.meanUs - targetUs)) best = { n, meanUs };
    if (meanUs > targetUs * 2) break;
  }
  return best;
}

/** Times the cold load in a new process, `runs` times; returns each run's ms and source. */
async function coldLoads(
  cacheDir: string,
  wasmPath: string,
  runs: number,
  kind: 'echo' | 'http' = 'echo',
): Promise<ColdRun[]> {
  const script = fileURLToPath(new URL('./cold-load.js', import.meta.url));
  const out: ColdRun[] = [];
  for (let i = 0; i < runs; i++) {
    const { stdout } = await execFileAsync(process.execPath, [script, cacheDir, wasmPath, kind], { encoding: 'utf8' });
    const line = stdout.trim().split('\n').pop() ?? '';
    const r = JSON.parse(line) as ColdRun;
    log(`cold load of ${path.basename(wasmPath)} ${i + 1}/${runs}: ${round(r.ms, 2)} ms (source ${r.source})`);
    out.push(r);
  }
  return out;
}

/** One case's figures: under load (`load`) and one call at a time (`seq`), against `base`. */
function caseFigures(load: CaseResult, seq: CaseResult, base: CaseResult): Record<string, unknown> {
  return {
    ...withRatio(load, base),
    sequential_p50_us: seq.invoke_p50_us,
    sequential_p99_us: seq.invoke_p99_us,
    sequential_throughput_per_s: seq.throughput_per_s,
    sequential_p50_ratio: round(seq.invoke_p50_us / base.invoke_p50_us, 2),
  };
}

function withRatio(ours: CaseResult, base: CaseResult): Record<string, unknown> {
  const { invoke_p50_us, invoke_p99_us, throughput_per_s, mean_us, calls, wall_s } = ours;
  return {
    invoke_p50_us,
    invoke_p99_us,
    throughput_per_s,
    baseline: {
      invoke_p50_us: base.invoke_p50_us,
      invoke_p99_us: base.invoke_p99_us,
      throughput_per_s: base.throughput_per_s,
      mean_us: base.mean_us,
      calls: base.calls,
      wall_s: base.wall_s,
    },
    throughput_ratio: round(throughput_per_s / base.throughput_per_s, 3),
    mean_us,
    calls,
    wall_s,
  };
}

/** Runs the runtime bench and returns its JSON-ready result object. */
export async function runRuntimeBench(args: readonly string[]): Promise<Record<string, unknown>> {
  const cfg = parseRuntimeBenchConfig(args);
  const began = process.hrtime.bigint();
  const echoPath = actorPath('echo');
  const fibPath = actorPath('fib');
  const echoWasm = readFileSync(echoPath);
  const fibWasm = readFileSync(fibPath);
  const C = cfg.concurrency;
  log(
    `cores ${os.availableParallelism()}, concurrency ${C}, ${cfg.seconds}s per case (+${cfg.warmupSeconds}s warm-up)`,
  );

  // One runtime on a fresh, empty cache dir: its first load of fib is a first-ever compile, and it
  // leaves echo's artifact on disk for the cold-load children.
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-bench-cache-'));
  const runtime = ActorRuntime.create({ cacheDir, maxInstances: Math.max(256, 2 * C) });
  try {
    const actorOpts = { maxConcurrent: Math.max(64, C), timeoutMs: 60_000 };
    const t0 = process.hrtime.bigint();
    const fib = await runtime.load(fibWasm, { name: 'fib', ...actorOpts });
    const compileMs = Number(process.hrtime.bigint() - t0) / 1e6;
    log(`compile fib: ${round(compileMs, 2)} ms (source ${fib.source})`);
    const echo = await runtime.load(echoWasm, { name: 'echo', ...actorOpts });
    log(`load echo: source ${echo.source}`);

    // Cold load in new processes, before the load phases so the machine is otherwise idle.
    const cold = await coldLoads(cacheDir, echoPath, cfg.coldRuns);
    const badSource = cold.find((r) => r.source !== 'disk');
    if (badSource) throw new Error(`cold load: expected source 'disk', got '${badSource.source}'`);

    // Baseline hosts: @wapc/host on Node's WebAssembly, one instance each, main thread.
    const noHostCalls = (binding: string, namespace: string, operation: string): Uint8Array => {
      throw new Error(`unexpected host call ${binding}/${namespace}/${operation}`);
    };
    const echoBase = await instantiate(echoWasm, noHostCalls);
    const fibBase = await instantiate(fibWasm, noHostCalls);

    // Echo.
    const echoPayload = Buffer.alloc(ECHO_PAYLOAD_BYTES);
    for (let i = 0; i < ECHO_PAYLOAD_BYTES; i++) echoPayload[i] = 32 + (i % 95);
    check('echo (ours)', await echo.invoke('Echo', echoPayload), echoPayload);
    check('echo (baseline)', await echoBase.invoke('Echo', echoPayload), echoPayload);
    const echoOurs = (): Promise<unknown> => echo.invoke('Echo', echoPayload);
    const echoLoad = await measureCase('echo ours', echoOurs, C, cfg);
    const echoSeq = await measureCase('echo ours sequential', echoOurs, 1, cfg);
    const echoBaseline = await measureCase('echo baseline', () => echoBase.invoke('Echo', echoPayload), 1, cfg);
    const sweep: Record<string, number> = {};
    for (const c of [1, 2, 4, 8, 16, 32, 64]) {
      const short = { ...cfg, seconds: Math.min(cfg.seconds, 1), warmupSeconds: Math.min(cfg.warmupSeconds, 0.25) };
      sweep[String(c)] = (await measureCase(`echo ours c=${c}`, echoOurs, c, short)).throughput_per_s;
    }

    // Fib.
    const fibPayloads = new Map<number, Buffer>();
    const fibPayload = (n: number): Buffer => {
      let p = fibPayloads.get(n);
      if (!p) fibPayloads.set(n, (p = Buffer.from(String(n))));
      return p;
    };
    let fibN: number;
    let fibCalibratedUs: number | null = null;
    if (cfg.fibN !== null) {
      fibN = cfg.fibN;
    } else {
      const best = await calibrateFib((n) => fib.invoke('Fib', fibPayload(n)), cfg.fibTargetUs);
      fibN = best.n;
      fibCalibratedUs = best.meanUs;
      log(`calibrate fib: chose n=${fibN} (${round(best.meanUs)} µs)`);
    }
    const fibIn = fibPayload(fibN);
    const fibOut = Buffer.from(fibExpected(fibN));
    check('fib (ours)', await fib.invoke('Fib', fibIn), fibOut);
    check('fib (baseline)', await fibBase.invoke('Fib', fibIn), fibOut);
    const fibOurs = (): Promise<unknown> => fib.invoke('Fib', fibIn);
    const fibLoad = await measureCase('fib ours', fibOurs, C, cfg);
    const fibSeq = await measureCase('fib ours sequential', fibOurs, 1, cfg);
    const fibBaseline = await measureCase('fib baseline', () => fibBase.invoke('Fib', fibIn), 1, cfg);

    // Host call: the guest calls out to the embedder and carries its answer back (testbed's
    // CallContract; the handler answers with the payload, at once).
    const hostCallPayload = Buffer.from('bench:echo/default/Echo/hello');
    const hostCallAnswer = Buffer.from('hello');
    const testbedWasm = readFileSync(actorPath('testbed'));
    const testbed = await runtime.load(
      testbedWasm,
      { name: 'testbed', ...actorOpts },
      { hostCall: async ({ payload }) => payload },
    );
    const testbedBase = await instantiate(testbedWasm, (_binding, _namespace, _operation, payload) => payload);
    check('host call (ours)', await testbed.invoke('CallContract', hostCallPayload), hostCallAnswer);
    check('host call (baseline)', await testbedBase.invoke('CallContract', hostCallPayload), hostCallAnswer);
    const hostCallOurs = (): Promise<unknown> => testbed.invoke('CallContract', hostCallPayload);
    const hostCallLoad = await measureCase('host call ours', hostCallOurs, C, cfg);
    const hostCallSeq = await measureCase('host call ours sequential', hostCallOurs, 1, cfg);
    const hostCallBaseline = await measureCase(
      'host call baseline',
      () => testbedBase.invoke('CallContract', hostCallPayload),
      1,
      cfg,
    );

    // A component: the TypeScript hello (componentize-js, 12+ MB with its JS engine), over the
    // HTTP server contract. Its first-ever compile, its cold load in new processes, and its calls.
    const componentPath = actorPath('hello-ts');
    const componentWasm = readFileSync(componentPath);
    const c0 = process.hrtime.bigint();
    const component = await runtime.load(componentWasm, { name: 'hello-ts', ...actorOpts });
    const componentCompileMs = Number(process.hrtime.bigint() - c0) / 1e6;
    log(`compile hello-ts (${(componentWasm.length / 1e6).toFixed(1)} MB): ${round(componentCompileMs, 2)} ms`);
    const componentCold = await coldLoads(cacheDir, componentPath, cfg.coldRuns, 'http');
    const httpRequest = Buffer.from(
      contracts.HttpRequest.encode({
        method: 'GET',
        path: '/hello/bench',
        headers: [{ name: 'host', value: 'bench' }],
      }).finish(),
    );
    const hello = contracts.HttpResponse.decode(
      await component.invoke(Operation.HttpServer.HandleRequest, httpRequest),
    );
    if (hello.status !== 200 || Buffer.from(hello.body).toString() !== 'Hello, bench!\n') {
      throw new Error(`hello-ts answered ${hello.status} ${JSON.stringify(Buffer.from(hello.body).toString())}`);
    }
    const componentCall = (): Promise<unknown> => component.invoke(Operation.HttpServer.HandleRequest, httpRequest);
    const componentSeq = await measureCase('component call sequential', componentCall, 1, cfg);
    const componentLoad = await measureCase('component call', componentCall, C, cfg);

    const coldMs = cold.map((r) => r.ms);
    return {
      echo: {
        ...caseFigures(echoLoad, echoSeq, echoBaseline),
        payload_bytes: ECHO_PAYLOAD_BYTES,
        throughput_by_concurrency: sweep,
      },
      fib: { ...caseFigures(fibLoad, fibSeq, fibBaseline), n: fibN },
      host_call: caseFigures(hostCallLoad, hostCallSeq, hostCallBaseline),
      cold_load_ms: round(median(coldMs), 2),
      compile_ms: round(compileMs, 2),
      cold_load_source: cold[0]?.source ?? 'none',
      cold_load_runs_ms: coldMs.map((ms) => round(ms, 2)),
      cold_runtime_create_ms: round(median(cold.map((r) => r.createMs)), 2),
      compile_source: fib.source,
      // The TypeScript hello component. Target: component_cold_load_ms <= 5.
      component_cold_load_ms: round(median(componentCold.map((r) => r.ms)), 2),
      component_cold_load_runs_ms: componentCold.map((r) => round(r.ms, 2)),
      component_call_p50_us: componentSeq.invoke_p50_us,
      component_call_p99_us: componentSeq.invoke_p99_us,
      component_throughput_per_s: componentLoad.throughput_per_s,
      component_compile_ms: round(componentCompileMs, 2),
      component_bytes: componentWasm.length,
      fib_n: fibN,
      fib_calibrated_mean_us: fibCalibratedUs === null ? null : round(fibCalibratedUs),
      fib_target_us: cfg.fibTargetUs,
      cores: os.availableParallelism(),
      concurrency: C,
      seconds_per_case: cfg.seconds,
      warmup_seconds: cfg.warmupSeconds,
      node: process.version,
      duration_s: round(Number(process.hrtime.bigint() - began) / 1e9, 1),
    };
  } finally {
    runtime.close();
    rmSync(cacheDir, { recursive: true, force: true });
  }
}
