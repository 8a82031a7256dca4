/**
 * A keyed work queue, the heart of a controller (the shape of client-go's workqueue): a key
 * (`namespace/name`) is queued at most once however many events name it, and never handed to two
 * workers at once (a key added while it is being processed runs again once it is done), so
 * reconciles of one object never race. Failures come back after an exponential backoff per key
 * (capped), and all keys share a token bucket so a storm of events cannot hammer the API servers.
 */

/** Options of {@link WorkQueue}. */
export interface WorkQueueOptions {
  /** First retry delay of a failing key, doubled on each failure. @default 200 */
  baseDelayMs?: number;
  /** Longest retry delay. @default 30000 */
  maxDelayMs?: number;
  /** Keys handed out per second on average (token bucket). @default 20 */
  qps?: number;
  /** Keys that may be handed out at once after a quiet spell. @default 100 */
  burst?: number;
}

/** See the module comment. */
export class WorkQueue {
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #qps: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt = Date.now();
  /** Keys ready to be handed out, in order. */
  readonly #ready: string[] = [];
  /** Keys queued or waiting for a timer (dedupe). */
  readonly #queued = new Set<string>();
  /** Keys a worker holds; re-added keys wait in #dirty until done(). */
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #due = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #idle: (() => void)[] = [];
  #shutDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.#baseDelayMs = options.baseDelayMs ?? 200;
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
    this.#qps = options.qps ?? 20;
    this.#burst = options.burst ?? 100;
    this.#tokens = this.#burst;
  }

  /** Queues `key` now (no-op when it is already queued; after done() when it is being processed). */
  add(key: string): void {
    if (this.#shutDown) return;
    const timer = this.#timers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.#timers.delete(key);
      this.#due.delete(key);
      this.#queued.delete(key);
    }
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    const waiter = this.#waiters.shift();
    if (waiter) this.#take(key, waiter);
    else this.#ready.push(key);
  }

  /** Queues `key` after `delayMs` (a key queued already, or due sooner, stays as it is). */
  addAfter(key: string, delayMs: number): void {
    if (this.#shutDown || this.#dirty.has(key)) return;
    const due = Date.now() + delayMs;
    const pending = this.#timers.get(key);
    if (pending) {
      if ((this.#due.get(key) ?? 0) <= due) return;
      clearTimeout(pending);
      this.#timers.delete(key);
      this.#queued.delete(key);
    }
    if (this.#queued.has(key)) return;
    if (delayMs <= 0) return this.add(key);
    this.#queued.add(key);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.#due.delete(key);
      this.#queued.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref();
    this.#timers.set(key, timer);
    this.#due.set(key, due);
  }

  /** Queues a key whose reconcile failed, after its backoff (base × 2^failures, capped); returns the delay. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = Math.min(this.#baseDelayMs * 2 ** failures, this.#maxDelayMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Forgets the failures of `key` (its reconcile succeeded): the next failure retries quickly again. */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  /** How many times in a row `key` failed. */
  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process (the caller owns it until done()), or undefined once shut down. */
  async get(): Promise<string | undefined> {
    if (this.#shutDown) return undefined;
    await this.#token();
    if (this.#shutDown) return undefined;
    const key = this.#ready.shift();
    if (key !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      return key;
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` processed; a key re-added meanwhile is queued again now. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
    if (this.#processing.size === 0) for (const idle of this.#idle.splice(0)) idle();
  }

  /** Keys queued, waiting for a timer, or being processed. */
  get length(): number {
    return this.#queued.size + this.#processing.size;
  }

  /**
   * Stops handing out keys (waiting get() calls resolve undefined), drops queued keys and timers,
   * and waits up to `deadlineMs` for the keys being processed; true when they all finished.
   */
  async shutDown(deadlineMs: number): Promise<boolean> {
    this.#shutDown = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#due.clear();
    this.#ready.length = 0;
    this.#queued.clear();
    this.#dirty.clear();
    for (const w of this.#waiters.splice(0)) w(undefined);
    if (this.#processing.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), deadlineMs)));
    try {
      return await Promise.race([drained, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  #take(key: string, waiter: (key: string | undefined) => void): void {
    this.#queued.delete(key);
    this.#processing.add(key);
    waiter(key);
  }

  /** Waits for a token of the bucket (refilled at qps, holding at most burst). */
  async #token(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) / 1000) * this.#qps);
      this.#refilledAt = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.#tokens) / this.#qps) * 1000)));
    }
  }
}
