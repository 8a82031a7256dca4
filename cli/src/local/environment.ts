/**
 * The local environment of `wasmesh up`: a nats-server with JetStream and a host, as child
 * processes of one supervisor (the `up` process), and an app reconciler (and, when asked, the
 * gRPC gateway) inside it, with their files under one home directory (below). Each part that ends
 * on its own is started again with backoff (supervisor.ts), said in one line on stderr and counted
 * in up.json's `parts`; only stop() (Ctrl-C, SIGTERM, `wasmesh down`) ends them. The host keeps
 * its id across restarts: it comes from its credentials (or, insecure, from a seed made per run).
 *
 * No process outlives `up`, however it ends: hosts stop by themselves once `up` is gone
 * (WASMESH_PARENT_PID, see host-bin.ts), and a nats-server left by an `up` killed with -9 is
 * stopped by `wasmesh down` or by the next `up` in the same home (its pid is in up.json).
 *
 *
 *   <home>/jetstream/   JetStream storage (kept between runs, so state survives a restart)
 *   <home>/nats.log     nats-server's log; <home>/host.log the host's; <home>/reconciler.log
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
import { Reconciler } from '@wasmesh/apps';
import { checkListen, Gateway, listenHost } from '@wasmesh/gateway';
import { createServer } from '@nats-io/nkeys';
import { createLogger, WasmeshError } from '@wasmesh/lattice';
import { prepareGatewayTls } from './gateway-tls.js';
import { prepareLocalSecurity, writeEnvFile, writeNatsConfig, type LocalSecurity } from './security.js';
import { alive, leftoverChildren, readUpState, stateFile, type UpState } from './state.js';
import { Supervisor, type PartEvent, type StartPart } from './supervisor.js';
import { note } from '../common.js';
import { hostBinPath, hostChildEnv } from '../host-bin.js';

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
  #host: ChildProcess | undefined;
  #reconciler: Reconciler | undefined;
  #gateway: Gateway | undefined;
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
    this.#hostSeed = options.insecure ? new TextDecoder().decode(createServer().getSeed()) : undefined;
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
      const reconcilerLog = createLogger({
        component: 'reconciler',
        fd: openSync(path.join(options.home, 'reconciler.log'), 'a'),
      });
      await env.#supervise('reconciler', () => env.#startReconciler(reconcilerLog));
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
    this.#state.parts[part] = { status: 'running', restarts: 0 };
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
    };
    if (e.status === 'restarting') {
      note(`wasmesh: ${e.why}; restarting it in ${(e.delayMs ?? 0) / 1000} s (restart ${e.restarts})`);
    }
    this.#write();
  }

  /** Starts the app reconciler in this process; it ends when its NATS connection closes for good. */
  async #startReconciler(logger: ReturnType<typeof createLogger>): Promise<{ ended: Promise<string> }> {
    await this.#reconciler?.close();
    const reconciler = await Reconciler.start({
      natsUrl: this.#state.natsUrl,
      ...this.#adminAccess(),
      lattice: this.options.lattice,
      id: `up-${process.pid}`,
      logger,
    });
    this.#reconciler = reconciler;
    return { ended: reconciler.closed().then(() => 'the reconciler stopped (its NATS connection closed)') };
  }

  /** The admin credentials (and CA) of the reconciler, gateway and app deployment. */
  #adminAccess(): { creds?: string; tlsCa?: string } {
    const s = this.#security;
    return s ? { creds: s.adminCreds, tlsCa: s.caFile } : {};
  }

  /**
   * Serves the gateway at `listen` in this process: over TLS with the home's CA and an admin
   * client certificate ready (recorded in the state), or plaintext on loopback when insecure.
   */
  async #startGateway(listen: string): Promise<{ ended: Promise<string> }> {
    await this.#gateway?.close();
    const { home, lattice } = this.options;
    const { creds, tlsCa } = this.#adminAccess();
    const local = this.#security ? await prepareGatewayTls(home, lattice, listenHost(checkListen(listen))) : undefined;
    this.#gateway = new Gateway({
      listen,
      ...(local ? { tls: local.tls } : { insecure: true }),
      natsUrl: this.#state.natsUrl,
      ...(creds ? { natsCreds: creds } : {}),
      ...(tlsCa ? { natsCa: tlsCa } : {}),
      lattice,
      allowDirs: [process.cwd()],
    });
    await this.#gateway.start();
    this.#state.gateway = this.#gateway.address;
    if (local) {
      this.#state.gatewayClient = { ca: local.tls.clientCaFile, cert: local.clientCert, key: local.clientKey };
    }
    return { ended: this.#gateway.stopped().then((why) => `the gateway stopped (${why})`) };
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
    return { ended };
  }

  async #startHost(): Promise<{ ended: Promise<string> }> {
    const { home, lattice, labels = {} } = this.options;
    const log = openSync(path.join(home, 'host.log'), 'a');
    const args = [hostBinPath(), 'host', '--json', '--nats', this.#state.natsUrl, '--lattice', lattice];
    if (this.#security) args.push('--creds', this.#security.hostCreds, '--tls-ca', this.#security.caFile);
    for (const issuer of this.options.trustedIssuers ?? []) args.push('--trusted-issuer', issuer);
    for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
    // The host reads module and provider files only from the directory `up` was run in.
    args.push('--allow-dir', process.cwd());
    // It stops by itself once this process is gone (hostChildEnv), so `up` killed with -9 leaves no host.
    const env = hostChildEnv(this.#hostSeed ? { WASMESH_HOST_SEED: this.#hostSeed } : {});
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', log], env });
    closeSync(log);
    this.#host = child;
    const ended = exitOf(child, 'the host', path.join(home, 'host.log'));
    const identity = await new Promise<{ hostId: string; friendlyName: string }>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new WasmeshError('WASMESH_ERR_TIMEOUT', `the host did not start within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n')[0];
        if (out.includes('\n') && line) {
          clearTimeout(timer);
          try {
            resolve(JSON.parse(line) as { hostId: string; friendlyName: string });
          } catch {
            reject(new WasmeshError('WASMESH_ERR_INTERNAL', `the host printed an unexpected line: ${line}`));
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new WasmeshError('WASMESH_ERR_UNAVAILABLE', `the host exited (${signal ?? code}); see ${home}/host.log`),
        );
      });
    }).catch(async (err: unknown) => {
      await stopChild(child);
      throw err;
    });
    child.stdout!.resume();
    Object.assign(this.#state, { hostPid: child.pid ?? 0, hostId: identity.hostId, hostName: identity.friendlyName });
    return { ended };
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
      await this.#gateway?.close();
      await this.#reconciler?.close();
      await stopChild(this.#host);
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
