/**
 * A controller: workers taking keys from a {@link WorkQueue} and reconciling them. A reconcile that
 * throws is retried with the key's backoff; one that succeeds may ask to be run again after a
 * while (to poll something that has no watch, or to resync). Stopping shuts the queue down and
 * waits for the reconciles in flight, up to a deadline.
 */
import type { Logger } from '@wasmesh/lattice';
import { WorkQueue, type WorkQueueOptions } from './queue.js';

/** What a reconcile asks for next. */
export interface ReconcileResult {
  /** Reconcile this key again after this long. */
  requeueAfterMs?: number;
}

/** Makes the actual state of one object (by key) match its desired state. */
export type ReconcileFn = (key: string) => Promise<ReconcileResult | void>;

/** Options of {@link Controller}. */
export interface ControllerOptions {
  /** Names the controller in logs, e.g. `application`. */
  name: string;
  reconcile: ReconcileFn;
  /** Keys reconciled at once (never the same key twice). @default 2 */
  workers?: number;
  queue?: WorkQueueOptions;
  logger: Logger;
}

/** See the module comment. */
export class Controller {
  readonly queue: WorkQueue;
  readonly #workers: Promise<void>[] = [];

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue(options.queue);
  }

  /** Starts the workers. */
  start(): void {
    for (let i = 0; i < (this.options.workers ?? 2); i++) this.#workers.push(this.#work());
  }

  /** Queues a key (deduplicated). */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Stops taking keys and waits up to `deadlineMs` for reconciles in flight; false when some were still running. */
  async stop(deadlineMs: number): Promise<boolean> {
    const drained = await this.queue.shutDown(deadlineMs);
    if (drained) await Promise.all(this.#workers);
    else
      this.options.logger.warn({ controller: this.options.name }, 'reconciles still running at the shutdown deadline');
    return drained;
  }

  async #work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      try {
        const result = await this.options.reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        const retryInMs = this.queue.addRateLimited(key);
        this.options.logger.warn(
          { controller: this.options.name, key, err: err instanceof Error ? err.message : String(err), retryInMs },
          'reconcile failed; retrying',
        );
      } finally {
        this.queue.done(key);
      }
    }
  }
}
