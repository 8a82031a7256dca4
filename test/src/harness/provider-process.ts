/**
 * A capability provider in its own process (`node <entry>` with the provider SDK's `WASMESH_*`
 * environment), for tests that need a real process: SIGTERM drains, exit statuses, crashes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { killOnExit } from './nats-server.js';

/** Path of the keyvalue provider's executable. */
export const keyValueProviderBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@wasmesh/provider-keyvalue/package.json')),
  'dist',
  'main.js',
);

/** Options of {@link ProviderProcess.start}. */
export interface ProviderProcessOptions {
  /** The provider's entry script. @default the keyvalue provider */
  entry?: string;
  natsUrl: string;
  /** Provider credentials and the server's CA (from `NatsServer.access(lattice, 'provider', id)`). */
  creds?: string;
  tlsCa?: string;
  /** App credentials (the messaging provider's application subjects). */
  appCreds?: string;
  lattice: string;
  providerId: string;
  hostId?: string;
  /** Named config of the provider itself (WASMESH_PROVIDER_CONFIG). */
  config?: string[];
  /** Extra environment. */
  env?: Record<string, string>;
}

const MAX_LOG = 512 * 1024;

/** A provider process owned by a test. */
export class ProviderProcess implements AsyncDisposable {
  #out = '';
  #err = '';
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts the provider and resolves once it serves (its JSON ready line arrived on stdout). */
  static async start(options: ProviderProcessOptions): Promise<ProviderProcess> {
    const child = spawn(process.execPath, [options.entry ?? keyValueProviderBin], {
      env: {
        ...process.env,
        NODE_OPTIONS: '',
        WASMESH_LOG_LEVEL: process.env.WASMESH_LOG_LEVEL ?? 'info',
        WASMESH_NATS_URL: options.natsUrl,
        WASMESH_NATS_CREDS: options.creds ?? '',
        WASMESH_NATS_CA: options.tlsCa ?? '',
        WASMESH_APP_NATS_CREDS: options.appCreds ?? '',
        WASMESH_LATTICE: options.lattice,
        WASMESH_PROVIDER_ID: options.providerId,
        WASMESH_HOST_ID: options.hostId ?? '',
        WASMESH_PROVIDER_CONFIG: (options.config ?? []).join(','),
        ...options.env,
      },
      // stdin: a pipe never written to, as a host gives its providers (EOF = the host is gone).
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    killOnExit(child);
    child.stdin?.on('error', () => undefined);
    const p = new ProviderProcess(child);
    child.stdout!.on('data', (d: Buffer) => (p.#out = (p.#out + d.toString()).slice(-MAX_LOG)));
    child.stderr!.on('data', (d: Buffer) => (p.#err = (p.#err + d.toString()).slice(-MAX_LOG)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`provider did not start within 20 s:\n${p.#err}`)), 20_000);
      const onData = (): void => {
        if (!p.#out.split('\n').some((l) => l.startsWith('{'))) return;
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`provider exited with ${code} before it started:\n${p.#err}`));
      });
    });
    return p;
  }

  /** What the provider printed on stdout (its ready line). */
  stdout(): string {
    return this.#out;
  }

  /** What the provider logged (stderr, JSON lines). */
  logs(): string {
    return this.#err;
  }

  /** The process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends `signal` (default SIGTERM: the provider drains) and resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  /** Closes the provider's stdin, as the death of its host would. */
  closeStdin(): void {
    this.child.stdin?.end();
  }

  /** SIGKILL. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }
}
