/**
 * Capability providers supervised by a host. A provider is a separate OS process (Node.js running
 * the provider's JavaScript entry module) that the host starts on `provider.start`, watches and
 * stops:
 *
 * - start: the entry module (`builtin:<name>` = the installed package `@wasmesh/provider-<name>`,
 *   else a path) is spawned in its own process group with a clean environment (PATH, HOME,
 *   WASMESH_LOG_LEVEL, OTEL_* and the `WASMESH_*` bootstrap variables, nothing else). Its stdout
 *   and stderr go to the host log, tagged with the provider id. The start is done once the
 *   provider has registered (its provider_started event, or its ProviderRecord naming its pid);
 *   a process that exits first fails the start with its exit status and the tail of its stderr.
 * - supervision: a provider that exits without being asked to is restarted with exponential
 *   backoff (250 ms doubling to 10 s; back to 250 ms after a minute of healthy running), with
 *   provider_health events (unhealthy with the exit reason, healthy once it is back). While it
 *   runs, it is asked for its health every `healthMs`; a change is published as provider_health.
 * - stop: SIGTERM to the process group, SIGKILL after `stopTimeoutMs`; provider_stopped is
 *   published for a provider that did not announce its own stop, and a record it left behind is
 *   removed. Host drain stops every provider.
 *
 * A provider's stdin is a pipe the host never writes to: it reaches end-of-file when the host
 * dies, even from SIGKILL, so a provider that stops on stdin EOF never outlives its host.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import {
  checkToken,
  controlRequest,
  decode,
  decodeEvent,
  isWasmeshError,
  WasmeshError,
  type EventBodies,
  type EventType,
  type FileJail,
  type LatticeEvent,
  type LinkState,
  type Logger,
  type Subjects,
} from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import type { ProviderAccess } from './provider-credentials.js';

/** First delay before restarting a provider that exited. */
export const RESTART_BACKOFF_MIN_MS = 250;
/** Longest delay between restarts. */
export const RESTART_BACKOFF_MAX_MS = 10_000;
/** A provider that ran this long since it registered restarts with the shortest delay again. */
export const RESTART_BACKOFF_RESET_MS = 60_000;
/** Lines of a provider's stderr kept for error messages. */
const STDERR_TAIL_LINES = 20;
/** Longest line kept in the stderr tail. */
const STDERR_TAIL_LINE_CHARS = 500;
/** How often the providers bucket is read while waiting for a provider to register. */
const REGISTRATION_POLL_MS = 250;
/** How long to wait for a stopping provider's own provider_stopped event after it exited. */
const STOPPED_EVENT_GRACE_MS = 300;
/** How long to wait for the rest of a provider's output after it exited. */
const OUTPUT_GRACE_MS = 500;

/** Most named configs a provider is started with (each is read from KV before the start). */
const MAX_PROVIDER_CONFIGS = 32;

const BUILTIN = /^builtin:([a-z][a-z0-9-]{0,62})$/;
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The directory of installed package `name`, found where `@wasmesh/host` resolves packages. */
function packageDir(name: string): string | undefined {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths(name) ?? []) {
    const candidate = path.join(dir, name);
    if (isFile(path.join(candidate, 'package.json'))) return realpathSync(candidate);
  }
  return undefined;
}

/**
 * The JavaScript entry module of a provider reference: `builtin:<name>` is `dist/main.js` of the
 * installed package `@wasmesh/provider-<name>`; a path (absolute, or relative to the host's cwd) or
 * a `file://` URL is the module itself, started only when `jail` allows it (a regular file inside
 * an allowed directory; its real path is returned, so a link cannot be swapped in later).
 * `WASMESH_ERR_NOT_FOUND` when there is no such module, `WASMESH_ERR_PERMISSION_DENIED` for a
 * path outside the allowed directories, `WASMESH_ERR_BAD_REQUEST` for any other kind of reference.
 */
export async function resolveProviderEntry(ref: string, jail: FileJail): Promise<string> {
  if (ref.startsWith('builtin:')) {
    const name = BUILTIN.exec(ref)?.[1];
    if (!name) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `invalid provider reference "${ref}": builtin:<name> takes a lower-case name, e.g. builtin:keyvalue`,
        { details: { ref } },
      );
    }
    const pkg = `@wasmesh/provider-${name}`;
    const dir = packageDir(pkg);
    if (!dir) {
      throw new WasmeshError(
        'WASMESH_ERR_NOT_FOUND',
        `no first-party provider "${name}": the package ${pkg} is not installed on this host`,
        { details: { ref, package: pkg } },
      );
    }
    const entry = path.join(dir, 'dist', 'main.js');
    if (!isFile(entry)) {
      throw new WasmeshError(
        'WASMESH_ERR_NOT_FOUND',
        `the provider package ${pkg} is installed but not built: ${entry} is missing (run npm run build)`,
        { details: { ref, package: pkg, entry } },
      );
    }
    return entry;
  }
  let file: string;
  if (ref.startsWith('file://')) {
    try {
      file = fileURLToPath(ref);
    } catch (err) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `invalid provider reference "${ref}": ${(err as Error).message}`,
        {
          cause: err,
          details: { ref },
        },
      );
    }
  } else if (SCHEME.test(ref) && !/^[A-Za-z]:[\\/]/.test(ref)) {
    throw new WasmeshError(
      'WASMESH_ERR_BAD_REQUEST',
      `unsupported provider reference "${ref}": use builtin:<name> or the path of a provider's JavaScript entry module`,
      { details: { ref } },
    );
  } else {
    if (!ref) throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'start-provider request without an artifact reference');
    file = ref;
  }
  return jail.resolveFile(file, 'provider entry module');
}

/** The provider given application-subject (`app`) credentials: it bridges them to actors. */
const APP_BRIDGE_PROVIDER = 'builtin:messaging';

/** What the bootstrap environment of a provider says. */
export interface ProviderBootstrap {
  natsUrls: string[];
  /** Its own credentials and the server's CA (never the host's credentials). */
  access: ProviderAccess;
  lattice: string;
  providerId: string;
  hostId: string;
  artifactRef: string;
  config: string[];
}

/**
 * The clean environment of a provider process: PATH, HOME, WASMESH_LOG_LEVEL and the OTEL_*
 * variables of `base` (not OTEL_SERVICE_NAME, the provider names itself), plus the bootstrap
 * variables. Nothing else of the host's environment (NODE_OPTIONS, credentials…) is passed on.
 */
export function providerEnvironment(base: NodeJS.ProcessEnv, b: ProviderBootstrap): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'WASMESH_LOG_LEVEL']) {
    const v = base[name];
    if (v !== undefined) env[name] = v;
  }
  for (const [name, v] of Object.entries(base)) {
    if (name.startsWith('OTEL_') && name !== 'OTEL_SERVICE_NAME' && v !== undefined) env[name] = v;
  }
  return {
    ...env,
    WASMESH_NATS_URL: b.natsUrls.join(','),
    ...(b.access.creds ? { WASMESH_NATS_CREDS: b.access.creds } : {}),
    ...(b.access.appCreds ? { WASMESH_APP_NATS_CREDS: b.access.appCreds } : {}),
    ...(b.access.tlsCa ? { WASMESH_NATS_CA: b.access.tlsCa } : {}),
    WASMESH_LATTICE: b.lattice,
    WASMESH_PROVIDER_ID: b.providerId,
    WASMESH_HOST_ID: b.hostId,
    WASMESH_PROVIDER_REF: b.artifactRef,
    WASMESH_PROVIDER_CONFIG: b.config.join(','),
  };
}

/** Sends `signal` to the process group led by `pid`; false when the group is gone. */
function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  // Never 0 (this process's own group) or a negative number.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

const PINO_LEVELS: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/**
 * Logs one output line of a provider: its pino JSON lines at their level with their fields (but
 * not those `log` already binds, such as the provider id, which would be duplicated), other lines
 * as text (stdout at info, stderr at warn).
 */
function relayLine(log: Logger, stream: 'stdout' | 'stderr', line: string): void {
  if (!line.trim()) return;
  if (line.startsWith('{')) {
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      const level = typeof parsed.level === 'number' ? PINO_LEVELS[parsed.level] : undefined;
      if (level) {
        const bound = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component', ...Object.keys(log.bindings())]);
        const fields = Object.fromEntries(Object.entries(parsed).filter(([k]) => !bound.has(k)));
        log[level]({ ...fields, stream }, typeof parsed.msg === 'string' ? parsed.msg : '');
        return;
      }
    } catch {
      // not JSON: logged as text below
    }
  }
  if (stream === 'stdout') log.info({ stream }, line);
  else log.warn({ stream }, line);
}

/** How a process ended, for messages: `exit status 3`, `signal SIGKILL`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit status ${code ?? 'unknown'}`;
}

/** Lifecycle states of a supervised provider. */
export type ProviderState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

/** What a supervised provider needs from its host. */
export interface ProviderHostEnv {
  nc: NatsConnection;
  subjects: Subjects;
  hostId: string;
  natsUrls: string[];
  /** Credentials of each provider id (minted by the host, see provider-credentials.ts). */
  access: (providerId: string, app: boolean) => Promise<ProviderAccess>;
  logger: Logger;
  /** Where provider entry modules may be started from. */
  jail: FileJail;
  /** The lattice's provider registry (and config). */
  state: () => Promise<LinkState>;
  /** Publishes a lattice event from the host. */
  publish: <T extends EventType>(type: T, data: EventBodies[T]) => void;
  healthMs: number;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  /** Where the provider's environment comes from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A provider as a host describes it (inventory, tests). */
export interface ProviderDescription {
  providerId: string;
  artifactRef: string;
  entry: string;
  config: string[];
  state: ProviderState;
  pid: number;
  healthy: boolean;
  message: string;
  restarts: number;
  startedAtMs: number;
}

/** One process of a provider. */
interface Instance {
  child: ChildProcess;
  pid: number;
  spawnedAtMs: number;
  registeredAtMs: number;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once its stdout and stderr have ended (or shortly after it exited). */
  outputDone: Promise<void>;
  stderrTail: string[];
  /** Called when it registered. */
  onRegistered: (() => void) | undefined;
  /** Whether its own provider_stopped event was seen. */
  announcedStop: boolean;
}

/** A provider this host supervises. */
export class SupervisedProvider {
  #state: ProviderState = 'starting';
  #instance: Instance | undefined;
  #restarts = 0;
  #failures = 0;
  #healthy = true;
  #message = '';
  #restartTimer: NodeJS.Timeout | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #checking = false;
  #stopping: Promise<void> | undefined;
  #abortStart: ((err: WasmeshError) => void) | undefined;
  readonly #log: Logger;
  readonly startedAtMs = Date.now();

  constructor(
    readonly id: string,
    readonly artifactRef: string,
    /** The resolved entry module. */
    readonly entry: string,
    readonly config: readonly string[],
    private readonly env: ProviderHostEnv,
    private readonly access: ProviderAccess,
  ) {
    this.#log = env.logger.child({ provider: id });
  }

  /** The lifecycle state. */
  get state(): ProviderState {
    return this.#state;
  }

  /** The process id of the current process (0 when none runs). */
  get pid(): number {
    return this.#instance && !this.#instance.exit ? this.#instance.pid : 0;
  }

  /** How often it was restarted after exiting on its own. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Whether its last health check (or its process) said it is healthy. */
  get healthy(): boolean {
    return this.#healthy;
  }

  describe(): ProviderDescription {
    return {
      providerId: this.id,
      artifactRef: this.artifactRef,
      entry: this.entry,
      config: [...this.config],
      state: this.#state,
      pid: this.pid,
      healthy: this.#healthy,
      message: this.#message,
      restarts: this.#restarts,
      startedAtMs: this.startedAtMs,
    };
  }

  /**
   * Spawns the provider and resolves once it has registered. Rejects (and leaves nothing running)
   * when it exits first (`WASMESH_ERR_PROVIDER_FAILED` with its exit status and stderr), does not
   * register in time (`WASMESH_ERR_TIMEOUT`), or is stopped meanwhile.
   */
  async start(): Promise<void> {
    const inst = this.#spawn();
    try {
      await this.#registration(inst);
      // It may have exited right after it registered.
      if (inst.exit) throw this.#exitedError(inst, 'right after it registered');
    } catch (err) {
      if (this.#state === 'starting') this.#state = 'stopped';
      killGroup(inst.pid, 'SIGKILL');
      await inst.exited;
      throw err;
    }
    this.#state = 'running';
    this.#startHealthChecks();
    this.#log.info({ pid: inst.pid, ref: this.artifactRef }, 'provider started');
  }

  /**
   * Stops it: SIGTERM to its process group, SIGKILL after the stop timeout, then provider_stopped
   * (unless the provider announced its stop itself) and removal of a record it left behind.
   * Idempotent; resolves once nothing of it runs.
   */
  stop(reason: string): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  /** Handles a lattice event about providers (dispatched by the supervisor). */
  onEvent(e: LatticeEvent): void {
    const inst = this.#instance;
    if (!inst) return;
    if (e.type === 'provider_started') {
      const rec = e.data.provider;
      if (rec?.providerId === this.id && this.#isOurs(rec, inst)) inst.onRegistered?.();
    } else if (e.type === 'provider_stopped') {
      if (e.data.providerId === this.id && (!e.data.hostId || e.data.hostId === this.env.hostId)) {
        inst.announcedStop = true;
      }
    }
  }

  /** Whether a provider record names `inst`: its pid, or this host when it gives no pid. */
  #isOurs(rec: lattice.IProviderRecord, inst: Instance): boolean {
    return rec.instance ? rec.instance === inst.pid : rec.hostId === this.env.hostId;
  }

  #spawn(): Instance {
    const env = providerEnvironment(this.env.env ?? process.env, {
      natsUrls: this.env.natsUrls,
      access: this.access,
      lattice: this.env.subjects.lattice,
      providerId: this.id,
      hostId: this.env.hostId,
      artifactRef: this.artifactRef,
      config: [...this.config],
    });
    const child = spawn(process.execPath, [this.entry], {
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (err) => {
        // Spawning failed (no pid, no 'exit'): report it as an exit.
        if (child.pid === undefined) {
          inst.stderrTail.push(`cannot spawn ${process.execPath}: ${err.message}`);
          resolve({ code: null, signal: null });
        }
      });
    });
    const inst: Instance = {
      child,
      pid: child.pid ?? 0,
      spawnedAtMs: Date.now(),
      registeredAtMs: 0,
      exit: undefined,
      exited,
      outputDone: Promise.resolve(),
      stderrTail: [],
      onRegistered: undefined,
      announcedStop: false,
    };
    // Nothing is written to stdin; it reaches EOF when the host dies. A provider that exits
    // closes the pipe, which must not crash the host.
    child.stdin?.on('error', () => undefined);
    const ended = (stream: Readable | null, name: 'stdout' | 'stderr'): Promise<void> => {
      if (!stream) return Promise.resolve();
      const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
      lines.on('line', (line) => {
        relayLine(this.#log, name, line);
        if (name === 'stderr') {
          inst.stderrTail.push(
            line.length > STDERR_TAIL_LINE_CHARS ? `${line.slice(0, STDERR_TAIL_LINE_CHARS)}…` : line,
          );
          if (inst.stderrTail.length > STDERR_TAIL_LINES) inst.stderrTail.shift();
        }
      });
      return new Promise((resolve) => lines.once('close', resolve));
    };
    const output = Promise.all([ended(child.stdout, 'stdout'), ended(child.stderr, 'stderr')]).then(() => undefined);
    // A grandchild holding the pipes open must not hold up the error message.
    inst.outputDone = Promise.race([
      output,
      exited.then(() => new Promise<void>((r) => setTimeout(r, OUTPUT_GRACE_MS).unref())),
    ]);
    void exited.then((exit) => {
      inst.exit = exit;
      this.#onExit(inst);
    });
    this.#instance = inst;
    this.#log.debug({ pid: inst.pid, entry: this.entry }, 'provider process spawned');
    return inst;
  }

  /** Resolves once `inst` registered; rejects when it exits first, takes too long, or a stop aborts it. */
  async #registration(inst: Instance): Promise<void> {
    const { startTimeoutMs } = this.env;
    let poll: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        inst.onRegistered = () => {
          inst.registeredAtMs = Date.now();
          resolve();
        };
        this.#abortStart = reject;
        timer = setTimeout(
          () =>
            reject(
              new WasmeshError(
                'WASMESH_ERR_TIMEOUT',
                `provider "${this.id}" did not register within ${startTimeoutMs} ms${this.#stderrSuffix(inst)}`,
                { details: { provider: this.id, host: this.env.hostId, timeoutMs: startTimeoutMs, pid: inst.pid } },
              ),
            ),
          startTimeoutMs,
        );
        void inst.exited.then(async () => {
          await inst.outputDone;
          reject(this.#exitedError(inst, 'before it registered'));
        });
        // The record may be written without (or before) the event: read it now and then.
        const check = async (): Promise<void> => {
          try {
            const rec = await (await this.env.state()).providers.get(this.id);
            if (rec && this.#isOurs(rec, inst)) inst.onRegistered?.();
          } catch {
            // The bucket is unavailable for now; the event may still come.
          }
          if (!inst.registeredAtMs && !inst.exit) poll = setTimeout(() => void check(), REGISTRATION_POLL_MS);
        };
        poll = setTimeout(() => void check(), REGISTRATION_POLL_MS);
      });
    } finally {
      clearTimeout(poll);
      clearTimeout(timer);
      inst.onRegistered = undefined;
      this.#abortStart = undefined;
    }
  }

  /** `WASMESH_ERR_PROVIDER_FAILED` for an instance that exited, with its exit status and stderr. */
  #exitedError(inst: Instance, when: string): WasmeshError {
    const { code, signal } = inst.exit ?? { code: null, signal: null };
    return new WasmeshError(
      'WASMESH_ERR_PROVIDER_FAILED',
      `provider "${this.id}" (${this.entry}) exited ${when} (${describeExit(code, signal)})${this.#stderrSuffix(inst)}`,
      {
        details: {
          provider: this.id,
          host: this.env.hostId,
          exitCode: code,
          signal: signal ?? '',
          stderr: inst.stderrTail.join('\n'),
        },
      },
    );
  }

  #stderrSuffix(inst: Instance): string {
    const tail = inst.stderrTail.slice(-5).join(' | ');
    return tail ? `; its stderr ends: ${tail}` : '; it wrote nothing on stderr';
  }

  #onExit(inst: Instance): void {
    // Whatever it left in its group goes with it.
    killGroup(inst.pid, 'SIGKILL');
    if (inst !== this.#instance) return;
    const { code, signal } = inst.exit!;
    // In `restarting`, the current instance is a restarted one that has not taken over yet.
    if (this.#state === 'running' || this.#state === 'restarting') this.#crashed(inst, describeExit(code, signal));
    // starting: the start fails; stopping: the stop goes on.
  }

  /** The provider exited (or never registered) without being asked to: restart it after a backoff. */
  #crashed(inst: Instance, why: string): void {
    this.#stopHealthChecks();
    if (inst.registeredAtMs && Date.now() - inst.registeredAtMs >= RESTART_BACKOFF_RESET_MS) this.#failures = 0;
    const delay = Math.min(RESTART_BACKOFF_MIN_MS * 2 ** this.#failures, RESTART_BACKOFF_MAX_MS);
    this.#failures++;
    this.#state = 'restarting';
    const tail = inst.stderrTail.at(-1);
    this.#setHealth(
      false,
      `provider process ${inst.pid} exited unexpectedly (${why})${tail ? `, last stderr line: ${tail}` : ''}; restarting in ${delay} ms`,
      true,
    );
    this.#log.warn(
      { pid: inst.pid, exit: why, delayMs: delay, restarts: this.#restarts },
      'provider exited; restarting',
    );
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => void this.#restart(), delay);
  }

  async #restart(): Promise<void> {
    if (this.#state !== 'restarting') return;
    this.#restarts++;
    const inst = this.#spawn();
    try {
      await this.#registration(inst);
    } catch (err) {
      if (this.#state !== 'restarting' || inst !== this.#instance) return;
      if (isWasmeshError(err, 'WASMESH_ERR_TIMEOUT')) {
        // Alive but not registered: kill it; its exit schedules the next attempt.
        this.#log.warn({ pid: inst.pid }, 'restarted provider did not register; killing it');
        killGroup(inst.pid, 'SIGKILL');
      }
      // An exit was handled by #onExit already.
      return;
    }
    // A stop began, or it exited again right after registering (its exit scheduled the next try).
    if (this.#state !== 'restarting' || inst !== this.#instance || inst.exit) return;
    this.#state = 'running';
    this.#setHealth(true, `restarted (restart ${this.#restarts}, pid ${inst.pid})`, true);
    this.#log.info({ pid: inst.pid, restarts: this.#restarts }, 'provider restarted');
    this.#startHealthChecks();
  }

  /** Records the health and publishes provider_health when it changed (or when `always`). */
  #setHealth(healthy: boolean, message: string, always = false): void {
    const changed = healthy !== this.#healthy;
    this.#healthy = healthy;
    this.#message = message;
    if (!changed && !always) return;
    this.env.publish('provider_health', {
      providerId: this.id,
      hostId: this.env.hostId,
      healthy,
      message,
      restarts: this.#restarts,
    });
  }

  #startHealthChecks(): void {
    this.#stopHealthChecks();
    this.#healthTimer = setInterval(() => void this.#checkHealth(), this.env.healthMs);
  }

  #stopHealthChecks(): void {
    clearInterval(this.#healthTimer);
    this.#healthTimer = undefined;
  }

  async #checkHealth(): Promise<void> {
    if (this.#checking || this.#state !== 'running') return;
    this.#checking = true;
    const inst = this.#instance;
    let healthy: boolean;
    let message: string;
    try {
      const body = await controlRequest(this.env.nc, this.env.subjects.providerHealth(this.id), new Uint8Array(), {
        timeoutMs: Math.max(1000, Math.min(this.env.healthMs, 5000)),
        what: `health check of provider ${this.id}`,
        context: { provider: this.id },
      });
      const h = decode(lattice.ProviderHealth, body, `health of provider ${this.id}`);
      healthy = h.healthy;
      message = h.message || (h.healthy ? 'healthy' : 'unhealthy');
    } catch (err) {
      healthy = false;
      message = err instanceof WasmeshError ? `health check failed: ${err.toLine()}` : String(err);
    } finally {
      this.#checking = false;
    }
    // The answer is stale when the process changed or a stop began meanwhile.
    if (this.#state !== 'running' || inst !== this.#instance) return;
    if (healthy !== this.#healthy) this.#log.warn({ healthy, message }, 'provider health changed');
    this.#setHealth(healthy, message);
  }

  async #stop(reason: string): Promise<void> {
    const wasStarting = this.#state === 'starting';
    this.#state = 'stopping';
    clearTimeout(this.#restartTimer);
    this.#stopHealthChecks();
    if (wasStarting) {
      this.#abortStart?.(
        new WasmeshError('WASMESH_ERR_CONFLICT', `provider "${this.id}" was stopped while it was starting`, {
          details: { provider: this.id, host: this.env.hostId },
        }),
      );
    }
    const inst = this.#instance;
    if (inst && !inst.exit) {
      killGroup(inst.pid, 'SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([
        inst.exited.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.env.stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!gone) {
        this.#log.warn({ pid: inst.pid, timeoutMs: this.env.stopTimeoutMs }, 'provider ignored SIGTERM; killing it');
        killGroup(inst.pid, 'SIGKILL');
        await inst.exited;
      }
      killGroup(inst.pid, 'SIGKILL');
      if (!inst.announcedStop) await new Promise((r) => setTimeout(r, STOPPED_EVENT_GRACE_MS));
    }
    if (!inst?.announcedStop) {
      this.env.publish('provider_stopped', { providerId: this.id, hostId: this.env.hostId, reason });
    }
    if (inst) await this.#removeRecordOf(inst);
    this.#state = 'stopped';
    this.#log.info({ reason, pid: inst?.pid }, 'provider stopped');
  }

  /** Deletes the provider's record when it is still the one `inst` wrote (it died without cleaning up). */
  async #removeRecordOf(inst: Instance): Promise<void> {
    try {
      const { providers } = await this.env.state();
      const rec = await providers.get(this.id);
      if (rec && rec.instance === inst.pid && (!rec.hostId || rec.hostId === this.env.hostId)) {
        await providers.delete(this.id);
      }
    } catch (err) {
      this.#log.warn({ err }, 'cannot remove the record of a stopped provider');
    }
  }
}

/** The providers of one host: starts, stops and watches them. */
export class ProviderSupervisor {
  #events: Subscription[] = [];

  constructor(
    /** Providers by id (the host's `providers`). */
    readonly providers: Map<string, SupervisedProvider>,
    private readonly env: ProviderHostEnv,
  ) {}

  /** Subscribes to the provider events the supervised providers wait for. */
  listen(): void {
    for (const type of ['provider_started', 'provider_stopped'] as const) {
      this.#events.push(
        this.env.nc.subscribe(this.env.subjects.eventsOf(type), {
          callback: (err, msg) => {
            if (err) return;
            let e: LatticeEvent;
            try {
              e = decodeEvent(msg.data, msg.subject);
            } catch {
              return;
            }
            const id =
              e.type === 'provider_started'
                ? e.data.provider?.providerId
                : e.type === 'provider_stopped'
                  ? e.data.providerId
                  : undefined;
            if (id) this.providers.get(id)?.onEvent(e);
          },
        }),
      );
    }
  }

  /** Handles `provider.start`: resolves with the acknowledgement once the provider registered. */
  async start(req: lattice.IStartProviderRequest): Promise<string> {
    const id = checkToken('provider id', req.providerId ?? '');
    const ref = req.artifactRef ?? '';
    if (!ref) throw new WasmeshError('WASMESH_ERR_BAD_REQUEST', 'start-provider request without an artifact reference');
    if ((req.config?.length ?? 0) > MAX_PROVIDER_CONFIGS) {
      throw new WasmeshError(
        'WASMESH_ERR_BAD_REQUEST',
        `start-provider request for "${id}" names ${req.config?.length} configs, more than ${MAX_PROVIDER_CONFIGS}`,
        { details: { provider: id, count: req.config?.length, limit: MAX_PROVIDER_CONFIGS } },
      );
    }
    const config = [...(req.config ?? [])].map((n) => checkToken('config name', n));
    let existing = this.providers.get(id);
    if (existing && existing.state === 'stopping') {
      await existing.stop('stop requested');
      if (this.providers.get(id) === existing) this.providers.delete(id);
      existing = this.providers.get(id);
    }
    if (existing) {
      if (existing.artifactRef !== ref || existing.config.join(',') !== config.join(',')) {
        throw new WasmeshError(
          'WASMESH_ERR_CONFLICT',
          `provider "${id}" already runs ${existing.artifactRef}${existing.config.length ? ` with config ${existing.config.join(',')}` : ''} on host ${this.env.hostId}; stop it first`,
          { details: { provider: id, host: this.env.hostId, running: existing.artifactRef, requested: ref } },
        );
      }
      return `provider ${id} already running on host ${this.env.hostId} (${existing.state}, pid ${existing.pid})`;
    }
    const entry = await resolveProviderEntry(ref, this.env.jail);
    if (config.length > 0) {
      const state = await this.env.state();
      for (const name of config) {
        if (!(await state.config.get(name))) {
          throw new WasmeshError(
            'WASMESH_ERR_NOT_FOUND',
            `cannot start provider "${id}": no config named "${name}" (create it with \`wasmesh config put ${name} key=value\`)`,
            { details: { provider: id, config: name } },
          );
        }
      }
    }
    // A concurrent start of the same id may have won while the config was read.
    if (this.providers.has(id)) return this.start(req);
    const access = await this.env.access(id, ref === APP_BRIDGE_PROVIDER);
    if (this.providers.has(id)) return this.start(req);
    const provider = new SupervisedProvider(id, ref, entry, config, this.env, access);
    this.providers.set(id, provider);
    try {
      await provider.start();
    } catch (err) {
      if (this.providers.get(id) === provider) this.providers.delete(id);
      throw err;
    }
    return `provider ${id} started on host ${this.env.hostId} (pid ${provider.pid})`;
  }

  /** Handles `provider.stop`. */
  async stop(req: lattice.IStopProviderRequest, reason = 'stop requested'): Promise<string> {
    const id = checkToken('provider id', req.providerId ?? '');
    const provider = this.providers.get(id);
    if (!provider) {
      throw new WasmeshError('WASMESH_ERR_NOT_FOUND', `provider "${id}" is not running on host ${this.env.hostId}`, {
        details: { provider: id, host: this.env.hostId },
      });
    }
    await provider.stop(reason);
    if (this.providers.get(id) === provider) this.providers.delete(id);
    return `provider ${id} stopped on host ${this.env.hostId}`;
  }

  /** Stops every provider (host drain). */
  async stopAll(reason: string): Promise<void> {
    await Promise.all(
      [...this.providers.values()].map(async (p) => {
        await p.stop(reason);
        if (this.providers.get(p.id) === p) this.providers.delete(p.id);
      }),
    );
  }

  /** Stops listening for provider events. */
  close(): void {
    for (const sub of this.#events.splice(0)) sub.unsubscribe();
  }
}
