/**
 * A rate-limited warning: a subscription whose actor is down fails every message, and one log line
 * per message would drown the log (and cost more than the delivery). At most one line per
 * interval is written; it carries the number of lines suppressed since the previous one.
 */
import type { Logger } from '@wasmesh/lattice';

/** Writes at most one warning per `intervalMs`, counting the ones it suppresses. */
export class ThrottledWarning {
  #last = Number.NEGATIVE_INFINITY;
  #suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {}

  /** Warnings not written since the last one that was. */
  get suppressed(): number {
    return this.#suppressed;
  }

  /** Logs `message` with `fields` (plus `suppressed`), unless one was logged less than `intervalMs` ago. */
  warn(fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - this.#last < this.intervalMs) {
      this.#suppressed++;
      return;
    }
    this.logger.warn({ ...fields, suppressed: this.#suppressed }, message);
    this.#last = now;
    this.#suppressed = 0;
  }
}
