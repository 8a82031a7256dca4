/**
 * Calls in flight, for whatever serves them (an actor on a host, a provider): a count, the
 * wrapper that keeps it (on the bus and by local dispatch alike), and the bounded wait a drain
 * does for it to reach zero.
 */

/** A count of calls in flight; see the module comment. */
export class InFlight {
  #count = 0;
  #idle: (() => void)[] = [];

  /** Calls running now. */
  get count(): number {
    return this.#count;
  }

  /** Runs `work` as one call in flight. */
  async track<T>(work: () => Promise<T>): Promise<T> {
    this.#count++;
    try {
      return await work();
    } finally {
      if (--this.#count === 0) for (const wake of this.#idle.splice(0)) wake();
    }
  }

  /** Resolves once no call is in flight, or after `timeoutMs`; with the calls still running then. */
  async idle(timeoutMs: number): Promise<number> {
    if (this.#count === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => this.#idle.push(r)),
      new Promise<void>((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.#count;
  }
}
