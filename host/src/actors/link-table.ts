/**
 * The lattice's links as this host sees them: loaded from the links bucket and kept current by a
 * watcher, so an actor's host call finds its provider without a round trip.
 */
import { linkKey, type LinkState, type Logger } from '@wasmesh/lattice';
import type { lattice } from '@wasmesh/proto';

/** Links by (actor, contract, link name), kept in sync with the lattice. */
export class LinkTable {
  readonly #links = new Map<string, lattice.ILink>();
  #stopped = false;

  /** Starts watching; resolves once the current links are loaded. */
  static async watch(state: LinkState, logger: Logger): Promise<LinkTable> {
    const table = new LinkTable();
    const watcher = state.links.watch({ includeExisting: true });
    // The first element of a watch with existing values arrives after the initial load; read the
    // current entries directly so callers see them before the first host call.
    for (const [key, link] of await state.links.entries()) table.#links.set(key, link);
    void (async () => {
      try {
        for await (const change of watcher) {
          if (table.#stopped) break;
          if (change.op === 'put') table.#links.set(change.key, change.value);
          else table.#links.delete(change.key);
        }
      } catch (err) {
        if (!table.#stopped) logger.warn({ err }, 'link watcher ended');
      }
    })();
    table.#closeWatcher = () => void watcher.return(undefined);
    return table;
  }

  #closeWatcher: () => void = () => {};

  /** The link of `actorId` for `contract` under `name`, if any. */
  find(actorId: string, contract: string, name: string): lattice.ILink | undefined {
    try {
      return this.#links.get(linkKey(actorId, contract, name));
    } catch {
      return undefined;
    }
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    this.#closeWatcher();
  }
}
