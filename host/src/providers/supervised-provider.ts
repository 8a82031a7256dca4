/**
 * A provider a host supervises, in either mode (see instance.ts):
 *
 * - start: an instance is launched (a process, or the provider inside the host process); the start
 *   is done once it has registered (its provider_started event, or its ProviderRecord naming its
 *   pid and this host). An instance that ends first fails the start with its exit status and the
 *   tail of its stderr, or its failure.
 * - supervision: an instance that ends without being asked to is replaced with exponential backoff
 *   (250 ms doubling to 10 s; back to 250 ms after a minute of healthy running), with
 *   provider_health events (unhealthy with the reason, healthy once it is back). While it runs, it
 *   is asked for its health every `healthMs`; a change is published as provider_health.
 * - stop: the instance is asked to stop (SIGTERM, or the provider's drain) and ended after
 *   `stopTimeoutMs`; provider_stopped is published for a provider that did not announce its own
 *   stop, and a record it left behind is removed. Host drain stops every provider.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import {
  controlRequest,
  decode,
  isWasmeshError,
  WasmeshError,
  type EventBodies,
  type EventType,
  type FileJail,
  type LatticeEvent,
  type LinkState,
  type LocalDispatch,
  type Logger,
  type ProviderMode,
  type Subjects,
} from '@wasmesh/lattice';
import { lattice } from '@wasmesh/proto';
import type { ProviderAccess } from './credentials.js';
import { providerEnvironment } from './environment.js';
import { startInProcess } from './in-process-instance.js';
import { describeExit, type ProviderInstance } from './instance.js';
import { spawnProviderProcess } from './process-instance.js';
import { codeLocation } from './reference.js';

/** First delay before restarting a provider that ended. */
export const RESTART_BACKOFF_MIN_MS = 250;
/** Longest delay between restarts. */
export const RESTART_BACKOFF_MAX_MS = 10_000;
/** A provider that ran this long since it registered restarts with the shortest delay again. */
export const RESTART_BACKOFF_RESET_MS = 60_000;
/** How often the providers bucket is read while waiting for a provider to register. */
const REGISTRATION_POLL_MS = 250;
/** How long to wait for a stopping provider's own provider_stopped event after it ended. */
const STOPPED_EVENT_GRACE_MS = 300;

/** Lifecycle states of a supervised provider. */
export type ProviderState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped';

/** What a supervised provider needs from its host. */
export interface ProviderHostEnv {
  nc: NatsConnection;
  subjects: Subjects;
  hostId: string;
  natsUrls: string[];
  /** Credentials of each provider id (minted by the host, see credentials.ts). */
  access: (providerId: string, app: boolean) => Promise<ProviderAccess>;
  logger: Logger;
  /** Where provider entry modules may be started from. */
  jail: FileJail;
  /** The lattice's provider registry (and config). */
  state: () => Promise<LinkState>;
  /** Publishes a lattice event from the host. */
  publish: <T extends EventType>(type: T, data: EventBodies[T]) => void;
  /** The host's local dispatch, joined by in-process providers (absent when turned off). */
  local: LocalDispatch | undefined;
  /** The mode of a built-in provider whose start request names none. */
  defaultMode: ProviderMode;
  healthMs: number;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  /** Where the provider's environment comes from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Where provider processes serve their metrics (see HostOptions.providerMetricsListen). */
  metricsListen?: string | undefined;
}

/** A provider as a host describes it (inventory, tests). */
export interface ProviderDescription {
  providerId: string;
  artifactRef: string;
  /** The module it runs: the entry module of a process, the package module in-process. */
  entry: string;
  config: string[];
  state: ProviderState;
  mode: ProviderMode;
  pid: number;
  healthy: boolean;
  message: string;
  restarts: number;
  startedAtMs: number;
}

/** A provider this host supervises. */
export class SupervisedProvider {
  #state: ProviderState = 'starting';
  #instance: ProviderInstance | undefined;
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
    readonly mode: ProviderMode,
    /** The resolved module: the entry module of a process, the package module in-process. */
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

  /** The process id serving it (the host's own in-process; 0 when none runs). */
  get pid(): number {
    return this.#instance && !this.#instance.exit ? this.#instance.pid : 0;
  }

  /** How often it was restarted after ending on its own. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Whether its last health check (or its instance) said it is healthy. */
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
      mode: this.mode,
      pid: this.pid,
      healthy: this.#healthy,
      message: this.#message,
      restarts: this.#restarts,
      startedAtMs: this.startedAtMs,
    };
  }

  /**
   * Launches the provider and resolves once it has registered. Rejects (and leaves nothing running)
   * when it ends first (`WASMESH_ERR_PROVIDER_FAILED` with its exit status and stderr, or its
   * failure), does not register in time (`WASMESH_ERR_TIMEOUT`), or is stopped meanwhile.
   */
  async start(): Promise<void> {
    const inst = this.#launch();
    try {
      await this.#registration(inst);
      // It may have ended right after it registered.
      if (inst.exit) throw this.#endedError(inst, 'right after it registered');
    } catch (err) {
      if (this.#state === 'starting') this.#state = 'stopped';
      inst.kill();
      await inst.exited;
      throw err;
    }
    this.#state = 'running';
    this.#startHealthChecks();
    this.#log.info({ pid: inst.pid, mode: this.mode, ref: this.artifactRef }, 'provider started');
  }

  /**
   * Stops it: asks its instance to stop, ends it after the stop timeout, then provider_stopped
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

  /** Whether a provider record names `inst`: its pid and this host (or this host, when it gives no pid). */
  #isOurs(rec: lattice.IProviderRecord, inst: ProviderInstance): boolean {
    const hostMatches = !rec.hostId || rec.hostId === this.env.hostId;
    return rec.instance ? rec.instance === inst.pid && hostMatches : rec.hostId === this.env.hostId;
  }

  #launch(): ProviderInstance {
    const env = providerEnvironment(this.env.env ?? process.env, {
      natsUrls: this.env.natsUrls,
      access: this.access,
      lattice: this.env.subjects.lattice,
      providerId: this.id,
      hostId: this.env.hostId,
      artifactRef: this.artifactRef,
      config: [...this.config],
      ...(this.mode === 'process' && this.env.metricsListen ? { metricsListen: this.env.metricsListen } : {}),
    });
    const onExit = (inst: ProviderInstance): void => this.#onExit(inst);
    const inst =
      this.mode === 'in-process'
        ? startInProcess(
            {
              module: this.entry,
              location: codeLocation(this.artifactRef, this.entry),
              env,
              logger: this.#log,
              local: this.env.local,
            },
            onExit,
          )
        : spawnProviderProcess(this.entry, env, this.#log, onExit);
    this.#instance = inst;
    return inst;
  }

  /** Resolves once `inst` registered; rejects when it ends first, takes too long, or a stop aborts it. */
  async #registration(inst: ProviderInstance): Promise<void> {
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
                `provider "${this.id}" did not register within ${startTimeoutMs} ms${this.#tailSuffix(inst)}`,
                { details: { provider: this.id, host: this.env.hostId, timeoutMs: startTimeoutMs, pid: inst.pid } },
              ),
            ),
          startTimeoutMs,
        );
        void inst.exited.then(async () => {
          await inst.outputDone;
          reject(this.#endedError(inst, 'before it registered'));
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

  /** `WASMESH_ERR_PROVIDER_FAILED` for an instance that ended, with how it ended and its last words. */
  #endedError(inst: ProviderInstance, when: string): WasmeshError {
    const exit = inst.exit ?? { code: null, signal: null };
    const how = inst.mode === 'process' ? `exited ${when} (${describeExit(exit)})` : `${describeExit(exit)} ${when}`;
    return new WasmeshError(
      'WASMESH_ERR_PROVIDER_FAILED',
      `provider "${this.id}" (${this.entry}${inst.mode === 'process' ? '' : ', in-process'}) ${how}${this.#tailSuffix(inst)}`,
      {
        details: {
          provider: this.id,
          host: this.env.hostId,
          mode: inst.mode,
          exitCode: exit.code,
          signal: exit.signal ?? '',
          stderr: inst.tail.join('\n'),
        },
      },
    );
  }

  #tailSuffix(inst: ProviderInstance): string {
    if (inst.mode === 'in-process') return '';
    const tail = inst.tail.slice(-5).join(' | ');
    return tail ? `; its stderr ends: ${tail}` : '; it wrote nothing on stderr';
  }

  #onExit(inst: ProviderInstance): void {
    if (inst !== this.#instance) return;
    // In `restarting`, the current instance is a restarted one that has not taken over yet.
    if (this.#state === 'running' || this.#state === 'restarting') this.#crashed(inst, describeExit(inst.exit!));
    // starting: the start fails; stopping: the stop goes on.
  }

  /** The provider ended (or never registered) without being asked to: restart it after a backoff. */
  #crashed(inst: ProviderInstance, why: string): void {
    this.#stopHealthChecks();
    if (inst.registeredAtMs && Date.now() - inst.registeredAtMs >= RESTART_BACKOFF_RESET_MS) this.#failures = 0;
    const delay = Math.min(RESTART_BACKOFF_MIN_MS * 2 ** this.#failures, RESTART_BACKOFF_MAX_MS);
    this.#failures++;
    this.#state = 'restarting';
    const what =
      inst.mode === 'process' ? `provider process ${inst.pid} exited unexpectedly` : 'in-process provider ended';
    const tail = inst.mode === 'process' ? inst.tail.at(-1) : undefined;
    this.#setHealth(
      false,
      `${what} (${why})${tail ? `, last stderr line: ${tail}` : ''}; restarting in ${delay} ms`,
      true,
    );
    this.#log.warn(
      { pid: inst.pid, exit: why, delayMs: delay, restarts: this.#restarts },
      'provider ended; restarting',
    );
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => void this.#restart(), delay);
  }

  async #restart(): Promise<void> {
    if (this.#state !== 'restarting') return;
    this.#restarts++;
    const inst = this.#launch();
    try {
      await this.#registration(inst);
    } catch (err) {
      if (this.#state !== 'restarting' || inst !== this.#instance) return;
      if (isWasmeshError(err, 'WASMESH_ERR_TIMEOUT')) {
        // Alive but not registered: end it; its exit schedules the next attempt.
        this.#log.warn({ pid: inst.pid }, 'restarted provider did not register; ending it');
        inst.kill();
      }
      // An exit was handled by #onExit already.
      return;
    }
    // A stop began, or it ended again right after registering (its exit scheduled the next try).
    if (this.#state !== 'restarting' || inst !== this.#instance || inst.exit) return;
    this.#state = 'running';
    this.#setHealth(true, `restarted (restart ${this.#restarts}, ${inst.mode}, pid ${inst.pid})`, true);
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
    // The answer is stale when the instance changed or a stop began meanwhile.
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
      inst.terminate();
      let timer: NodeJS.Timeout | undefined;
      const gone = await Promise.race([
        inst.exited.then(() => true),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(false), this.env.stopTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (!gone) {
        this.#log.warn(
          { pid: inst.pid, timeoutMs: this.env.stopTimeoutMs },
          'provider did not stop in time; ending it',
        );
        inst.kill();
        await inst.exited;
      }
      inst.kill();
      if (!inst.announcedStop) await new Promise((r) => setTimeout(r, STOPPED_EVENT_GRACE_MS));
    }
    if (!inst?.announcedStop) {
      this.env.publish('provider_stopped', { providerId: this.id, hostId: this.env.hostId, reason });
    }
    if (inst) await this.#removeRecordOf(inst);
    this.#state = 'stopped';
    this.#log.info({ reason, pid: inst?.pid }, 'provider stopped');
  }

  /** Deletes the provider's record when it is still the one `inst` wrote (it ended without cleaning up). */
  async #removeRecordOf(inst: ProviderInstance): Promise<void> {
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
