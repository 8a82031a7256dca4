/**
 * Keeps the parts of `wasmesh up` running: a part that ends on its own (a child process that
 * exits, a service whose connection closes for good) is started again after a backoff that
 * doubles from {@link MIN_BACKOFF_MS} to {@link MAX_BACKOFF_MS} and starts over once the part ran
 * {@link STABLE_MS} — as a Kubernetes kubelet does with a crashing container, so a part that
 * cannot start does not spin. Only {@link Supervisor.stop} ends the supervision.
 */

/** Backoff before the first restart. */
export const MIN_BACKOFF_MS = 500;
/** Longest backoff between restarts. */
export const MAX_BACKOFF_MS = 10_000;
/** A part that ran this long is healthy again: its next restart waits {@link MIN_BACKOFF_MS}. */
export const STABLE_MS = 30_000;

/**
 * Starts a part; resolves once it runs, with `ended`: why it ended, resolving when it did (in an
 * object, as a promise resolved with a promise would wait for that one).
 */
export type StartPart = () => Promise<{ ended: Promise<string> }>;

/** What a supervisor reports about one part. */
export interface PartEvent {
  part: string;
  /** `restarting`: it ended (`why`) and starts again in `delayMs`; `running`: it is back. */
  status: 'running' | 'restarting';
  /** Restarts so far (attempts, including ones that failed to start). */
  restarts: number;
  why?: string;
  delayMs?: number;
}

/** Supervises parts (see the module comment). */
export class Supervisor {
  #stopping = false;
  readonly #stop: Promise<undefined>;
  #resolveStop!: () => void;
  readonly #restarting = new Set<Promise<unknown>>();

  /** `report` hears each restart and each recovery (to tell the user and record it). */
  constructor(private readonly report: (event: PartEvent) => void) {
    this.#stop = new Promise((resolve) => (this.#resolveStop = () => resolve(undefined)));
  }

  /** Supervises a part already started (`ended` resolves when it ends), restarting it with `start`. */
  watch(part: string, ended: Promise<string>, start: StartPart): void {
    void this.#loop(part, ended, start);
  }

  async #loop(part: string, ended: Promise<string>, start: StartPart): Promise<void> {
    let delay = MIN_BACKOFF_MS;
    let restarts = 0;
    let startedAt = Date.now();
    for (;;) {
      const why = await Promise.race([ended, this.#stop]);
      if (this.#stopping || why === undefined) return;
      if (Date.now() - startedAt >= STABLE_MS) delay = MIN_BACKOFF_MS;
      restarts += 1;
      this.report({ part, status: 'restarting', restarts, why, delayMs: delay });
      await this.#sleep(delay);
      if (this.#stopping) return;
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      startedAt = Date.now();
      const attempt = start();
      this.#restarting.add(attempt);
      try {
        ({ ended } = await attempt);
        if (this.#stopping) return;
        this.report({ part, status: 'running', restarts });
      } catch (err) {
        ended = Promise.resolve(`it did not start again: ${(err as Error).message}`);
      } finally {
        this.#restarting.delete(attempt);
      }
    }
  }

  /** Waits `ms`, or less when stop() is called. */
  async #sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), this.#stop]);
    clearTimeout(timer);
  }

  /**
   * Ends the supervision: nothing is restarted any more. Resolves once restarts under way have
   * finished starting (or failed), so the caller then stops every part that runs.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#resolveStop();
    await Promise.allSettled([...this.#restarting]);
  }
}
