/**
 * The local environment of `wasmesh up`: a nats-server with JetStream, a host, an app reconciler
 * and, when asked, the gRPC gateway, as child processes of one supervisor (the `up` process; the
 * services are their packages' bins, see service-bins.ts, so the CLI never loads them), with
 * their files under one home directory (below). Each part that ends
 * on its own is started again with backoff (supervisor.ts), said in one line on stderr and counted
 * in up.json's `parts`; only stop() (Ctrl-C, SIGTERM, `wasmesh down`) ends them. The host keeps
 * its id across restarts: it comes from its credentials (or, insecure, from a seed made per run).
 *
 * No process outlives `up`, however it ends: the services stop by themselves once `up` is gone
 * (WASMESH_PARENT_PID, see service-bins.ts), and a nats-server left by an `up` killed with -9 is
 * stopped by `wasmesh down` or by the next `up` in the same home (its pid is in up.json).
 *
 *
 *   <home>/jetstream/   JetStream storage (kept between runs, so state survives a restart)
 *   <home>/nats.log     nats-server's log; <home>/host.log the host's; <home>/reconciler.log,
 *                       <home>/gateway.log the reconciler's and the gateway's
 *   <home>/up.json      what runs (pids, urls), while it runs: `wasmesh down` and `--detach` read it
 *
 * The home is `--home`, else `WASMESH_HOME`, else `~/.wasmesh`. nats-server is `--nats-server-bin`,
 * else `nats-server` on PATH, else the one `scripts/setup.sh` builds into `~/.cache/wasmesh/bin`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Prefix } from '@nats-io/nkeys';
import { checkListen, createNkey, listenHost, WasmeshError } from '@wasmesh/lattice';
import { prepareGatewayTls } from './gateway-tls.js';
import { prepareLocalSecurity, writeEnvFile, writeNatsConfig, type LocalSecurity } from './security.js';
import { alive, leftoverChildren, readUpState, stateFile, type UpState } from './state.js';
import { Supervisor, type PartEvent, type StartPart } from './supervisor.js';
import { note } from '../common.js';
import { SERVICE_BINS, serviceBinPath, serviceChildEnv, type ServiceName } from '../service-bins.js';

/** Options of {@link LocalEnvironment.start}. */
export interface LocalEnvironmentOptions {
  home: string;
  port: number;
  lattice: string;
  natsServerBin?: string;
  /** Labels for the host. */
  labels?: Record<string, string>;
  /**
   * Where to serve the gRPC gateway (not served when absent): over TLS with client certificates,
   * or plaintext on loopback only when `insecure`.
   */
  gateway?: string;
  /** An app will be deployed once everything runs (recorded, so `--detach` waits for it). */
  deploying?: boolean;
  /** The open mode: NATS without TLS or credentials (`up --insecure`). */
  insecure?: boolean;
  /** Account keys whose signed actors the host runs (`--trusted-issuer`). */
  trustedIssuers?: string[];
  /**
   * Each service serves Prometheus metrics on a free loopback port (`up --metrics`), recorded in
   * the state's `metrics` by service name; the host's provider processes serve theirs too.
   */
  metrics?: boolean;
}

/** How long each child may take to come up, and to exit once asked to. */
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

/** The nats-server executable; `WASMESH_ERR_NOT_FOUND` in one line saying how to get one. */
export function findNatsServer(explicit?: string): string {
  const candidates = explicit
    ? [explicit]
    : [
        ...(process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'nats-server')),
        path.join(process.env.WASMESH_BIN_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'bin'), 'nats-server'),
      ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new WasmeshError(
    'WASMESH_ERR_NOT_FOUND',
    explicit
      ? `--nats-server-bin ${explicit} is not an executable file`
      : 'nats-server was not found on PATH: install it (https://docs.nats.io/running-a-nats-service/introduction/installation, ' +
          'or `bash scripts/setup.sh` in the wasmesh repository) or pass --nats-server-bin PATH',
    { details: { natsServerBin: explicit ?? '' } },
  );
}

/** Resolves when `port` on 127.0.0.1 accepts connections, or rejects after `timeoutMs`. */
async function waitForPort(port: number, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    const why = exited();
    if (why) throw new WasmeshError('WASMESH_ERR_UNAVAILABLE', why);
    if (Date.now() > deadline) {
      throw new WasmeshError(
        'WASMESH_ERR_TIMEOUT',
        `nats-server did not listen on port ${port} within ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Whether something already listens on `port`. */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

/** Sends SIGTERM, then SIGKILL after {@link STOP_TIMEOUT_MS}; resolves once the child has exited. */
async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Stops the processes an `up` killed with -9 left behind (see {@link leftoverChildren}). */
async function stopLeftovers(state: UpState): Promise<void> {
  const pids = leftoverChildren(state);
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_TIMEOUT_MS;
  while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
}

/** Resolves with why `child` exited, once it has. */
function exitOf(child: ChildProcess, what: string, log: string): Promise<string> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(`${what} exited (${signal ?? code}); see ${log}`));
  });
}

/** A running local environment (see the module comment). */
export class LocalEnvironment {
  #nats: ChildProcess | undefined;
  /** The running service children (host, reconciler, gateway). */
  readonly #services = new Map<ServiceName, ChildProcess>();
  /** The process of each part, as last started (recorded in up.json's parts). */
  readonly #pids = new Map<string, number>();
  #state: UpState;
  #security: LocalSecurity | undefined;
  #stopping: Promise<void> | undefined;
  readonly #supervisor: Supervisor;
  /** The insecure host's seed, made once per run so that restarts keep its id. */
  readonly #hostSeed: string | undefined;

  private constructor(readonly options: LocalEnvironmentOptions) {
    this.#state = {
      status: 'starting',
      pid: process.pid,
      natsUrl: `${options.insecure ? 'nats' : 'tls'}://127.0.0.1:${options.port}`,
      secure: !options.insecure,
      creds: '',
      tlsCa: '',
      envFile: '',
      natsPid: 0,
      hostPid: 0,
      hostId: '',
      hostName: '',
      lattice: options.lattice,
      home: options.home,
      startedAtMs: Date.now(),
      gateway: '',
      deploying: options.deploying ?? false,
      urls: [],
      parts: {},
    };
    this.#supervisor = new Supervisor((e) => this.#restarted(e));
    this.#hostSeed = options.insecure ? new TextDecoder().decode(createNkey(Prefix.Server).getSeed()) : undefined;
  }

  /** What runs. */
  get state(): UpState {
    return this.#state;
  }

  /**
   * Starts nats-server, the host, the reconciler and the gateway, each supervised from then on;
   * on failure stops what started and records `failed`.
   */
  static async start(options: LocalEnvironmentOptions): Promise<LocalEnvironment> {
    const env = new LocalEnvironment(options);
    const running = readUpState(options.home);
    if (running && alive(running.pid) && running.pid !== process.pid) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFLICT',
        `wasmesh is already up (pid ${running.pid}, ${running.natsUrl}); stop it with \`wasmesh down\``,
        { details: { pid: running.pid } },
      );
    }
    if (running) await stopLeftovers(running);
    const natsBin = findNatsServer(options.natsServerBin);
    if (await portInUse(options.port)) {
      throw new WasmeshError(
        'WASMESH_ERR_CONFLICT',
        `port ${options.port} is already in use (another NATS server?); pick another with --port`,
        { details: { port: options.port } },
      );
    }
    mkdirSync(path.join(options.home, 'jetstream'), { recursive: true });
    env.#write();
    try {
      const security = options.insecure ? undefined : await prepareLocalSecurity(options.home, options.lattice);
      env.#security = security;
      if (security) Object.assign(env.#state, { creds: security.adminCreds, tlsCa: security.caFile });
      env.#state.envFile = writeEnvFile(options.home, {
        natsUrl: env.#state.natsUrl,
        lattice: options.lattice,
        ...(security ? { creds: security.adminCreds, tlsCa: security.caFile } : {}),
      });
      await env.#supervise('nats', () => env.#startNats(natsBin));
      await env.#supervise('host', () => env.#startHost());
      await env.#supervise('reconciler', () => env.#startReconciler());
      const gateway = options.gateway;
      // A restarted gateway serves where the first one did (the port `:0` resolved to).
      if (gateway) await env.#supervise('gateway', () => env.#startGateway(env.#state.gateway || gateway));
      env.#state.status = 'ready';
      env.#write();
      return env;
    } catch (err) {
      env.#state = { ...env.#state, status: 'failed', error: (err as Error).message };
      await env.stop(false);
      env.#write();
      throw err;
    }
  }

  /** Starts a part, then has the supervisor start it again whenever it ends on its own. */
  async #supervise(part: string, start: StartPart): Promise<void> {
    const { ended } = await start();
    this.#state.parts[part] = { status: 'running', restarts: 0, pid: this.#pids.get(part) ?? 0 };
    this.#supervisor.watch(part, ended, start);
  }

  /** Tells the user that a part restarts (one line) and records it in the state. */
  #restarted(e: PartEvent): void {
    const part = this.#state.parts[e.part] ?? { status: e.status, restarts: 0 };
    this.#state.parts[e.part] = {
      ...part,
      status: e.status,
      restarts: e.restarts,
      ...(e.why ? { lastExit: e.why } : {}),
      ...(e.status === 'running' ? { pid: this.#pids.get(e.part) ?? 0 } : {}),
    };
    if (e.status === 'restarting') {
      note(`wasmesh: ${e.why}; restarting it in ${(e.delayMs ?? 0) / 1000} s (restart ${e.restarts})`);
    }
    this.#write();
  }

  /** Starts the app reconciler (`wasmesh-reconciler`) with the admin credentials. */
  async #startReconciler(): Promise<{ ended: Promise<string> }> {
    const { lattice } = this.options;
    const args = ['--json', '--nats', this.#state.natsUrl, '--lattice', lattice, '--id', `up-${process.pid}`];
    const { ended } = await this.#startService('reconciler', [...args, ...this.#adminFlags()]);
    return { ended };
  }

  /** The flags of the admin credentials (and CA) the reconciler and the gateway connect with. */
  #adminFlags(): string[] {
    const s = this.#security;
    return s ? ['--creds', s.adminCreds, '--tls-ca', s.caFile] : [];
  }

  /**
   * Serves the gateway (`wasmesh-gateway`) at `listen`: over TLS with the home's CA and an admin
   * client certificate ready (recorded in the state), or plaintext on loopback when insecure.
   */
  async #startGateway(listen: string): Promise<{ ended: Promise<string> }> {
    const { home, lattice } = this.options;
    const local = this.#security ? await prepareGatewayTls(home, lattice, listenHost(checkListen(listen))) : undefined;
    const args = ['--json', '--listen', listen, '--nats', this.#state.natsUrl, '--lattice', lattice];
    args.push(...this.#adminFlags(), '--allow-dir', process.cwd());
    if (local)
      args.push(
        '--tls-cert',
        local.tls.certFile,
        '--tls-key',
        local.tls.keyFile,
        '--client-ca',
        local.tls.clientCaFile,
      );
    else args.push('--insecure');
    const { ended, ready } = await this.#startService('gateway', args);
    this.#state.gateway = String(ready.address);
    if (local) {
      this.#state.gatewayClient = { ca: local.tls.clientCaFile, cert: local.clientCert, key: local.clientKey };
    }
    return { ended };
  }

  async #startNats(bin: string): Promise<{ ended: Promise<string> }> {
    const { home, port } = this.options;
    const log = openSync(path.join(home, 'nats.log'), 'a');
    const config = writeNatsConfig(home, port, this.#security?.serverConfig);
    const child = spawn(bin, ['-c', config], { stdio: ['ignore', log, log] });
    closeSync(log);
    this.#nats = child;
    const ended = exitOf(child, 'nats-server', path.join(home, 'nats.log'));
    let exitedWhy: string | undefined;
    void ended.then((why) => (exitedWhy = why));
    child.once('error', (err) => (exitedWhy = `cannot run nats-server (${bin}): ${err.message}`));
    try {
      await waitForPort(port, START_TIMEOUT_MS, () => exitedWhy);
    } catch (err) {
      await stopChild(child);
      throw err;
    }
    this.#state.natsPid = child.pid ?? 0;
    this.#pids.set('nats', this.#state.natsPid);
    return { ended };
  }

  async #startHost(): Promise<{ ended: Promise<string> }> {
    const { lattice, labels = {} } = this.options;
    const args = ['host', '--json', '--nats', this.#state.natsUrl, '--lattice', lattice];
    if (this.#security) args.push('--creds', this.#security.hostCreds, '--tls-ca', this.#security.caFile);
    for (const issuer of this.options.trustedIssuers ?? []) args.push('--trusted-issuer', issuer);
    for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
    // The host reads module and provider files only from the directory `up` was run in.
    args.push('--allow-dir', process.cwd());
    const extraEnv: Record<string, string> = this.#hostSeed ? { WASMESH_HOST_SEED: this.#hostSeed } : {};
    const { ended, ready, pid } = await this.#startService('host', args, extraEnv);
    Object.assign(this.#state, { hostPid: pid, hostId: ready.hostId, hostName: ready.friendlyName });
    return { ended };
  }

  /**
   * Starts the service bin `name` with `args`, its stderr appended to `<home>/<name>.log`, and
   * resolves once it is ready: when it has printed its first stdout line, the JSON object its
   * `--json` prints once running. The child stops by itself once this process is gone
   * (serviceChildEnv), so `up` killed with -9 leaves no service behind.
   */
  async #startService(
    name: ServiceName,
    args: string[],
    extraEnv: Record<string, string> = {},
  ): Promise<{ ended: Promise<string>; ready: Record<string, unknown>; pid: number }> {
    const { home } = this.options;
    await stopChild(this.#services.get(name));
    const logFile = path.join(home, `${name}.log`);
    const log = openSync(logFile, 'a');
    const what = name === 'host' ? 'the host' : `the ${name}`;
    const metrics = this.options.metrics ? ['--metrics-listen', '127.0.0.1:0'] : [];
    const child = spawn(process.execPath, [serviceBinPath(SERVICE_BINS[name]), ...args, ...metrics], {
      stdio: ['ignore', 'pipe', log],
      // One WASMESH_METRICS_LISTEN cannot serve the host, reconciler and gateway at once (one port):
      // `up` starts them without it (spawn drops undefined values); `--metrics` gives each its own.
      env: { ...serviceChildEnv(extraEnv), WASMESH_METRICS_LISTEN: undefined },
    });
    closeSync(log);
    this.#services.set(name, child);
    const ended = exitOf(child, what, logFile);
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new WasmeshError('WASMESH_ERR_TIMEOUT', `${what} did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) {
          clearTimeout(timer);
          try {
            resolve(JSON.parse(line) as Record<string, unknown>);
          } catch {
            reject(new WasmeshError('WASMESH_ERR_INTERNAL', `${what} printed an unexpected line: ${line}`));
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new WasmeshError('WASMESH_ERR_UNAVAILABLE', `${what} exited (${signal ?? code}); see ${logFile}`));
      });
    }).catch(async (err: unknown) => {
      await stopChild(child);
      throw err;
    });
    child.stdout!.resume();
    this.#pids.set(name, child.pid ?? 0);
    // A restarted service has a new port: the state follows.
    if (typeof ready.metricsUrl === 'string')
      this.#state.metrics = { ...this.#state.metrics, [name]: ready.metricsUrl };
    return { ended, ready, pid: child.pid ?? 0 };
  }

  /** Records that the app is deployed and where to try it. */
  appDeployed(urls: string[]): void {
    Object.assign(this.#state, { deploying: false, urls });
    this.#write();
  }

  /**
   * Ends the supervision, then stops the gateway, the reconciler, the host (it drains), then
   * nats-server; removes the state file. Idempotent.
   */
  stop(removeState = true): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#supervisor.stop();
      await stopChild(this.#services.get('gateway'));
      await stopChild(this.#services.get('reconciler'));
      await stopChild(this.#services.get('host'));
      await stopChild(this.#nats);
    })();
    return this.#stopping.then(() => {
      if (removeState && existsSync(stateFile(this.options.home))) rmSync(stateFile(this.options.home));
    });
  }

  /** Writes up.json whole or not at all (a temporary file renamed over it): readers never see half of it. */
  #write(): void {
    const file = stateFile(this.options.home);
    writeFileSync(`${file}.tmp`, `${JSON.stringify(this.#state, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  }
}
