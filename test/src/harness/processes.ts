/** Finding, starting and stopping the server binaries tests run, and checks on OS processes tests start indirectly. */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { killOnExit } from './nats-server.js';

/**
 * The first executable among: env `envVar` (which must then be executable), `preferred` paths,
 * `name` on PATH, then `fallback` paths. Throws an Error ending in `installHint` when none is.
 */
export function findBinary(options: {
  name: string;
  envVar: string;
  preferred?: string[];
  fallback: string[];
  installHint: string;
}): string {
  const fromEnv = process.env[options.envVar];
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new Error(`${options.envVar}=${fromEnv} is not an executable file; ${options.installHint}`);
  }
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, options.name));
  const candidates = [...(options.preferred ?? []), ...onPath, ...options.fallback];
  const found = candidates.find(isExecutable);
  if (!found) {
    const places = [...(options.preferred ?? []), 'PATH', ...options.fallback].join(', ');
    throw new Error(`${options.name} not found (looked in ${places}); ${options.installHint}`);
  }
  return found;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where scripts/setup.sh puts the server binary `name` it builds: $WASMESH_BIN_DIR, else ~/.cache/wasmesh/bin. */
export function setupBuiltBinary(name: string): string {
  return path.join(process.env.WASMESH_BIN_DIR || path.join(os.homedir(), '.cache', 'wasmesh', 'bin'), name);
}

/** True once `pid` is gone (or a zombie nobody reaped yet). */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false;
  } catch {
    return true;
  }
}

/** Kills `pid` with SIGKILL if it still runs (cleanup after a failed test). */
export function killIfAlive(pid: number | undefined): void {
  if (!pid || isGone(pid)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone meanwhile
  }
}

/** A server process a harness started: its end, and the tail of its output for failure messages. */
export interface LaunchedServer {
  /** Names it in messages (`redis-server`, `etcd`, …). */
  name: string;
  child: ChildProcess;
  /** Resolves once it has exited (or could not be spawned). */
  exited: Promise<void>;
  /** Its output (stdout and stderr) so far, the last `maxLogChars` of it. */
  log: () => string;
}

/**
 * Spawns a server binary with its output kept for failure messages, killed should the test
 * process exit first (every harness server must go with the tests that started it).
 */
export function launchServer(
  name: string,
  binary: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; maxLogChars?: number },
): LaunchedServer {
  const maxLogChars = options.maxLogChars ?? 256 * 1024;
  const child = spawn(binary, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let output = '';
  const collect = (d: Buffer): void => {
    output += d.toString();
    if (output.length > maxLogChars) output = output.slice(-maxLogChars);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      output += `[harness] ${err.message}\n`;
      resolve();
    });
    child.once('close', () => resolve());
  });
  return { name, child, exited, log: () => output };
}

/**
 * Polls `ready` every `pollMs` until it holds; rejects with the server's output when it exits or
 * `timeoutMs` passes first (the caller stops it).
 */
export async function waitReady(
  server: LaunchedServer,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  pollMs = 25,
): Promise<void> {
  let exited = false;
  void server.exited.then(() => (exited = true));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) break;
    if (await ready()) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const what = exited ? 'exited during startup' : `was not ready within ${timeoutMs} ms`;
  throw new Error(`${server.name} ${what}; its output:\n${server.log().slice(-8192) || '(none)'}`);
}

/** Stops `server` if it still runs: SIGTERM, then SIGKILL after `killAfterMs`. */
export async function stopServer(server: LaunchedServer, killAfterMs = 5000): Promise<void> {
  const { child, exited } = server;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Lets the test process exit while `server` runs (its stop() or the exit hook still ends it). */
export function detachServer(server: LaunchedServer): void {
  server.child.unref();
  for (const stream of [server.child.stdout, server.child.stderr])
    (stream as unknown as { unref?: () => void } | null)?.unref?.();
}

/** Starts retried by {@link launchInFreshDir} when a chosen port was taken in between. */
const PORT_ATTEMPTS = 5;
/** How long an {@link OwnedServer}'s stop waits after SIGTERM before it sends SIGKILL. */
const STOP_TIMEOUT_MS = 5_000;

/**
 * Runs `launch` in a new temporary directory named after `prefix`, and again in a fresh one while
 * it fails because a port it picked free was taken in between; a failed attempt's directory goes.
 */
export async function launchInFreshDir<T>(prefix: string, launch: (dir: string) => Promise<T>): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    try {
      return await launch(dir);
    } catch (err) {
      lastError = err;
      await rm(dir, { recursive: true, force: true });
      if (!/address already in use/i.test((err as Error).message)) break;
    }
  }
  throw lastError;
}

/** A server process a test owns with its temporary directory: its output, and one idempotent stop. */
export abstract class OwnedServer implements AsyncDisposable {
  #stopping: Promise<void> | undefined;

  protected constructor(
    protected readonly server: LaunchedServer,
    /** Its temporary directory, removed by {@link stop}. */
    readonly dir: string,
  ) {}

  /** The server's process id (a benchmark reads its CPU time). */
  get pid(): number | undefined {
    return this.server.child.pid;
  }

  /** The server's output so far: print it when a test fails. */
  logs(): string {
    return this.server.log();
  }

  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and what it needed, and removes its directory. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await stopServer(this.server, STOP_TIMEOUT_MS);
      await this.afterStop();
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.#stopping;
  }

  /** Same as {@link stop}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Ends what a subclass ran beside the server (a helper service); called once the server is gone. */
  protected async afterStop(): Promise<void> {}
}
