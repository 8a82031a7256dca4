/**
 * A real nats-server for tests: started on a free port with JetStream in a private store, restartable
 * on the same port and store (so clients reconnect and JetStream state survives), and never left
 * running when the test process exits.
 *
 * Secure by default, as `wasmesh up` makes it: TLS required (a private CA) and decentralized auth
 * with one account per lattice. Tests get credentials of a role with {@link NatsServer.access};
 * the open mode (`insecure: true`) is an explicit opt-out.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Prefix } from '@nats-io/nkeys';
import {
  createNkey,
  ensureServerTls,
  LatticeAuthority,
  type IssueOptions,
  type NatsAccess,
  type Role,
  type TlsFiles,
} from '@wasmesh/lattice';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import vm from 'node:vm';
import { findBinary, setupBuiltBinary } from './processes.js';

/** Options of {@link NatsServer.start}. */
export interface NatsServerOptions {
  /** Enable JetStream (default true). */
  jetstream?: boolean;
  /** Client port (default: a free port chosen by the server). */
  port?: number;
  /** JetStream store directory (default: a fresh temporary directory, removed on dispose). */
  storeDir?: string;
  /** The server's `max_payload` in bytes (default: the server's, 1 MiB). */
  maxPayload?: number;
  /** Extra command-line arguments for nats-server, e.g. `['-DV']` for protocol tracing. */
  args?: string[];
  /** The open mode: no TLS, no auth (explicit opt-out; tests of that mode only). */
  insecure?: boolean;
}

/** What a secured server is made with (its temp dir holds the keys and certificates). */
interface Security {
  authority: LatticeAuthority;
  tls: TlsFiles;
}

/** Temporary while the suites move to credentials. */
const SECURE_BY_DEFAULT_PENDING = false;

/** How long a start waits for the server to listen before giving up. */
const START_TIMEOUT_MS = 15_000;
/** How long stop waits after SIGTERM before it sends SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;
/** Polling interval for the ports file and the port. */
const POLL_MS = 10;
/** The most server output `logs()` keeps (the newest part). */
const MAX_LOG_CHARS = 256 * 1024;

const INSTALL_HINT =
  'run `bash scripts/setup.sh` in the repository (it builds the pinned nats-server into ~/.cache/wasmesh/bin, ' +
  "or installs Debian's nats-server), or set NATS_SERVER_BIN to a nats-server binary";

/**
 * The nats-server binary tests use: env NATS_SERVER_BIN, then the one scripts/setup.sh builds
 * ($WASMESH_BIN_DIR or ~/.cache/wasmesh/bin), then `nats-server` on PATH, then Debian's
 * /usr/sbin/nats-server. Throws an Error saying how to install it when there is none.
 */
export function findNatsServerBinary(): string {
  return findBinary({
    name: 'nats-server',
    envVar: 'NATS_SERVER_BIN',
    preferred: [setupBuiltBinary('nats-server')],
    fallback: ['/usr/sbin/nats-server'],
    installHint: INSTALL_HINT,
  });
}

/** A nats-server process owned by a test; see {@link NatsServer.start}. */
export class NatsServer implements AsyncDisposable {
  /** Client port; stays the same across {@link restart}. */
  readonly port: number;
  /** JetStream store directory; stays the same across {@link restart}. */
  readonly storeDir: string;
  /** Client URL: `tls://127.0.0.1:<port>`, or `nats://…` for an insecure server. */
  readonly url: string;
  /** The CA that signed the server's certificate (undefined when insecure). */
  readonly caFile: string | undefined;

  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private disposed = false;
  private logText = '';
  private readonly credsCache = new Map<string, Promise<string>>();
  private reloading: Promise<void> = Promise.resolve();

  private constructor(
    private readonly binary: string,
    private readonly tempDir: string,
    private readonly options: NatsServerOptions,
    storeDir: string,
    port: number,
    private readonly security: Security | undefined,
  ) {
    this.storeDir = storeDir;
    this.port = port;
    this.url = `${security ? 'tls' : 'nats'}://127.0.0.1:${port}`;
    this.caFile = security?.tls.caFile;
  }

  /**
   * How a process of `role` reaches `lattice` on this server: the URL, a credentials file and the
   * CA. The lattice's account is added to the server (a config reload) the first time. A host gets
   * a fresh host id (its credentials name it) unless `name` is given; other roles are named after
   * the role unless `name` is given (a provider's name is its provider id).
   */
  async access(lattice: string, role: Role = 'admin', name?: string): Promise<NatsAccess & { servers: string }> {
    const security = this.security;
    if (!security) return { servers: this.url };
    const user = name ?? (role === 'host' ? createNkey(Prefix.Server).getPublicKey() : role);
    return {
      servers: this.url,
      creds: await this.credsFile({ lattice, role, name: user }),
      tlsCa: security.tls.caFile,
    };
  }

  /** Host-group credentials of `lattice` (`creds create --role host --group`): one file for many hosts. */
  hostGroupCreds(lattice: string, group = 'host-group'): Promise<string> {
    return this.credsFile({ lattice, role: 'host', name: group, group: true });
  }

  /** The credentials file issued for `options` (made once per lattice, role, name and kind; secured servers only). */
  private credsFile(options: IssueOptions): Promise<string> {
    const security = this.security;
    if (!security) throw new Error('an open nats-server issues no credentials');
    const { lattice, role, name: user } = options;
    const key = `${lattice}/${role}/${user}${options.group ? '/group' : ''}`;
    let file = this.credsCache.get(key);
    if (!file) {
      file = (async () => {
        if (!security.authority.has(lattice)) {
          security.authority.ensureLattice(lattice);
          await this.reload();
        } else {
          // Another caller may have just added the lattice: its reload must be done first.
          await this.reloading;
        }
        const path_ = path.join(this.tempDir, 'creds', `${key.replaceAll('/', '-')}.creds`);
        await mkdir(path.dirname(path_), { recursive: true });
        writeFileSync(path_, await security.authority.issue(options), { mode: 0o600 });
        return path_;
      })();
      this.credsCache.set(key, file);
    }
    return file;
  }

  /** {@link access} in the shape host and provider processes take (`natsUrl`, `creds`, `tlsCa`). */
  async processAccess(
    lattice: string,
    role: 'host' | 'provider' = 'host',
    name?: string,
  ): Promise<{ natsUrl: string; creds?: string; tlsCa?: string }> {
    const { servers, ...rest } = await this.access(lattice, role, name);
    return { natsUrl: servers, ...rest };
  }

  /** Rewrites the config (new lattices' accounts) and has the running server reload it. */
  private reload(): Promise<void> {
    this.reloading = this.reloading.then(async () => {
      await writeConfig(this.tempDir, this.storeDir, this.options, this.port, this.security);
      const child = this.child;
      if (!child) return;
      const before = countReloads(this.logText);
      child.kill('SIGHUP');
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (countReloads(this.logText) === before) {
        if (Date.now() > deadline) throw new Error(`nats-server did not reload its config:\n${this.logText}`);
        await sleep(POLL_MS);
      }
    });
    return this.reloading;
  }

  /**
   * Starts a nats-server (JetStream on by default) on 127.0.0.1 and resolves once it accepts
   * connections. Rejects with the server's output if it exits during startup or does not listen
   * within 15 s.
   */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    const binary = findNatsServerBinary();
    const tempDir = mkdtempSync(path.join(os.tmpdir(), 'wasmesh-nats-'));
    registry().tempDirs.add(tempDir);
    try {
      const storeDir = options.storeDir ?? path.join(tempDir, 'store');
      const security: Security | undefined =
        (options.insecure ?? SECURE_BY_DEFAULT_PENDING)
          ? undefined
          : {
              authority: LatticeAuthority.open(path.join(tempDir, 'auth')),
              tls: await ensureServerTls(path.join(tempDir, 'tls')),
            };
      const launched = await launch(binary, tempDir, storeDir, options, options.port ?? -1, security);
      const server = new NatsServer(binary, tempDir, options, storeDir, launched.port, security);
      server.adopt(launched);
      return server;
    } catch (err) {
      registry().tempDirs.delete(tempDir);
      await rm(tempDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Process id of the running server (a new one after {@link restart}); undefined when stopped. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The server's stdout and stderr so far, across restarts (the newest 256 KiB): print it when a test fails. */
  logs(): string {
    return this.logText;
  }

  /** Stops the server gracefully (SIGTERM, then SIGKILL after 10 s) and waits for it to exit. Idempotent. */
  async stop(): Promise<void> {
    await this.terminate('SIGTERM');
  }

  /** Kills the server abruptly (SIGKILL), as a crash would, and waits for it to exit. Idempotent. */
  async kill(): Promise<void> {
    await this.terminate('SIGKILL');
  }

  /**
   * Stops the server (if running) and starts it again on the same port with the same JetStream
   * store, resolving once the port accepts connections: connected clients reconnect and streams
   * survive.
   */
  async restart(): Promise<void> {
    if (this.disposed) throw new Error('NatsServer.restart: the server was disposed');
    await this.stop();
    this.adopt(await launch(this.binary, this.tempDir, this.storeDir, this.options, this.port, this.security));
  }

  /** Stops the server and removes its temporary files (not a storeDir the caller passed in). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true;
    await this.stop();
    await rm(this.tempDir, { recursive: true, force: true });
    registry().tempDirs.delete(this.tempDir);
  }

  private adopt(launched: Launched): void {
    const { child } = launched;
    this.child = child;
    this.logText = trimLog(this.logText + launched.output());
    const append = (chunk: Buffer): void => void (this.logText = trimLog(this.logText + chunk.toString()));
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = launched.exited.then(({ code, signal }) => {
      this.logText = trimLog(`${this.logText}[harness] nats-server pid ${child.pid} exited (${signal ?? code})\n`);
      if (this.child === child) this.child = undefined;
    });
    // A server the test forgot to stop must not keep the process alive; the exit hook kills it.
    unrefChild(child);
  }

  private async terminate(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.ref();
    child.kill(signal); // also escalates a stop() in progress when kill() is called
    this.stopping ??= (async () => {
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
        this.stopping = undefined;
      }
    })();
    return this.stopping;
  }
}

interface Launched {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Output captured during startup. */
  output: () => string;
}

/** Writes the config, spawns the server and waits until it listens (ports file + a TCP connect). */
async function launch(
  binary: string,
  tempDir: string,
  storeDir: string,
  options: NatsServerOptions,
  port: number,
  security: Security | undefined,
): Promise<Launched> {
  const portsDir = path.join(tempDir, 'ports');
  await rm(portsDir, { recursive: true, force: true });
  await mkdir(portsDir, { recursive: true });
  const configPath = await writeConfig(tempDir, storeDir, options, port, security);

  const child = spawn(binary, ['-c', configPath, ...(options.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
  const live = registry().processes;
  live.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => void (output = trimLog(output + chunk.toString()));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      output += `[harness] ${err.message}\n`;
      live.delete(child);
      resolve({ code: null, signal: null });
    });
    // 'close' rather than 'exit': all output has been read by then.
    child.once('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });

  let settled = false;
  const failure = (what: string): Error =>
    new Error(`nats-server (${binary}) ${what}; its output:\n${output || '(none)'}\nconfig ${configPath}`);
  const earlyExit = exited.then(({ code, signal }) => {
    if (!settled) throw failure(`exited during startup (${signal ?? `status ${code}`})`);
    return -1;
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(failure(`did not listen within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
  });
  try {
    const ready = (async () => {
      const actual = await waitForPortsFile(portsDir, child, () => settled);
      await waitForConnect(actual, () => settled);
      return actual;
    })();
    const actual = await Promise.race([ready, earlyExit, timeout]);
    if (port !== -1 && actual !== port) throw failure(`listens on port ${actual}, not ${port}`);
    return {
      child,
      port: actual,
      exited,
      output: () => {
        // Hand over to the server's own log buffer.
        child.stdout?.off('data', collect);
        child.stderr?.off('data', collect);
        return output;
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  } finally {
    settled = true;
    clearTimeout(timer);
  }
}

/** Writes the server's config file into `tempDir` and returns its path. */
async function writeConfig(
  tempDir: string,
  storeDir: string,
  options: NatsServerOptions,
  port: number,
  security: Security | undefined,
): Promise<string> {
  const configPath = path.join(tempDir, 'nats.conf');
  const config = renderConfig({ ...options, port, storeDir, portsDir: path.join(tempDir, 'ports') });
  await writeFile(configPath, config + (security ? await security.authority.serverConfig(security.tls) : ''));
  return configPath;
}

/** How many times the server's log says it reloaded its config. */
function countReloads(log: string): number {
  return log.split('Reloaded server configuration').length - 1;
}

/** The nats-server config file (NATS conf syntax; strings are JSON-quoted). */
function renderConfig(c: NatsServerOptions & { port: number; storeDir: string; portsDir: string }): string {
  const lines = [
    'host: "127.0.0.1"',
    `port: ${c.port}`,
    `ports_file_dir: ${JSON.stringify(c.portsDir)}`,
    ...(c.maxPayload !== undefined ? [`max_payload: ${c.maxPayload}`] : []),
  ];
  if (c.jetstream ?? true) {
    lines.push(
      'jetstream {',
      `  store_dir: ${JSON.stringify(c.storeDir)}`,
      '  max_memory_store: 268435456', // 256 MiB
      '  max_file_store: 1073741824', // 1 GiB
      '}',
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * Polls for `<exe>_<pid>.ports`, which nats-server writes once its listeners are open, and returns
 * the client port in it. The file is written non-atomically, so a partial read is retried.
 */
async function waitForPortsFile(portsDir: string, child: ChildProcess, done: () => boolean): Promise<number> {
  const suffix = `_${child.pid}.ports`;
  while (!done()) {
    const name = (await readdir(portsDir)).find((f) => f.endsWith(suffix));
    if (name) {
      try {
        const ports = JSON.parse(await readFile(path.join(portsDir, name), 'utf8')) as { nats?: string[] };
        const port = Number(/:(\d+)$/.exec(ports.nats?.[0] ?? '')?.[1]);
        if (port > 0) return port;
      } catch {
        // Not completely written yet.
      }
    }
    await sleep(POLL_MS);
  }
  return -1;
}

/** Resolves once a TCP connection to 127.0.0.1:port succeeds. */
async function waitForConnect(port: number, done: () => boolean): Promise<void> {
  while (!done()) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(POLL_MS);
  }
}

function unrefChild(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as net.Socket | null)?.unref?.();
}

function trimLog(text: string): string {
  return text.length > MAX_LOG_CHARS ? text.slice(-MAX_LOG_CHARS) : text;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Registry {
  processes: Set<ChildProcess>;
  tempDirs: Set<string>;
}

/** Kills `child` (with SIGKILL) if it is still running when the test process exits. */
export function killOnExit(child: ChildProcess): void {
  const reg = registry();
  reg.processes.add(child);
  child.once('exit', () => reg.processes.delete(child));
}

/**
 * Servers and temp dirs still alive, killed and removed when the process exits. Kept on the real
 * `process`, once per process: under jest the global `process` is a per-test-file copy whose 'exit'
 * listeners never fire, and every test file loads its own copy of this module.
 */
let cachedRegistry: Registry | undefined;
function registry(): Registry {
  if (cachedRegistry) return cachedRegistry;
  const real = vm.runInThisContext('process') as NodeJS.Process;
  const key = Symbol.for('wasmesh.test.natsServerRegistry');
  const holder = real as unknown as Record<symbol, Registry | undefined>;
  let reg = holder[key];
  if (!reg) {
    const created: Registry = { processes: new Set(), tempDirs: new Set() };
    reg = created;
    holder[key] = created;
    real.on('exit', () => {
      for (const child of created.processes) child.kill('SIGKILL');
      for (const dir of created.tempDirs) {
        try {
          rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        } catch {
          // Best effort: a killed server may still be writing into it.
        }
      }
    });
  }
  cachedRegistry = reg;
  return reg;
}
