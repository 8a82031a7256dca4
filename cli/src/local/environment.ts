/**
 * The local environment of `wasmesh up`: a nats-server with JetStream and a host, as child
 * processes of one supervisor (the `up` process), and an app reconciler (and, when asked, the
 * gRPC gateway) inside it, with their
 * files under one home directory:
 *
 *   <home>/jetstream/   JetStream storage (kept between runs, so state survives a restart)
 *   <home>/nats.log     nats-server's log; <home>/host.log the host's; <home>/reconciler.log
 *   <home>/up.json      what runs (pids, urls), while it runs: `wasmesh down` and `--detach` read it
 *
 * The home is `--home`, else `WASMESH_HOME`, else `~/.wasmesh`. nats-server is `--nats-server-bin`,
 * else `nats-server` on PATH, else the one `scripts/setup.sh` builds into `~/.cache/wasmesh/bin`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Reconciler } from '@wasmesh/apps';
import { checkListen, Gateway, listenHost } from '@wasmesh/gateway';
import { createLogger, WasmeshError } from '@wasmesh/lattice';
import { prepareGatewayTls } from './gateway-tls.js';
import { prepareLocalSecurity, writeEnvFile, writeNatsConfig, type LocalSecurity } from './security.js';
import { alive, readUpState, stateFile, type UpState } from './state.js';
import { hostBinPath } from '../host-bin.js';

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

/** A running local environment (see the module comment). */
export class LocalEnvironment {
  #nats: ChildProcess | undefined;
  #host: ChildProcess | undefined;
  #reconciler: Reconciler | undefined;
  #gateway: Gateway | undefined;
  #state: UpState;
  #security: LocalSecurity | undefined;
  #stopping: Promise<void> | undefined;
  /** Resolves with a reason when a child exits on its own. */
  readonly childExited: Promise<string>;
  #childExited!: (why: string) => void;

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
    };
    this.childExited = new Promise((r) => (this.#childExited = r));
  }

  /** What runs. */
  get state(): UpState {
    return this.#state;
  }

  /** Starts nats-server then the host; on failure stops what started and records `failed`. */
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
      await env.#startNats(natsBin);
      await env.#startHost();
      env.#reconciler = await Reconciler.start({
        natsUrl: env.#state.natsUrl,
        ...env.#adminAccess(),
        lattice: options.lattice,
        id: `up-${process.pid}`,
        logger: createLogger({ component: 'reconciler', fd: openSync(path.join(options.home, 'reconciler.log'), 'a') }),
      });
      if (options.gateway) await env.#startGateway(options.gateway);
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

  /** The admin credentials (and CA) of the reconciler, gateway and app deployment. */
  #adminAccess(): { creds?: string; tlsCa?: string } {
    const s = this.#security;
    return s ? { creds: s.adminCreds, tlsCa: s.caFile } : {};
  }

  /**
   * Serves the gateway at `listen` in this process: over TLS with the home's CA and an admin
   * client certificate ready (recorded in the state), or plaintext on loopback when insecure.
   */
  async #startGateway(listen: string): Promise<void> {
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
  }

  async #startNats(bin: string): Promise<void> {
    const { home, port } = this.options;
    const log = openSync(path.join(home, 'nats.log'), 'a');
    const config = writeNatsConfig(home, port, this.#security?.serverConfig);
    const child = spawn(bin, ['-c', config], { stdio: ['ignore', log, log] });
    this.#nats = child;
    this.#watch(child, 'nats-server', 'nats.log');
    let exitedWhy: string | undefined;
    child.once('exit', (code, signal) => (exitedWhy = `nats-server exited (${signal ?? code}); see ${home}/nats.log`));
    child.once('error', (err) => (exitedWhy = `cannot run nats-server (${bin}): ${err.message}`));
    await waitForPort(port, START_TIMEOUT_MS, () => exitedWhy);
    this.#state.natsPid = child.pid ?? 0;
  }

  async #startHost(): Promise<void> {
    const { home, lattice, labels = {} } = this.options;
    const log = openSync(path.join(home, 'host.log'), 'a');
    const args = [hostBinPath(), 'host', '--json', '--nats', this.#state.natsUrl, '--lattice', lattice];
    if (this.#security) args.push('--creds', this.#security.hostCreds, '--tls-ca', this.#security.caFile);
    for (const issuer of this.options.trustedIssuers ?? []) args.push('--trusted-issuer', issuer);
    for (const [k, v] of Object.entries(labels)) args.push('--label', `${k}=${v}`);
    // The host reads module and provider files only from the directory `up` was run in.
    args.push('--allow-dir', process.cwd());
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', log] });
    this.#host = child;
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
    });
    child.stdout!.resume();
    this.#watch(child, 'the host', 'host.log');
    Object.assign(this.#state, { hostPid: child.pid ?? 0, hostId: identity.hostId, hostName: identity.friendlyName });
  }

  /** Reports a child that exits while the environment runs. */
  #watch(child: ChildProcess, what: string, log: string): void {
    child.once('exit', (code, signal) => {
      if (!this.#stopping) this.#childExited(`${what} exited (${signal ?? code}); see ${this.options.home}/${log}`);
    });
  }

  /** Records that the app is deployed and where to try it. */
  appDeployed(urls: string[]): void {
    Object.assign(this.#state, { deploying: false, urls });
    this.#write();
  }

  /** Stops the reconciler, the host (it drains), then nats-server; removes the state file. Idempotent. */
  stop(removeState = true): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#gateway?.close();
      await this.#reconciler?.close();
      await stopChild(this.#host);
      await stopChild(this.#nats);
    })();
    return this.#stopping.then(() => {
      if (removeState && existsSync(stateFile(this.options.home))) rmSync(stateFile(this.options.home));
    });
  }

  #write(): void {
    writeFileSync(stateFile(this.options.home), `${JSON.stringify(this.#state, null, 2)}\n`);
  }
}
