/**
 * A real wasmesh host in its own process (`wasmesh-host host --json`), for tests that need
 * several hosts, kill -9, or a drain on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { actorPath, fixtureBuildDir, providerFixtureDir } from '../fixtures.js';
import { killOnExit } from './nats-server.js';

/** Path of the host executable. */
export const hostBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@wasmesh/host/package.json')),
  'dist',
  'bin',
  'wasmesh-host.js',
);

/** Options of {@link HostProcess.start}. */
export interface HostProcessOptions {
  natsUrl: string;
  /** Host credentials and the server's CA (from `NatsServer.access(lattice, 'host')`). */
  creds?: string;
  tlsCa?: string;
  lattice?: string;
  labels?: Record<string, string>;
  heartbeatMs?: number;
  /** Extra environment (e.g. OTEL_TRACES_EXPORTER=console). */
  env?: Record<string, string>;
  /** Extra flags for `wasmesh-host host`. */
  args?: string[];
  /** Flags for node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** Directories the host reads module and provider files from (`--allow-dir`). @default {@link TEST_ALLOW_DIRS} */
  allowDirs?: readonly string[];
}

/** Where the tests' modules and provider fixtures live: the directories test hosts allow by default. */
export const TEST_ALLOW_DIRS: readonly string[] = [
  path.dirname(actorPath('echo')),
  fixtureBuildDir,
  path.dirname(providerFixtureDir),
];

const MAX_LOG = 512 * 1024;

/** A host process owned by a test. */
export class HostProcess implements AsyncDisposable {
  #out = '';
  #err = '';
  readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    /** The host's id (its nkey public key). */
    public hostId: string,
    /** Its friendly name. */
    public friendlyName: string,
    /** Its Prometheus endpoint, when started with `--metrics-listen`. */
    public metricsUrl?: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts a host and resolves once it has joined the lattice (its identity line arrived). */
  static async start(options: HostProcessOptions): Promise<HostProcess> {
    const args = [hostBin, 'host', '--json', '--nats', options.natsUrl];
    if (options.creds) args.push('--creds', options.creds);
    if (options.tlsCa) args.push('--tls-ca', options.tlsCa);
    if (options.lattice) args.push('--lattice', options.lattice);
    if (options.heartbeatMs) args.push('--heartbeat-ms', String(options.heartbeatMs));
    for (const [k, v] of Object.entries(options.labels ?? {})) args.push('--label', `${k}=${v}`);
    for (const dir of options.allowDirs ?? TEST_ALLOW_DIRS) args.push('--allow-dir', dir);
    args.push(...(options.args ?? []));
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        WASMESH_LOG_LEVEL: process.env.WASMESH_LOG_LEVEL ?? 'info',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    killOnExit(child);
    const host = new HostProcess(child, '', '');
    child.stdout!.on('data', (d: Buffer) => (host.#out = (host.#out + d.toString()).slice(-MAX_LOG)));
    child.stderr!.on('data', (d: Buffer) => (host.#err = (host.#err + d.toString()).slice(-MAX_LOG)));
    const identity = await new Promise<{ hostId: string; friendlyName: string; metricsUrl?: string }>(
      (resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`host did not start within 20 s:\n${host.#err}`)), 20_000);
        const onData = (): void => {
          const line = host.#out.split('\n').find((l) => l.startsWith('{'));
          if (!line) return;
          clearTimeout(timer);
          child.stdout!.off('data', onData);
          resolve(JSON.parse(line) as { hostId: string; friendlyName: string; metricsUrl?: string });
        };
        child.stdout!.on('data', onData);
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`host exited with ${code} before it started:\n${host.#err}`));
        });
      },
    );
    host.hostId = identity.hostId;
    host.friendlyName = identity.friendlyName;
    host.metricsUrl = identity.metricsUrl;
    return host;
  }

  /** What the host printed on stdout. */
  stdout(): string {
    return this.#out;
  }

  /** What the host logged (stderr, JSON lines). */
  logs(): string {
    return this.#err;
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** SIGTERM: the host drains; resolves with its exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }

  /** SIGKILL: the host dies without a word. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}
