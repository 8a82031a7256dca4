/**
 * Which actors a spy watches now. `wasmesh spy` repeats `spy.watch` while it runs; a host mirrors
 * the local calls (delivered without NATS) into or out of a watched actor as `local_call` events,
 * so the spy still sees them. A watch lapses on its own: a spy that died leaves no cost behind.
 */

/** Longest a single watch lasts (a spy renews well before). */
export const MAX_WATCH_MS = 60_000;

/** The watched actors, each until when. */
export class SpiedActors {
  readonly #until = new Map<string, number>();

  /** Watches `actorId` for `forMs` (at most {@link MAX_WATCH_MS}) from now. */
  watch(actorId: string, forMs: number): void {
    this.#until.set(actorId, Date.now() + Math.min(Math.max(forMs, 1), MAX_WATCH_MS));
  }

  /** Whether a spy watches `actorId` now (a lapsed watch is forgotten). */
  has(actorId: string): boolean {
    if (this.#until.size === 0) return false;
    const until = this.#until.get(actorId);
    if (until === undefined) return false;
    if (until >= Date.now()) return true;
    this.#until.delete(actorId);
    return false;
  }
}
