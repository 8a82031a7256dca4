/**
 * Invocations in flight in the addon, by id. The addon reports every outcome through one callback
 * (see `NativeComplete`); this table turns outcomes back into settled promises and keeps Node alive
 * exactly while something is outstanding.
 */
import { fromNative } from './errors.js';

interface Entry {
  resolve: (response: Buffer) => void;
  reject: (err: unknown) => void;
  context: Record<string, unknown>;
}

/** The table of outstanding invocations of one runtime. */
export class PendingInvocations {
  readonly #entries = new Map<number, Entry>();
  #nextId = 0;

  /** `setActive(true)` when the first invocation starts, `false` when the last one ends. */
  constructor(private readonly setActive: (active: boolean) => void) {}

  /** Invocations outstanding. */
  get size(): number {
    return this.#entries.size;
  }

  /** Registers an invocation and returns its id; `context` (actor, operation) goes into errors. */
  add(resolve: Entry['resolve'], reject: Entry['reject'], context: Record<string, unknown>): number {
    do this.#nextId = (this.#nextId + 1) >>> 0;
    while (this.#entries.has(this.#nextId));
    if (this.#entries.size === 0) this.setActive(true);
    this.#entries.set(this.#nextId, { resolve, reject, context });
    return this.#nextId;
  }

  /** Settles invocation `id` with the addon's outcome. */
  readonly complete = (id: number, response: Buffer | null, error: string | null): void => {
    const entry = this.#take(id);
    if (!entry) return;
    if (error === null) entry.resolve(response ?? Buffer.alloc(0));
    else entry.reject(fromNative(new Error(error), entry.context));
  };

  /** Rejects invocation `id` with `err` (the addon refused to start it). */
  fail(id: number, err: unknown): void {
    this.#take(id)?.reject(fromNative(err, {}));
  }

  #take(id: number): Entry | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#entries.delete(id);
    if (this.#entries.size === 0) this.setActive(false);
    return entry;
  }
}
