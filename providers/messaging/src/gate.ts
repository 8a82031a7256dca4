/**
 * A concurrency gate: at most `limit` holders at once, the rest wait in arrival order (so with a
 * limit of 1 messages are delivered strictly in order). Nothing is ever dropped; a gate that is
 * shut down fails its waiters instead.
 */

/** A caller waiting for a place. */
interface Waiter {
  admit: () => void;
  fail: (err: Error) => void;
}

/** A FIFO gate admitting at most `limit` holders. */
export class ConcurrencyGate {
  #active = 0;
  /** Waiters, oldest first; `#head` skips the ones admitted already (no O(n) shift per admission). */
  #waiting: (Waiter | undefined)[] = [];
  #head = 0;

  constructor(readonly limit: number) {}

  /** Holders now. */
  get active(): number {
    return this.#active;
  }

  /** Callers waiting for a place. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /** Resolves once the caller holds a place; call `release()` when done. */
  acquire(): Promise<void> {
    if (this.#active < this.limit && this.waiting === 0) {
      this.#active++;
      return Promise.resolve();
    }
    return new Promise<void>((admit, fail) => this.#waiting.push({ admit, fail }));
  }

  /** Gives a place back; the oldest waiter gets it. */
  release(): void {
    const next = this.#waiting[this.#head];
    if (next) {
      this.#waiting[this.#head++] = undefined;
      this.#compact();
      next.admit(); // the place passes straight on: #active is unchanged
    } else {
      this.#active = Math.max(0, this.#active - 1);
    }
  }

  /** Rejects every waiter's `acquire()` (holders keep their places). */
  failWaiting(): void {
    const waiting = this.#waiting.slice(this.#head);
    this.#waiting = [];
    this.#head = 0;
    for (const w of waiting) w?.fail(new Error('the gate was shut'));
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#head);
      this.#head = 0;
    }
  }
}
